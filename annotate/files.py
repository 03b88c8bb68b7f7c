"""Atomic writes, JSON lines and terminal progress: the plumbing every stage shares."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import AnnotateError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, encoding: str = "utf-8", binary: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; rename it over ``path`` on success.

    Text with ``encoding`` and newline line ends, or bytes with ``binary=True``. On any
    exception the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnnotateError(
            f"cannot create the folder ({exc.strerror})", path=target.parent,
            fix="choose an output path in a folder you can write to",
        ) from None
    if target.is_dir():
        raise AnnotateError("is a folder", path=target, fix="give a file name for the output")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline="\n")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in blocks, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(record: Any) -> str:
    """One record as compact JSON, UTF-8 kept as characters, keys in the order given."""
    return _ENCODER.encode(record)


def write_jsonl(records: Iterable[Any], path: str | os.PathLike[str]) -> int:
    """Write ``records`` (dicts, or pydantic models) as JSON lines, atomically; return how many."""
    n = 0
    with atomic_write(path) as out:
        for record in records:
            if hasattr(record, "model_dump_json"):
                out.write(record.model_dump_json() + "\n")
            else:
                out.write(dumps(record) + "\n")
            n += 1
    return n


def write_json_list(records: Iterable[Any], path: str | os.PathLike[str]) -> int:
    """Write ``records`` (dicts) as a JSON list with one record per line, atomically; return how many.

    One record per line is how Label Studio import files are written here, so that they stream.
    """
    n = 0
    with atomic_write(path) as out:
        out.write("[")
        for record in records:
            out.write(",\n" if n else "\n")
            out.write(dumps(record))
            n += 1
        out.write("\n]\n")
    return n


class Progress:
    """A one-line progress counter on stderr when it is a terminal; silent when piped.

    >>> with Progress("articles", enabled=False) as p:
    ...     p.advance(3)
    >>> p.count
    3
    """

    def __init__(self, what: str, *, enabled: bool | None = None, every: float = 0.2) -> None:
        self.what = what
        self.count = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._every = every
        self._start = self._last = time.monotonic()

    def __enter__(self) -> Progress:
        return self

    def advance(self, n: int = 1, *, note: str = "") -> None:
        self.count += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            rate = self.count / max(now - self._start, 1e-9)
            sys.stderr.write(f"\r{self.count:,} {self.what} ({rate:,.0f}/s) {note}\033[K")
            sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        if self.enabled and self._last != self._start:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
