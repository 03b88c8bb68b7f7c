"""Input files, atomic writes, JSON lines and terminal progress: the plumbing every stage shares.

Also what one run of the command line has done so far (:data:`RUN`: files written, work
counted), so that an interrupted run can say truly what it left behind.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from .errors import AnnotateError, InputError

# Real records are at most seven levels deep (export > task > annotations > annotation > result >
# item > value); pydantic parses JSON to about 200 levels and serialises to 255, Python's json to
# about 1,000. Refusing anything past 64 keeps every reader and writer far from those limits, and
# a deep file from taking memory that grows with the square of its depth (ijson's item prefixes).
MAX_DEPTH = 64


# --- reading --------------------------------------------------------------------------------

def open_input(path: str | os.PathLike[str], *, what: str, fix: str, binary: bool = False) -> IO:
    """Open an input file; :class:`InputError` naming it when it is missing, a folder or unreadable.

    ``what`` names the file for the message (``"export file"``: "no such export file") and
    ``fix`` says where such a file comes from. Text is opened as UTF-8.
    """
    path = Path(path)
    try:
        return open(path, "rb") if binary else open(path, encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such {what}", path=path, fix=fix) from None
    except IsADirectoryError:
        raise InputError(f"a folder, not {_article(what)}", path=path, fix=f"name the {what} itself") from None
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc.strerror})", path=path,
                         fix="check the path and its permissions") from None


M = TypeVar("M")  # a pydantic model class, for read_model_lines
T = TypeVar("T")  # what a call run by in_order returns


def read_model_lines(path: str | os.PathLike[str], model: type[M], *, what: str, fix: str, written_by: str
                     ) -> Iterator[M]:
    """The lines of a JSON-lines file, each validated as a ``model`` (pydantic), blank lines skipped.

    ``what`` and ``fix`` as for :func:`open_input`; a bad line is an :class:`InputError` naming it,
    and ``written_by`` says what writes such files ("annotation files are written by ...").
    """
    from pydantic import ValidationError

    from .errors import validation_problem

    path = Path(path)
    with open_input(path, what=what, fix=fix, binary=True) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield model.model_validate_json(line)
            except ValidationError as exc:
                raise InputError(validation_problem(exc), path=path, where=f"line {number}",
                                 fix=f"{written_by}, one record per line") from None


def _article(what: str) -> str:
    return ("an " if what[:1] in "aeiou" else "a ") + what


class TooDeep(ValueError):
    """JSON nested deeper than the limit (raised by :class:`DepthGuard` and :func:`check_depth`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


# Keep only the bytes that matter for nesting (quotes and brackets), with { } read as [ ].
_NESTING_TABLE = bytes.maketrans(b"{}", b"[]")
_NOT_NESTING = bytes(set(range(256)) - set(b'"[]{}'))
_STRING = re.compile(rb'"[^"]*"')


class DepthGuard:
    """A binary reader that passes ``raw``'s bytes on and raises :class:`TooDeep` past ``limit``.

    It follows JSON's nesting (strings and their escapes skipped) across reads, in C-speed
    bytes operations on each chunk, so a streaming parser behind it never sees a document
    nested deeper than ``limit``. ``head`` is bytes already read from ``raw``, passed on first.
    For valid JSON the verdict is exact; on invalid JSON the parser reports the syntax error.

    >>> import io
    >>> guard = DepthGuard(io.BytesIO(b'[{"a": "[[[[["}]'), limit=2)
    >>> guard.read() == b'[{"a": "[[[[["}]'
    True
    >>> DepthGuard(io.BytesIO(b'[[[1]]]'), limit=2).read()
    Traceback (most recent call last):
    ...
    annotate.files.TooDeep: JSON nested deeper than 2 levels
    """

    def __init__(self, raw: IO[bytes], *, limit: int = MAX_DEPTH, head: bytes = b"") -> None:
        self.raw = raw
        self.limit = limit
        self.depth = 0
        self.offset = 0  # bytes passed on so far
        self._head = head
        self._in_string = False
        self._escape = False  # the last chunk ended in an odd run of backslashes

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for nothing first, to learn whether the file gives bytes
            return b""
        if self._head:
            chunk, self._head = self._head, b""
        else:
            chunk = self.raw.read(size)
        if chunk:
            self._scan(chunk)
            self.offset += len(chunk)
        return chunk

    def _scan(self, chunk: bytes) -> None:
        s = b"\\" + chunk if self._escape else chunk
        self._escape = False
        if b"\\" in s:
            if s.endswith(b"\\") and (len(s) - len(s.rstrip(b"\\"))) % 2:
                s, self._escape = s[:-1], True  # it escapes the first byte of the next chunk
            # An escaped backslash, then an escaped quote, never starts or ends a string.
            s = s.replace(b"\\\\", b"").replace(b'\\"', b"")
        # Only quotes and brackets now; dropping two adjacent quotes (an empty string, or the end of
        # one and the start of the next) keeps every bracket inside or outside a string as it was.
        s = s.translate(_NESTING_TABLE, _NOT_NESTING).replace(b'""', b"")
        if self._in_string:
            end = s.find(b'"')
            if end < 0:
                return
            s, self._in_string = s[end + 1:], False
        if b'"' in s:
            s = _STRING.sub(b"", s)
            start = s.find(b'"')
            if start >= 0:
                s, self._in_string = s[:start], True
        # s holds brackets only. Each pass takes away one level of the pairs opened and closed
        # here; what is left is some closings then some openings.
        reduced, passes = s, 0
        while b"[]" in reduced:
            reduced = reduced.replace(b"[]", b"")
            passes += 1
            if passes > self.limit:  # pairs nested that deep reach that depth
                raise TooDeep(self.limit)
        closings = len(reduced) - len(reduced.lstrip(b"]"))
        openings = len(reduced) - closings
        if self.depth + openings + passes > self.limit:  # an upper bound: walk the chunk exactly
            depth = self.depth
            for byte in s:
                depth += 1 if byte == 0x5B else -1
                if depth > self.limit:
                    raise TooDeep(self.limit)
        self.depth = max(0, self.depth - closings + openings)


def check_depth(text: str | bytes, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`TooDeep` when the JSON ``text`` nests deeper than ``limit``.

    >>> check_depth('{"a": [[1]]}', limit=3)
    >>> check_depth('{"a": [[1]]}', limit=2)
    Traceback (most recent call last):
    ...
    annotate.files.TooDeep: JSON nested deeper than 2 levels
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    DepthGuard(_Empty(), limit=limit, head=data).read()


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in blocks, as hex."""
    digest = hashlib.sha256()
    with open_input(path, what="file", fix="check the path", binary=True) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- what this run has done -----------------------------------------------------------------

class RunRecord:
    """What the current command has done so far: the files it wrote, the work it counted.

    :func:`atomic_write` adds every file it puts in place and :class:`Progress` adds itself, so
    that the command line can say what an interrupted run left behind.
    """

    def __init__(self) -> None:
        self.written: list[str] = []
        self.progress: list[Progress] = []
        self.notes: list[str] = []

    def reset(self) -> None:
        self.written.clear()
        self.progress.clear()
        self.notes.clear()

    def note(self, done: str) -> None:
        """Record a change made elsewhere than in a file (``"created project 'seeds'"``)."""
        self.notes.append(done)

    def summary(self) -> str:
        """What was done, for the line that reports an interruption."""
        done = [*self.notes, *(f"{p.count:,} {p.what}" for p in self.progress if p.count)]
        head = f"interrupted after {', '.join(done)}" if done else "interrupted"
        if self.written:
            return f"{head}; wrote {', '.join(self.written)} before it (each file whole)"
        return f"{head}; no file was written (a file being written is removed, never left half-written)"


RUN = RunRecord()


# --- writing --------------------------------------------------------------------------------

_TMP_SUFFIX = ".tmp"
# Errors of the disk rather than of the code: they become one line naming the file.
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM}


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}."


_OWN_FD = re.compile(rf"^/(?:proc/(?:self|{os.getpid()})/fd|dev/fd)/(\d+)$")
_STANDARD = {"/dev/stdout": 1, "/dev/stderr": 2}


def _in_place(target: Path) -> tuple[bool, int | None]:
    """Whether ``target`` is written in place rather than replaced, and the open fd it names, if any.

    A device, a pipe, or a path in ``/dev`` or ``/proc`` (or a link that leads through one:
    ``/dev/stdout`` links to ``/proc/self/fd/1``) names a file that some process has open:
    renaming a new file over it would cut that process off. ``/dev/stdout`` and the like are
    written through the process's own descriptor, so that what it prints follows, not overwrites.
    """
    hop = os.path.abspath(target)
    special = False
    for _ in range(40):
        if hop in _STANDARD:
            return True, _STANDARD[hop]
        own = _OWN_FD.match(hop)
        if own:
            return True, int(own.group(1))
        special = special or hop.startswith(("/dev/", "/proc/"))
        try:
            link = os.readlink(hop)
        except (OSError, ValueError):
            break
        hop = os.path.normpath(os.path.join(os.path.dirname(hop), link))
    if special:
        return True, None
    try:
        mode = os.stat(target).st_mode
    except (OSError, ValueError):
        return False, None
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)), None


def _writes_in_place(target: Path) -> bool:
    return _in_place(target)[0]


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc; None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22, starttime, counted after the "(comm)" field
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, IndexError, ValueError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _stale(path: Path, pid: int) -> bool:
    """Whether the temporary file ``path`` of process ``pid`` is left over: ``pid`` is gone, or is another process now."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    started = _started_at(pid)
    if started is None:
        return False
    try:
        modified = path.stat().st_mtime
    except OSError:
        return False
    return started > modified + 1  # btime is whole seconds: a second of slack


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of earlier :func:`atomic_write` calls on ``target`` that were cut short.

    They are named ``.NAME.<pid>.<random>.tmp``; one whose process has ended (SIGKILL, a power
    cut) or whose pid now belongs to a later process is removed. Returns the removed ones.
    """
    target = Path(target)
    prefix = _tmp_prefix(target)
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(_TMP_SUFFIX)):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) > 0 and _stale(Path(entry.path), int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _write_problem(exc: OSError, path: Path) -> AnnotateError:
    return AnnotateError(f"cannot write ({exc.strerror or exc})", path=path,
                         fix="choose an output path in a folder you can write to, on a disk with room")


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, encoding: str = "utf-8", binary: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; rename it over ``path`` on success.

    Text with ``encoding`` and newline line ends, or bytes with ``binary=True``. On any
    exception (and on SIGTERM, which the command line turns into one) the temporary file is
    removed and ``path`` is left as it was; one left by a killed run is removed by the next
    write to ``path``. A symbolic link is kept and the file it points to replaced. A device, a
    pipe or an open file (``/dev/null``, ``/dev/stdout``) is written in place, never replaced.
    The file keeps the mode of the one it replaces (a new one gets the umask's).

    Raises
    ------
    AnnotateError
        When the folder cannot be made or written to, the target is a folder, or the disk is full.
    """
    target = Path(path)
    if target.is_dir():
        raise AnnotateError("is a folder", path=target, fix="give a file name for the output")
    if _writes_in_place(target):
        yield from _write_in_place(target, encoding=encoding, binary=binary)
        return
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnnotateError(
            f"cannot create the folder ({exc.strerror})", path=target.parent,
            fix="choose an output path in a folder you can write to",
        ) from None
    remove_stale_temporaries(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = _new_file_mode()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_tmp_prefix(target)}{os.getpid()}.", suffix=_TMP_SUFFIX,
                                   dir=target.parent)
    except OSError as exc:
        raise _write_problem(exc, target) from None
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline="\n")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS and exc.filename in (None, tmp, str(target)):
            raise _write_problem(exc, target) from None
        raise
    RUN.written.append(str(path))


def _write_in_place(target: Path, *, encoding: str, binary: bool) -> Iterator[IO]:
    _, fd = _in_place(target)
    try:
        if fd is not None:  # our own stdout (or another descriptor): share its offset, never truncate
            sys.stdout.flush()
            opened: Any = os.dup(fd)
        else:
            opened = target
        handle = open(opened, "wb") if binary else open(opened, "w", encoding=encoding, newline="\n")
    except OSError as exc:
        raise _write_problem(exc, target) from None
    try:
        with handle:
            yield handle
            handle.flush()
    except OSError as exc:
        if exc.errno in _DISK_ERRORS and exc.filename in (None, str(target)):
            raise _write_problem(exc, target) from None
        raise
    RUN.written.append(str(target))


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file (the same path, a link to it, or the same inode)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_distinct(outputs: dict[str, str | os.PathLike[str] | None],
                   inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse two outputs that name one file, or an output that is one of the inputs.

    ``outputs`` maps each option (``"-o"``, ``"--rejects"``) to its path (None: not given).
    Writing both to one file would keep only the last one written; writing over an input
    would lose the data being read.

    Raises
    ------
    AnnotateError
        Naming both options and the path.
    """
    # A device or pipe (/dev/null, /dev/stdout) may take several outputs: nothing there is replaced.
    given = [(flag, path) for flag, path in outputs.items() if path is not None and not _writes_in_place(Path(path))]
    for i, (flag, path) in enumerate(given):
        for other_flag, other in given[:i]:
            if same_file(path, other):
                raise AnnotateError(f"{other_flag} and {flag} name the same file", path=path,
                                    fix=f"give {flag} a path of its own; one file cannot hold both")
        for source in inputs:
            if source is not None and os.path.isfile(source) and same_file(path, source):
                raise AnnotateError(f"{flag} names an input file", path=path,
                                    fix=f"write {flag} to another path: writing over the input would lose it")


def in_order(pool: Any, work: Callable[..., T], calls: Iterable[tuple], ahead: int) -> Iterator[T]:
    """``work(*args)`` for each ``args`` of ``calls``, run in ``pool`` (a concurrent.futures
    executor) at most ``ahead`` calls ahead of the results, which come back in the calls' order.

    Memory stays flat (at most ``ahead + 1`` calls in flight); calls not started when the caller
    stops (or a call fails) are cancelled.
    """
    from collections import deque

    pending: deque = deque()
    try:
        for args in calls:
            pending.append(pool.submit(work, *args))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _one_encoder() -> Callable[[Any, int], list[str]] | None:
    """``json``'s C encoder for ``_ENCODER``'s settings, made once (``JSONEncoder.encode`` makes
    one per call), without the check for circular containers (records are trees); None where
    the C encoder is missing or does not write what ``_ENCODER`` writes."""
    from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

    if c_make_encoder is None:
        return None
    try:
        made = c_make_encoder(None, _ENCODER.default, encode_basestring, None, ":", ",", False, False, True)
        probe = {"a": [1, 2.5, None, True, "\u00e9\n\"", {"b": 1e-7}], "c": float("inf")}
        return made if "".join(made(probe, 0)) == _ENCODER.encode(probe) else None
    except (TypeError, ValueError):  # another Python's signature
        return None


_C_ENCODE = _one_encoder()


def dumps(record: Any) -> str:
    """One record as compact JSON, UTF-8 kept as characters, keys in the order given."""
    if _C_ENCODE is None or isinstance(record, str):
        return _ENCODER.encode(record)
    return "".join(_C_ENCODE(record, 0))


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

    def __init__(self, what: str, *, enabled: bool | None = None, every: float = 0.2, total: int | None = None) -> None:
        self.what = what
        self.total = total  # given: "what: n of total (seconds)" in place of a rate
        self.count = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._every = every
        self._start = self._last = time.monotonic()
        RUN.progress.append(self)
        del RUN.progress[:-50]  # a library caller that never resets keeps only the latest

    def __enter__(self) -> Progress:
        return self

    def advance(self, n: int = 1, *, note: str = "") -> None:
        self.count += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            if self.total is None:
                rate = self.count / max(now - self._start, 1e-9)
                sys.stderr.write(f"\r{self.count:,} {self.what} ({rate:,.0f}/s) {note}\033[K")
            else:
                sys.stderr.write(f"\r{self.what}: {self.count:,} of {self.total:,} ({now - self._start:,.0f} s) "
                                 f"{note}\033[K")
            sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        if self.enabled and self._last != self._start:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
