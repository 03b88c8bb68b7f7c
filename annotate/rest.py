"""Label Studio's REST API, the calls push and pull make, on httpx: each one bounded in whole.

label-studio-sdk's client imports pandas and takes about a second to import, longer than
``stance push`` or ``stance pull`` needs to start; this client imports httpx alone. It knows the
endpoints of Label Studio 1.23 that push and pull use (who am I, projects, import, the task
list, the bulk delete of tasks, export snapshots), and the two kinds of API key:

- a personal access token (a JWT refresh token) is exchanged at ``/api/token/refresh/`` for
  an access token, sent as ``Bearer``, and exchanged again before that one expires;
- anything else is a legacy token, sent as ``Token <key>``.

httpx bounds each read, write and connect of a request but not the request as a whole, so a
server that trickles one byte a second holds it for ever. Here every socket operation of a
request is cut at the request's deadline: a request takes at most ``timeout`` seconds, its
download included, and then raises ``httpx.ReadTimeout`` (or the write or connect one).

A reply that is not JSON (an HTML page from a web server that is not Label Studio, or from a
URL with an extra ``/api``) raises :class:`AnswerError` whose ``json`` is False, so that the
caller can say what answered instead of printing the page. Errors are raised as they come:
:mod:`annotate.studio` turns them into one line.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import httpcore

from . import __version__

PAGE_SIZE = 1000  # tasks per page of the task list
PROJECT_PAGE_SIZE = 100  # the most Label Studio gives per page of the project list
DELETE_BATCH = 1000  # task ids per bulk delete
WRITE_PIECE = 1 << 16  # bytes written at a time, each piece within what is left of the deadline
REFRESH_MARGIN = 30.0  # seconds before an access token expires that it is exchanged again


class AnswerError(Exception):
    """Label Studio (or whatever runs at the URL) answered with an error status or not with JSON.

    Parameters
    ----------
    status_code : int
        The HTTP status.
    body : Any
        The decoded JSON body, or the text when it is not JSON.
    json : bool
        Whether the body was JSON.
    headers : dict
        The reply's headers (``content-type`` and ``server`` say what answered).
    unexpected : str, optional
        What is wrong with a successful reply that is not what Label Studio 1.23 answers.
    """

    def __init__(self, status_code: int, body: Any, *, json: bool, headers: dict[str, str],
                 unexpected: str | None = None) -> None:
        self.status_code = status_code
        self.body = body
        self.json = json
        self.headers = headers
        self.unexpected = unexpected
        super().__init__(unexpected or f"HTTP {status_code}")


def _unexpected(body: Any, what: str) -> AnswerError:
    return AnswerError(200, body, json=True, headers={}, unexpected=what)


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, unverified (the server verifies it); None when it is not one.

    >>> jwt_claims("not-a-jwt") is None
    True
    >>> jwt_claims("e30." + base64.urlsafe_b64encode(b'{"exp": 5}').decode().rstrip("=") + ".sig")
    {'exp': 5}
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


class TokenExpired(Exception):
    """The personal access token's ``exp`` has passed."""

    def __init__(self, expired: float) -> None:
        self.expired = expired
        super().__init__(f"expired at {expired}")


# --- a deadline on every socket operation of a request ----------------------------------

class _Deadline:
    """When the current request of this thread must be over."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextlib.contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        self._local.at = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.at = None

    def left(self, timeout: float | None, late: type[Exception]) -> float | None:
        """``timeout`` cut to what is left of the deadline; ``late`` raised once it has passed."""
        at = getattr(self._local, "at", None)
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise late("the request took longer than its timeout as a whole")
        return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), WRITE_PIECE):
            self._stream.write(buffer[start:start + WRITE_PIECE], self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.left(timeout, httpcore.ConnectTimeout))
        return _BoundedStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, every operation cut at the deadline of the request it serves."""

    def __init__(self, deadline: _Deadline) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, self._deadline.left(timeout, httpcore.ConnectTimeout),
                                           local_address, socket_options)
        return _BoundedStream(stream, self._deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, self._deadline.left(timeout, httpcore.ConnectTimeout),
                                                   socket_options)
        return _BoundedStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _bound(http: httpx.Client, backend: _BoundedBackend) -> None:
    """Give every connection pool of ``http`` (direct, and the proxies from the environment) ``backend``."""
    for transport in (http._transport, *http._mounts.values()):  # noqa: SLF001 - no public hook for the sockets
        if transport is None:
            continue
        pool = getattr(transport, "_pool", None)
        if not hasattr(pool, "_network_backend"):
            raise RuntimeError(f"httpx {httpx.__version__} builds its connection pools in a way this client "
                               "does not know: install httpx>=0.27,<1")
        pool._network_backend = backend  # noqa: SLF001


# --- the client ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Project:
    """A Label Studio project, as much of it as the toolkit reads."""

    id: int
    title: str
    label_config: str = ""
    task_number: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, body: Any) -> Project:
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            raise _unexpected(body, "a project without an id")
        return cls(id=body["id"], title=str(body.get("title") or ""), label_config=body.get("label_config") or "",
                   task_number=body.get("task_number"), raw=body)


class Api:
    """Label Studio's REST API at ``url`` with ``api_key``; every request ends within ``timeout`` seconds.

    Not for use from several threads at once. Close it (or use it as a context manager)
    to close its connections.

    Parameters
    ----------
    url : str
        The server's address, with the path prefix it is served under if any, without ``/api``.
    api_key : str
        A personal access token or a legacy token.
    timeout : float
        Seconds a request may take as a whole, the reading of its reply included.
    trust_env : bool
        Whether proxies and certificates come from the environment (``HTTPS_PROXY``, ...);
        False for our own server on 127.0.0.1.
    """

    def __init__(self, url: str, api_key: str, *, timeout: float, trust_env: bool = True) -> None:
        claims = jwt_claims(api_key)
        self._refresh = api_key if claims is not None and claims.get("token_type", "refresh") == "refresh" else None
        if self._refresh is not None and isinstance(claims.get("exp"), int | float) and claims["exp"] < time.time():
            raise TokenExpired(claims["exp"])
        self._key = api_key
        self._access: str | None = None
        self._access_until = 0.0
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._deadline = _Deadline()
        self._http = httpx.Client(base_url=self.url + "/", timeout=timeout, trust_env=trust_env, follow_redirects=True,
                                  headers={"User-Agent": f"stance-annotate/{__version__}"})
        _bound(self._http, _BoundedBackend(self._deadline))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests ---

    def _authorization(self) -> str:
        if self._refresh is None:
            return f"Bearer {self._key}" if jwt_claims(self._key) is not None else f"Token {self._key}"
        if self._access is None or time.time() > self._access_until - REFRESH_MARGIN:
            body = self.request("POST", "api/token/refresh/", json={"refresh": self._refresh}, auth=False)
            if not isinstance(body, dict) or not isinstance(body.get("access"), str):
                raise _unexpected(body, "a token refresh without an access token")
            self._access = body["access"]
            expires = (jwt_claims(self._access) or {}).get("exp")
            self._access_until = float(expires) if isinstance(expires, int | float) else float("inf")
        return f"Bearer {self._access}"

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                auth: bool = True) -> Any:
        """One request to ``path`` (relative to the server's address, e.g. ``"api/projects/"``); its JSON.

        Raises :class:`AnswerError` for an error status or a reply that is not JSON, and
        httpx's errors (``httpx.TimeoutException`` past the timeout) as they come.
        """
        headers = {"Authorization": self._authorization()} if auth else {}
        with self._deadline.within(self.timeout):
            response = self._http.request(method, path, params=params, json=json, headers=headers)
        return _decoded(response)

    # --- endpoints ---

    def whoami(self) -> dict[str, Any]:
        return self.request("GET", "api/current-user/whoami")

    def projects(self, *, title: str | None = None) -> list[Project]:
        """Every project the key sees; with ``title``, those whose title contains it (any case)."""
        params: dict[str, Any] = {"page_size": PROJECT_PAGE_SIZE, "include": "id,title,task_number"}
        if title is not None:
            params["title"] = title
        found: list[Project] = []
        page = 1
        while True:
            body = self.request("GET", "api/projects/", params=params | {"page": page})
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise _unexpected(body, "a project list without results")
            found += [Project.from_api(item) for item in body["results"]]
            if not body.get("next") or not body["results"]:
                return found
            page += 1

    def project(self, project_id: int) -> Project:
        return Project.from_api(self.request("GET", f"api/projects/{project_id}/"))

    def create_project(self, **fields: Any) -> Project:
        return Project.from_api(self.request("POST", "api/projects/", json=fields))

    def update_project(self, project_id: int, **fields: Any) -> Project:
        return Project.from_api(self.request("PATCH", f"api/projects/{project_id}/", json=fields))

    def create_view(self, project_id: int, data: dict) -> dict:
        """A tab of the project's data manager (its task list): ``data`` holds its title, hidden columns, ..."""
        return self.request("POST", "api/dm/views/", json={"project": project_id, "data": data})

    def views(self, project_id: int) -> list[dict]:
        """The tabs of the project's data manager (none until someone opens it, or :meth:`create_view`)."""
        return self.request("GET", "api/dm/views/", params={"project": project_id})

    def delete_project(self, project_id: int) -> None:
        self.request("DELETE", f"api/projects/{project_id}/")

    def import_tasks(self, project_id: int, tasks: list[dict]) -> list[int]:
        """Import ``tasks`` (``{"data": ..., "predictions": [...]}``) in one request; the new task ids."""
        body = self.request("POST", f"api/projects/{project_id}/import", params={"return_task_ids": "true"}, json=tasks)
        if not isinstance(body, dict) or not isinstance(body.get("task_ids"), list):
            # Enterprise imports in the background and answers {"import": <id>}
            raise _unexpected(body, "an import without the ids of the tasks it made")
        return body["task_ids"]

    def tasks(self, project_id: int, *, include: str = "id,data", fields: str = "task_only",
              query: dict | None = None, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every task of the project in id order, with the fields ``include`` names.

        ``fields="all"`` lets ``include`` name the Data Manager's computed columns too
        (``draft_exists``, ``predictions`` in full); ``query`` is a Data Manager query
        (``{"filters": ...}``) that keeps only the tasks it matches.
        """
        params: dict[str, Any] = {"project": project_id, "page_size": page_size, "fields": fields, "include": include}
        if query is not None:
            params["query"] = json.dumps(query)
        page = 1
        while True:
            try:
                body = self.request("GET", "api/tasks/", params=params | {"page": page})
            except AnswerError as exc:
                if exc.status_code == 404 and page > 1:  # "Invalid page": the last page was full
                    return
                raise
            tasks = body.get("tasks") if isinstance(body, dict) else None
            if not isinstance(tasks, list):
                raise _unexpected(body, "a task list without tasks")
            yield from tasks
            if len(tasks) < page_size:
                return
            page += 1

    def delete_tasks(self, project_id: int, task_ids: list[int], *, filters: dict | None = None) -> int:
        """Delete these tasks of the project (ids already gone are skipped); how many went.

        Through the Data Manager's bulk action, a thousand ids a request: one by one takes
        0.17 s a task on Label Studio 1.23.2. The action deletes *every* task of the project
        when it is given no selection, so an empty list sends nothing. With ``filters`` (Data
        Manager filters), only those of the ids that match them when the request runs go.
        """
        deleted = 0
        for start in range(0, len(task_ids), DELETE_BATCH):
            chosen = [int(task_id) for task_id in task_ids[start:start + DELETE_BATCH]]
            if not chosen:
                break
            selection: dict[str, Any] = {"selectedItems": {"all": False, "included": chosen}}
            if filters is not None:
                selection["filters"] = filters
            body = self.request("POST", "api/dm/actions", params={"id": "delete_tasks", "project": project_id},
                                json=selection)
            deleted += body.get("processed_items", 0) if isinstance(body, dict) else 0
        return deleted

    def users(self) -> list[dict[str, Any]]:
        """The users of the key's organisation (id, email, first and last name)."""
        listed = self.request("GET", "api/users/", params={"page_size": 10000})
        return listed.get("results", []) if isinstance(listed, dict) else list(listed or [])

    def model_versions(self, project_id: int) -> dict[str, int]:
        """The model versions of the project's predictions, with their counts."""
        found = self.request("GET", f"api/projects/{project_id}/model-versions/")
        return {str(k): int(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def delete_model_version(self, project_id: int, version: str) -> int:
        """Remove every prediction of ``version`` from the project (one request); how many went."""
        done = self.request("DELETE", f"api/projects/{project_id}/model-versions/", json={"model_version": version})
        return int(done.get("deleted_predictions", 0)) if isinstance(done, dict) else 0

    def create_export(self, project_id: int, **options: Any) -> dict[str, Any]:
        return self.request("POST", f"api/projects/{project_id}/exports/", json=options)

    def export(self, project_id: int, export_id: int) -> dict[str, Any]:
        return self.request("GET", f"api/projects/{project_id}/exports/{export_id}")

    def delete_export(self, project_id: int, export_id: int) -> None:
        self.request("DELETE", f"api/projects/{project_id}/exports/{export_id}")

    def download_export(self, project_id: int, export_id: int, write: Callable[[bytes], None], *,
                        export_type: str = "JSON") -> int:
        """Stream a snapshot's file to ``write``, chunk by chunk; the bytes written.

        The whole download is one request: it ends within the timeout too.
        """
        size = 0
        headers = {"Authorization": self._authorization()}
        with self._deadline.within(self.timeout), self._http.stream(
                "GET", f"api/projects/{project_id}/exports/{export_id}/download",
                params={"exportType": export_type}, headers=headers) as response:
            if not response.is_success:
                response.read()
                _decoded(response)
            for chunk in response.iter_bytes():
                write(chunk)
                size += len(chunk)
        return size


def _decoded(response: httpx.Response) -> Any:
    """The JSON of a successful reply (None when it has no body); :class:`AnswerError` otherwise."""
    headers = {"content-type": response.headers.get("content-type", ""), "server": response.headers.get("server", "")}
    content = response.content
    if not content:
        if response.is_success:
            return None
        raise AnswerError(response.status_code, None, json=True, headers=headers)
    try:
        body = response.json()
    except ValueError:
        raise AnswerError(response.status_code, response.text, json=False, headers=headers) from None
    if "json" not in headers["content-type"]:
        raise AnswerError(response.status_code, response.text, json=False, headers=headers)
    if not response.is_success:
        raise AnswerError(response.status_code, body, json=True, headers=headers)
    return body
