"""Label Studio calls that ``stance predict --push`` and ``studio load-labels`` need beyond :mod:`annotate.studio`.

Filtered task lists of the Data Manager, the project's model versions and the removal of
one version's predictions, annotations and drafts, the organisation's users: each a small
function over :class:`annotate.rest.Api` (``studio.api``), run through :func:`annotate.studio.call`
for its retries and its one-line errors. They belong in :mod:`annotate.studio` once it settles.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .studio import Connection, call

if TYPE_CHECKING:
    from .rest import Api

PAGE_SIZE = 5000  # tasks per page of a filtered list (ids only)


def listed_tasks(rest: Api, conn: Connection, project_id: int) -> dict[str, list[tuple[int, str]]]:
    """``sentence_id`` -> the project's tasks of that sentence as ``(task id, text)``, lowest id first."""
    def fetch() -> dict[str, list[tuple[int, str]]]:
        found: dict[str, list[tuple[int, str]]] = {}
        for task in rest.tasks(project_id, include="id,data"):
            data = task.get("data")
            if isinstance(data, dict) and isinstance(data.get("sentence_id"), str):
                found.setdefault(data["sentence_id"], []).append((task["id"], str(data.get("text") or "")))
        for tasks in found.values():
            tasks.sort()
        return found
    return call(conn, f"listing the tasks of project {project_id}", fetch)


def _pages(rest: Api, project_id: int, query: dict) -> Iterator[dict]:
    import json

    from .rest import AnswerError

    page = 1
    while True:
        try:
            body = rest.request("GET", "api/tasks/", params={
                "project": project_id, "page": page, "page_size": PAGE_SIZE, "fields": "task_only", "include": "id",
                "query": json.dumps(query)})
        except AnswerError as exc:
            if exc.status_code == 404 and page > 1:  # "Invalid page": the last page was full
                return
            raise
        tasks = (body or {}).get("tasks") or []
        yield from tasks
        if len(tasks) < PAGE_SIZE:
            return
        page += 1


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
    return call(conn, what, lambda: {task["id"] for task in _pages(rest, project_id, query)})


def users(rest: Api, conn: Connection) -> list[dict]:
    """The users of the key's organisation (id, email, first and last name)."""
    listed = call(conn, "listing the users", lambda: rest.request("GET", "api/users/", params={"page_size": 10000}))
    return listed.get("results", []) if isinstance(listed, dict) else list(listed or [])


def model_versions(rest: Api, conn: Connection, project_id: int) -> dict[str, int]:
    """The model versions of the project's predictions, with their counts."""
    found = call(conn, f"listing the model versions of project {project_id}",
                 lambda: rest.request("GET", f"api/projects/{project_id}/model-versions/"))
    return {str(k): int(v) for k, v in (found or {}).items()} if isinstance(found, dict) else {}


def delete_model_version(rest: Api, conn: Connection, project_id: int, version: str) -> int:
    """Remove every prediction of ``version`` from the project (one request); how many went."""
    done = call(conn, f"removing the predictions of {version!r}", lambda: rest.request(
        "DELETE", f"api/projects/{project_id}/model-versions/", json={"model_version": version}))
    return int((done or {}).get("deleted_predictions", 0)) if isinstance(done, dict) else 0
