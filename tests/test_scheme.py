"""The label scheme: format stance-scheme/v2 with the user's id, the old v1 reader, the store by id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.errors import InputError, SchemeError
from annotate.scheme import (DEFAULT_SCHEME_PATH, Scheme, data_scheme_id, load_scheme, recall, remember, resolve,
                             store_dir)

REPO = Path(__file__).resolve().parents[1]
V1 = REPO / "tests" / "fixtures" / "scheme-stance-claim-v1.json"


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    """Each test keeps its schemes in its own store."""
    monkeypatch.setenv("STANCE_SCHEMES", str(tmp_path / "store"))
    return tmp_path / "store"


def test_default_scheme_is_the_committed_seeds_scheme():
    assert DEFAULT_SCHEME_PATH == REPO / "schemas" / "libya-seeds.json"
    scheme = load_scheme()
    assert (scheme.format, scheme.id) == ("stance-scheme/v2", "libya-seeds/v1")
    assert scheme.target_ids == ("haftar_lna", "gna", "turkey_military")
    assert "Haftar" in scheme.target["haftar_lna"].aliases and "GNA" in scheme.target["gna"].aliases
    assert [label.value for label in scheme.stance_labels] == ["FAVOR", "AGAINST", "NONE"]
    assert [label.value for label in scheme.claim_labels] == ["CLAIM", "NO_CLAIM"]
    assert [label.value for label in scheme.span_labels] == ["CLAIM", "SOURCE"]
    assert scheme.stance_control("gna") == "stance_gna"


def write(tmp_path: Path, change, base: Path = DEFAULT_SCHEME_PATH) -> Path:
    data = json.loads(base.read_text())
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
    (lambda d: d.update(id="Libya Actors"), "id", "String should match pattern '^[a-z][a-z0-9-]{0,62}/v[0-9]{1,6}$'"),
    (lambda d: d.update(id="libya-actors"), "id", "String should match pattern '^[a-z][a-z0-9-]{0,62}/v[0-9]{1,6}$'"),
    (lambda d: d["targets"][1].update(patterns=["(unclosed"]), "targets -> 1 -> patterns",
     "Value error, pattern '(unclosed' of target 'gna' is not a valid regular expression (missing ), unterminated "
     "subpattern at position 0)"),
    (lambda d: d["targets"][1].update(patterns=["x*"]), "targets -> 1 -> patterns",
     "Value error, pattern 'x*' of target 'gna' matches the empty text: it would mention the target everywhere; "
     "make it match at least one character"),
    (lambda d: d["targets"][0].update(aliases=["Haftar", "haftar"]), "targets -> 0 -> aliases",
     "Value error, alias 'haftar' appears twice"),
    (lambda d: d["targets"][0].update(aliases=["  "]), "targets -> 0 -> aliases", "Value error, an alias is empty"),
    (lambda d: d["targets"][0].update(name="Haftar\x00"), "targets -> 0 -> name",
     "Value error, holds the control character '\\x00', which XML cannot carry: remove it"),
    (lambda d: d["targets"][0].update(name="the $foo army"), "targets -> 0 -> name",
     "Value error, holds '$' before a word, which Label Studio reads as a task field: write it without the '$' "
     "(e.g. 'USD 5')"),
])
def test_wrong_scheme_errors_name_the_field_path(tmp_path, change, where, problem):
    path = write(tmp_path, change)
    with pytest.raises(SchemeError) as error:
        load_scheme(path)
    assert (error.value.where, error.value.problem) == (where, problem)
    assert error.value.message.startswith(f"{path}: {where}: ")


def test_an_alias_that_is_a_common_word_is_refused_with_a_pattern_to_use_instead(tmp_path):
    path = write(tmp_path, lambda d: d["targets"].append(
        {"id": "usa", "name": "The United States", "description": "The US government.", "aliases": ["US"]}))
    with pytest.raises(SchemeError) as error:
        load_scheme(path)
    assert error.value.where == "targets -> 3 -> aliases"
    assert "alias 'US' is also a common word" in error.value.problem
    assert '"patterns": ["\\\\bUS\\\\b"]' in error.value.problem
    fixed = write(tmp_path, lambda d: d["targets"].append(
        {"id": "usa", "name": "The United States", "description": "The US government.", "patterns": [r"\bUS\b"]}))
    assert load_scheme(fixed).target["usa"].patterns == [r"\bUS\b"]


def test_unknown_format_lists_known_ones(tmp_path):
    path = write(tmp_path, lambda d: d.update(format="stance-scheme/v9"))
    with pytest.raises(SchemeError, match=r"format: unknown scheme format 'stance-scheme/v9'; known formats: "
                                          r"stance-scheme/v2, stance-claim/v1"):
        load_scheme(path)
    old = write(tmp_path, lambda d: d.update(scheme="stance-claim/v2"), base=V1)
    with pytest.raises(SchemeError, match=r"scheme: unknown scheme version 'stance-claim/v2'"):
        load_scheme(old)


def test_an_old_v1_file_loads_through_the_old_reader_with_its_own_id():
    scheme = load_scheme(V1)
    assert (scheme.format, scheme.id) == ("stance-scheme/v2", "stance-claim/v1")
    assert scheme.target_ids == ("haftar_lna", "gna", "turkey_military")
    assert all(t.aliases == [] and t.patterns == [] for t in scheme.targets)
    assert scheme.instructions == json.loads(V1.read_text())["instructions"]


def test_the_old_reader_is_strict(tmp_path):
    path = write(tmp_path, lambda d: d["targets"][0].update(aliases=["Haftar"]), base=V1)
    with pytest.raises(SchemeError) as error:
        load_scheme(path)
    assert (error.value.where, error.value.problem) == ("targets -> 0 -> aliases", "Extra inputs are not permitted")
    assert "stance-scheme/v2" in error.value.fix


def test_not_json_and_deep_json_and_a_folder(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"format": "stance-scheme/v2",\n  oops}')
    with pytest.raises(SchemeError) as error:
        load_scheme(path)
    assert error.value.message == (f"{path}: line 2: not valid JSON (Expecting property name "
                                   "enclosed in double quotes); a scheme is one JSON object; "
                                   "see schemas/libya-seeds.json")
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SchemeError, match="JSON nested deeper than 64 levels"):
        load_scheme(path)
    with pytest.raises(SchemeError, match="a folder, not a scheme file"):
        load_scheme(tmp_path)


def test_scheme_is_frozen():
    scheme = load_scheme()
    with pytest.raises(Exception, match="frozen"):
        scheme.name = "x"  # type: ignore[misc]
    assert isinstance(scheme, Scheme)


def own_scheme(tmp_path: Path, scheme_id: str = "fnc-actors/v1", **target_changes) -> Path:
    def change(d):
        d["id"] = scheme_id
        d["targets"][0].update(target_changes)
    return write(tmp_path, change)


def test_the_store_keeps_a_scheme_by_id_and_finds_it_again(tmp_path, store):
    scheme = load_scheme(own_scheme(tmp_path))
    assert recall("fnc-actors/v1") is None
    kept = remember(scheme)
    assert kept == store / "fnc-actors@v1.json" and store_dir() == store
    assert recall("fnc-actors/v1") == scheme
    assert remember(load_scheme()) is None  # the bundled seeds' scheme is always known
    assert recall("libya-seeds/v1") == load_scheme()


def test_one_id_names_one_meaning_but_aliases_may_change(tmp_path):
    remember(load_scheme(own_scheme(tmp_path)))
    newer = load_scheme(own_scheme(tmp_path, aliases=["Haftar", "Hifter"]))
    remember(newer)
    assert recall("fnc-actors/v1").target["haftar_lna"].aliases == ["Haftar", "Hifter"]
    renamed = load_scheme(own_scheme(tmp_path, name="Someone else"))
    with pytest.raises(SchemeError) as error:
        remember(renamed)
    assert "scheme id 'fnc-actors/v1' already names another scheme here (target 'haftar_lna' is named" in error.value.problem
    assert "fnc-actors/v2" in error.value.fix
    seeds_renamed = write(tmp_path, lambda d: d["targets"][0].update(name="Someone else"))
    with pytest.raises(SchemeError, match=r"scheme id 'libya-seeds/v1' already names another scheme here \(target "
                                          r"'haftar_lna' is named .*; the seeds' scheme\)"):
        remember(load_scheme(seeds_renamed), source=seeds_renamed)


def test_resolve_finds_the_data_scheme_and_refuses_another_id(tmp_path):
    mine = own_scheme(tmp_path)
    with pytest.raises(SchemeError) as error:
        resolve(None, "fnc-actors/v1", data="gold.jsonl")
    assert error.value.message.startswith("gold.jsonl: scheme 'fnc-actors/v1' is not known here; give its file with "
                                          "--scheme FILE")
    assert resolve(mine, "fnc-actors/v1").id == "fnc-actors/v1"  # given once, kept
    assert resolve(None, "fnc-actors/v1").id == "fnc-actors/v1"
    with pytest.raises(SchemeError) as error:
        resolve(DEFAULT_SCHEME_PATH, "fnc-actors/v1", data="gold.jsonl")
    assert error.value.message == ("gold.jsonl: the data is for scheme 'fnc-actors/v1', the --scheme file is "
                                   "'libya-seeds/v1'; give the scheme file of 'fnc-actors/v1', or leave --scheme out")


def test_data_scheme_id_reads_the_first_record_only(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"scheme": "fnc-actors/v1", "x": 1}\n' + "not json\n")
    assert data_scheme_id(gold, kind="jsonl") == "fnc-actors/v1"
    tasks = tmp_path / "tasks.json"
    tasks.write_text('[\n{"data": {"scheme": "a-b/v2"}},\n]\n')
    assert data_scheme_id(tasks, kind="tasks") == "a-b/v2"
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": 1}, {"id": 2, "data": {"scheme": "c/v1"}}]))
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert data_scheme_id([empty, export], kind="export") == "c/v1"
    assert data_scheme_id(empty, kind="export") is None
    assert data_scheme_id(export, kind="export") == "c/v1"
    with pytest.raises(InputError, match="no such file"):
        data_scheme_id(tmp_path / "missing.json", kind="export")
