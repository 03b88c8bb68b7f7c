"""The one exception root of the toolkit.

Stage code raises :class:`AnnotateError` (or a subclass); only the CLI turns it into a
one-line message and an exit code. A message says what is wrong, where (file and line,
row or task) and what to do next.
"""

from __future__ import annotations

import os


class AnnotateError(Exception):
    """A user's mistake or an environment problem that the user can fix.

    Parameters
    ----------
    problem : str
        What is wrong, in a few words.
    path : str or os.PathLike, optional
        The file or folder the problem is in.
    where : str, optional
        The place inside that file: ``"line 3"``, ``"row 12"``, ``"targets -> 0 -> id"``.
    fix : str, optional
        What the user can do about it.
    """

    exit_code = 1

    def __init__(
        self,
        problem: str,
        *,
        path: str | os.PathLike[str] | None = None,
        where: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        self.where = where
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        head = ": ".join(p for p in (self.path, self.where, self.problem) if p)
        return f"{head}; {self.fix}" if self.fix else head


class InputError(AnnotateError):
    """An input file or record that cannot be read as it is."""


class SchemeError(AnnotateError):
    """A label scheme file that is not a valid scheme."""


class SplitterError(AnnotateError):
    """The sentence splitter failed on a text."""

    exit_code = 3


class SplitError(AnnotateError):
    """Too little data for the split asked for, or shares that do not add up."""


class ModelError(AnnotateError):
    """A model folder that cannot be used: missing, changed, unsafe, or for an unknown scheme."""


class StudioError(AnnotateError):
    """Label Studio answered, but with a problem: a wrong token, no such project, a config mismatch."""

    exit_code = 4


class StudioUnavailable(StudioError):
    """No Label Studio answers: not running, unreachable, not installable, or too slow."""

    exit_code = 5


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program was (the command line's handler): cleanups run as on Ctrl-C."""


def validation_problem(exc: Exception) -> str:
    """The first problem of a pydantic ``ValidationError`` as ``"<message> at a -> b -> 0"``."""
    first = exc.errors(include_url=False)[0]  # type: ignore[attr-defined]
    loc = " -> ".join(str(part) for part in first["loc"])
    return f"{first['msg']}" + (f" at {loc}" if loc else "")
