"""Labels made outside Label Studio, saved into it as a person's annotations, skips and drafts.

A label file (``seeds/labels/annotator-*.json``) holds one person's labels of a project's
sentences, each a submitted answer, a skip (``"status": "skip"``) or a draft (``"status":
"draft"``). ``stance studio load-labels`` saves them on whichever server the other commands
reach (:func:`annotate.studio.connection`: the local one, or a team server named by
``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY``), so that the rest of the flow reads them back
like any other annotation. :func:`label_result` is also how predictions are written.

The person must be a user of the server: the local server gets them created (through its
command line, :func:`annotate.server.add_user`); on a team server they must have been invited.

Two ways in, chosen per sentence:

- a sentence already in the project: its annotation is posted on the person's behalf
  (``completed_by``), a few requests at a time, with a ``unique_id`` made from the project, the
  sentence and the person, so that Label Studio itself refuses a second one (HTTP 409): loading
  twice, or two loads at once, leave one annotation per person and sentence;
- a sentence not yet in the project, when the tasks file is given: the task is imported with
  the annotations of every label file in one request per thousand tasks, the bulk path (about
  two seconds for 1,400 labels, where one request per annotation takes minutes on Label
  Studio's development server). Two loads at once that both import a sentence end with one
  task: the load whose copy is not the lowest task id moves its annotations to that one and
  deletes its copy.

A task the person has annotated or skipped already (in Label Studio's interface too) is left
alone. A draft is saved as the person themselves (Label Studio takes a draft's user from the
key), so drafts need the person's own key: the local server gives it; on a team server load
a file with drafts with that person's ``LABEL_STUDIO_API_KEY``.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import server
from .errors import InputError, StudioError, validation_problem
from .labeling import CLAIM_CONTROL, SENTENCE, SPAN_CONTROL
from .labels import ClaimLabel, SpanLabel, StanceLabel, utf16_offsets
from .scheme import Scheme
from .studio import (API_KEY_ENV, DEFAULT_TIMEOUT, Connection, TaskCopy, api, call, check_config, delete_untouched,
                     ensure_project, find_project, read_tasks, require_project, sentence_tasks, tasks_where,
                     untouched_tasks, users)

if TYPE_CHECKING:
    from .rest import AnswerError, Api

Status = Literal["submit", "skip", "draft"]
IMPORT_BATCH = 1000  # tasks (with their annotations) per import request
WORKERS = 8  # annotations posted at once on the per-task path
VERIFY_ROUNDS = 3  # times the labels saved are looked for, and those lost with a deleted task saved again
_NAMESPACE = uuid.UUID("9b0f3c52-6f1e-4c8e-9a55-6b2f0d7e1c41")  # of the annotations' unique_id


def label_result(label: dict, scheme: Scheme) -> list[dict]:
    """The Label Studio ``result`` of one label record (claim, stance per target, spans).

    Questions a label leaves open (a draft's) are left out. Span offsets are relative to the
    sentence, as Label Studio keeps them.
    """
    def choice(control: str, value: str) -> dict:
        return {"from_name": control, "to_name": SENTENCE, "type": "choices", "value": {"choices": [value]}}

    result = [choice(CLAIM_CONTROL, label["claim"])] if label.get("claim") else []
    stance = label.get("stance") or {}
    result += [choice(scheme.stance_control(t), stance[t]) for t in scheme.target_ids if stance.get(t)]
    result += [
        {"id": f"{label['sentence_id']}:{span['start']}-{span['end']}:{span['label']}",
         "from_name": SPAN_CONTROL, "to_name": SENTENCE, "type": "labels",
         "value": {"start": span["start"], "end": span["end"], "text": span["text"], "labels": [span["label"]]}}
        for span in label.get("spans", [])
    ]
    return result


class LabelSpan(BaseModel):
    """A span of a label file, with offsets into the sentence."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: SpanLabel
    text: str


class LabelRecord(BaseModel):
    """One sentence's labels in a label file: submitted (the default), skipped, or a draft."""

    model_config = ConfigDict(extra="forbid")

    sentence_id: str
    status: Status = Field(default="submit", description="submit: an annotation; skip: the person skipped the "
                           "sentence (no answers); draft: saved, not submitted (any answers so far)")
    claim: ClaimLabel | None = None
    stance: dict[str, StanceLabel] = Field(default_factory=dict)
    spans: list[LabelSpan] = Field(default_factory=list)
    lead_time: float | None = Field(default=None, ge=0, description="seconds the person spent")


class LabelPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    first_name: str = ""
    last_name: str = ""


class LabelFile(BaseModel):
    """Labels one person gave outside Label Studio (``seeds/labels/annotator-*.json``)."""

    model_config = ConfigDict(extra="forbid")

    annotator: LabelPerson
    labels: list[LabelRecord]


def read_label_file(path: str | os.PathLike[str], scheme: Scheme) -> LabelFile:
    """A label file, validated against the scheme; an error names the field path and the fix.

    A submitted label answers the claim and every target; a draft answers any of them (at
    least one, or marks a span); a skip answers nothing. The same sentence twice is allowed
    when both records are equal (the second is counted as repeated), an error otherwise.
    """
    path = Path(path)
    try:
        record = LabelFile.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise InputError("no such label file", path=path) from None
    except ValidationError as exc:
        raise InputError(validation_problem(exc), path=path,
                         fix="a label file is {\"annotator\": {\"email\": ...}, \"labels\": [...]}, "
                         "as in seeds/labels/") from None
    targets = set(scheme.target_ids)
    first: dict[str, int] = {}
    for number, label in enumerate(record.labels):
        where = f"labels -> {number} (sentence {label.sentence_id})"
        unknown = sorted(set(label.stance) - targets)
        if unknown:
            raise InputError(f"stance targets {unknown} are not the scheme's {sorted(targets)}", path=path,
                             where=where, fix="name the scheme's targets")
        if label.status == "submit" and (label.claim is None or set(label.stance) != targets):
            raise InputError("a submitted label answers the claim and every target's stance", path=path, where=where,
                             fix=f"give claim and a stance for each of {', '.join(scheme.target_ids)}, or mark it "
                             "\"status\": \"draft\"")
        if label.status == "skip" and (label.claim is not None or label.stance or label.spans):
            raise InputError("a skipped label has answers", path=path, where=where,
                             fix="leave claim, stance and spans out of a skip, or drop \"status\": \"skip\"")
        if label.status == "draft" and label.claim is None and not label.stance and not label.spans:
            raise InputError("a draft without any answer or span", path=path, where=where,
                             fix="give the answers so far, or leave the sentence out")
        if label.sentence_id in first and record.labels[first[label.sentence_id]] != label:
            raise InputError(f"the sentence is labelled twice, differently (first in labels -> "
                             f"{first[label.sentence_id]})", path=path, where=where,
                             fix="keep one record per sentence_id")
        first.setdefault(label.sentence_id, number)
    return record


@dataclass
class LabelCounts:
    """What loading one label file did; ``read == posted + skipped + drafts + already + repeated + absent``."""

    read: int = 0
    posted: int = 0  # annotations saved
    skipped: int = 0  # skips saved
    drafts: int = 0  # drafts saved
    already: int = 0  # the person had annotated, skipped or drafted that task before
    repeated: int = 0  # the same sentence again in the file
    absent: int = 0  # left out: the sentence is neither in the project nor in the tasks file (skip_absent)
    imported: int = 0  # of those saved, how many came in with their task (the bulk path)
    replaced: int = 0  # of those saved, how many came in with a copy of an untouched task (replace_untouched)


@dataclass
class LoadedFile:
    path: str
    labels: LabelFile
    counts: LabelCounts = field(default_factory=LabelCounts)


@dataclass
class Loaded:
    """What :func:`load_labels` did: per file, and the project."""

    files: list[LoadedFile]
    project_id: int = 0
    project_url: str = ""
    project_created: bool = False
    replaced: int = 0  # untouched tasks whose copies with the labels stay (replace_untouched)


@dataclass
class _Item:
    """One record of one file to save on one task."""

    file: LoadedFile
    label: LabelRecord
    task_id: int = 0
    text: str = ""
    via: str = ""  # the LabelCounts field of the import that saved it: "imported" or "replaced"
    saved: str = ""  # "saved" by this load, "held" when Label Studio had its unique id already (409)
    retried: bool = False  # saved again once lost (with a unique id of its task)


def unique_id(project_id: int, sentence_id: str, email: str, *, task: int | None = None) -> str:
    """The ``unique_id`` of a person's loaded annotation of a sentence: Label Studio allows one of each.

    With ``task``, the id of the annotation saved again on that task once the first went with a
    task deleted as it was saved (Label Studio keeps the first one's id taken).
    """
    key = f"project {project_id}\nsentence {sentence_id}\nannotator {email.lower()}"
    return str(uuid.uuid5(_NAMESPACE, key + (f"\ntask {task}" if task is not None else "")))


def load_labels(
    paths: Sequence[str | os.PathLike[str]],
    title: str,
    scheme: Scheme,
    *,
    conn: Connection,
    data_dir: str | os.PathLike[str] | None = None,
    tasks: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = WORKERS,
    skip_absent: bool = False,
    replace_untouched: bool = False,
    on_label: Callable[[int], None] | None = None,
) -> Loaded:
    """Save label files as their people's annotations, skips and drafts in project ``title``.

    Parameters
    ----------
    paths : sequence of path
        Label files; each is read and checked whole before anything is sent.
    title : str
        The project. It must have the scheme's labeling config; without ``tasks`` it must exist,
        with ``tasks`` it is created when missing (as ``stance push`` creates it).
    scheme : Scheme
        The project's scheme.
    conn : Connection
        The server (:func:`annotate.studio.connection`).
    data_dir : path, optional
        The local server's data dir, where ``conn`` is the local server: its command line
        creates missing users and gives the key a draft is saved with.
    tasks : path, optional
        The ``stance tasks`` file of the sentences: those not yet in the project are imported
        with their labels (the bulk path). Without it every sentence must be in the project.
    workers : int
        Annotations posted at once for sentences already in the project.
    skip_absent : bool
        Leave out (and count) the labels of sentences that are neither in the project nor in
        ``tasks``, as when a file labels a whole corpus and the project holds a sampled batch;
        without it they are an error.
    replace_untouched : bool
        The bulk path for sentences already in the project: a sentence in one task that nobody
        has annotated, skipped, drafted or commented on is imported again with its labels (its
        ``data``, ``meta`` and predictions, as they are), and the old task is deleted once the
        copy is in, only if it is still untouched then (Label Studio checks that in the same
        query). The task's id, its position in the queue (``inner_id``) and its predictions' ids
        and dates change. Tasks someone has touched keep the per-request path.
    on_label : callable, optional
        Called with the number of labels saved, as they are.
    """
    loaded = Loaded([LoadedFile(str(path), read_label_file(path, scheme)) for path in paths])
    _load(loaded, title, scheme, conn=conn, data_dir=data_dir, tasks=tasks, timeout=timeout, workers=workers,
          on_label=on_label, skip_absent=skip_absent, replace_untouched=replace_untouched)
    return loaded


def post_labels(conn: Connection, title: str, labels: list[LabelRecord], scheme: Scheme, *, source: str = "labels",
                timeout: float = DEFAULT_TIMEOUT) -> LabelCounts:
    """Save label records as annotations of the user whose key ``conn`` holds (see :func:`load_labels`)."""
    with api(conn, timeout=timeout) as rest:
        me = call(conn, "reading the current user", rest.whoami)
    file = LoadedFile(source, LabelFile(annotator=LabelPerson(email=me["email"]), labels=labels))
    _load(Loaded([file]), title, scheme, conn=conn, data_dir=None, tasks=None, timeout=timeout, workers=WORKERS,
          on_label=None)
    return file.counts


def _load(result: Loaded, title: str, scheme: Scheme, *, conn: Connection,
          data_dir: str | os.PathLike[str] | None, tasks: str | os.PathLike[str] | None, timeout: float,
          workers: int, on_label: Callable[[int], None] | None, skip_absent: bool = False,
          replace_untouched: bool = False) -> None:
    loaded = result.files
    for file in loaded:
        file.counts.read = len(file.labels.labels)
    with api(conn, timeout=timeout) as rest:
        # Everything is checked before anything is changed: the files, the project, the spans, the people.
        project = find_project(rest, conn, title) if tasks is not None else require_project(rest, conn, title)
        if project is not None:
            check_config(conn, project, scheme)
        listed = sentence_tasks(rest, conn, project.id, touched=True).copies if project is not None else {}
        items = _items(loaded)
        absent = {item.label.sentence_id for item in items if item.label.sentence_id not in listed}
        if absent and skip_absent:  # labels of sentences neither in the project nor in the tasks file
            offered = ({t["data"]["sentence_id"] for t in read_tasks(tasks, scheme)} if tasks is not None else set())
            gone = absent - offered
            for item in items:
                if item.label.sentence_id in gone:
                    item.file.counts.absent += 1
            items = [item for item in items if item.label.sentence_id not in gone]
            absent -= gone
        texts = {s: copies[0].text for s, copies in listed.items()}
        new_tasks = _new_tasks(absent, tasks, scheme, title) if absent else {}
        texts.update({s: t["data"]["text"] for s, t in new_tasks.items()})
        for item in items:
            item.text = texts[item.label.sentence_id]
            _check_spans(item)
        known, me = _known_people(rest, conn, loaded, items)
        if project is None:
            project, result.project_created = ensure_project(rest, conn, title, scheme)
        pid = project.id
        result.project_id, result.project_url = pid, f"{conn.url}/projects/{pid}"
        people, created = _people(rest, conn, loaded, known, data_dir)
        keys = _draft_keys(conn, items, me, created, data_dir)
        old = _replaceable(rest, conn, pid, listed, items) if replace_untouched else {}
        duplicates: list[int] = []
        every = items
        if new_tasks or old:
            copies = {s: _copy_of(task) for s, (_, task) in old.items()}
            imported = _import(rest, conn, pid, new_tasks | copies, items, people, scheme, on_label,
                               replacing={s: task_id for s, (task_id, _) in old.items()})
            if old:
                delete_untouched(rest, conn, pid, [task_id for task_id, _ in old.values()])
            listed = sentence_tasks(rest, conn, pid, touched=True).copies
            every, (items, duplicates, leftover) = items, _settle(listed, imported, items)
            if leftover:  # untouched copies another push or load made meanwhile, or the old tasks still there
                delete_untouched(rest, conn, pid, leftover)
            # Counted from what stays: a delete retried after a lost reply reports none deleted.
            result.replaced = sum(1 for s in old if s in imported and imported[s] not in duplicates)
        _post(rest, conn, pid, items, people, keys, scheme, listed, timeout=timeout, workers=workers,
              on_label=on_label, verify=every)
        if duplicates:  # their labels are on the copy that stays now
            call(conn, f"deleting {len(duplicates):,} tasks another load imported too",
                 lambda: rest.delete_tasks(pid, duplicates))


def _target(copies: list[TaskCopy]) -> int:
    """The task a sentence's labels go to: its lowest annotated (or drafted) copy, else its lowest.

    ``stance push`` keeps the same one when it removes duplicates (it never deletes an
    annotated copy), and two loads at once choose the same.
    """
    return next((copy.id for copy in copies if copy.annotated), copies[0].id)


def _replaceable(rest: Api, conn: Connection, pid: int, listed: dict[str, list[TaskCopy]], items: list[_Item]
                 ) -> dict[str, tuple[int, dict]]:
    """Sentence -> (task id, task) of the sentences with labels to submit or skip that are in one task
    nobody has touched: annotated, skipped, drafted or commented on (as Label Studio tells it now)."""
    single = {s: listed[s][0].id for s in {i.label.sentence_id for i in items if i.label.status != "draft"}
              if len(listed.get(s, [])) == 1 and not listed[s][0].annotated}
    found = untouched_tasks(rest, conn, pid, set(single.values()))
    return {s: (task_id, found[task_id]) for s, task_id in single.items() if task_id in found}


def _copy_of(task: dict) -> dict:
    """What importing a task again keeps of it: its data, meta and predictions (result, score, model version)."""
    predictions = [{key: p[key] for key in ("result", "score", "model_version") if p.get(key) is not None}
                   for p in task.get("predictions") or [] if isinstance(p, dict)]
    return {"data": task["data"], "meta": task.get("meta") or {}, "predictions": predictions}


def _known_people(rest: Api, conn: Connection, loaded: list[LoadedFile], items: list[_Item]
                  ) -> tuple[dict[str, dict], str]:
    """The server's users by email, and the key's own email; an error for what a team server cannot do.

    On a team server every annotator must be a user already (users are created through the
    local server's command line), and drafts can be saved only with their person's own key.
    """
    known = {str(u.get("email", "")).lower(): u for u in users(rest, conn)}
    me = str(call(conn, "reading the current user", rest.whoami).get("email", "")).lower()
    if conn.local:
        return known, me
    for file in loaded:
        person = file.labels.annotator
        if person.email.lower() not in known:
            raise StudioError(f"{person.email} is not a user of the organisation at {conn.url}; on a team server "
                              "the annotators must exist already",
                              fix="invite them in Label Studio (Organization > Add People), then load again")
    for item in items:
        if item.label.status == "draft" and item.file.labels.annotator.email.lower() != me:
            email = item.file.labels.annotator.email
            raise StudioError(f"{item.file.path}: drafts of {email}, but {API_KEY_ENV} is the key of {me}: Label "
                              "Studio saves a draft as the user whose key sends it",
                              fix=f"load this file with {email}'s own key in {API_KEY_ENV}, or leave its drafts out")
    return known, me


def _people(rest: Api, conn: Connection, loaded: list[LoadedFile], known: dict[str, dict],
            data_dir: str | os.PathLike[str] | None) -> tuple[dict[str, dict], dict[str, str]]:
    """Email -> the server's user, for every annotator of the files, created on the local server when missing;
    and email -> the API key of each person created."""
    missing = [f.labels.annotator for f in loaded if f.labels.annotator.email.lower() not in known]
    keys = {}
    if missing:
        running = _local_server(data_dir)
        for person in {p.email.lower(): p for p in missing}.values():
            keys[person.email.lower()] = server.add_user(running, person.email, first_name=person.first_name,
                                                         last_name=person.last_name)
        known = {str(u.get("email", "")).lower(): u for u in users(rest, conn)}
    return {f.labels.annotator.email.lower(): known[f.labels.annotator.email.lower()] for f in loaded}, keys


def _local_server(data_dir: str | os.PathLike[str] | None) -> server.Server:
    directory = server.data_dir(data_dir)
    found = server.running(directory)
    if found is None:
        raise server.not_running(directory)
    return found


def _items(loaded: list[LoadedFile]) -> list[_Item]:
    """One item per (person, sentence): a second record of either is counted as repeated."""
    seen: set[tuple[str, str]] = set()
    items = []
    for file in loaded:
        person = file.labels.annotator.email.lower()
        for label in file.labels.labels:
            if (person, label.sentence_id) in seen:
                file.counts.repeated += 1
                continue
            seen.add((person, label.sentence_id))
            items.append(_Item(file, label))
    return items


def _new_tasks(absent: set[str], tasks: str | os.PathLike[str] | None, scheme: Scheme, title: str) -> dict[str, dict]:
    """The tasks of the tasks file for the sentences the project lacks."""
    first = sorted(absent)[0]
    if tasks is None:
        raise StudioError(f"{len(absent):,} labelled sentences are not in project {title!r} (e.g. {first!r})",
                          fix="push their tasks first (`stance push TASKS`), or give --tasks TASKS to create them "
                          "with their labels")
    found = {t["data"]["sentence_id"]: t for t in read_tasks(tasks, scheme) if t["data"]["sentence_id"] in absent}
    lacking = sorted(absent - found.keys())
    if lacking:
        raise StudioError(f"{len(lacking):,} labelled sentences are neither in project {title!r} nor in {tasks} "
                          f"(e.g. {lacking[0]!r})", fix="give the tasks file the labels were made from")
    return found


def _check_spans(item: _Item) -> None:
    for span in item.label.spans:
        if item.text[span.start:span.end] != span.text:
            raise InputError(f"span {span.start}-{span.end} is {item.text[span.start:span.end]!r} in the sentence, "
                             f"not {span.text!r}", path=item.file.path,
                             where=f"labels -> {item.file.labels.labels.index(item.label)}",
                             fix="offsets count characters of the sentence, from 0")


def _result(item: _Item, scheme: Scheme) -> list[dict]:
    if item.label.status == "skip":
        return []
    sent = item.label.model_dump()
    for span in sent["spans"]:  # the browser counts UTF-16 code units: so does what we store
        span["start"], span["end"] = utf16_offsets(item.text, span["start"], span["end"])
    return label_result(sent, scheme)


def _count_saved(item: _Item, by: int = 1) -> None:
    counts = item.file.counts
    if item.label.status == "skip":
        counts.skipped += by
    elif item.label.status == "draft":
        counts.drafts += by
    else:
        counts.posted += by


def _draft_keys(conn: Connection, items: list[_Item], me: str, created: dict[str, str],
                data_dir: str | os.PathLike[str] | None) -> dict[str, str]:
    """Email -> the API key each person with drafts saves them with (Label Studio takes a draft's user from it).

    The key's own person uses it; on the local server the others' keys come from its command
    line (a team server was refused by :func:`_known_people`).
    """
    drafting = {item.file.labels.annotator.email.lower(): item.file for item in items if item.label.status == "draft"}
    keys = {}
    for email, file in drafting.items():
        if email == me:
            keys[email] = conn.api_key
        elif email in created:
            keys[email] = created[email]
        else:
            person = file.labels.annotator
            keys[email] = server.add_user(_local_server(data_dir), person.email, first_name=person.first_name,
                                          last_name=person.last_name)
    return keys


def _import(rest: Api, conn: Connection, pid: int, new_tasks: dict[str, dict], items: list[_Item],
            people: dict[str, dict], scheme: Scheme, on_label: Callable[[int], None] | None, *,
            replacing: dict[str, int] | None = None) -> dict[str, int]:
    """Import the tasks with their annotations and skips; sentence id -> our new task's id.

    ``replacing`` maps the sentences whose tasks are copies of untouched tasks to those tasks'
    ids: such a copy has landed when its sentence is in another task than that one.
    """
    replacing = replacing or {}
    by_sentence: dict[str, list[_Item]] = {}
    for item in items:
        if item.label.sentence_id in new_tasks and item.label.status != "draft":
            by_sentence.setdefault(item.label.sentence_id, []).append(item)
    order = sorted(new_tasks)
    made: dict[str, int] = {}
    for start in range(0, len(order), IMPORT_BATCH):
        batch = order[start:start + IMPORT_BATCH]

        def payload(sentences: list[str]) -> list[dict]:
            return [{**new_tasks[s], "annotations": [
                {"result": _result(item, scheme), "completed_by": {"email": people[item.file.labels.annotator.email
                                                                                 .lower()]["email"]},
                 "was_cancelled": item.label.status == "skip", "ground_truth": False, "lead_time": item.label.lead_time}
                for item in by_sentence.get(s, [])]} for s in sentences]

        pending = batch

        def send() -> list[int]:
            return rest.import_tasks(pid, payload(pending)) if pending else []

        def drop_landed() -> None:  # an import that failed half-way may have landed whole
            nonlocal pending
            there = sentence_tasks(rest, conn, pid).copies
            pending = [s for s in pending if any(copy.id != replacing.get(s) for copy in there.get(s, []))]

        ids = call(conn, f"importing {len(batch):,} tasks with their labels", send, before_retry=drop_landed)
        made.update(zip(pending, ids))
        for s in pending:
            for item in by_sentence.get(s, []):
                _count_saved(item)
                item.via = "replaced" if s in replacing else "imported"
                item.saved = "saved"
                setattr(item.file.counts, item.via, getattr(item.file.counts, item.via) + 1)
            if on_label is not None and by_sentence.get(s):
                on_label(len(by_sentence[s]))
    return made


def _settle(listed: dict[str, list[TaskCopy]], imported: dict[str, int], items: list[_Item]
            ) -> tuple[list[_Item], list[int], list[int]]:
    """The items still to post, our imported copies to delete once they are posted, and the other
    untouched copies of the sentences imported (to delete now).

    Of a sentence's copies the one that stays is :func:`_target`'s, the lowest annotated one.
    Where that is not ours (another load imported the sentence at the same time, or someone
    touched the untouched task ours replaces before it was deleted), our annotations go to it
    like those of a sentence that was there, and our copy is deleted afterwards. Drafts are
    always posted.
    """
    moved: set[str] = set()
    ours_to_delete = []
    leftover = []
    for sentence, task_id in imported.items():
        copies = listed.get(sentence, [])
        keep = _target(copies) if copies else task_id
        if keep != task_id:
            moved.add(sentence)
            ours_to_delete.append(task_id)
        leftover += [copy.id for copy in copies if not copy.annotated and copy.id not in (keep, task_id)]
    rest_items = []
    for item in items:
        s = item.label.sentence_id
        if s in imported and s not in moved and item.label.status != "draft":
            continue  # in Label Studio with its task
        if s in moved and item.label.status != "draft" and item.via:
            _count_saved(item, -1)  # counted as saved by the import: recounted by the post
            setattr(item.file.counts, item.via, getattr(item.file.counts, item.via) - 1)
            item.via, item.saved = "", ""
        rest_items.append(item)
    return rest_items, ours_to_delete, leftover


def _post(rest: Api, conn: Connection, pid: int, items: list[_Item], people: dict[str, dict], keys: dict[str, str],
          scheme: Scheme, listed: dict[str, list[TaskCopy]], *, timeout: float, workers: int,
          on_label: Callable[[int], None] | None, verify: list[_Item] | None = None) -> None:
    """Post the items onto their tasks, ``workers`` at a time; drafts as their people.

    A task deleted meanwhile (another load replaced it with a copy, or removed its duplicate)
    sends its items to the sentence's task as the project is listed again. Afterwards every
    annotation and skip of ``verify`` (all the items) saved by this load is looked for on its
    sentence's tasks, and one lost with a task deleted as it was saved is saved again.
    """
    local = threading.local()
    opened: list[Api] = []
    lock = threading.Lock()

    def client(key: str) -> Api:
        found = getattr(local, "clients", None)
        if found is None:
            found = local.clients = {}
        if key not in found:
            made = api(Connection(conn.url, key, conn.local), timeout=timeout)
            with lock:
                opened.append(made)
            found[key] = made
        return found[key]

    gone: list[_Item] = []
    every = list(items if verify is None else verify)

    def save(item: _Item) -> None:
        person = people[item.file.labels.annotator.email.lower()]
        if item.label.status == "draft":
            saved = _draft(client(keys[person["email"].lower()]), conn, pid, item, person, scheme)
        else:
            saved = _annotation(client(conn.api_key), conn, pid, item, person, scheme)
        with lock:
            if saved is None:
                gone.append(item)
                return
            if saved:
                _count_saved(item)
            else:
                item.file.counts.already += 1
            item.saved = "saved" if saved else "held" if item.label.status != "draft" else ""
            if on_label is not None:
                on_label(1)

    def round_of(todo_items: list[_Item], copies: dict[str, list[TaskCopy]]) -> None:
        done: dict[int, set[int]] = {}
        for person in {people[i.file.labels.annotator.email.lower()]["id"] for i in todo_items}:
            done[person] = tasks_where(rest, conn, pid, "annotators", person,
                                       f"listing the tasks user {person} annotated")
        todo = []
        for item in todo_items:
            if not copies.get(item.label.sentence_id):  # deleted whole meanwhile
                gone.append(item)
                continue
            item.task_id = _target(copies[item.label.sentence_id])
            if item.task_id in done[people[item.file.labels.annotator.email.lower()]["id"]]:
                item.file.counts.already += 1
            else:
                todo.append(item)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for future in [pool.submit(save, item) for item in todo]:
                future.result()

    try:
        round_of(items, listed)
        for _ in range(VERIFY_ROUNDS):
            lost = _lost(rest, conn, pid, every, people)
            if not gone and not lost:
                return
            for item in lost:  # counted as saved: recounted when saved again
                if item.saved == "held":
                    item.file.counts.already -= 1
                else:
                    _count_saved(item, -1)
                item.saved, item.retried = "", True
                if item.via:
                    setattr(item.file.counts, item.via, getattr(item.file.counts, item.via) - 1)
                    item.via = ""
            again, gone[:] = gone + lost, []
            round_of(again, sentence_tasks(rest, conn, pid, touched=True).copies)
        raise StudioError(f"{len(gone) + len(lost):,} labels of project {pid} went with tasks deleted while they "
                          "were saved, again and again", fix="load the labels again")
    finally:
        for made in opened:
            made.close()


def _lost(rest: Api, conn: Connection, pid: int, items: list[_Item], people: dict[str, dict]) -> list[_Item]:
    """The annotations and skips saved that are on none of their sentence's tasks now.

    A task being deleted (by a load that replaces it, a moment after it found it untouched)
    can take an annotation posted in that moment with it; Label Studio answered 201 for it.
    """
    saved = [item for item in items if item.label.status != "draft" and item.saved]
    if not saved:
        return []
    copies = sentence_tasks(rest, conn, pid).copies
    on: dict[int, set[int]] = {}
    lost = []
    for item in saved:
        person = people[item.file.labels.annotator.email.lower()]["id"]
        if person not in on:
            on[person] = tasks_where(rest, conn, pid, "annotators", person, f"listing the tasks user {person} annotated")
        if not any(copy.id in on[person] for copy in copies.get(item.label.sentence_id, [])):
            lost.append(item)
    return lost


def _annotation(rest: Api, conn: Connection, pid: int, item: _Item, person: dict, scheme: Scheme) -> bool | None:
    """Post one annotation or skip on the person's behalf; False when Label Studio holds it already (409),
    None when the task is gone (404)."""
    from .rest import AnswerError

    body = {"result": _result(item, scheme), "lead_time": item.label.lead_time,
            "was_cancelled": item.label.status == "skip", "ground_truth": False, "completed_by": person["id"],
            "unique_id": unique_id(pid, item.label.sentence_id, person["email"], task=item.task_id if item.retried else None)}

    def post() -> bool | None:
        try:
            rest.request("POST", f"api/tasks/{item.task_id}/annotations/", json=body)
        except AnswerError as exc:
            if exc.status_code == 409:  # "Annotation with this unique id already exists"
                return False
            if _gone(rest, pid, item.task_id, exc):
                return None
            raise
        return True
    return call(conn, f"saving {item.file.path}'s label of {item.label.sentence_id}", post)


class _Gone(Exception):
    """The task was deleted meanwhile (HTTP 404)."""


def _gone(rest: Api, pid: int, task_id: int, exc: AnswerError) -> bool:
    """Whether a failed request failed because its task was deleted meanwhile.

    Label Studio 1.23.2 answers 404 for a task deleted, and HTTP 500 (``'NoneType' object has no
    attribute 'has_permission'``) for one being deleted: its bulk delete first takes the tasks
    out of their project.
    """
    if exc.status_code != 404 and exc.status_code < 500:
        return False
    query = {"selectedItems": {"all": False, "included": [task_id]}}
    return not list(rest.tasks(pid, include="id", query=query))


def _draft(rest: Api, conn: Connection, pid: int, item: _Item, person: dict, scheme: Scheme) -> bool | None:
    """Save one draft as the person; False when they have one on the task already, None when the task is gone.

    Drafts have no unique id: after saving, every draft of the person on the task but the
    oldest is deleted, so two loads at once leave one.
    """
    from .rest import AnswerError

    email = person["email"].lower()
    path = f"api/tasks/{item.task_id}/drafts"

    def on_task(method: str, body: dict | None = None) -> Any:
        try:
            return rest.request(method, path, json=body)
        except AnswerError as exc:
            if _gone(rest, pid, item.task_id, exc):
                raise _Gone from None
            raise

    def mine() -> list[int]:
        drafts = on_task("GET") or []
        return sorted(d["id"] for d in drafts if str(d.get("user", "")).lower() == email)

    what = f"saving {item.file.path}'s draft of {item.label.sentence_id}"
    try:
        if call(conn, what, mine):
            return False
        made = call(conn, what, lambda: on_task("POST", {"result": _result(item, scheme),
                                                        "lead_time": item.label.lead_time}))
        drafts = call(conn, what, mine)
    except _Gone:
        return None
    for extra in drafts[1:]:
        call(conn, what, lambda: rest.request("DELETE", f"api/drafts/{extra}/"))
    return bool(drafts) and drafts[0] == (made or {}).get("id")


def load_counts_line(file: LoadedFile) -> str:
    """What loading one file did, for people."""
    c = file.counts
    parts = [f"{c.posted:,} saved as annotations"]
    if c.skipped:
        parts.append(f"{c.skipped:,} as skips")
    if c.drafts:
        parts.append(f"{c.drafts:,} as drafts")
    parts.append(f"{c.already:,} already there")
    if c.repeated:
        parts.append(f"{c.repeated:,} repeated in the file")
    if c.absent:
        parts.append(f"{c.absent:,} left out (their sentences are not in the project)")
    bulk = [f"{c.imported:,} with their tasks"] if c.imported else []
    bulk += [f"{c.replaced:,} with copies of their untouched tasks"] if c.replaced else []
    bulk = f" ({', '.join(bulk)})" if bulk else ""
    return f"{file.path}: {c.read:,} labels by {file.labels.annotator.email}: {', '.join(parts)}{bulk}"

