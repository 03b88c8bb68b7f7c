"""Labels made outside Label Studio, posted into it as a person's annotations.

A label file (``seeds/labels/annotator-*.json``) holds one person's labels of pushed tasks;
``stance studio load-labels`` creates that person as a user of the local server and saves
their labels as their annotations, so that the rest of the flow reads them back like any
other. :func:`label_result` is also how predictions are written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import server
from .errors import InputError, StudioError, validation_problem
from .labeling import CLAIM_CONTROL, SENTENCE, SPAN_CONTROL
from .labels import ClaimLabel, SpanLabel, StanceLabel, utf16_offsets
from .scheme import Scheme
from .studio import DEFAULT_TIMEOUT, PAGE_SIZE, Connection, call, client, require_project

def label_result(label: dict, scheme: Scheme) -> list[dict]:
    """The Label Studio ``result`` of one label record (claim, stance per target, spans).

    Span offsets are relative to the sentence, as Label Studio keeps them.
    """
    def choice(control: str, value: str) -> dict:
        return {"from_name": control, "to_name": SENTENCE, "type": "choices", "value": {"choices": [value]}}

    result = [choice(CLAIM_CONTROL, label["claim"])]
    result += [choice(scheme.stance_control(t), label["stance"][t]) for t in scheme.target_ids if t in label["stance"]]
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
    """One sentence's labels in a label file."""

    model_config = ConfigDict(extra="forbid")

    sentence_id: str
    claim: ClaimLabel
    stance: dict[str, StanceLabel]
    spans: list[LabelSpan] = Field(default_factory=list)
    lead_time: float | None = None


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
    """A label file, validated against the scheme; an error names the field path."""
    path = Path(path)
    try:
        record = LabelFile.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise InputError("no such label file", path=path) from None
    except ValidationError as exc:
        raise InputError(validation_problem(exc), path=path,
                         fix="a label file is {\"annotator\": {\"email\": ...}, \"labels\": [...]}, "
                         "as in seeds/labels/") from None
    for number, label in enumerate(record.labels):
        if set(label.stance) != set(scheme.target_ids):
            raise InputError(f"stance targets {sorted(label.stance)} are not the scheme's {sorted(scheme.target_ids)}",
                             path=path, where=f"labels -> {number}", fix="give a stance for every target of the scheme")
    return record


@dataclass
class LabelCounts:
    """What a label upload did; ``read == posted + already``."""

    read: int = 0
    posted: int = 0
    already: int = 0  # the user had annotated that task before


def post_labels(conn: Connection, title: str, labels: list[LabelRecord], scheme: Scheme, *,
                source: str = "labels", timeout: float = DEFAULT_TIMEOUT) -> LabelCounts:
    """Save label records as annotations of the user whose key ``conn`` holds.

    Each record names its task by ``sentence_id``; the tasks must have been pushed. A task
    the user has annotated already is left alone, so loading the same labels twice adds none.
    Span texts are checked against the task's sentence before anything is sent.
    """
    ls = client(conn, timeout=timeout)
    me = call(conn, "reading the current user", ls.users.whoami).id
    project = require_project(ls, conn, title)

    def fetch() -> dict[str, Any]:
        # "task_only" leaves `annotators` empty: it needs fields="all" (measured on 1.23.2)
        pager = ls.tasks.list(project=project.id, page_size=PAGE_SIZE, fields="all", include="id,data,annotators")
        return {task.data["sentence_id"]: task for task in pager if task.data and "sentence_id" in task.data}
    tasks = call(conn, f"listing the tasks of project {project.id}", fetch)
    for number, label in enumerate(labels):
        task = tasks.get(label.sentence_id)
        if task is None:
            raise StudioError(f"no task with sentence_id {label.sentence_id!r} in project {title!r}",
                              path=source, where=f"labels -> {number}", fix="push the tasks of these labels first")
        for span in label.spans:
            if task.data["text"][span.start:span.end] != span.text:
                raise InputError(f"span {span.start}-{span.end} is {task.data['text'][span.start:span.end]!r} "
                                 f"in the sentence, not {span.text!r}", path=source, where=f"labels -> {number}",
                                 fix="offsets count characters of the sentence, from 0")
    counts = LabelCounts(read=len(labels))
    for number, label in enumerate(labels):
        task = tasks[label.sentence_id]
        if me in {user if isinstance(user, int) else user.get("id") for user in task.annotators or []}:
            counts.already += 1
            continue
        sent = label.model_dump()
        for span in sent["spans"]:  # the browser counts UTF-16 code units: so does what we store
            span["start"], span["end"] = utf16_offsets(task.data["text"], span["start"], span["end"])
        call(conn, f"saving label {number} of {source}", lambda: ls.annotations.create(
            task.id, result=label_result(sent, scheme), lead_time=label.lead_time))
        counts.posted += 1
    return counts


def load_label_file(path: str | os.PathLike[str], title: str, scheme: Scheme, *,
                    directory: Path, timeout: float = DEFAULT_TIMEOUT) -> tuple[LabelFile, LabelCounts]:
    """Post a label file as its annotator on the local server, creating that user when missing."""
    record = read_label_file(path, scheme)
    found = server.running(directory)
    if found is None:
        raise server.not_running(directory)
    person = record.annotator
    token = server.add_user(found, person.email, first_name=person.first_name, last_name=person.last_name)
    conn = Connection(found.url, token, local=True)
    return record, post_labels(conn, title, record.labels, scheme, source=str(path), timeout=timeout)
