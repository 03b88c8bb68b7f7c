"""Shared fixtures: a real Label Studio server for the integration tests, one per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from annotate import server
from annotate.errors import AnnotateError


def unavailable(reason: str) -> None:
    """Skip a test that needs something missing; with CI=true, fail it: CI must not skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def scheme_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test keeps the schemes it sees in a store of its own, never in the user's .stance/schemes."""
    store = tmp_path_factory.mktemp("schemes")
    monkeypatch.setenv("STANCE_SCHEMES", str(store))
    return store


@pytest.fixture(autouse=True)
def resource_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """The word lists' cache (annotate.resources) in a folder of the session, never in the user's ~/.cache."""
    folder = tmp_path_factory.getbasetemp() / "resource-cache"
    monkeypatch.setenv("STANCE_CACHE", str(folder))
    return folder


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Server]:
    """A real Label Studio on 127.0.0.1 in a fresh data dir, stopped at the end of the session.

    It is installed on first use into its own venv (``STANCE_STUDIO_VENV`` to choose where);
    when that or the start fails, the tests that use it skip, or fail under ``CI=true``.
    """
    directory = tmp_path_factory.mktemp("studio")
    try:
        running, _ = server.start(directory, timeout=300, say=lambda message: None)
    except AnnotateError as exc:
        unavailable(f"no Label Studio server: {exc.message}")
    yield running
    server.stop(directory)


@pytest.fixture
def team_server_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Talk to the local server even when the shell names a team server."""
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
