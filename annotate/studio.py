"""Push tasks to Label Studio and pull its export back.

The server is the local one (:mod:`annotate.server`) unless ``LABEL_STUDIO_URL`` and
``LABEL_STUDIO_API_KEY`` name a team server. Push and pull talk to it through
:class:`annotate.rest.Api`, a small client on httpx that starts fast and ends every request
within ``--timeout`` seconds as a whole; the other stages still use label-studio-sdk through
:func:`client`. The functions here that take a client (:func:`find_project`,
:func:`require_project`, :func:`ensure_project`, :func:`task_ids`) want an ``Api`` and still
accept an SDK client.

A project is found by its title; its labeling config must be the one the scheme generates.
Tasks are matched on ``data.sentence_id``, so a push is idempotent and an interrupted push
resumes without duplicates. Two pushes at the same time, from one machine or from several
to a team server, end the same way: after creating a project a push keeps the project of
that title with the lowest id (and deletes its own if that is another); after importing, if
the project holds other tasks than those it listed and made, it lists the project again and
deletes every copy of a sentence but the lowest task id (an annotated copy is never
deleted). Both pushes compute the same set, so each sentence ends in one task. A pull is a snapshot export of every task with annotators as objects and
drafts and predictions in full, streamed to the output file and renamed into place when
complete.

Transient failures (connection reset, HTTP 5xx, 429) are retried a few times with back-off;
everything else ends in one :class:`~annotate.errors.StudioError` line that says what to do.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import html
import itertools
import os
import re
import sys
import time
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from pydantic import ValidationError

from . import server
from .defaults import API_KEY_ENV, BATCH_SIZE, DEFAULT_TIMEOUT, URL_ENV
from .errors import InputError, SchemeError, StudioError, StudioUnavailable, validation_problem
from .files import atomic_write
from .labeling import MENTIONS_MODEL, instructions_html, labeling_config, project_config, scheme_from_config
from .scheme import Scheme, labelling_difference
from .tasks import Task

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

    from .rest import Api, Project

ATTEMPTS = 4  # one try and three retries: 0.5 s, 1 s, 2 s apart
FIRST_DELAY = 0.5
SETTLE = 1.0  # seconds to wait for a push at the same time to remove the second project of a title
PAGE_SIZE = 1000
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
        if not _is_address(url):
            raise StudioError(f"{URL_ENV} is {url!r}, not an http:// or https:// address",
                              fix="set it to the address Label Studio answers on, like http://localhost:8080")
        return Connection(url.rstrip("/"), key, local=False)
    directory = server.data_dir(data_dir)
    found = server.running(directory)
    if found is None:
        raise server.not_running(directory)
    return Connection(found.url, found.token, local=True)


def _is_address(url: str) -> bool:
    """Whether ``url`` is an http(s) address with a host (and a valid port, if any).

    >>> [_is_address(u) for u in ("http://localhost:8080", "localhost:8080", "https://", "http://h:99999")]
    [True, False, False, False]
    """
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def api(conn: Connection, *, timeout: float = DEFAULT_TIMEOUT) -> Api:
    """A REST client (:class:`annotate.rest.Api`) whose key the server has accepted.

    Close it when done (it is a context manager). Its endpoint methods raise httpx's and
    :class:`annotate.rest.AnswerError`; run them through :func:`call` for retries and one
    clear error, as in ``call(conn, "listing projects", rest.projects)``. ``rest.request``
    reaches any other endpoint with the same deadline and errors.
    """
    from .rest import Api, TokenExpired

    try:
        rest = Api(conn.url, conn.api_key, timeout=timeout, trust_env=not conn.local)
    except TokenExpired as exc:
        when = dt.datetime.fromtimestamp(exc.expired, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        raise StudioError(f"the personal access token in {API_KEY_ENV} expired on {when}",
                          fix="create a new one in Label Studio (Account & Settings > Personal Access Token)") from None
    try:
        call(conn, "checking the API key", rest.whoami)
    except BaseException:
        rest.close()
        raise
    return rest


def client(conn: Connection, *, timeout: float = DEFAULT_TIMEOUT) -> LabelStudio:
    """A label-studio-sdk ``LabelStudio`` client whose key the server has accepted (slow to import)."""
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


_SDK_APIS: weakref.WeakKeyDictionary[Any, Api] = weakref.WeakKeyDictionary()


def _as_api(some_client: Any, conn: Connection) -> Api:
    """``some_client`` when it is an :class:`Api`; for an SDK client, an ``Api`` to the same server."""
    from .rest import Api

    if isinstance(some_client, Api):
        return some_client
    found = _SDK_APIS.get(some_client)
    if found is None:
        wrapper = getattr(some_client, "_client_wrapper", None)
        timeout = wrapper.get_timeout() if wrapper is not None else None
        found = _SDK_APIS[some_client] = Api(conn.url, conn.api_key, timeout=timeout or DEFAULT_TIMEOUT,
                                             trust_env=not conn.local)
    return found


# --- errors and retries ----------------------------------------------------------------

def _http_errors() -> tuple[type[Exception], ...]:
    """What a request raises: ours, httpx's, and the SDK's when something imported it."""
    import httpx

    from .rest import AnswerError

    sdk = sys.modules.get("label_studio_sdk.core.api_error")  # never import the SDK only to catch its error
    return (AnswerError, httpx.HTTPError) + ((sdk.ApiError,) if sdk is not None else ())


def _transient(exc: Exception) -> bool:
    import httpx

    status = getattr(exc, "status_code", None)
    if status is not None and not isinstance(exc, httpx.HTTPError):
        return status >= 500 or status == 429
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
        The request, through an :class:`~annotate.rest.Api` or an SDK client.
    before_retry : callable, optional
        Runs before each retry: a request that is not idempotent re-reads what has landed.
    """
    errors = _http_errors()
    delay = FIRST_DELAY
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn()
        except errors as exc:
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
    status = exc.status_code or 0
    if getattr(exc, "unexpected", None):
        return StudioError(
            f"{what}: Label Studio at {conn.url} answered with {exc.unexpected} ({_detail(exc.body)})",
            fix="push and pull speak the API of Label Studio Community 1.23: check the server's version",
        )
    page = _page(exc)
    if page is not None:
        if status >= 500 or status == 429:
            return StudioUnavailable(f"{what}: {conn.url} answered HTTP {status}{tries} with {page}",
                                     fix=conn.fix_unreachable)
        if conn.local:
            fix = "check that the local server runs: `stance studio status`"
        elif conn.url.lower().endswith("/api"):
            fix = f"set {URL_ENV} to {conn.url[:-4]}, without the /api"
        else:
            fix = f"check {URL_ENV}: the address Label Studio answers on, like http://localhost:8080, without /api"
        return StudioError(f"{what}: {conn.url} is not Label Studio's API: it answered HTTP {status} with {page}",
                           fix=fix)
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


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _page(exc: Exception) -> str | None:
    """What a reply that is not JSON was, in a few words; None for JSON.

    >>> from annotate.rest import AnswerError
    >>> _page(AnswerError(404, "<html><title>Error response</title>...", json=False,
    ...                   headers={"content-type": "text/html", "server": "SimpleHTTP/0.6 Python/3.11.7"}))
    "an HTML page ('Error response', server SimpleHTTP/0.6 Python/3.11.7)"
    """
    body = exc.body
    if getattr(exc, "json", None) is not False and not (isinstance(body, str) and _is_html(body)):
        return None
    headers = {key.lower(): value for key, value in (getattr(exc, "headers", None) or {}).items()}
    text = body if isinstance(body, str) else ""
    about = []
    if _is_html(text):
        kind = "an HTML page"
        title = _TITLE.search(text[:20000])
        if title and title.group(1).strip():
            about.append(repr(" ".join(html.unescape(title.group(1)).split())[:80]))
    else:
        kind = f"{headers.get('content-type') or 'untyped'} content"
        if text.strip():
            about.append(repr(" ".join(text.split())[:60]))
    if headers.get("server"):
        about.append(f"server {headers['server'][:60]}")
    return kind + (f" ({', '.join(about)})" if about else "")


def _is_html(text: str) -> bool:
    start = text[:1000].lstrip().lower()
    return start.startswith(("<!doctype html", "<html")) or "<html" in start


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

def _titled(rest: Api, conn: Connection, title: str) -> list[Project]:
    """The projects titled exactly ``title``, lowest id first."""
    listed = call(conn, f"looking up project {title!r}", lambda: rest.projects(title=title))
    return sorted((project for project in listed if project.title == title), key=lambda project: project.id)


def find_project(rest: Api, conn: Connection, title: str) -> Project | None:
    """The project titled exactly ``title``, or None; two of them is an error."""
    rest = _as_api(rest, conn)
    matches = _titled(rest, conn, title)
    if len(matches) > 1:  # a push that created one at the same time as another may be about to remove it
        time.sleep(SETTLE)
        matches = _titled(rest, conn, title)
    if len(matches) > 1:
        ids = ", ".join(str(project.id) for project in matches)
        raise StudioError(f"{len(matches)} projects at {conn.url} are titled {title!r} (ids {ids})",
                          fix="rename all but one in Label Studio (Settings > General)")
    if not matches:
        return None
    return call(conn, f"reading project {title!r}", lambda: rest.project(matches[0].id))


def require_project(rest: Api, conn: Connection, title: str) -> Project:
    """The project titled ``title``; an error that lists the titles there when it is missing."""
    rest = _as_api(rest, conn)
    project = find_project(rest, conn, title)
    if project is None:
        titles = call(conn, "listing projects", lambda: [p.title for p in rest.projects()])
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
    from difflib import SequenceMatcher

    for tag, i1, _, j1, _ in SequenceMatcher(None, wanted, found, autojunk=False).get_opcodes():
        if tag == "delete":  # elements missing are named as such, extra ones too; anything else as a change
            return f"it lacks {_show_element(wanted[i1])}"
        if tag == "insert":
            return f"it has an extra {_show_element(found[j1])}"
        if tag == "replace":
            return f"expected {_show_element(wanted[i1])}, found {_show_element(found[j1])}"
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


def ensure_project(rest: Api, conn: Connection, title: str, scheme: Scheme, *, overlap: int = 2) -> tuple[Project, bool]:
    """The project titled ``title`` with the scheme's config, created when missing.

    A new project keeps the scheme in its config (:func:`annotate.labeling.project_config`),
    shows the scheme's instructions page before labeling and pre-fills the mention highlights.
    An existing project must be of the same scheme id with the same targets and labels (its
    annotations were made against them); when only the scheme's aliases, descriptions or
    instructions changed, the project is updated to the newer scheme. Returns the project and
    whether this call created it. When several pushes create the project at once, each keeps
    the one with the lowest id (see :func:`_first_of_title`), so one project of the title remains.
    """
    rest = _as_api(rest, conn)
    project = find_project(rest, conn, title)
    if project is None:
        made = call(conn, f"creating project {title!r}", lambda: rest.create_project(
            title=title, label_config=project_config(scheme), description=f"{scheme.name} (scheme {scheme.id})",
            expert_instruction=instructions_html(scheme), show_instruction=True,
            model_version=f"{MENTIONS_MODEL}@{scheme.id}", maximum_annotations=overlap, show_skip_button=True,
        ))
        project = _first_of_title(rest, conn, title, made)
        if project.id == made.id:
            call(conn, f"setting up the task list of project {title!r}",
                 lambda: rest.create_view(made.id, TASK_LIST_VIEW))
            return made, True
    stored = check_config(conn, project, scheme)
    if stored is None or stored != scheme:
        project = call(conn, f"updating project {title!r} to scheme {scheme.id!r}", lambda: rest.update_project(
            project.id, label_config=project_config(scheme), expert_instruction=instructions_html(scheme),
            show_instruction=True))
    return project, False


# Label Studio's own columns its data manager hides by default (read off the tab that 1.23.2 makes on a first visit).
_HIDDEN_BY_LABEL_STUDIO = [f"tasks:{c}" for c in (
    "inner_id", "annotations_results", "annotations_ids", "predictions_score", "predictions_model_versions",
    "predictions_results", "file_upload", "storage_filename", "created_at", "updated_at", "updated_by",
    "avg_lead_time", "draft_exists")]
# The first tab of a project's task list: as Label Studio makes it, less the task data that is markup or JSON for the
# labeling page (where_to_look's HTML, the mentions), which the list would show as raw text. The tab the data manager
# makes on a first visit is made only where a project has none, so the project is created with this one.
TASK_LIST_VIEW: dict = {
    "title": "Default", "type": "list", "target": "tasks",
    "hiddenColumns": {
        "explore": [*_HIDDEN_BY_LABEL_STUDIO, "tasks:data.where_to_look", "tasks:data.mentions"],
        "labeling": [*(f"tasks:data.{k}" for k in ("where_to_look", "article_id", "sentence_id", "start", "end",
                                                   "title", "scheme", "splitter", "mentions", "targets_mentioned",
                                                   "targets_in_context")),
                     *(f"tasks:{c}" for c in ("id", "completed_at", "cancelled_annotations", "total_predictions",
                                              "annotators")), *_HIDDEN_BY_LABEL_STUDIO],
    },
}


def _first_of_title(rest: Api, conn: Connection, title: str, made: Project) -> Project:
    """The project of ``title`` with the lowest id, once ``made`` (ours, still empty) exists.

    Another push that created one too at the same time sees the same lowest id; the one
    whose project that is not deletes its own before it imports anything into it.
    """
    first = min([made, *_titled(rest, conn, title)], key=lambda project: project.id)
    if first.id == made.id:
        return made
    call(conn, f"removing project {made.id}, made at the same time as project {first.id} of that title",
         lambda: rest.delete_project(made.id))
    return call(conn, f"reading project {title!r}", lambda: rest.project(first.id))


def project_scheme(conn: Connection, project: Any) -> Scheme:
    """The scheme a project keeps; an error for a project that keeps none."""
    try:
        scheme = scheme_from_config(project.label_config)
    except SchemeError as exc:
        raise StudioError(f"project {project.title!r} (id {project.id}) at {conn.url} keeps a scheme that does not "
                          f"load ({exc.problem})", fix="push its tasks again with `stance push TASKS --project` "
                          "and the scheme file, to store a valid one") from None
    if scheme is None:
        raise StudioError(f"project {project.title!r} (id {project.id}) at {conn.url} keeps no stance scheme",
                          fix="give the scheme with --scheme FILE (a project made before schemes were stored, "
                          "or by hand), or push its tasks with `stance push` once to store it")
    return scheme


def sentence_ids(title: str, *, conn: Connection, timeout: float = DEFAULT_TIMEOUT) -> set[str]:
    """The sentence ids of project ``title``'s tasks."""
    with api(conn, timeout=timeout) as rest:
        project = require_project(rest, conn, title)
        return set(task_ids(rest, conn, project.id))


def scheme_of_project(title: str, *, conn: Connection, timeout: float = DEFAULT_TIMEOUT,
                      explicit: str | os.PathLike[str] | None = None) -> Scheme:
    """The scheme project ``title`` keeps; ``explicit`` (a --scheme file) must be of its id.

    A project that keeps none (made before schemes were stored) takes ``explicit`` if its
    labeling config is that scheme's.
    """
    from .scheme import load_scheme, remember

    with api(conn, timeout=timeout) as rest:
        project = require_project(rest, conn, title)
    given = load_scheme(explicit) if explicit is not None else None
    try:
        kept = scheme_from_config(project.label_config)
    except SchemeError:
        kept = None
    if kept is None:
        if given is None:
            project_scheme(conn, project)  # raises: the project keeps none
        check_config(conn, project, given)
        return given
    if given is not None and given.id != kept.id:
        raise StudioError(f"project {title!r} at {conn.url} is of scheme {kept.id!r}, the --scheme file is {given.id!r}",
                          fix="leave --scheme out: the project keeps its scheme")
    remember(kept)
    return kept


def check_config(conn: Connection, project: Any, scheme: Scheme) -> Scheme | None:
    """The scheme the project keeps (None when it keeps none); an error when it is not ``scheme``.

    A project of another scheme id, or of the same id with other targets or labels, or whose
    labeling config is not the scheme's, is refused: its annotations were made, and
    predictions for it must be made, against its own.
    """
    where = f"project {project.title!r} (id {project.id}) at {conn.url}"
    try:
        stored = scheme_from_config(project.label_config)
    except SchemeError:
        stored = None
    if stored is not None:
        if stored.id != scheme.id:
            raise StudioError(f"{where} is of scheme {stored.id!r}, the tasks are of scheme {scheme.id!r}",
                              fix="push into another --project, or make the tasks with that project's scheme")
        difference = labelling_difference(stored, scheme)
        if difference is not None:
            raise StudioError(f"{where} keeps another scheme of the id {scheme.id!r} ({difference})",
                              fix="give the changed scheme a new version in its id and use a new project")
        return stored
    difference = config_difference(labeling_config(scheme), project.label_config or "")
    if difference is not None:
        raise StudioError(
            f"{where} has another labeling config than scheme {scheme.id!r}: {difference}",
            fix="use another --project, or give the --scheme it was made with; to change its config on "
            "purpose, paste `stance config` output into its Settings > Labeling Interface",
        )
    return None


# --- push ------------------------------------------------------------------------------

@dataclass
class PushCounts:
    """What a push did; ``read == already + repeated + created + raced``."""

    project_id: int = 0
    project_url: str = ""
    project_created: bool = False
    read: int = 0
    already: int = 0
    repeated: int = 0  # a sentence_id seen earlier in the same file
    created: int = 0
    raced: int = 0  # sent, but a push at the same time made the sentence's task first (ours was removed)
    removed: int = 0  # duplicate tasks deleted: a sentence_id of the file in more than one task
    annotated_twice: int = 0  # sentence_ids left in several tasks because more than one of them is annotated


def read_tasks(path: str | os.PathLike[str], scheme: Scheme) -> Iterator[dict]:
    """The tasks of an import file written by ``stance tasks``, one line at a time, validated.

    The file is a JSON list with one task per line, so it streams whatever its size.
    """
    path = Path(path)
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such tasks file", path=path, fix="write one with `stance tasks`") from None
    except IsADirectoryError:
        raise InputError("is a folder, not a tasks file", path=path,
                         fix="give the file `stance tasks -o` wrote") from None
    except OSError as exc:
        raise InputError(f"cannot read it ({exc.strerror})", path=path, fix="check its permissions") from None
    with handle:
        number = 0
        try:
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
                if task.data.scheme != scheme.id:
                    raise InputError(f"task is for scheme {task.data.scheme!r}, not {scheme.id!r}",
                                     path=path, where=where, fix="give the matching --scheme")
                yield task.model_dump()
        except UnicodeDecodeError:
            raise InputError("is not UTF-8 text", path=path, where=f"line {number + 1}",
                             fix="give the tasks file `stance tasks` wrote") from None


def check_tasks(path: str | os.PathLike[str], scheme: Scheme) -> int:
    """Read and validate the whole tasks file; how many tasks it holds. An empty one is an error."""
    n = sum(1 for _ in read_tasks(path, scheme))
    if n == 0:
        raise InputError("holds no tasks", path=path,
                         fix="write the tasks of some articles with `stance tasks ARTICLES -o FILE`")
    return n


class TaskCopy(NamedTuple):
    id: int
    annotated: bool  # annotated or skipped; with ``touched``, also drafted or commented on
    text: str = ""


@dataclass
class Listing:
    copies: dict[str, list[TaskCopy]]  # the tasks of each sentence_id, lowest task id first
    tasks: int  # every task listed, those without a sentence_id too


UNTOUCHED = {"conjunction": "and", "items": [  # Data Manager filters: tasks nobody has annotated, skipped,
    {"filter": f"filter:tasks:{column}", "operator": "equal", "type": kind, "value": value}  # drafted or
    for column, kind, value in (("total_annotations", "Number", 0), ("cancelled_annotations", "Number", 0),  # commented
                                ("draft_exists", "Boolean", False), ("comment_count", "Number", 0))]}


def sentence_tasks(rest: Api, conn: Connection, project_id: int, *, touched: bool = False) -> Listing:
    """Every task of the project by ``sentence_id`` (tasks without one are only counted).

    With ``touched``, a copy with a draft or a comment counts as annotated too.
    """
    include = "id,data,total_annotations,cancelled_annotations" + (",draft_exists,comment_count" if touched else "")

    def fetch() -> Listing:
        listing = Listing({}, 0)
        for task in rest.tasks(project_id, include=include, fields="all" if touched else "task_only"):
            listing.tasks += 1
            data = task.get("data")
            if isinstance(data, dict) and isinstance(data.get("sentence_id"), str):
                annotated = bool(task.get("total_annotations") or task.get("cancelled_annotations")
                                 or task.get("draft_exists") or task.get("comment_count"))
                listing.copies.setdefault(data["sentence_id"], []).append(
                    TaskCopy(task["id"], annotated, str(data.get("text") or "")))
        for copies in listing.copies.values():
            copies.sort()
        return listing
    return call(conn, f"listing the tasks of project {project_id}", fetch)


def task_ids(rest: Api, conn: Connection, project_id: int) -> dict[str, int]:
    """The task id of every ``sentence_id`` in the project, the lowest where there are several."""
    listing = sentence_tasks(_as_api(rest, conn), conn, project_id)
    return {sentence_id: copies[0].id for sentence_id, copies in listing.copies.items()}


def listed_tasks(rest: Api, conn: Connection, project_id: int) -> dict[str, list[tuple[int, str]]]:
    """``sentence_id`` -> the project's tasks of that sentence as ``(task id, text)``, lowest id first."""
    listing = sentence_tasks(_as_api(rest, conn), conn, project_id)
    return {sentence_id: [(copy.id, copy.text) for copy in copies] for sentence_id, copies in listing.copies.items()}


FILTER_PAGE_SIZE = 5000  # tasks per page of a filtered list (ids only)
SELECTED_IN_URL = 500  # task ids per query of a task list that names them


def tasks_where(rest: Api, conn: Connection, project_id: int, column: str, value: Any, what: str) -> set[int]:
    """The ids of the project's tasks whose Data Manager list column ``column`` holds ``value``.

    ``annotators`` (a user id: the tasks that user annotated or skipped) and
    ``predictions_model_versions`` (a model version) are the columns used here. Label Studio
    1.23.2 matches a user id exactly, and a model version as a substring of each value of a
    list (a plain string would be taken character by character: data_manager/managers.py).
    """
    if column == "predictions_model_versions":
        value = [value]
    query = {"filters": {"conjunction": "and", "items": [
        {"filter": f"filter:tasks:{column}", "operator": "contains", "type": "List", "value": value}]}}
    return call(conn, what, lambda: {task["id"] for task in _as_api(rest, conn).tasks(
        project_id, include="id", query=query, page_size=FILTER_PAGE_SIZE)})


def untouched_tasks(rest: Api, conn: Connection, project_id: int, task_ids: set[int]) -> dict[int, dict]:
    """Those of ``task_ids`` nobody has annotated, skipped, drafted or commented on: id -> the task,
    with its ``data``, ``meta`` and ``predictions`` in full."""
    chosen = sorted(task_ids)

    def fetch() -> dict[int, dict]:
        found = {}
        for start in range(0, len(chosen), SELECTED_IN_URL):  # the ids go in the URL
            query = {"filters": UNTOUCHED, "selectedItems": {"all": False, "included": chosen[start:start + SELECTED_IN_URL]}}
            found.update((task["id"], task) for task in _as_api(rest, conn).tasks(
                project_id, include="id,data,meta,predictions", fields="all", query=query))
        return found
    return call(conn, f"listing the untouched tasks of project {project_id}", fetch)


def delete_untouched(rest: Api, conn: Connection, project_id: int, task_ids: list[int]) -> int:
    """Delete those of ``task_ids`` that nobody has touched when the request runs (Label Studio checks
    it in the same query: a task annotated, skipped, drafted or commented on meanwhile stays); how many went."""
    return call(conn, f"removing {len(task_ids):,} untouched tasks of project {project_id}",
                lambda: _as_api(rest, conn).delete_tasks(project_id, sorted(task_ids), filters=UNTOUCHED))


def users(rest: Api, conn: Connection) -> list[dict]:
    """The users of the key's organisation (id, email, first and last name)."""
    return call(conn, "listing the users", _as_api(rest, conn).users)


def model_versions(rest: Api, conn: Connection, project_id: int) -> dict[str, int]:
    """The model versions of the project's predictions, with their counts."""
    return call(conn, f"listing the model versions of project {project_id}",
                lambda: _as_api(rest, conn).model_versions(project_id))


def delete_model_version(rest: Api, conn: Connection, project_id: int, version: str) -> int:
    """Remove every prediction of ``version`` from the project (one request); how many went."""
    return call(conn, f"removing the predictions of {version!r}",
                lambda: _as_api(rest, conn).delete_model_version(project_id, version))


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

    The whole file is read and checked first: a bad or empty one creates nothing.

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
        Seconds one request may take as a whole.
    overlap : int
        Annotations wanted per task, set on a project this push creates.
    on_batch : callable, optional
        Called with the number of tasks of each batch sent.
    """
    check_tasks(path, scheme)
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
    """Import the task dicts (``{"data": ..., "predictions": [...]}``) the project lacks; see :func:`push`.

    No tasks at all is an error, raised before anything is created.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be 1 or more, not {batch_size}")
    tasks = iter(tasks)
    first = next(tasks, None)
    if first is None:
        raise InputError("no tasks to push", fix="push a tasks file that `stance tasks` wrote")
    with api(conn, timeout=timeout) as rest:
        project, created = ensure_project(rest, conn, title, scheme, overlap=overlap)
        counts = PushCounts(project_id=project.id, project_url=f"{conn.url}/projects/{project.id}",
                            project_created=created)
        listing = Listing({}, 0) if created else sentence_tasks(rest, conn, project.id)
        existing = listing.copies
        doubled: set[str] = set()  # sentences of the file already in more than one task
        sent: set[str] = set()
        ours: set[int] = set()
        batch: list[dict] = []

        def flush() -> None:
            ours.update(_import(rest, conn, project.id, batch, first=len(sent) - len(batch) + 1))
            if on_batch is not None:
                on_batch(len(batch))
            batch.clear()

        for task in itertools.chain([first], tasks):
            counts.read += 1
            sentence_id = task["data"]["sentence_id"]
            if sentence_id in existing:
                counts.already += 1
                if len(existing[sentence_id]) > 1:
                    doubled.add(sentence_id)
            elif sentence_id in sent:
                counts.repeated += 1
            else:
                sent.add(sentence_id)
                batch.append(task)
            if len(batch) == batch_size:
                flush()
        if batch:
            flush()
        counts.created = len(sent)
        if sent and not doubled:
            # Listing the project again costs about a millisecond a task: only when another
            # push (or anyone) changed it meanwhile can a sentence be in two tasks.
            now = call(conn, f"reading project {title!r}", lambda: rest.project(project.id)).task_number
            changed = now != listing.tasks + len(ours)
        else:
            changed = bool(doubled)
        if changed:
            survivors = _remove_duplicates(rest, conn, project.id, sent | doubled, counts)
            counts.created = sum(1 for sentence_id in sent if survivors.get(sentence_id) in ours)
            counts.raced = len(sent) - counts.created
    return counts


def _import(rest: Api, conn: Connection, project_id: int, batch: list[dict], *, first: int) -> list[int]:
    """Import one batch; the ids of the tasks it made.

    An import that failed half-way may still have landed, so before a retry the project's
    sentence ids are read again and the tasks already there are not sent twice.
    """
    pending = list(batch)
    made: list[int] = []

    def send() -> None:
        if pending:
            made.extend(rest.import_tasks(project_id, pending))

    def drop_landed() -> None:
        nonlocal pending
        landed = task_ids(rest, conn, project_id)
        made.extend(landed[t["data"]["sentence_id"]] for t in pending if t["data"]["sentence_id"] in landed)
        pending = [task for task in pending if task["data"]["sentence_id"] not in landed]

    call(conn, f"importing new tasks {first:,}-{first + len(batch) - 1:,}", send, before_retry=drop_landed)
    return made


def _remove_duplicates(rest: Api, conn: Connection, project_id: int, sentence_ids: set[str],
                       counts: PushCounts) -> dict[str, int]:
    """Leave each of ``sentence_ids`` in one task; the task id each one keeps.

    A push at the same time may have imported the same sentences. The project is listed
    again (after our own imports, so it shows theirs that landed first), and of a sentence's
    tasks the lowest id is kept: every push computes the same, whichever finishes first.
    Annotated tasks are never deleted: where one is annotated, the unannotated copies go.
    """
    copies = sentence_tasks(rest, conn, project_id).copies
    surplus: list[int] = []
    kept: dict[str, int] = {}
    for sentence_id in sentence_ids:
        found = copies.get(sentence_id)
        if not found:
            continue
        annotated = [copy.id for copy in found if copy.annotated]
        keep = annotated or [found[0].id]
        kept[sentence_id] = keep[0]
        surplus += [copy.id for copy in found if copy.id not in keep]
        counts.annotated_twice += len(keep) > 1
    if surplus:
        counts.removed += call(conn, f"removing {len(surplus):,} duplicate tasks of project {project_id}",
                               lambda: rest.delete_tasks(project_id, sorted(surplus)))
    return kept


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
    predictions: int = 0  # a model's, or anyone's: not the mention highlights
    highlights: int = 0  # the pre-annotations that highlight the mentions (stance-mentions@...)
    scheme: Scheme | None = None  # the scheme the project keeps


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
    with api(conn, timeout=timeout) as rest:
        project = require_project(rest, conn, title)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        snapshot = call(conn, f"creating an export of project {title!r}", lambda: rest.create_export(
            project.id, title=f"stance pull {stamp}", serialization_options=SERIALIZATION,
            task_filter_options={"only_with_annotations": False}, annotation_filter_options=ANNOTATION_FILTER,
        ))
        if not isinstance(snapshot, dict) or not isinstance(snapshot.get("id"), int):
            raise StudioError(f"creating an export of project {title!r}: Label Studio at {conn.url} answered "
                              f"without an export id ({_detail(snapshot)})",
                              fix="push and pull speak the API of Label Studio Community 1.23: check the server's version")
        export_id = snapshot["id"]

        def delete() -> None:
            call(conn, "deleting the export snapshot", lambda: rest.delete_export(project.id, export_id))

        try:
            _wait_for(rest, conn, project.id, snapshot, timeout=timeout)
            size = _download(rest, conn, project.id, export_id, output, on_chunk=on_chunk)
        except BaseException:
            with contextlib.suppress(StudioError):  # the first error is the one to tell
                delete()
            raise
        delete()
    try:
        kept = scheme_from_config(project.label_config)
    except SchemeError:
        kept = None
    return _count(output, PullCounts(project_id=project.id, project_url=f"{conn.url}/projects/{project.id}", size=size,
                                     scheme=kept))


def _count(path: str | os.PathLike[str], counts: PullCounts) -> PullCounts:
    """Count the tasks, annotations, skips, drafts and predictions of an export, streaming."""
    import ijson

    with open(path, "rb") as handle:
        for task in ijson.items(handle, "item"):
            counts.tasks += 1
            skipped = sum(1 for annotation in task["annotations"] if annotation["was_cancelled"])
            counts.skipped += skipped
            counts.annotations += len(task["annotations"]) - skipped
            counts.drafts += len(task.get("drafts") or [])
            predictions = task.get("predictions") or []
            highlights = sum(1 for p in predictions if is_highlight(p))
            counts.highlights += highlights
            counts.predictions += len(predictions) - highlights
    return counts


def is_highlight(prediction: Any) -> bool:
    """Whether a prediction of an export is a task's mention highlights (made by `stance tasks`)."""
    return isinstance(prediction, dict) and str(prediction.get("model_version", "")).startswith(MENTIONS_MODEL + "@")


def _wait_for(rest: Api, conn: Connection, project_id: int, snapshot: dict, *, timeout: float) -> dict:
    """Poll a snapshot until it is completed (at once in Label Studio Community)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while snapshot.get("status") != "completed":
        if snapshot.get("status") == "failed":
            raise StudioError(f"Label Studio at {conn.url} failed to make the export (snapshot {snapshot['id']})",
                              fix="read the server log, then pull again")
        if time.monotonic() > deadline:
            raise StudioUnavailable(f"the export was not ready within {timeout:.0f} s",
                                    fix="give it more time with --timeout")
        time.sleep(delay)
        delay = min(delay * 2, 5)
        snapshot = call(conn, "checking the export", lambda: rest.export(project_id, snapshot["id"]))
        if not isinstance(snapshot, dict):
            raise StudioError(f"checking the export: Label Studio at {conn.url} answered {_detail(snapshot)}",
                              fix="push and pull speak the API of Label Studio Community 1.23: check the server's version")
    return snapshot


def _download(rest: Api, conn: Connection, project_id: int, export_id: int,
              output: str | os.PathLike[str], *, on_chunk: Callable[[int], None] | None) -> int:
    """Stream a snapshot's JSON into ``output`` atomically; return the bytes written."""
    def fetch() -> int:
        decoder = codecs.getincrementaldecoder("utf-8")()
        with atomic_write(output) as out:
            def write(chunk: bytes) -> None:
                out.write(decoder.decode(chunk))
                if on_chunk is not None:
                    on_chunk(len(chunk))
            size = rest.download_export(project_id, export_id, write)
            out.write(decoder.decode(b"", final=True))
        return size
    return call(conn, "downloading the export", fetch)
