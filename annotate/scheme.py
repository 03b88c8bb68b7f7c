"""The label scheme: targets (with the aliases that find them in text), stance, claim and span labels.

One pydantic model, loaded from a JSON file of format ``stance-scheme/v2`` whose ``id`` is the
user's own (a slug with a version, e.g. ``libya-actors/v1``); ``schemas/libya-seeds.json`` is
the seeds'. Files of the first format (``"scheme": "stance-claim/v1"``) still load, through the
old reader in :mod:`annotate.old.scheme_v1`. The Label Studio labeling config, the annotation
validator, the mention finder and the classifier's label set all come from it, never typed twice.

A scheme travels with the data: every record carries its id, ``stance push`` stores the scheme
with the Label Studio project, every model folder holds a copy, and the schemes this machine has
seen are kept by id in a local store (:func:`remember`, :func:`recall`), so later commands find
a scheme from the id of the data they read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from .errors import SchemeError

SCHEME_FORMAT = "stance-scheme/v2"
KNOWN_FORMATS = (SCHEME_FORMAT, "stance-claim/v1")  # the second through annotate.old.scheme_v1
STANCE_LABELS = ("FAVOR", "AGAINST", "NONE")
CLAIM_LABELS = ("CLAIM", "NO_CLAIM")
SPAN_LABELS = ("CLAIM", "SOURCE")
MAX_DEPTH = 64  # a scheme is four levels deep; deeper JSON is refused before it is parsed

Slug = str  # documented by the pattern below; a plain alias keeps the JSON Schema flat
_SLUG = r"^[a-z][a-z0-9_]{0,39}$"
SCHEME_ID = r"^[a-z][a-z0-9-]{0,62}/v[0-9]{1,6}$"

# Words that a case-insensitive alias would find everywhere ("US" finds "us", "May" finds "may").
# Such a target is named with a case-sensitive pattern instead (r"\bUS\b").
COMMON_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its just may me might more most must my no
nor not now of off on once only or other our ours out over own same shall she should so some such
than that the their them then there these they this those through to too under until up us very
was we were what when where which while who whom why will with would you your march
""".split())


def _find_default_scheme() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_schemas", here.parent / "schemas"):  # wheel, then checkout
        if (candidate / "libya-seeds.json").is_file():
            return candidate / "libya-seeds.json"
    return here.parent / "schemas" / "libya-seeds.json"


DEFAULT_SCHEME_PATH = _find_default_scheme()
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TASK_FIELD = re.compile(r"\$\w")  # Label Studio reads "$word" in a config value as a task field


def _shown_text(value: str) -> str:
    """A text that goes into the labeling config: XML-safe and free of Label Studio's ``$field``."""
    bad = _XML_UNSAFE.search(value)
    if bad:
        raise ValueError(f"holds the control character {bad.group()!r}, which XML cannot carry: remove it")
    if _TASK_FIELD.search(value):
        raise ValueError("holds '$' before a word, which Label Studio reads as a task field: "
                         "write it without the '$' (e.g. 'USD 5')")
    return value


class Target(BaseModel):
    """A target of stance: an actor or a proposition that a sentence can be for or against."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug = Field(pattern=_SLUG, description="slug; the Label Studio control is stance_<id>")
    name: str = Field(min_length=1, description="what annotators read")
    description: str = Field(min_length=1, description="what counts as this target")
    aliases: list[str] = Field(
        default_factory=list,
        description="phrases that mention the target, matched case-insensitively on word boundaries "
        "(any apostrophe matches any apostrophe, any dash any dash, any run of spaces any run)",
    )
    patterns: list[str] = Field(
        default_factory=list,
        description="regular expressions (Python syntax) that mention the target, matched as written "
        "(case-sensitive unless the pattern says (?i))",
    )

    @field_validator("name", "description")
    @classmethod
    def _shown(cls, value: str) -> str:
        return _shown_text(value)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, aliases: list[str]) -> list[str]:
        seen: set[str] = set()
        for alias in aliases:
            key = " ".join(alias.split()).casefold()
            if not key:
                raise ValueError("an alias is empty")
            if not re.search(r"\w", key):
                raise ValueError(f"alias {alias!r} has no letter or digit")
            if key in COMMON_WORDS:
                raise ValueError(
                    f"alias {alias!r} is also a common word: matched case-insensitively it would mark every "
                    f"{key!r}; name it with a case-sensitive pattern instead, e.g. \"patterns\": "
                    f"[{json.dumps(chr(92) + 'b' + alias + chr(92) + 'b')}]")
            if key in seen:
                raise ValueError(f"alias {alias!r} appears twice")
            seen.add(key)
        return aliases

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        target = info.data.get("id")
        of = f"of target {target!r} " if target else ""
        for pattern in patterns:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} {of}is not a valid regular expression ({exc})") from None
            if compiled.search("") is not None:
                raise ValueError(f"pattern {pattern!r} {of}matches the empty text: it would mention the target "
                                 "everywhere; make it match at least one character")
        return patterns


class LabelDefinition(BaseModel):
    """A label value and its definition, shown to annotators as a hint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    definition: str = Field(min_length=1)

    @field_validator("definition")
    @classmethod
    def _shown(cls, value: str) -> str:
        return _shown_text(value)


def _exact_labels(labels: list[LabelDefinition], expected: tuple[str, ...]) -> list[LabelDefinition]:
    values = tuple(label.value for label in labels)
    if values != expected:
        raise ValueError(f"must be exactly {list(expected)} in this order, not {list(values)}")
    return labels


class Scheme(BaseModel):
    """A stance and claim label scheme (format ``stance-scheme/v2``) with the user's own id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["stance-scheme/v2"] = Field(description="the scheme file format")
    id: str = Field(pattern=SCHEME_ID, description="the scheme's own id: a slug and a version, e.g. libya-actors/v1; "
                    "every task, annotation, gold row, model and report carries it")
    name: str = Field(min_length=1, description="a short name for the project")
    instructions: str = Field(default="", description="guidelines shown to annotators")
    targets: list[Target] = Field(min_length=1)
    stance_labels: list[LabelDefinition]
    claim_labels: list[LabelDefinition]
    span_labels: list[LabelDefinition]

    @field_validator("name", "instructions")
    @classmethod
    def _shown(cls, value: str) -> str:
        return _shown_text(value)

    @field_validator("targets")
    @classmethod
    def _unique_targets(cls, targets: list[Target]) -> list[Target]:
        seen: set[str] = set()
        for target in targets:
            if target.id in seen:
                raise ValueError(f"target id {target.id!r} appears twice")
            seen.add(target.id)
        return targets

    @field_validator("stance_labels")
    @classmethod
    def _stance(cls, labels: list[LabelDefinition]) -> list[LabelDefinition]:
        return _exact_labels(labels, STANCE_LABELS)

    @field_validator("claim_labels")
    @classmethod
    def _claim(cls, labels: list[LabelDefinition]) -> list[LabelDefinition]:
        return _exact_labels(labels, CLAIM_LABELS)

    @field_validator("span_labels")
    @classmethod
    def _span(cls, labels: list[LabelDefinition]) -> list[LabelDefinition]:
        return _exact_labels(labels, SPAN_LABELS)

    @cached_property
    def target_ids(self) -> tuple[str, ...]:
        return tuple(target.id for target in self.targets)

    @cached_property
    def target(self) -> dict[str, Target]:
        return {target.id: target for target in self.targets}

    @staticmethod
    def stance_control(target_id: str) -> str:
        """The Label Studio control name of a target's stance question."""
        return f"stance_{target_id}"

    def canonical_json(self) -> str:
        """The scheme as one deterministic JSON text (sorted keys): what is stored and compared."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def _validation_error(exc: ValidationError, path: str | os.PathLike[str] | None, fix: str) -> SchemeError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return SchemeError(f"{first['msg']}{more}", path=path,
                       where=" -> ".join(str(part) for part in first["loc"]) or None, fix=fix)


def parse_scheme(data: object, *, path: str | os.PathLike[str] | None = None) -> Scheme:
    """A scheme from its parsed JSON, of either known format; a :class:`SchemeError` naming the field."""
    fix = f"see {DEFAULT_SCHEME_PATH.name} (in schemas/) for a valid scheme"
    if not isinstance(data, dict):
        raise SchemeError("not a JSON object", path=path, fix=fix)
    if "format" not in data and "scheme" in data:
        from .old.scheme_v1 import upgrade

        version = data.get("scheme")
        if version != "stance-claim/v1":
            raise SchemeError(f"unknown scheme version {version!r}", path=path, where="scheme",
                              fix=f"known formats: {', '.join(KNOWN_FORMATS)}")
        data = upgrade(data, path=path)
    elif data.get("format") != SCHEME_FORMAT:
        raise SchemeError(f"unknown scheme format {data.get('format')!r}", path=path, where="format",
                          fix=f"known formats: {', '.join(KNOWN_FORMATS)}; a scheme states "
                          f"\"format\": \"{SCHEME_FORMAT}\" and its own \"id\", e.g. \"libya-actors/v1\"")
    try:
        return Scheme.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, path, fix) from None


def load_scheme(path: str | os.PathLike[str] | None = None) -> Scheme:
    """Read and validate a scheme file; the bundled seeds' scheme when ``path`` is None.

    Raises
    ------
    SchemeError
        Naming the file and the field path of the first problem.
    """
    path = Path(path) if path is not None else DEFAULT_SCHEME_PATH
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SchemeError("no such scheme file", path=path, fix="check the --scheme path") from None
    except IsADirectoryError:
        raise SchemeError("a folder, not a scheme file", path=path, fix="give the scheme's .json file") from None
    except OSError as exc:
        raise SchemeError(f"cannot read the scheme ({exc.strerror})", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SchemeError("not UTF-8", path=path, fix="save the scheme as UTF-8") from None
    from .files import TooDeep, check_depth

    try:
        check_depth(text, MAX_DEPTH)
    except TooDeep:
        raise SchemeError(f"JSON nested deeper than {MAX_DEPTH} levels", path=path,
                          fix="a scheme is one JSON object four levels deep; see schemas/libya-seeds.json") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemeError(
            f"not valid JSON ({exc.msg})", path=path, where=f"line {exc.lineno}",
            fix="a scheme is one JSON object; see schemas/libya-seeds.json",
        ) from None
    return parse_scheme(data, path=path)


# --- the schemes this machine has seen, by id ---------------------------------------------

STORE_ENV = "STANCE_SCHEMES"
DEFAULT_STORE = Path(".stance") / "schemes"


def store_dir() -> Path:
    """Where known schemes are kept: ``$STANCE_SCHEMES``, else ``.stance/schemes`` in the current folder."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def _stored_path(scheme_id: str) -> Path:
    return store_dir() / (scheme_id.replace("/", "@") + ".json")


def remember(scheme: Scheme, *, source: str | os.PathLike[str] | None = None) -> Path | None:
    """Keep ``scheme`` in the local store under its id, so later commands find it from their data.

    A scheme of the same id whose targets or labels differ (from the stored copy, or from the
    bundled seeds' scheme) is an error: data labelled against one would be read against the
    other. Aliases, patterns, descriptions and instructions may change under one id (they
    change what is shown and found, not what a label means); the newest is kept. ``source`` is
    the file the scheme came from, for the message. Returns the stored file, or None for the
    bundled seeds' scheme.
    """
    from .files import atomic_write

    bundled = _bundled()
    if scheme == bundled:
        return None
    path = _stored_path(scheme.id)
    known = bundled if bundled is not None and bundled.id == scheme.id else None
    if known is None and path.is_file():
        try:
            known = parse_scheme(json.loads(path.read_text(encoding="utf-8")), path=path)
        except (SchemeError, ValueError, OSError):
            known = None  # a damaged copy is replaced
    if known is not None:
        difference = labelling_difference(known, scheme)
        if difference:
            name, version = scheme.id.rsplit("/v", 1)
            where = "the seeds' scheme" if known is bundled else f"the copy in {path}"
            raise SchemeError(
                f"scheme id {scheme.id!r} already names another scheme here ({difference}; {where})",
                path=source, fix=f"give the changed scheme a new version in its id (e.g. {name}/v{int(version) + 1})")
        if known == scheme:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as out:
        out.write(scheme.canonical_json())
    return path


def labelling_difference(a: Scheme, b: Scheme) -> str | None:
    """What differs between two schemes in what a label means (targets, labels); None when nothing."""
    if a.target_ids != b.target_ids:
        return f"targets {list(a.target_ids)} against {list(b.target_ids)}"
    for label_set in ("stance_labels", "claim_labels", "span_labels"):
        if getattr(a, label_set) != getattr(b, label_set):
            return f"its {label_set} differ"
    for x, y in zip(a.targets, b.targets):
        if x.name != y.name:
            return f"target {x.id!r} is named {x.name!r} against {y.name!r}"
    return None


def _bundled() -> Scheme | None:
    try:
        return load_scheme(DEFAULT_SCHEME_PATH)
    except SchemeError:
        return None


def recall(scheme_id: str) -> Scheme | None:
    """The scheme of id ``scheme_id`` from the local store (or the bundled seeds' scheme), or None."""
    path = _stored_path(scheme_id)
    if path.is_file():
        return load_scheme(path)
    bundled = _bundled()
    if bundled is not None and bundled.id == scheme_id:
        return bundled
    return None


def resolve(explicit: str | os.PathLike[str] | None, scheme_id: str | None, *,
            data: str | os.PathLike[str] | None = None) -> Scheme:
    """The scheme of data whose records carry ``scheme_id``; ``explicit`` (a ``--scheme`` file) when given.

    Parameters
    ----------
    explicit : path, optional
        The ``--scheme`` file; its id must equal ``scheme_id``.
    scheme_id : str, optional
        The id the data carries (None when the data holds no record).
    data : path, optional
        The data file, for the messages.

    Raises
    ------
    SchemeError
        An explicit scheme of another id (naming both), or an id that is not known here.
    """
    if explicit is not None:
        scheme = load_scheme(explicit)
        if scheme_id is not None and scheme.id != scheme_id:
            raise SchemeError(f"the data is for scheme {scheme_id!r}, the --scheme file is {scheme.id!r}",
                              path=data, fix=f"give the scheme file of {scheme_id!r}, or leave --scheme out")
        remember(scheme, source=explicit)
        return scheme
    if scheme_id is None:
        raise SchemeError("no record names its scheme", path=data, fix="give the scheme with --scheme FILE")
    scheme = recall(scheme_id)
    if scheme is None:
        raise SchemeError(
            f"scheme {scheme_id!r} is not known here", path=data,
            fix=f"give its file with --scheme FILE (stance keeps the schemes it has seen in "
            f"{store_dir()}; `stance pull` and a model folder bring theirs)")
    return scheme


def scheme_ids(ids: Iterable[str | None], *, data: str | os.PathLike[str] | None = None) -> str | None:
    """The one scheme id of a file's records; an error when they carry more than one."""
    found: set[str] = {i for i in ids if i is not None}
    if len(found) > 1:
        raise SchemeError(f"records of {len(found)} schemes in one file: {', '.join(sorted(found))}",
                          path=data, fix="keep the records of one scheme in one file")
    return next(iter(found), None)


def data_scheme_id(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, kind: str) -> str | None:
    """The scheme id the first record of a data file carries, read without loading the file.

    ``kind`` is ``"jsonl"`` (annotations, gold rows: a ``scheme`` field per line), ``"tasks"``
    (a ``stance tasks`` file: ``data.scheme``) or ``"export"`` (a Label Studio JSON export:
    ``data.scheme`` of its tasks). None when no record names one; unreadable files are left
    to the command's own reader, which says what is wrong with them.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    from .errors import InputError
    from .files import DepthGuard, TooDeep, check_depth

    for path in paths:
        try:
            if not os.path.isfile(path):
                if os.path.isdir(path):
                    raise InputError("a folder, not a file", path=path, fix="give the file itself")
                if os.path.exists(path):
                    return None  # a pipe or a device: read once, by the command's own reader
            handle = open(path, "rb")
        except FileNotFoundError:
            raise InputError("no such file", path=path, fix="check the path") from None
        except OSError as exc:
            raise InputError(f"cannot read it ({exc.strerror})", path=path) from None
        with handle:
            if kind == "export":
                import ijson

                try:
                    for task in ijson.items(DepthGuard(handle), "item"):
                        data = task.get("data") if isinstance(task, dict) else None
                        if isinstance(data, dict) and isinstance(data.get("scheme"), str):
                            return data["scheme"]
                except Exception:  # noqa: BLE001 - a broken export is the reader's to report
                    continue
                continue
            for number, line in enumerate(handle):
                if number > 1000:
                    break
                line = line.strip().rstrip(b",")
                if line in (b"", b"[", b"]"):
                    continue
                try:
                    check_depth(line)
                    record = json.loads(line)
                except (ValueError, TooDeep):
                    break
                if not isinstance(record, dict):
                    break
                data = record.get("data") if kind == "tasks" else record
                found = data.get("scheme") if isinstance(data, dict) else None
                if isinstance(found, str):
                    return found
    return None
