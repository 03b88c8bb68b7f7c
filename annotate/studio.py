"""Push tasks to Label Studio and pull its export back, through label-studio-sdk 2.x.

The server is the local one (:mod:`annotate.server`) unless ``LABEL_STUDIO_URL`` and
``LABEL_STUDIO_API_KEY`` name a team server. A project is found by its title; its labeling
config must be the one the scheme generates. Tasks are matched on ``data.sentence_id``, so
a push is idempotent and an interrupted push resumes without duplicates. A pull is a
snapshot export of every task with annotators as objects and drafts and predictions in full,
streamed to the output file and renamed into place when complete.

Transient failures (connection reset, HTTP 5xx, 429) are retried a few times with back-off;
everything else ends in one :class:`~annotate.errors.StudioError` line that says what to do.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from . import server
from .errors import InputError, StudioError, StudioUnavailable, validation_problem
from .files import atomic_write
from .labeling import labeling_config
from .scheme import Scheme
from .tasks import Task

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

URL_ENV = "LABEL_STUDIO_URL"
API_KEY_ENV = "LABEL_STUDIO_API_KEY"
ATTEMPTS = 4  # one try and three retries: 0.5 s, 1 s, 2 s apart
FIRST_DELAY = 0.5
BATCH_SIZE = 1000
PAGE_SIZE = 1000
DEFAULT_TIMEOUT = 120.0
SERIALIZATION = {  # a snapshot's options: everything in full, and every kind of annotation
    "drafts": {"only_id": False},
    "predictions": {"only_id": False},
    "annotations__completed_by": {"only_id": False},
}
ANNOTATION_FILTER = {"usual": True, "ground_truth": True, "skipped": True}  # the server drops skipped ones otherwise

T = TypeVar("T")


@dataclass(frozen=True)
class Connection:
    """Where a Label Studio server is and the key to it."""

    url: str
    api_key: str = field(repr=False)
    local: bool  # our own server (from the data dir) rather than LABEL_STUDIO_URL

    @property
    def fix_unreachable(self) -> str:
        if self.local:
            return "the local server seems to have stopped: start it with `stance studio start`"
        return f"check {URL_ENV} and that the server runs"


def connection(data_dir: str | os.PathLike[str] | None = None) -> Connection:
    """The team server from the environment, else the local server of ``data_dir``."""
    url, key = os.environ.get(URL_ENV), os.environ.get(API_KEY_ENV)
    if url or key:
        if not (url and key):
            missing = API_KEY_ENV if url else URL_ENV
            raise StudioError(
                f"{missing} is not set",
                fix=f"set both {URL_ENV} and {API_KEY_ENV} for a team server, or neither for the local one",
            )
        return Connection(url.rstrip("/"), key, local=False)
    directory = server.data_dir(data_dir)
    found = server.running(directory)
    if found is None:
        raise server.not_running(directory)
    return Connection(found.url, found.token, local=True)


def client(conn: Connection, *, timeout: float = DEFAULT_TIMEOUT) -> LabelStudio:
    """A ``LabelStudio`` client whose key the server has accepted."""
    try:
        from label_studio_sdk import LabelStudio
    except ImportError:
        raise StudioError(
            "label-studio-sdk is not installed", fix="install the client with `pip install 'stance-annotate[studio]'`"
        ) from None
    # Retries are ours (see `call`): the SDK would also resend an import that may have landed.
    ls = LabelStudio(base_url=conn.url, api_key=conn.api_key, timeout=timeout, max_retries=0)
    call(conn, "checking the API key", ls.users.whoami)
    return ls


# --- errors and retries ----------------------------------------------------------------

def _transient(exc: Exception) -> bool:
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    if isinstance(exc, ApiError):
        return exc.status_code is not None and (exc.status_code >= 500 or exc.status_code == 429)
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.TimeoutException)


def call(conn: Connection, what: str, fn: Callable[[], T], *, before_retry: Callable[[], None] | None = None) -> T:
    """Run ``fn()``, retrying transient failures with back-off; raise one clear error otherwise.

    Parameters
    ----------
    conn : Connection
        The server, for the error messages.
    what : str
        What the call does, for the error messages ("importing tasks 1-1000").
    fn : callable
        The request.
    before_retry : callable, optional
        Runs before each retry: a request that is not idempotent re-reads what has landed.
    """
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    delay = FIRST_DELAY
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn()
        except (ApiError, httpx.HTTPError) as exc:
            if attempt < ATTEMPTS and _transient(exc):
                time.sleep(delay)
                delay *= 2
                if before_retry is not None:
                    before_retry()
                continue
            raise _error(conn, what, exc, attempt) from None
    raise AssertionError("unreachable")


def _error(conn: Connection, what: str, exc: Exception, attempts: int) -> StudioError:
    import httpx

    tries = f" after {attempts} tries" if attempts > 1 else ""
    if isinstance(exc, httpx.TimeoutException):
        return StudioUnavailable(
            f"{what}: Label Studio at {conn.url} did not answer in time ({type(exc).__name__})",
            fix="give it more time with --timeout, or smaller batches with --batch-size",
        )
    if isinstance(exc, httpx.HTTPError):
        return StudioUnavailable(
            f"{what}: cannot reach Label Studio at {conn.url}{tries} ({type(exc).__name__})",
            fix=conn.fix_unreachable,
        )
    status = exc.status_code
    detail = _detail(exc.body)
    if status == 401:
        fix = ("the token file does not belong to this server's database; use the --data-dir it was started with"
               if conn.local else f"check {API_KEY_ENV}: a personal access token, or a legacy token "
               "if the organisation allows them (Organization > API Tokens Settings)")
        return StudioError(f"{what}: Label Studio at {conn.url} rejected the API key (HTTP 401: {detail})", fix=fix)
    if status == 403:
        return StudioError(f"{what}: not allowed (HTTP 403: {detail})", fix="use the key of a user with access")
    return (StudioUnavailable if status >= 500 or status == 429 else StudioError)(
        f"{what}: Label Studio at {conn.url} answered HTTP {status}{tries}: {detail}"
    )


def _detail(body: Any) -> str:
    """The useful part of an error body: the detail, or the first validation error."""
    if isinstance(body, dict):
        errors = body.get("validation_errors")
        if isinstance(errors, dict) and errors:
            key, messages = next(iter(errors.items()))
            first = messages[0] if isinstance(messages, list) and messages else messages
            return f"{key}: {first}"[:300]
        for key in ("detail", "message", "error"):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300] if body else "no details"


# --- projects --------------------------------------------------------------------------

def find_project(ls: LabelStudio, conn: Connection, title: str) -> Any | None:
    """The project titled exactly ``title``, or None; two of them is an error."""
    listed = call(conn, f"looking up project {title!r}", lambda: list(ls.projects.list(title=title, page_size=100)))
    matches = [project for project in listed if project.title == title]
    if len(matches) > 1:
        ids = ", ".join(str(project.id) for project in matches)
        raise StudioError(f"{len(matches)} projects at {conn.url} are titled {title!r} (ids {ids})",
                          fix="rename all but one in Label Studio (Settings > General)")
    if not matches:
        return None
    return call(conn, f"reading project {title!r}", lambda: ls.projects.get(matches[0].id))


def require_project(ls: LabelStudio, conn: Connection, title: str) -> Any:
    """The project titled ``title``; an error that lists the titles there when it is missing."""
    project = find_project(ls, conn, title)
    if project is None:
        titles = call(conn, "listing projects", lambda: [p.title for p in ls.projects.list(page_size=100)])
        there = ", ".join(repr(t) for t in titles[:10]) or "none"
        raise StudioError(f"no project titled {title!r} at {conn.url} (projects there: {there})",
                          fix=f"check --project, or create it with `stance push TASKS --project {title!r}`")
    return project


def config_difference(expected: str, actual: str) -> str | None:
    """The first difference between two labeling configs, ignoring layout; None when equal.

    >>> config_difference('<View><Text name="a"/></View>', '<View>\\n  <Text name="a" />\\n</View>')
    >>> config_difference('<View><Text name="a"/></View>', '<View><Text name="b"/></View>')
    "expected <Text name='a'>, found <Text name='b'>"
    """
    try:
        found = list(_elements(ET.fromstring(actual)))
    except ET.ParseError as exc:
        return f"its config is not valid XML ({exc})"
    wanted = list(_elements(ET.fromstring(expected)))
    for want, got in zip(wanted, found):
        if want != got:
            return f"expected {_show_element(want)}, found {_show_element(got)}"
    if len(wanted) != len(found):
        longer, verb = (wanted, "lacks") if len(wanted) > len(found) else (found, "has an extra")
        return f"it {verb} {_show_element(longer[min(len(wanted), len(found))])}"
    return None


def _elements(root: ET.Element) -> Iterator[tuple[int, str, tuple, str]]:
    """Every element in document order as (depth, tag, sorted attributes, stripped text)."""
    def walk(element: ET.Element, depth: int) -> Iterator[tuple[int, str, tuple, str]]:
        yield depth, element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip()
        for child in element:
            yield from walk(child, depth + 1)
    return walk(root, 0)


def _show_element(element: tuple[int, str, tuple, str]) -> str:
    _, tag, attributes, _ = element
    key = dict(attributes)
    named = next((f" {k}={key[k]!r}" for k in ("name", "value") if k in key), "")
    return f"<{tag}{named}>"


def ensure_project(ls: LabelStudio, conn: Connection, title: str, scheme: Scheme, *, overlap: int = 2) -> tuple[Any, bool]:
    """The project titled ``title`` with the scheme's config, created when missing.

    Returns the project and whether it was created. An existing project whose config differs
    is an error: its annotations were made against the other config.
    """
    config = labeling_config(scheme)
    project = find_project(ls, conn, title)
    if project is None:
        created = call(conn, f"creating project {title!r}", lambda: ls.projects.create(
            title=title, label_config=config, description=f"{scheme.name} ({scheme.scheme})",
            maximum_annotations=overlap, show_skip_button=True,
        ))
        return created, True
    check_config(conn, project, scheme)
    return project, False


def check_config(conn: Connection, project: Any, scheme: Scheme) -> None:
    """A :class:`StudioError` when the project's labeling config is not the scheme's.

    Its annotations were made, and predictions for it must be made, against its own config.
    """
    difference = config_difference(labeling_config(scheme), project.label_config or "")
    if difference is not None:
        raise StudioError(
            f"project {project.title!r} (id {project.id}) at {conn.url} has another labeling config than "
            f"scheme {scheme.name!r}: {difference}",
            fix="use another --project, or give the --scheme it was made with; to change its config on "
            "purpose, paste `stance config` output into its Settings > Labeling Interface",
        )


# --- push ------------------------------------------------------------------------------

@dataclass
class PushCounts:
    """What a push did; ``read == already + repeated + created``."""

    project_id: int = 0
    project_url: str = ""
    project_created: bool = False
    read: int = 0
    already: int = 0
    repeated: int = 0  # a sentence_id seen earlier in the same file
    created: int = 0


def read_tasks(path: str | os.PathLike[str], scheme: Scheme) -> Iterator[dict]:
    """The tasks of an import file written by ``stance tasks``, one line at a time, validated.

    The file is a JSON list with one task per line, so it streams whatever its size.
    """
    path = Path(path)
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such tasks file", path=path, fix="write one with `stance tasks`") from None
    with handle:
        for number, line in enumerate(handle, 1):
            line = line.strip().removesuffix(",")
            if line in ("[", "]", ""):
                continue
            where = f"line {number}"
            try:
                task = Task.model_validate_json(line)
            except ValidationError as exc:
                raise InputError(
                    validation_problem(exc), path=path, where=where,
                    fix="a tasks file is a JSON list with one {\"data\": {...}} per line, as `stance tasks` writes it",
                ) from None
            if task.data.scheme != scheme.scheme:
                raise InputError(f"task is for scheme {task.data.scheme!r}, not {scheme.scheme!r}",
                                 path=path, where=where, fix="give the matching --scheme")
            yield task.model_dump()


def task_ids(ls: LabelStudio, conn: Connection, project_id: int) -> dict[str, int]:
    """The task id of every ``sentence_id`` in the project (tasks without one are ignored)."""
    def fetch() -> dict[str, int]:
        pager = ls.tasks.list(project=project_id, page_size=PAGE_SIZE, fields="task_only", include="id,data")
        return {task.data["sentence_id"]: task.id for task in pager if task.data and "sentence_id" in task.data}
    return call(conn, f"listing the tasks of project {project_id}", fetch)


def push(
    path: str | os.PathLike[str],
    title: str,
    scheme: Scheme,
    *,
    conn: Connection,
    batch_size: int = BATCH_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
    overlap: int = 2,
    on_batch: Callable[[int], None] | None = None,
) -> PushCounts:
    """Import the tasks of ``path`` that the project lacks, in batches.

    Parameters
    ----------
    path : path
        An import file from ``stance tasks``.
    title : str
        The project, created with the scheme's labeling config when missing.
    scheme : Scheme
        The label scheme the tasks were made for.
    conn : Connection
        The server (see :func:`connection`).
    batch_size : int
        Tasks per import request; each batch lands whole or not at all, so an interrupted
        push leaves whole batches behind and the next push skips them.
    timeout : float
        Seconds to wait for one request.
    overlap : int
        Annotations wanted per task, set on a project this push creates.
    on_batch : callable, optional
        Called with the number of tasks of each batch sent.
    """
    return push_tasks(read_tasks(path, scheme), title, scheme, conn=conn, batch_size=batch_size, timeout=timeout,
                      overlap=overlap, on_batch=on_batch)


def push_tasks(
    tasks: Iterable[dict],
    title: str,
    scheme: Scheme,
    *,
    conn: Connection,
    batch_size: int = BATCH_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
    overlap: int = 2,
    on_batch: Callable[[int], None] | None = None,
) -> PushCounts:
    """Import the task dicts (``{"data": ..., "predictions": [...]}``) the project lacks; see :func:`push`."""
    ls = client(conn, timeout=timeout)
    project, created = ensure_project(ls, conn, title, scheme, overlap=overlap)
    counts = PushCounts(project_id=project.id, project_url=f"{conn.url}/projects/{project.id}", project_created=created)
    existing = set() if created else task_ids(ls, conn, project.id).keys()
    queued: set[str] = set()
    batch: list[dict] = []
    for task in tasks:
        counts.read += 1
        sentence_id = task["data"]["sentence_id"]
        if sentence_id in existing:
            counts.already += 1
        elif sentence_id in queued:
            counts.repeated += 1
        else:
            queued.add(sentence_id)
            batch.append(task)
        if len(batch) == batch_size:
            counts.created += _import(ls, conn, project.id, batch, first=counts.created + 1)
            if on_batch is not None:
                on_batch(len(batch))
            batch = []
    if batch:
        counts.created += _import(ls, conn, project.id, batch, first=counts.created + 1)
        if on_batch is not None:
            on_batch(len(batch))
    return counts


def _import(ls: LabelStudio, conn: Connection, project_id: int, batch: list[dict], *, first: int) -> int:
    """Import one batch; return its size.

    An import that failed half-way may still have landed, so before a retry the project's
    sentence ids are read again and the tasks already there are not sent twice.
    """
    pending = batch

    def send() -> None:
        if pending:
            ls.projects.import_tasks(project_id, request=pending)

    def drop_landed() -> None:
        nonlocal pending
        landed = task_ids(ls, conn, project_id)
        pending = [task for task in pending if task["data"]["sentence_id"] not in landed]

    call(conn, f"importing new tasks {first:,}-{first + len(batch) - 1:,}", send, before_retry=drop_landed)
    return len(batch)


# --- pull ------------------------------------------------------------------------------

@dataclass
class PullCounts:
    """What a pull wrote, counted in the file itself."""

    project_id: int
    project_url: str
    size: int  # bytes
    tasks: int = 0
    annotations: int = 0  # not skipped
    skipped: int = 0
    drafts: int = 0
    predictions: int = 0


def pull(
    title: str,
    output: str | os.PathLike[str],
    *,
    conn: Connection,
    timeout: float = DEFAULT_TIMEOUT,
    on_chunk: Callable[[int], None] | None = None,
) -> PullCounts:
    """Write the full JSON export of every task of project ``title`` to ``output``.

    A snapshot export with annotators as objects, drafts and predictions in full and every
    annotation (skipped and ground truth included), streamed to a temporary file beside
    ``output`` and renamed over it when complete. The snapshot is deleted afterwards.
    """
    ls = client(conn, timeout=timeout)
    project = require_project(ls, conn, title)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    snapshot = call(conn, f"creating an export of project {title!r}", lambda: ls.projects.exports.create(
        project.id, title=f"stance pull {stamp}", serialization_options=SERIALIZATION,
        task_filter_options={"only_with_annotations": False}, annotation_filter_options=ANNOTATION_FILTER,
    ))
    try:
        snapshot = _wait_for(ls, conn, project.id, snapshot, timeout=timeout)
        size = _download(ls, conn, project.id, snapshot.id, output, on_chunk=on_chunk)
    finally:
        call(conn, "deleting the export snapshot", lambda: ls.projects.exports.delete(project.id, snapshot.id))
    return _count(output, PullCounts(project_id=project.id, project_url=f"{conn.url}/projects/{project.id}", size=size))


def _count(path: str | os.PathLike[str], counts: PullCounts) -> PullCounts:
    """Count the tasks, annotations, skips, drafts and predictions of an export, streaming."""
    import ijson  # a dependency of label-studio-sdk

    with open(path, "rb") as handle:
        for task in ijson.items(handle, "item"):
            counts.tasks += 1
            skipped = sum(1 for annotation in task["annotations"] if annotation["was_cancelled"])
            counts.skipped += skipped
            counts.annotations += len(task["annotations"]) - skipped
            counts.drafts += len(task.get("drafts") or [])
            counts.predictions += len(task.get("predictions") or [])
    return counts


def _wait_for(ls: LabelStudio, conn: Connection, project_id: int, snapshot: Any, *, timeout: float) -> Any:
    """Poll a snapshot until it is completed (at once in Label Studio Community)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while snapshot.status != "completed":
        if snapshot.status == "failed":
            raise StudioError(f"Label Studio at {conn.url} failed to make the export (snapshot {snapshot.id})",
                              fix="read the server log, then pull again")
        if time.monotonic() > deadline:
            raise StudioUnavailable(f"the export was not ready within {timeout:.0f} s",
                                    fix="give it more time with --timeout")
        time.sleep(delay)
        delay = min(delay * 2, 5)
        snapshot = call(conn, "checking the export", lambda: ls.projects.exports.get(project_id, export_pk=snapshot.id))
    return snapshot


def _download(ls: LabelStudio, conn: Connection, project_id: int, export_id: int,
              output: str | os.PathLike[str], *, on_chunk: Callable[[int], None] | None) -> int:
    """Stream a snapshot's JSON into ``output`` atomically; return the bytes written."""
    def fetch() -> int:
        decoder = codecs.getincrementaldecoder("utf-8")()
        size = 0
        with atomic_write(output) as out:
            for chunk in ls.projects.exports.download(project_id, export_id, export_type="JSON"):
                out.write(decoder.decode(chunk))
                size += len(chunk)
                if on_chunk is not None:
                    on_chunk(len(chunk))
            out.write(decoder.decode(b"", final=True))
        return size
    return call(conn, "downloading the export", fetch)
