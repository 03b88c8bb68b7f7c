"""Where ``stance predict --push`` and ``studio load-labels`` found their Label Studio calls; now in :mod:`annotate.studio`.

Filtered task lists of the Data Manager, the project's model versions and the removal of one
version's predictions, the organisation's users: the endpoints are methods of
:class:`annotate.rest.Api`, and the functions over them (retries and one-line errors through
:func:`annotate.studio.call`) live in :mod:`annotate.studio`. This module keeps their old names.
"""

from __future__ import annotations

from .studio import FILTER_PAGE_SIZE as PAGE_SIZE
from .studio import delete_model_version, listed_tasks, model_versions, tasks_where, users

__all__ = ["PAGE_SIZE", "delete_model_version", "listed_tasks", "model_versions", "tasks_where", "users"]
