"""The committed contracts under schemas/ match the code, and our files match them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from annotate.cli import main
from annotate.contracts import generated_files
from annotate.scheme import load_scheme

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"


@pytest.mark.parametrize("name", sorted(generated_files(load_scheme())))
def test_committed_contract_matches_the_code(name):
    committed = SCHEMAS / name
    assert committed.is_file(), f"{committed} is missing: run `make schemas`"
    assert committed.read_text(encoding="utf-8") == generated_files(load_scheme())[name], (
        f"{committed} drifted from the code: run `make schemas` and commit the result")


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_outputs_validate_against_their_schemas(tmp_path, capsys):
    assert main(["articles", str(REPO / "seeds"), "-o", str(tmp_path / "a.jsonl")]) == 0
    assert main(["tasks", str(REPO / "seeds"), "-o", str(tmp_path / "t.json")]) == 0
    articles = validator("article")
    for line in (tmp_path / "a.jsonl").read_text().splitlines():
        articles.validate(json.loads(line))
    validator("tasks").validate(json.loads((tmp_path / "t.json").read_text()))
    validator("scheme").validate(json.loads((SCHEMAS / "libya-seeds.json").read_text()))
    export = REPO / "tests" / "fixtures" / "export-ls-1.23.2-invalid.json"
    v1 = REPO / "tests" / "fixtures" / "scheme-stance-claim-v1.json"  # the scheme it was recorded with
    assert main(["read", str(export), "-o", str(tmp_path / "n.jsonl"), "--rejects", str(tmp_path / "r.jsonl"),
                 "--scheme", str(v1)]) == 0
    for name, path in (("annotation", "n.jsonl"), ("annotation-reject", "r.jsonl")):
        lines = (tmp_path / path).read_text().splitlines()
        assert lines
        for line in lines:
            validator(name).validate(json.loads(line))
    seeds = REPO / "seeds" / "example-export-ls-1.23.2.json"
    assert main(["read", str(seeds), "-o", str(tmp_path / "s.jsonl")]) == 0
    assert main(["agree", str(tmp_path / "s.jsonl"), "-o", str(tmp_path / "agree.json"), "--bootstrap", "50"]) == 0
    validator("agreement").validate(json.loads((tmp_path / "agree.json").read_text()))
    assert main(["adjudicate", str(tmp_path / "s.jsonl"), "-o", str(tmp_path / "gold.jsonl")]) == 0
    for name, path in (("gold", "gold.jsonl"), ("gold-conflict", "gold.conflicts.jsonl")):
        lines = (tmp_path / path).read_text().splitlines()
        assert lines
        for line in lines:
            validator(name).validate(json.loads(line))


def test_schemas_reject_what_the_code_rejects():
    tasks = validator("tasks")
    good = {"data": {"text": "x", "article_id": "a", "sentence_id": "a:0-1", "start": 0, "end": 1,
                     "date": "", "title": "", "context_before": "", "context_after": "",
                     "scheme": "libya-seeds/v1", "splitter": "sentencex 1.0.32 (en)"}}
    tasks.validate([good])
    bad = {"data": {**good["data"], "start": -1}}
    assert not tasks.is_valid([bad])
    assert not tasks.is_valid([{"data": {**good["data"], "unexpected": 1}}])
