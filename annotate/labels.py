"""Annotations back from Label Studio: one validated record per (task, annotator).

``stance read`` writes them (JSON lines); ``stance agree`` and ``stance adjudicate`` read them.
Their JSON Schema is committed as ``schemas/annotation.schema.json``.
"""

from __future__ import annotations

import math
import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError, validation_problem
from .files import MAX_DEPTH, DepthGuard, TooDeep, open_input, read_model_lines
from .labeling import CLAIM_CONTROL, MENTION_CONTROL, MENTIONS_MODEL, SPAN_CONTROL, choice_questions
from .mentions import MentionRecord
from .scheme import SPAN_LABELS, Scheme

StanceLabel = Literal["FAVOR", "AGAINST", "NONE"]
ClaimLabel = Literal["CLAIM", "NO_CLAIM"]
SpanLabel = Literal["CLAIM", "SOURCE"]


class Annotator(BaseModel):
    """Who gave a label: the Label Studio user id (stable on one server) and email when known."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="stable annotator id: the Label Studio user id as a string")
    email: str | None = Field(default=None, description="the user's email, when the export names it")


class Span(BaseModel):
    """A marked span: the claim, or who makes it (its source)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: SpanLabel
    start: int = Field(ge=0, description="offset in the sentence, Python code points")
    end: int = Field(ge=0, description="end offset in the sentence (exclusive)")
    article_start: int = Field(ge=0, description="offset in the article text")
    article_end: int = Field(ge=0, description="end offset in the article text (exclusive)")
    text: str = Field(description="sentence[start:end], checked")


class Annotation(BaseModel):
    """One annotator's accepted answer for one sentence."""

    model_config = ConfigDict(extra="forbid")

    sentence_id: str
    article_id: str
    text: str = Field(description="the sentence as shown to the annotator")
    annotator: Annotator
    stance: dict[str, StanceLabel] = Field(description="target id -> stance label, every target of the scheme")
    claim: ClaimLabel
    spans: list[Span] = Field(default_factory=list)
    annotation_id: int = Field(description="Label Studio's annotation id")
    task_id: int = Field(description="Label Studio's task id")
    lead_time: float | None = Field(default=None, description="seconds the annotator spent, as Label Studio measured")
    created_at: str | None = None
    updated_at: str | None = None
    scheme: str = Field(description="the label scheme's id, e.g. libya-actors/v1")
    mentions: list[MentionRecord] = Field(
        default_factory=list, description="where the sentence names the scheme's targets (offsets into the sentence), "
        "as `stance tasks` found them")


# --- reading Label Studio exports ---------------------------------------------------------

Fate = Literal["accepted", "rejected", "skipped", "superseded"]


class RejectedAnnotation(BaseModel):
    """An annotation not taken as labels, with the reason: a line of the rejects file.

    Rejected ones are wrong; skipped ones the annotator skipped; superseded ones were
    replaced by a newer annotation of the same annotator on the same task. A record of the
    export that is not a task at all (not an object, or its ``annotations`` not a list) is
    rejected whole: one line of ``record`` ``"task"`` that holds it in ``task``.
    """

    model_config = ConfigDict(extra="forbid")

    file: str
    record: Literal["annotation", "task"] = Field(
        default="annotation", description="what the line is about: one annotation, or a task rejected whole")
    fate: Literal["rejected", "skipped", "superseded"]
    kind: str = Field(description="the reason's kind, e.g. 'unknown label', 'span text that does not match'")
    task_id: int | None
    annotation_id: int | None
    sentence_id: str | None
    annotator: Annotator | None
    reason: str
    annotation: Any = Field(description="the annotation as the export holds it (null for a task rejected whole)")
    task: Any = Field(default=None, description="the task rejected whole, as the export holds it (null for an annotation)")


@dataclass
class ReadCounts:
    """What ``stance read`` found.

    ``annotations == accepted + rejected + skipped + superseded``; every task is rejected whole
    (``tasks_rejected``), has no annotation (``tasks_unlabelled``) or has its annotations counted;
    the rejects file holds ``rejected + skipped + superseded + tasks_rejected`` lines.
    """

    files: int = 0
    tasks: int = 0
    tasks_unlabelled: int = 0
    tasks_rejected: int = 0
    annotations: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    superseded: int = 0
    drafts: int = 0
    predictions: int = 0
    highlights: int = 0  # the mention highlights among the predictions
    reasons: Counter = field(default_factory=Counter)

    def add(self, fate: Fate) -> None:
        self.annotations += 1
        setattr(self, fate, getattr(self, fate) + 1)


class _Reject(Exception):
    """Why one annotation is not taken (internal: becomes a rejects line)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def python_offsets(text: str, start: int, end: int) -> tuple[int, int]:
    """Label Studio's span offsets (UTF-16 code units, as the browser counts) as Python offsets.

    Only characters outside the Basic Multilingual Plane differ: each is two UTF-16 units.

    >>> python_offsets("I \U0001F600 Libya", 5, 10)
    (4, 9)
    """
    if text.isascii() or all(ord(c) <= 0xFFFF for c in text):
        return start, end
    units = [0]
    for char in text:
        units.append(units[-1] + (2 if ord(char) > 0xFFFF else 1))
    where = {unit: index for index, unit in enumerate(units)}
    if start not in where or end not in where:
        raise _Reject("span offsets outside the text", f"span offsets {start}-{end} split a character outside the BMP")
    return where[start], where[end]


def utf16_offsets(text: str, start: int, end: int) -> tuple[int, int]:
    """Python offsets as Label Studio's UTF-16 offsets (the inverse of :func:`python_offsets`).

    >>> utf16_offsets("I \U0001F600 Libya", 4, 9)
    (5, 10)
    """
    def units(upto: int) -> int:
        return upto + sum(1 for c in text[:upto] if ord(c) > 0xFFFF)
    return units(start), units(end)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_kind(value: Any) -> str:
    """The JSON name of a value's type: object, array, string, number, boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """A value for a message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _annotator(completed_by: Any) -> Annotator | None:
    if isinstance(completed_by, dict) and _whole(completed_by.get("id")):
        email = completed_by.get("email")
        if email is None or isinstance(email, str):
            return Annotator(id=str(completed_by["id"]), email=email or None)
        return None
    if _whole(completed_by):
        return Annotator(id=str(completed_by))
    return None


def _malformed(message: str) -> _Reject:
    return _Reject("malformed annotation", message)


def _annotation_problem(annotation: Any) -> _Reject | None:
    """Why an entry of a task's ``annotations`` is not an annotation of the right shape, or None."""
    if not isinstance(annotation, dict):
        return _malformed(f"a JSON {_json_kind(annotation)}, not an annotation object")
    if not _whole(annotation.get("id")):
        return _malformed(f"'id' is {_shown(annotation.get('id'))}, not a whole number")
    for key in ("created_at", "updated_at"):
        if not isinstance(annotation.get(key), (str, type(None))):
            return _malformed(f"{key!r} is {_shown(annotation.get(key))}, not a time (a string) or null")
    lead_time = annotation.get("lead_time")
    if lead_time is not None and not (isinstance(lead_time, (int, float)) and not isinstance(lead_time, bool)
                                      and math.isfinite(lead_time)):
        return _malformed(f"'lead_time' is {_shown(lead_time)}, not a number of seconds or null")
    if not isinstance(annotation.get("was_cancelled"), (bool, type(None))):
        return _malformed(f"'was_cancelled' is {_shown(annotation.get('was_cancelled'))}, not true or false")
    if not isinstance(annotation.get("result"), (list, type(None))):
        return _malformed(f"'result' is a JSON {_json_kind(annotation.get('result'))}, not a list")
    return None


def _labels(task: dict, annotation: dict, annotator: Annotator, scheme: Scheme) -> Annotation:
    """One annotation as a validated record; :class:`_Reject` with the reason otherwise."""
    data = task["data"]
    sentence = data["text"]
    controls = {scheme.stance_control(t): t for t in scheme.target_ids}
    allowed = choice_questions(scheme)
    answers: dict[str, str] = {}
    spans: list[Span] = []
    for number, item in enumerate(annotation.get("result") or []):
        if not isinstance(item, dict):
            raise _malformed(f"result -> {number} is a JSON {_json_kind(item)}, not an object")
        name, value = item.get("from_name"), item.get("value")
        if not isinstance(name, str):
            raise _malformed(f"result -> {number} -> from_name is {_shown(name)}, not a control name")
        if not isinstance(value, dict):
            raise _malformed(f"result -> {number} -> value is a JSON {_json_kind(value)}, not an object")
        if name == SPAN_CONTROL:
            labels = value.get("labels") or []
            if not isinstance(labels, list):
                raise _malformed(f"result -> {number} -> value -> labels is a JSON {_json_kind(labels)}, not a list")
            if len(labels) != 1 or labels[0] not in SPAN_LABELS:
                raise _Reject("unknown label", f"unknown label {labels!r} for control {name!r} (known: {', '.join(SPAN_LABELS)})")
            start, end = value.get("start"), value.get("end")
            if not (_whole(start) and _whole(end)):
                raise _Reject("span offsets outside the text", f"span without integer offsets: {start!r}-{end!r}")
            start, end = python_offsets(sentence, start, end)
            if not 0 <= start < end <= len(sentence):
                raise _Reject("span offsets outside the text", f"span offsets {start}-{end} outside the sentence (length {len(sentence)})")
            if sentence[start:end] != value.get("text"):
                raise _Reject("span text that does not match", f"span text {value.get('text')!r} does not match the sentence's "
                              f"{sentence[start:end]!r} at {start}-{end}")
            spans.append(Span(label=labels[0], start=start, end=end, text=sentence[start:end],
                              article_start=data["start"] + start, article_end=data["start"] + end))
        elif name == MENTION_CONTROL:
            continue  # the mention highlights: pre-filled from the task, not the annotator's answer
        elif name in allowed:
            choices = value.get("choices") or []
            if not isinstance(choices, list):
                raise _malformed(f"result -> {number} -> value -> choices is a JSON {_json_kind(choices)}, not a list")
            if len(choices) != 1 or choices[0] not in allowed[name]:
                raise _Reject("unknown label", f"unknown label {choices!r} for control {name!r} "
                              f"(known: one of {', '.join(allowed[name])})")
            if name in answers:
                raise _Reject("two answers to one question", f"two answers for control {name!r}")
            answers[name] = choices[0]
        else:
            raise _Reject("unknown control", f"unknown control {name!r} (known: {', '.join([SPAN_CONTROL, *allowed])})")
    missing = [name for name in allowed if name not in answers]
    if missing:
        raise _Reject("missing required answer", f"missing required answer for {', '.join(missing)}")
    mentions = _mentions(data, scheme)
    return Annotation(
        sentence_id=data["sentence_id"], article_id=data["article_id"], text=sentence, annotator=annotator,
        stance={target: answers[name] for name, target in controls.items()}, claim=answers[CLAIM_CONTROL],
        spans=sorted(spans, key=lambda s: (s.start, s.end, s.label)), annotation_id=annotation["id"],
        task_id=task["id"], lead_time=annotation.get("lead_time"), created_at=annotation.get("created_at"),
        updated_at=annotation.get("updated_at"), scheme=scheme.id, mentions=mentions,
    )


def _mentions(data: dict, scheme: Scheme) -> list[MentionRecord]:
    """The task's mentions (from `stance tasks`), checked against its sentence and the scheme."""
    raw = data.get("mentions", [])
    if not isinstance(raw, list):
        raise _Reject("mentions that do not match", f"data.mentions is a JSON {_json_kind(raw)}, not a list")
    sentence = data["text"]
    mentions = []
    for number, item in enumerate(raw):
        try:
            mention = MentionRecord.model_validate(item)
        except ValidationError as exc:
            raise _Reject("mentions that do not match", f"data.mentions -> {number}: {validation_problem(exc)}") from None
        if mention.target not in scheme.target_ids:
            raise _Reject("mentions that do not match", f"data.mentions -> {number} names target {mention.target!r}, "
                          f"which scheme {scheme.id!r} lacks")
        if sentence[mention.start:mention.end] != mention.text:
            raise _Reject("mentions that do not match", f"data.mentions -> {number}: {mention.text!r} is not the "
                          f"sentence's {sentence[mention.start:mention.end]!r} at {mention.start}-{mention.end}")
        mentions.append(mention)
    return mentions


def _task_problem(task: Any, scheme: Scheme) -> _Reject | None:
    """Why no annotation of this task can be read, or None."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict) or not isinstance(task.get("id"), int):
        return _Reject("not a task", "not a Label Studio task (no 'id' and 'data')")
    data = task["data"]
    lacking = [key for key in ("text", "sentence_id", "article_id", "start") if key not in data]
    if lacking:
        return _Reject("not a task", f"task data lacks {', '.join(lacking)} (tasks must come from `stance tasks`)")
    version = data.get("scheme")
    if version != scheme.id:
        return _Reject("another scheme", f"task is for scheme {version!r}, not {scheme.id!r} (the export's scheme)")
    return None


def task_shape_problem(task: Any) -> _Reject | None:
    """Why a record of an export is not a task at all, or None: such a record is rejected whole.

    It has no annotation to carry the reason: it is not an object, or its ``annotations``
    (or ``drafts``, ``predictions``) is not a list.
    """
    if not isinstance(task, dict):
        return _Reject("not a task", f"a JSON {_json_kind(task)}, not a task object")
    for key in ("annotations", "drafts", "predictions"):
        if not isinstance(task.get(key), (list, type(None))):
            return _Reject("not a task", f"{key!r} is a JSON {_json_kind(task.get(key))}, not a list")
    return None


def _task_type_problem(task: dict) -> _Reject | None:
    """Why the fields of a task that the records take are of the wrong type, or None.

    Checked after :func:`_task_problem`, which says when they are missing.
    """
    def bad(message: str) -> _Reject:
        return _Reject("malformed task", message)
    if not _whole(task.get("id")):
        return bad(f"'id' is {_shown(task.get('id'))}, not a whole number")
    data = task["data"]
    if not isinstance(data.get("text"), str):
        return bad(f"data -> text is a JSON {_json_kind(data.get('text'))}, not a string")
    for key in ("sentence_id", "article_id"):
        if not (isinstance(data.get(key), str) and data[key]):
            return bad(f"data -> {key} is {_shown(data.get(key))}, not a non-empty string")
    if not (_whole(data.get("start")) and data["start"] >= 0):
        return bad(f"data -> start is {_shown(data.get('start'))}, not an offset (a whole number, 0 or more)")
    return None


def read_task(task: Any, scheme: Scheme) -> Iterator[tuple[Fate, Annotation | None, Any, str, str]]:
    """Each annotation of one exported task: (fate, record, raw annotation, reason kind, reason).

    Per annotator, the newest annotation (by ``updated_at``, then id) is read; older ones are
    superseded. Skipped ones (``was_cancelled``) are skipped whatever their age. ``task`` must
    have passed :func:`task_shape_problem`.
    """
    annotations = task.get("annotations") or []
    problem = _task_problem(task, scheme) or _task_type_problem(task)
    shapes = [_annotation_problem(annotation) for annotation in annotations]
    newest: dict[str, int] = {}
    for index, annotation in enumerate(annotations):
        if shapes[index] is not None:
            continue
        who = _annotator(annotation.get("completed_by"))
        if who is not None and not annotation.get("was_cancelled"):
            key = (annotation.get("updated_at") or "", annotation["id"])
            best = newest.get(who.id)
            if best is None or key > (annotations[best].get("updated_at") or "", annotations[best]["id"]):
                newest[who.id] = index
    for index, annotation in enumerate(annotations):
        if shapes[index] is not None:
            yield "rejected", None, annotation, shapes[index].kind, str(shapes[index])
            continue
        who = _annotator(annotation.get("completed_by"))
        if annotation.get("was_cancelled"):
            yield "skipped", None, annotation, "skipped", "skipped by the annotator (was_cancelled)"
        elif problem is not None:
            yield "rejected", None, annotation, problem.kind, str(problem)
        elif who is None:
            yield ("rejected", None, annotation, "no annotator",
                   f"no annotator: completed_by is {_shown(annotation.get('completed_by'))}")
        elif newest[who.id] != index:
            yield ("superseded", None, annotation, "superseded",
                   f"superseded by annotation {annotations[newest[who.id]].get('id')} of the same annotator")
        else:
            try:
                yield "accepted", _labels(task, annotation, who, scheme), annotation, "", ""
            except _Reject as exc:
                yield "rejected", None, annotation, exc.kind, str(exc)
            except ValidationError as exc:  # a field that the checks above let through
                yield "rejected", None, annotation, "malformed annotation", validation_problem(exc)


_EXPORT_FIX = "export the project as JSON (Export > JSON, not JSON_MIN or CSV), or run `stance pull`"
# JSON_MIN rows have the task's data fields at the top level and one row per annotation.
_JSON_MIN_KEYS = frozenset({"annotation_id", "annotator", "sentence_id"})


def iter_export(path: str | os.PathLike[str]) -> Iterator[Any]:
    """The tasks of a Label Studio JSON export, streamed (any size, flat memory).

    A pipe or ``/dev/stdin`` works too: the file is read once, front to back.

    Raises
    ------
    InputError
        For a file that is missing or unreadable, not a JSON list, a JSON_MIN export (whose
        rows leave out skipped annotations and drafts, so that its labels cannot all be
        accounted for), broken JSON, or JSON nested deeper than :data:`annotate.files.MAX_DEPTH`.
    """
    import ijson

    path = Path(path)
    with open_input(path, what="export file", fix="write one with `stance pull`", binary=True) as handle:
        head = b""
        while len(head) < 1024:
            more = handle.read(1024)
            if not more:
                break
            head += more
            if head.strip():
                break
        if head.lstrip()[:1] != b"[":
            raise InputError("not a Label Studio JSON export (a JSON list of tasks)", path=path, fix=_EXPORT_FIX)
        guard = DepthGuard(handle, head=head)
        number = 0
        try:
            for number, task in enumerate(ijson.items(guard, "item", use_float=True), 1):
                if number == 1 and isinstance(task, dict) and "data" not in task and "annotations" not in task \
                        and _JSON_MIN_KEYS & task.keys():
                    raise InputError(
                        "a JSON_MIN export (one flat row per annotation: it leaves out skipped annotations, drafts "
                        "and predictions, so its labels cannot all be accounted for)", path=path, fix=_EXPORT_FIX)
                yield task
        except TooDeep:
            raise InputError(f"JSON nested deeper than {MAX_DEPTH} levels", path=path, where=f"task {number + 1}",
                             fix="a Label Studio task is about seven levels deep; " + _EXPORT_FIX) from None
        except ijson.JSONError as exc:
            raise InputError(f"broken JSON after task {number}: {str(exc).splitlines()[0].strip()}", path=path,
                             fix="download the export again") from None
        except UnicodeDecodeError:
            raise InputError(f"text that is not UTF-8 (or a lone surrogate escape) after task {number}", path=path,
                             fix="download the export again") from None


class _SeenIds:
    """Annotation ids read so far, and in which file: two bytes per id up to the largest.

    Label Studio's ids are small dense integers, so an array indexed by id stays flat where
    a dict of 200,000 ids would take 20 MB; ids beyond ``dense_limit`` go to a dict.
    """

    def __init__(self, dense_limit: int = 50_000_000) -> None:
        self.files: list[str] = []
        self.dense = array("H")
        self.sparse: dict[int, int] = {}
        self.dense_limit = dense_limit

    def add(self, ident: int, file: str) -> str | None:
        """Record ``ident`` as read from ``file``; return the file it was read from before, if any."""
        if not self.files or self.files[-1] != file:
            self.files.append(file)
        number = len(self.files)  # 1-based: 0 means not seen
        if 0 <= ident < self.dense_limit:
            if ident >= len(self.dense):
                self.dense.extend(array("H", bytes(2 * (max(ident + 1, 2 * len(self.dense)) - len(self.dense)))))
            before = self.dense[ident]
            if not before:
                self.dense[ident] = number
        else:
            before = self.sparse.get(ident, 0)
            if not before:
                self.sparse[ident] = number
        return self.files[before - 1] if before else None


def _rejected(path: str | os.PathLike[str], task: Any, raw: Any, fate: str, kind: str, reason: str, *,
              whole: bool = False) -> RejectedAnnotation:
    """The rejects line of annotation ``raw`` of ``task``, or (``whole``) of the task rejected whole."""
    is_task = isinstance(task, dict)
    data = task.get("data") if is_task and isinstance(task.get("data"), dict) else {}
    sentence_id = data.get("sentence_id")
    ident = raw.get("id") if isinstance(raw, dict) else None
    return RejectedAnnotation(
        file=str(path), fate=fate, kind=kind, reason=reason,
        task_id=task.get("id") if is_task and _whole(task.get("id")) else None,
        annotation_id=ident if _whole(ident) else None,
        sentence_id=sentence_id if isinstance(sentence_id, str) else None,
        annotator=_annotator(raw.get("completed_by")) if isinstance(raw, dict) else None,
        record="task" if whole else "annotation", annotation=raw, task=task if whole else None)


def read_exports(
    paths: Iterable[str | os.PathLike[str]],
    scheme: Scheme,
    *,
    on_reject: Callable[[RejectedAnnotation], None],
    on_task: Callable[[], None] | None = None,
) -> tuple[Iterator[Annotation], ReadCounts]:
    """The accepted annotations of Label Studio exports, streamed; every other one to ``on_reject``.

    Returns the iterator and the counts it fills as it runs. An annotation id seen in an
    earlier file (the same export given twice) is rejected as a duplicate.
    """
    counts = ReadCounts()

    def run() -> Iterator[Annotation]:
        seen = _SeenIds()
        for path in paths:
            counts.files += 1
            for task in iter_export(path):
                counts.tasks += 1
                if on_task is not None:
                    on_task()
                whole = task_shape_problem(task)
                if whole is None and not task.get("annotations"):
                    problem = _task_problem(task, scheme)
                    if problem is not None and problem.kind == "not a task":
                        whole = problem  # no annotation would carry the reason it was not read
                if whole is not None:
                    counts.tasks_rejected += 1
                    on_reject(_rejected(path, task, None, "rejected", whole.kind, str(whole), whole=True))
                    continue
                counts.drafts += len(task.get("drafts") or [])
                predictions = task.get("predictions") or []
                highlights = sum(1 for p in predictions if isinstance(p, dict)
                                 and str(p.get("model_version", "")).startswith(MENTIONS_MODEL + "@"))
                counts.highlights += highlights
                counts.predictions += len(predictions) - highlights
                any_annotation = False
                for fate, record, raw, kind, reason in read_task(task, scheme):
                    any_annotation = True
                    ident = raw.get("id") if isinstance(raw, dict) else None
                    earlier = seen.add(ident, str(path)) if _whole(ident) else None
                    if earlier is not None:
                        fate, record, kind = "rejected", None, "duplicate"
                        reason = f"duplicate of annotation {ident} in {earlier}"
                    counts.add(fate)
                    if fate == "accepted":
                        yield record
                        continue
                    if fate == "rejected":
                        counts.reasons[kind] += 1
                    on_reject(_rejected(path, task, raw, fate, kind, reason))
                if not any_annotation:
                    counts.tasks_unlabelled += 1
    return run(), counts


def read_annotations(path: str | os.PathLike[str]) -> Iterator[Annotation]:
    """The records of a ``stance read`` output file (JSON lines), validated line by line."""
    return read_model_lines(path, Annotation, what="annotations file", fix="write one with `stance read EXPORT -o FILE`",
                            written_by="annotation files are written by `stance read`")
