"""Reading news articles: seed-format text files, folders of them, JSON lines and CSV.

Every article keeps its text exactly as read (no normalisation that could move an
offset); only a trailing agency credit that is not a sentence (``... months. Xinhau``)
is cut off the end into ``credit``, which leaves every offset before it unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .errors import InputError
from .files import MAX_DEPTH, TooDeep, check_depth, open_input

ARTICLE_SUFFIXES = (".txt", ".jsonl", ".csv")

# ` date 2019-12-28 CAIRO, ...`: the header of the seed format.
_SEED_HEADER = re.compile(r"\A[ \t]*date[ \t]+(\d{4}-\d{2}-\d{2})(?:[ \t]|\r?\n|\Z)")
# A trailing credit: one to three capitalised words with no end punctuation, after the
# end of the last sentence (``... in the coming months. Xinhau``).
_CREDIT_WORD = r"[A-Z][A-Za-z'’&-]*"
_CREDIT = re.compile(
    rf"(?<=[.!?\"'”’)\]])\s+({_CREDIT_WORD}(?:[ /-]{_CREDIT_WORD}){{0,2}})\s*\Z"
)
_JSONL_FIELDS = ("id", "text", "date", "title", "source", "url")


class Origin(BaseModel):
    """Where an article was read: the file, and the line (and CSV row) where it starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    line: int = Field(ge=1, description="1-based line of the file where the record starts")
    row: int | None = Field(
        default=None, ge=1, description="1-based data row of a CSV file (the header is not a row)"
    )


class Article(BaseModel):
    """One news article, as ``stance articles`` writes it (one JSON line each)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    text: str = Field(min_length=1, description="the article text, exactly as read")
    date: dt.date | None = None
    title: str | None = None
    source: str | None = None
    url: str | None = None
    credit: str | None = Field(
        default=None, description="a trailing agency credit cut off the end of the text"
    )
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of text as UTF-8")
    origin: Origin


@dataclass(frozen=True)
class CsvColumns:
    """Which CSV columns hold the article fields."""

    text: str = "text"
    id: str = "id"
    date: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A record that could not become an article, with the reason."""

    error: InputError
    record: object = None

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.error.path,
            "where": self.error.where,
            "reason": self.error.problem,
            "fix": self.error.fix,
            "record": self.record,
        }


def split_credit(text: str) -> tuple[str, str | None]:
    """Cut a trailing agency credit that is not a sentence off ``text``.

    >>> split_credit("in the coming months. Xinhau")
    ('in the coming months.', 'Xinhau')
    >>> split_credit("He said so. Then he left.")
    ('He said so. Then he left.', None)
    """
    # A credit is a few words at the very end: look only there (the look-behind still
    # sees the text before the tail).
    match = _CREDIT.search(text, max(0, len(text) - 120))
    if match is None:
        return text, None
    return text[: match.start()], match.group(1)


def make_article(
    *,
    id: str,
    text: str,
    origin: Origin,
    date: dt.date | None = None,
    title: str | None = None,
    source: str | None = None,
    url: str | None = None,
) -> Article:
    """Build an article; raise :class:`InputError` where it is empty or not encodable."""
    where = f"line {origin.line}" if origin.row is None else f"row {origin.row} (line {origin.line})"
    if not text.strip():
        raise InputError(
            f"article {id!r} is empty", path=origin.file, where=where,
            fix="give it text or remove it",
        )
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"article {id!r} has a lone surrogate {text[exc.start]!r} at character {exc.start}",
            path=origin.file, where=where, fix="write the character as one \\u escape pair or as UTF-8",
        ) from None
    body, credit = split_credit(text)
    if credit is not None:
        encoded = body.encode("utf-8")
    return Article(
        id=id, text=body, date=date, title=title or None, source=source or None,
        url=url or None, credit=credit, sha256=hashlib.sha256(encoded).hexdigest(),
        origin=origin,
    )


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Yield the article files named by ``inputs``: files as given, folders recursively."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                (p for p in path.rglob("*")
                 if p.suffix.lower() in ARTICLE_SUFFIXES and p.is_file()
                 and not any(part.startswith(".") for part in p.relative_to(path).parts)),
                key=lambda p: p.as_posix(),
            )
            if not found:
                raise InputError(
                    "no articles found (looked for "
                    + ", ".join(f"*{s}" for s in ARTICLE_SUFFIXES) + " files, recursively)",
                    path=path, fix="put article files there or name the files directly",
                )
            yield from found
        elif path.is_file():
            yield path
        elif path.exists():
            raise InputError("is not a file or folder", path=path, fix="name an article file")
        else:
            raise InputError("no such file or folder", path=path, fix="check the path")


def iter_articles(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    columns: CsvColumns = CsvColumns(),
    on_reject: Callable[[Rejected], None] | None = None,
) -> Iterator[Article]:
    """Read every article named by ``inputs``, in order, streaming.

    Parameters
    ----------
    inputs : iterable of paths
        Seed-format ``.txt`` files, ``.jsonl`` files, ``.csv`` files, or folders of them.
    columns : CsvColumns
        The CSV column names.
    on_reject : callable, optional
        Called with each record that cannot be read; without it the first such record
        raises :class:`InputError`. Problems with a whole file (missing, no such column)
        always raise.

    Raises
    ------
    InputError
        For a missing file, a folder without articles, or (without ``on_reject``) a bad record.
    """
    # id -> where it was first read, as "file place": all that the duplicate check keeps
    # per article, so memory stays small for a large corpus.
    seen: dict[str, str] = {}
    # Check every input before the first article is read: a typo in the last path
    # should not surface after minutes of work.
    for path in list(expand_inputs(inputs)):
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            records = _read_jsonl(path)
        elif suffix == ".csv":
            records = _read_csv(path, columns)
        elif suffix == ".txt":
            records = iter([_read_seed(path)])
        else:
            raise InputError(
                f"unknown article format {path.suffix!r}", path=path,
                fix="use a seed-format .txt, a .jsonl or a .csv file",
            )
        for record in records:
            if isinstance(record, Article):
                first = seen.get(record.id)
                if first is None:
                    seen[record.id] = f"{record.origin.file} {_place(record.origin)}"
                    yield record
                    continue
                record = Rejected(
                    InputError(
                        f"duplicate article id {record.id!r}, first at {first}",
                        path=record.origin.file, where=_place(record.origin),
                        fix="give every article a unique id",
                    ),
                    {"id": record.id},
                )
            if on_reject is None:
                raise record.error
            on_reject(record)


def _place(origin: Origin) -> str:
    return f"line {origin.line}" if origin.row is None else f"row {origin.row} (line {origin.line})"


def _decode(raw: bytes, path: Path, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Point at the line and column of the bad byte, not at the record's start.
        line += raw.count(b"\n", 0, exc.start)
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise InputError(
            f"bytes are not UTF-8 (0x{raw[exc.start]:02x} at byte {column} of the line)",
            path=path, where=f"line {line}",
            fix=f"save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 {path}",
        ) from None


def _read_seed(path: Path) -> Article | Rejected:
    origin = Origin(file=str(path), line=1)
    try:
        with open_input(path, what="article file", fix="check the path", binary=True) as handle:
            raw = handle.read()
        text = _decode(raw, path, 1).removeprefix("\ufeff")
        header = _SEED_HEADER.match(text)
        if header is None:
            raise InputError(
                "no ' date YYYY-MM-DD ' header", path=path, where="line 1",
                fix="a seed file starts with ' date 2019-12-28 ' and then the text "
                "(use .jsonl or .csv for articles without it)",
            )
        try:
            date = dt.date.fromisoformat(header.group(1))
        except ValueError:
            raise InputError(
                f"the header date {header.group(1)!r} is not a calendar date", path=path,
                where="line 1", fix="write it as YYYY-MM-DD",
            ) from None
        return make_article(id=path.stem, text=text[header.end():], date=date, origin=origin)
    except InputError as exc:
        return Rejected(exc, {"file": str(path)})


def _read_jsonl(path: Path) -> Iterator[Article | Rejected]:
    with open_input(path, what="article file", fix="check the path", binary=True) as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                line = _decode(raw, path, number)
                if number == 1:
                    line = line.removeprefix("\ufeff")
                yield _jsonl_article(line, path, number)
            except InputError as exc:
                yield Rejected(exc, raw.decode("utf-8", "replace").rstrip("\r\n"))


def _jsonl_article(line: str, path: Path, number: int) -> Article:
    where = f"line {number}"
    try:
        check_depth(line)
    except TooDeep:
        raise InputError(
            f"JSON nested deeper than {MAX_DEPTH} levels", path=path, where=where,
            fix='each line must be one flat JSON object like {"id": "a1", "text": "..."}',
        ) from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON ({exc.msg} at column {exc.colno})", path=path, where=where,
            fix="each line must be one JSON object",
        ) from None
    if not isinstance(record, dict):
        raise InputError(
            f"a JSON {type(record).__name__}, not an object", path=path, where=where,
            fix='each line must be one JSON object like {"id": "a1", "text": "..."}',
        )
    for key in ("id", "text"):
        if key not in record:
            raise InputError(
                f"no {key!r} field", path=path, where=where,
                fix='each line needs "id" and "text"; optional: "date", "title", "source", "url"',
            )
    values: dict[str, object] = {}
    for key in _JSONL_FIELDS:
        value = record.get(key)
        if key == "id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is not None and not isinstance(value, str):
            raise InputError(
                f"{key!r} is a JSON {type(value).__name__}, not a string", path=path,
                where=where, fix=f'write "{key}" as a string',
            )
        values[key] = value
    if not values["id"]:
        raise InputError("'id' is empty", path=path, where=where, fix="give every article an id")
    origin = Origin(file=str(path), line=number)
    return make_article(
        id=values["id"], text=values["text"], origin=origin,  # type: ignore[arg-type]
        date=_parse_date(values["date"], path, where, "date"),
        title=values["title"], source=values["source"], url=values["url"],  # type: ignore[arg-type]
    )


def _parse_date(value: object, path: Path, where: str, field: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return dt.datetime.fromisoformat(str(value)).date()
    except ValueError:
        raise InputError(
            f"{field} {value!r} is not an ISO date", path=path, where=where,
            fix="write dates as YYYY-MM-DD (or an ISO 8601 date and time)",
        ) from None


def _lines(path: Path) -> Iterator[str]:
    """The lines of a UTF-8 file, line ends kept, for the csv module (``newline=''``)."""
    with open_input(path, what="article file", fix="check the path", binary=True) as handle:
        for number, raw in enumerate(handle, start=1):
            line = _decode(raw, path, number)
            yield line.removeprefix("\ufeff") if number == 1 else line


def _read_csv(path: Path, columns: CsvColumns) -> Iterator[Article | Rejected]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(_lines(path))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty", path=path, fix="give a CSV file with a header row") from None
    except csv.Error as exc:
        raise InputError(f"not valid CSV ({exc})", path=path, where="line 1",
                         fix="check the header row") from None
    index: dict[str, int] = {}
    wanted = [("--text-column", columns.text), ("--id-column", columns.id),
              ("--date-column", columns.date), ("--title-column", columns.title)]
    for flag, name in wanted:
        if name is None:
            continue
        if name not in header:
            listed = ", ".join(repr(h) for h in header)
            raise InputError(
                f"no column {name!r}; the columns are {listed}", path=path, where="line 1",
                fix=f"name the column with {flag}",
            )
        index[flag] = header.index(name)
    row = 0
    start_line = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"not valid CSV ({exc})", path=path, where=f"line {reader.line_num}",
                             fix="check the quoting of that record") from None
        row += 1
        origin = Origin(file=str(path), line=start_line, row=row)
        start_line = reader.line_num + 1
        if not fields:
            continue
        try:
            yield _csv_article(fields, header, index, origin, path)
        except InputError as exc:
            yield Rejected(exc, dict(zip(header, fields)))


def _csv_article(
    fields: list[str], header: list[str], index: dict[str, int], origin: Origin, path: Path
) -> Article:
    where = _place(origin)
    if len(fields) != len(header):
        raise InputError(
            f"{len(fields)} fields where the header has {len(header)}", path=path, where=where,
            fix="quote fields that hold commas or line breaks",
        )

    def get(flag: str) -> str | None:
        return fields[index[flag]] if flag in index else None

    article_id = get("--id-column") or ""
    if not article_id.strip():
        raise InputError("the id is empty", path=path, where=where, fix="give every article an id")
    return make_article(
        id=article_id, text=get("--text-column") or "", origin=origin,
        date=_parse_date(get("--date-column"), path, where, "date"), title=get("--title-column"),
    )
