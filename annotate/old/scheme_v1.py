"""The first scheme format, ``stance-claim/v1``: read and upgraded to ``stance-scheme/v2``.

A v1 file named its format in ``"scheme"`` and had no id of its own, so every project
was ``stance-claim/v1``; its targets had no aliases. Upgraded, the scheme keeps that id
(``stance-claim/v1``), so tasks, annotations, gold rows and models made with it still
match it, and its targets find no mentions until the user gives them aliases in a v2 file.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import SchemeError

FORMAT = "stance-claim/v1"


class _TargetV1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    description: str


class _LabelV1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str
    definition: str


class SchemeV1(BaseModel):
    """The v1 file as it was: its fields, strictly."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["stance-claim/v1"]
    name: str
    instructions: str = ""
    targets: list[_TargetV1] = Field(min_length=1)
    stance_labels: list[_LabelV1]
    claim_labels: list[_LabelV1]
    span_labels: list[_LabelV1]


def upgrade(data: dict, *, path: str | os.PathLike[str] | None = None) -> dict:
    """The v2 form of a v1 scheme's JSON: ``format`` and ``id`` (``stance-claim/v1``), no aliases."""
    try:
        old = SchemeV1.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise SchemeError(first["msg"], path=path, where=" -> ".join(str(p) for p in first["loc"]) or None,
                          fix="a stance-claim/v1 scheme as the first version wrote it; or move it to "
                          "\"format\": \"stance-scheme/v2\" with an \"id\" of its own") from None
    upgraded = old.model_dump(exclude={"scheme"})
    return {"format": "stance-scheme/v2", "id": FORMAT, **upgraded}
