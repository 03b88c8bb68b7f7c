"""The JSON Schemas of every record type that leaves the program, and the labeling config.

They are committed under ``schemas/`` so that evaluation scripts in any language can
validate our files; ``tests/test_contracts.py`` fails when they drift from the code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel

from .agreement import AgreementReport
from .corpus import Article
from .evaluate import EvaluationReport
from .files import atomic_write
from .gold import Conflict, Gold
from .labeling import labeling_config
from .labels import Annotation, RejectedAnnotation
from .modelcard import ModelCard
from .predict import PredictedTask
from .scheme import DEFAULT_SCHEME_PATH, Scheme
from .tasks import Task

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# name -> (model, whether the file holds a JSON list of them, what the file is)
RECORDS: dict[str, tuple[type[BaseModel], bool, str]] = {
    "article": (Article, False, "one line of `stance articles` output (JSON lines)"),
    "tasks": (Task, True, "a Label Studio import file written by `stance tasks` (a JSON list)"),
    "scheme": (Scheme, False, "a label scheme file (`--scheme`)"),
    "annotation": (Annotation, False, "one line of `stance read` output (JSON lines): an accepted annotation"),
    "annotation-reject": (RejectedAnnotation, False,
                          "one line of `stance read --rejects` (JSON lines): an annotation not taken, with the reason"),
    "agreement": (AgreementReport, False, "the report of `stance agree` (one JSON object)"),
    "gold": (Gold, False, "one line of `stance adjudicate` output (JSON lines): a sentence's gold labels with provenance"),
    "gold-conflict": (Conflict, False, "one line of `stance adjudicate --conflicts` (JSON lines): an undecided question"),
    "model-card": (ModelCard, False, "card.json of a model folder written by `stance train`"),
    "evaluation": (EvaluationReport, False,
                   "report.json of `stance evaluate`, and metrics.json of a model folder (null there when the model had too few articles to cross-validate)"),
    "predictions": (PredictedTask, True,
                    "a Label Studio import file with pre-annotations written by `stance predict` (a JSON list, "
                    "most uncertain task first)"),
}


def json_schema(name: str) -> dict:
    """The JSON Schema of record type ``name`` (a key of :data:`RECORDS`)."""
    model, is_list, what = RECORDS[name]
    schema = model.model_json_schema(mode="serialization")
    if is_list:
        defs = schema.pop("$defs", {})
        defs[model.__name__] = schema
        schema = {"type": "array", "items": {"$ref": f"#/$defs/{model.__name__}"}, "$defs": defs}
    return {"$schema": JSON_SCHEMA_DIALECT, "title": name, "description": what, **schema}


def generated_files(scheme: Scheme) -> dict[str, str]:
    """File name -> content of every generated contract for ``scheme``."""
    files = {
        f"{name}.schema.json": json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n"
        for name in RECORDS
    }
    files[f"{DEFAULT_SCHEME_PATH.stem}.xml"] = labeling_config(scheme)
    return files


def write_contracts(scheme: Scheme, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write every generated contract into ``out_dir``; return the paths written."""
    written = []
    for name, content in generated_files(scheme).items():
        path = Path(out_dir) / name
        with atomic_write(path) as out:
            out.write(content)
        written.append(path)
    return written
