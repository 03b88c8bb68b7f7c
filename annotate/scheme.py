"""The label scheme: targets, stance labels, claim labels and span labels, as data.

One pydantic model, loaded from a JSON file (``schemas/stance-claim.json`` for the
seeds). The Label Studio labeling config, the annotation validator and the classifier's
label set all come from it, never typed twice.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import SchemeError

SCHEME_VERSION = "stance-claim/v1"
KNOWN_VERSIONS = (SCHEME_VERSION,)
STANCE_LABELS = ("FAVOR", "AGAINST", "NONE")
CLAIM_LABELS = ("CLAIM", "NO_CLAIM")
SPAN_LABELS = ("CLAIM", "SOURCE")

Slug = str  # documented by the pattern below; a plain alias keeps the JSON Schema flat
_SLUG = r"^[a-z][a-z0-9_]{0,39}$"


def _find_default_scheme() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_schemas", here.parent / "schemas"):  # wheel, then checkout
        if (candidate / "stance-claim.json").is_file():
            return candidate / "stance-claim.json"
    return here.parent / "schemas" / "stance-claim.json"


DEFAULT_SCHEME_PATH = _find_default_scheme()


class Target(BaseModel):
    """A target of stance: an actor or a proposition that a sentence can be for or against."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug = Field(pattern=_SLUG, description="slug; the Label Studio control is stance_<id>")
    name: str = Field(min_length=1, description="what annotators read")
    description: str = Field(min_length=1, description="what counts as this target")


class LabelDefinition(BaseModel):
    """A label value and its definition, shown to annotators as a hint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    definition: str = Field(min_length=1)


def _exact_labels(labels: list[LabelDefinition], expected: tuple[str, ...]) -> list[LabelDefinition]:
    values = tuple(label.value for label in labels)
    if values != expected:
        raise ValueError(f"must be exactly {list(expected)} in this order, not {list(values)}")
    return labels


class Scheme(BaseModel):
    """A stance and claim label scheme (format ``stance-claim/v1``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Literal["stance-claim/v1"] = Field(description="the scheme format version")
    name: str = Field(min_length=1, description="a short name for the project")
    instructions: str = Field(default="", description="guidelines shown to annotators")
    targets: list[Target] = Field(min_length=1)
    stance_labels: list[LabelDefinition]
    claim_labels: list[LabelDefinition]
    span_labels: list[LabelDefinition]

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

    @staticmethod
    def stance_control(target_id: str) -> str:
        """The Label Studio control name of a target's stance question."""
        return f"stance_{target_id}"


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
    except OSError as exc:
        raise SchemeError(f"cannot read the scheme ({exc.strerror})", path=path) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SchemeError("not UTF-8", path=path, fix="save the scheme as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise SchemeError(
            f"not valid JSON ({exc.msg})", path=path, where=f"line {exc.lineno}",
            fix="a scheme is one JSON object; see schemas/stance-claim.json",
        ) from None
    if not isinstance(data, dict):
        raise SchemeError("not a JSON object", path=path, fix="see schemas/stance-claim.json")
    version = data.get("scheme")
    if version not in KNOWN_VERSIONS:
        raise SchemeError(
            f"unknown scheme version {version!r}", path=path, where="scheme",
            fix="known versions: " + ", ".join(KNOWN_VERSIONS),
        )
    try:
        return Scheme.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise SchemeError(
            f"{first['msg']}{more}", path=path,
            where=" -> ".join(str(part) for part in first["loc"]) or None,
            fix="see schemas/stance-claim.json for a valid scheme",
        ) from None
