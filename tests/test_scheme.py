"""The label scheme: one pydantic model, errors that name the field path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.errors import SchemeError
from annotate.scheme import DEFAULT_SCHEME_PATH, Scheme, load_scheme

REPO = Path(__file__).resolve().parents[1]


def test_default_scheme_is_the_committed_file():
    assert DEFAULT_SCHEME_PATH == REPO / "schemas" / "stance-claim.json"
    scheme = load_scheme()
    assert scheme.scheme == "stance-claim/v1"
    assert scheme.target_ids == ("haftar_lna", "gna", "turkey_military")
    assert [label.value for label in scheme.stance_labels] == ["FAVOR", "AGAINST", "NONE"]
    assert [label.value for label in scheme.claim_labels] == ["CLAIM", "NO_CLAIM"]
    assert [label.value for label in scheme.span_labels] == ["CLAIM", "SOURCE"]
    assert scheme.stance_control("gna") == "stance_gna"


def broken(tmp_path: Path, change) -> Path:
    data = json.loads(DEFAULT_SCHEME_PATH.read_text())
    change(data)
    path = tmp_path / "scheme.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("change, where, problem", [
    (lambda d: d["targets"].append(dict(d["targets"][0])), "targets",
     "Value error, target id 'haftar_lna' appears twice"),
    (lambda d: d["targets"][0].pop("name"), "targets -> 0 -> name", "Field required"),
    (lambda d: d.update(targets=[]), "targets", "List should have at least 1 item after validation, not 0"),
    (lambda d: d["stance_labels"].pop(), "stance_labels",
     "Value error, must be exactly ['FAVOR', 'AGAINST', 'NONE'] in this order, not ['FAVOR', 'AGAINST']"),
    (lambda d: d.update(colour="red"), "colour", "Extra inputs are not permitted"),
])
def test_wrong_scheme_errors_name_the_field_path(tmp_path, change, where, problem):
    path = broken(tmp_path, change)
    with pytest.raises(SchemeError) as error:
        load_scheme(path)
    assert (error.value.where, error.value.problem) == (where, problem)
    assert error.value.message.startswith(f"{path}: {where}: ")


def test_unknown_version_lists_known_ones(tmp_path):
    path = broken(tmp_path, lambda d: d.update(scheme="stance-claim/v2"))
    with pytest.raises(SchemeError, match=r"unknown scheme version 'stance-claim/v2'; "
                                          r"known versions: stance-claim/v1"):
        load_scheme(path)


def test_not_json(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"scheme": "stance-claim/v1",\n  oops}')
    with pytest.raises(SchemeError) as error:
        load_scheme(path)
    assert error.value.message == (f"{path}: line 2: not valid JSON (Expecting property name "
                                   "enclosed in double quotes); a scheme is one JSON object; "
                                   "see schemas/stance-claim.json")


def test_scheme_is_frozen():
    scheme = load_scheme()
    with pytest.raises(Exception, match="frozen"):
        scheme.name = "x"  # type: ignore[misc]
    assert isinstance(scheme, Scheme)
