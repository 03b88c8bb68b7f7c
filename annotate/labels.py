"""Annotations back from Label Studio: one validated record per (task, annotator).

``stance read`` writes them (JSON lines); ``stance agree`` and ``stance adjudicate`` read them.
Their JSON Schema is committed as ``schemas/annotation.schema.json``.
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import InputError, validation_problem
from .labeling import CLAIM_CONTROL, SPAN_CONTROL, choice_questions
from .scheme import KNOWN_VERSIONS, SPAN_LABELS, Scheme

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
    scheme: str = Field(description="the label scheme version id, e.g. stance-claim/v1")


# --- reading Label Studio exports ---------------------------------------------------------

Fate = Literal["accepted", "rejected", "skipped", "superseded"]


class RejectedAnnotation(BaseModel):
    """An annotation not taken as labels, with the reason: a line of the rejects file.

    Rejected ones are wrong; skipped ones the annotator skipped; superseded ones were
    replaced by a newer annotation of the same annotator on the same task.
    """

    model_config = ConfigDict(extra="forbid")

    file: str
    fate: Literal["rejected", "skipped", "superseded"]
    kind: str = Field(description="the reason's kind, e.g. 'unknown label', 'span text that does not match'")
    task_id: int | None
    annotation_id: int | None
    sentence_id: str | None
    annotator: Annotator | None
    reason: str
    annotation: dict[str, Any] = Field(description="the annotation as the export holds it")


@dataclass
class ReadCounts:
    """What ``stance read`` found; ``annotations == accepted + rejected + skipped + superseded``."""

    files: int = 0
    tasks: int = 0
    tasks_unlabelled: int = 0
    annotations: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    superseded: int = 0
    drafts: int = 0
    predictions: int = 0
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


def _annotator(completed_by: Any) -> Annotator | None:
    if isinstance(completed_by, dict) and completed_by.get("id") is not None:
        return Annotator(id=str(completed_by["id"]), email=completed_by.get("email") or None)
    if isinstance(completed_by, int):
        return Annotator(id=str(completed_by))
    return None


def _labels(task: dict, annotation: dict, annotator: Annotator, scheme: Scheme) -> Annotation:
    """One annotation as a validated record; :class:`_Reject` with the reason otherwise."""
    data = task["data"]
    sentence = data["text"]
    controls = {scheme.stance_control(t): t for t in scheme.target_ids}
    allowed = choice_questions(scheme)
    answers: dict[str, str] = {}
    spans: list[Span] = []
    for item in annotation.get("result") or []:
        name, value = item.get("from_name"), item.get("value") or {}
        if name == SPAN_CONTROL:
            labels = value.get("labels") or []
            if len(labels) != 1 or labels[0] not in SPAN_LABELS:
                raise _Reject("unknown label", f"unknown label {labels!r} for control {name!r} (known: {', '.join(SPAN_LABELS)})")
            start, end = value.get("start"), value.get("end")
            if not (isinstance(start, int) and isinstance(end, int)):
                raise _Reject("span offsets outside the text", f"span without integer offsets: {start!r}-{end!r}")
            start, end = python_offsets(sentence, start, end)
            if not 0 <= start < end <= len(sentence):
                raise _Reject("span offsets outside the text", f"span offsets {start}-{end} outside the sentence (length {len(sentence)})")
            if sentence[start:end] != value.get("text"):
                raise _Reject("span text that does not match", f"span text {value.get('text')!r} does not match the sentence's "
                              f"{sentence[start:end]!r} at {start}-{end}")
            spans.append(Span(label=labels[0], start=start, end=end, text=sentence[start:end],
                              article_start=data["start"] + start, article_end=data["start"] + end))
        elif name in allowed:
            choices = value.get("choices") or []
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
    return Annotation(
        sentence_id=data["sentence_id"], article_id=data["article_id"], text=sentence, annotator=annotator,
        stance={target: answers[name] for name, target in controls.items()}, claim=answers[CLAIM_CONTROL],
        spans=sorted(spans, key=lambda s: (s.start, s.end, s.label)), annotation_id=annotation["id"],
        task_id=task["id"], lead_time=annotation.get("lead_time"), created_at=annotation.get("created_at"),
        updated_at=annotation.get("updated_at"), scheme=scheme.scheme,
    )


def _task_problem(task: Any, scheme: Scheme) -> _Reject | None:
    """Why no annotation of this task can be read, or None."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict) or not isinstance(task.get("id"), int):
        return _Reject("not a task", "not a Label Studio task (no 'id' and 'data')")
    data = task["data"]
    lacking = [key for key in ("text", "sentence_id", "article_id", "start") if key not in data]
    if lacking:
        return _Reject("not a task", f"task data lacks {', '.join(lacking)} (tasks must come from `stance tasks`)")
    version = data.get("scheme")
    if version != scheme.scheme:
        known = ", ".join(KNOWN_VERSIONS)
        if version in KNOWN_VERSIONS:
            return _Reject("another scheme", f"task is for scheme {version!r}, not the --scheme's {scheme.scheme!r}")
        return _Reject("unknown scheme version", f"unknown scheme version {version!r} (known: {known})")
    return None


def read_task(task: Any, scheme: Scheme) -> Iterator[tuple[Fate, Annotation | None, dict, str, str]]:
    """Each annotation of one exported task: (fate, record, raw annotation, reason kind, reason).

    Per annotator, the newest annotation (by ``updated_at``, then id) is read; older ones are
    superseded. Skipped ones (``was_cancelled``) are skipped whatever their age.
    """
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)] if isinstance(task, dict) else []
    problem = _task_problem(task, scheme)
    newest: dict[str, int] = {}
    for index, annotation in enumerate(annotations):
        who = _annotator(annotation.get("completed_by"))
        if who is not None and not annotation.get("was_cancelled"):
            key = (annotation.get("updated_at") or "", annotation.get("id") or 0)
            best = newest.get(who.id)
            if best is None or key > (annotations[best].get("updated_at") or "", annotations[best].get("id") or 0):
                newest[who.id] = index
    for index, annotation in enumerate(annotations):
        who = _annotator(annotation.get("completed_by"))
        if annotation.get("was_cancelled"):
            yield "skipped", None, annotation, "skipped", "skipped by the annotator (was_cancelled)"
        elif problem is not None:
            yield "rejected", None, annotation, problem.kind, str(problem)
        elif who is None:
            yield ("rejected", None, annotation, "no annotator",
                   f"no annotator: completed_by is {annotation.get('completed_by')!r}")
        elif newest[who.id] != index:
            yield ("superseded", None, annotation, "superseded",
                   f"superseded by annotation {annotations[newest[who.id]].get('id')} of the same annotator")
        else:
            try:
                yield "accepted", _labels(task, annotation, who, scheme), annotation, "", ""
            except _Reject as exc:
                yield "rejected", None, annotation, exc.kind, str(exc)


def iter_export(path: str | os.PathLike[str]) -> Iterator[Any]:
    """The tasks of a Label Studio JSON export, streamed (any size, flat memory)."""
    import ijson

    path = Path(path)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise InputError("no such export file", path=path, fix="write one with `stance pull`") from None
    with handle:
        if handle.read(1024).lstrip()[:1] != b"[":
            raise InputError("not a Label Studio JSON export (a JSON list of tasks)", path=path,
                             fix="export the project as JSON (not JSON_MIN or CSV), e.g. with `stance pull`")
        handle.seek(0)
        number = 0
        try:
            for number, task in enumerate(ijson.items(handle, "item", use_float=True), 1):
                yield task
        except ijson.JSONError as exc:
            raise InputError(f"broken JSON after task {number}: {str(exc).splitlines()[0].strip()}", path=path,
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
                if isinstance(task, dict):
                    counts.drafts += len(task.get("drafts") or [])
                    counts.predictions += len(task.get("predictions") or [])
                any_annotation = False
                for fate, record, raw, kind, reason in read_task(task, scheme):
                    any_annotation = True
                    ident = raw.get("id")
                    earlier = seen.add(ident, str(path)) if isinstance(ident, int) else None
                    if earlier is not None:
                        fate, record, kind = "rejected", None, "duplicate"
                        reason = f"duplicate of annotation {ident} in {earlier}"
                    counts.add(fate)
                    if fate == "accepted":
                        yield record
                        continue
                    if fate == "rejected":
                        counts.reasons[kind] += 1
                    data = task.get("data") if isinstance(task, dict) and isinstance(task.get("data"), dict) else {}
                    on_reject(RejectedAnnotation(
                        file=str(path), fate=fate, kind=kind, reason=reason,
                        task_id=task.get("id") if isinstance(task, dict) else None,
                        annotation_id=ident if isinstance(ident, int) else None,
                        sentence_id=data.get("sentence_id"), annotator=_annotator(raw.get("completed_by")),
                        annotation=raw))
                if not any_annotation:
                    counts.tasks_unlabelled += 1
    return run(), counts


def read_annotations(path: str | os.PathLike[str]) -> Iterator[Annotation]:
    """The records of a ``stance read`` output file (JSON lines), validated line by line."""
    from pydantic import ValidationError

    path = Path(path)
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such annotations file", path=path,
                         fix="write one with `stance read EXPORT -o FILE`") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield Annotation.model_validate_json(line)
            except ValidationError as exc:
                raise InputError(validation_problem(exc), path=path, where=f"line {number}",
                                 fix="annotation files are written by `stance read`, one record per line") from None
