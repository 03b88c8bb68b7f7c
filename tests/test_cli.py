"""The `stance` command line: help, version, exact error lines and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotate import __version__
from annotate.cli import build_parser, main
from helpers import run

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"


def subcommands() -> list[list[str]]:
    """Every command and sub-command path of the parser, found by walking it."""
    found = []

    def walk(parser, path):
        for action in parser._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, sub in action.choices.items():
                    found.append([*path, name])
                    walk(sub, [*path, name])

    walk(build_parser(), [])
    return found


@pytest.mark.parametrize("command", subcommands(), ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.startswith("usage: stance " + " ".join(command))
    assert "options:" in out


def test_train_help_names_every_feature_set_and_counts_the_default_grid():
    from annotate.cli import FEATURE_SET_NAMES
    from annotate.features import CONTEXTUAL_FEATURE_SETS, FEATURE_SETS, PLAIN_FEATURE_SETS

    assert FEATURE_SET_NAMES.split(", ") == list(FEATURE_SETS)
    assert (len(PLAIN_FEATURE_SETS) + len(CONTEXTUAL_FEATURE_SETS), len(PLAIN_FEATURE_SETS)) == (9, 6)  # as the help says


def test_the_expected_commands_exist():
    top = {c[0] for c in subcommands()}
    assert {"articles", "tasks", "config", "schemas"} <= top


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"stance {__version__}\n"


def test_console_script_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "annotate", "--version"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"stance {__version__}"


# --- a user's mistakes: one line on stderr, naming file, place, problem and fix -------------


def write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def expect_error(capsys, argv, message: str, code: int = 1) -> None:
    got, out, err = run(capsys, *argv)
    assert (got, err) == (code, f"error: {message}\n")
    assert "Traceback" not in err and out == ""


# (files to write, argv, the exact error line after "error: ")
MISTAKES = {
    "missing file": (
        {}, ["articles", "nope.txt", "-o", "o.jsonl"],
        "nope.txt: no such file or folder; check the path"),
    "folder with no articles": (
        {"empty/notes.md": "not an article"}, ["tasks", "empty", "-o", "o.json"],
        "empty: no articles found (looked for *.txt, *.jsonl, *.csv files, recursively); "
        "put article files there or name the files directly"),
    "non-UTF-8 bytes": (
        {"latin.txt": b" date 2020-01-01 First line.\nCaf\xe9 ol\xe9."},
        ["articles", "latin.txt", "-o", "o.jsonl"],
        "latin.txt: line 2: bytes are not UTF-8 (0xe9 at byte 4 of the line); "
        "save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 latin.txt"),
    "seed file without header": (
        {"nohead.txt": "CAIRO, Dec. 28-- No header here."}, ["articles", "nohead.txt", "-o", "o.jsonl"],
        "nohead.txt: line 1: no ' date YYYY-MM-DD ' header; a seed file starts with "
        "' date 2019-12-28 ' and then the text (use .jsonl or .csv for articles without it)"),
    "empty article": (
        {"a.jsonl": '{"id": "a1", "text": "Fine."}\n{"id": "a2", "text": " \\n "}\n'},
        ["articles", "a.jsonl", "-o", "o.jsonl"],
        "a.jsonl: line 2: article 'a2' is empty; give it text or remove it"),
    "CSV without the named column": (
        {"bodies.csv": 'Body ID,text\n1,"Some text."\n'},
        ["tasks", "bodies.csv", "--id-column", "Body ID", "--text-column", "articleBody", "-o", "o.json"],
        "bodies.csv: line 1: no column 'articleBody'; the columns are 'Body ID', 'text'; "
        "name the column with --text-column"),
    "bad JSON line": (
        {"a.jsonl": '{"id": "a", "text": "Hi."}\n{"id": "b", "text": "x",}\n'},
        ["articles", "a.jsonl", "-o", "o.jsonl"],
        "a.jsonl: line 2: not valid JSON (Expecting property name enclosed in double "
        "quotes at column 25); each line must be one JSON object"),
    "duplicate article ids": (
        {"one.jsonl": '{"id": "a", "text": "Hi there."}\n',
         "two.jsonl": '{"id": "z", "text": "Zed."}\n{"id": "a", "text": "Again."}\n'},
        ["tasks", "one.jsonl", "two.jsonl", "-o", "o.json"],
        "two.jsonl: line 2: duplicate article id 'a', first at one.jsonl line 1; "
        "give every article a unique id"),
    "duplicate ids across CSV rows": (
        {"a.csv": 'id,text\n7,"One.\nTwo."\n7,Three.\n'}, ["articles", "a.csv", "-o", "o.jsonl"],
        "a.csv: row 2 (line 4): duplicate article id '7', first at a.csv row 1 (line 2); "
        "give every article a unique id"),
    "unknown scheme version": (
        {"s.json": '{"scheme": "stance-claim/v9", "name": "x"}'},
        ["tasks", str(SEEDS), "--scheme", "s.json", "-o", "o.json"],
        "s.json: scheme: unknown scheme version 'stance-claim/v9'; known formats: stance-scheme/v2, stance-claim/v1"),
    "unknown scheme format": (
        {"s.json": '{"format": "stance-scheme/v3", "id": "mine/v1"}'},
        ["tasks", str(SEEDS), "--scheme", "s.json", "-o", "o.json"],
        "s.json: format: unknown scheme format 'stance-scheme/v3'; known formats: stance-scheme/v2, stance-claim/v1; "
        "a scheme states \"format\": \"stance-scheme/v2\" and its own \"id\", e.g. \"libya-actors/v1\""),
}


@pytest.mark.parametrize("files, argv, message", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_users_mistake_is_one_line_and_exit_1(files, argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, content in files.items():
        write(tmp_path / name, content)
    expect_error(capsys, argv, message)
    assert not (tmp_path / argv[argv.index("-o") + 1]).exists()


def test_wrong_scheme_names_the_field_path(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scheme = json.loads((REPO / "schemas" / "libya-seeds.json").read_text())
    scheme["targets"][1]["id"] = "Bad Id"
    write(tmp_path / "s.json", json.dumps(scheme))
    expect_error(capsys, ["config", "--scheme", "s.json", "-o", "c.xml"],
                 "s.json: targets -> 1 -> id: String should match pattern '^[a-z][a-z0-9_]{0,39}$'; "
                 "see libya-seeds.json (in schemas/) for a valid scheme")


def test_rejects_file_keeps_every_bad_record_and_counts_add_up(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.jsonl", '{"id": "a", "text": "Hi."}\n{"id": "b", "text": ""}\nnot json\n'
                                '{"id": "c", "text": "Fine."}\n{"id": "a", "text": "Dup."}\n')
    write(tmp_path / "latin.txt", b" date 2020-01-01 Caf\xe9.")
    code, out, err = run(capsys, "articles", "a.jsonl", "latin.txt", "-o", "o.jsonl",
                         "--rejects", "r.jsonl")
    assert (code, err) == (0, "")
    assert out == ("6 articles read: 2 accepted, 4 rejected (reasons in r.jsonl)\n"
                   "wrote 2 articles to o.jsonl\n")
    rejects = [json.loads(line) for line in Path("r.jsonl").read_text().splitlines()]
    assert [(r["file"], r["where"]) for r in rejects] == [
        ("a.jsonl", "line 2"), ("a.jsonl", "line 3"), ("a.jsonl", "line 5"), ("latin.txt", "line 1")]
    assert [r["reason"].split(" (")[0] for r in rejects] == [
        "article 'b' is empty", "not valid JSON", "duplicate article id 'a', first at a.jsonl line 1",
        "bytes are not UTF-8"]
    assert [json.loads(line)["id"] for line in Path("o.jsonl").read_text().splitlines()] == ["a", "c"]


def test_failed_run_leaves_the_old_output_alone(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "o.jsonl", "old\n")
    write(tmp_path / "a.jsonl", '{"id": "a", "text": "Hi."}\nnot json\n')
    code, _, _ = run(capsys, "articles", "a.jsonl", "-o", "o.jsonl")
    assert code == 1
    assert Path("o.jsonl").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "o.jsonl"]


# --- the commands of the README on the seeds ------------------------------------------------


def test_articles_on_the_seeds(tmp_path, capsys):
    code, out, err = run(capsys, "articles", SEEDS, "-o", tmp_path / "a.jsonl")
    assert (code, err) == (0, "")
    assert out == f"2 articles read: 2 accepted, 0 rejected\nwrote 2 articles to {tmp_path / 'a.jsonl'}\n"


def test_tasks_on_the_seeds(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STANCE_SCHEMES", str(tmp_path / "store"))
    code, out, err = run(capsys, "tasks", SEEDS, "-o", tmp_path / "t.json")
    assert (code, err) == (0, "")
    tasks = json.loads((tmp_path / "t.json").read_text())
    assert out.splitlines()[1:] == [
        f"wrote {len(tasks)} tasks (one per sentence, split by sentencex 1.0.32) for scheme libya-seeds/v1 (the "
        f"seeds' scheme, libya-seeds.json: give --scheme FILE for your own) to {tmp_path / 't.json'}",
        "mentions of the targets:",
        "  target           tasks naming it  in context only",
        "  haftar_lna             8 (38.1%)        7 (33.3%)",
        "  gna                    3 (14.3%)        3 (14.3%)",
        "  turkey_military        6 (28.6%)        6 (28.6%)",
        "  any target            10 (47.6%)                 ",
    ]


def test_the_data_commands_find_the_scheme_from_the_data_and_refuse_another_id(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STANCE_SCHEMES", str(tmp_path / "store"))
    mine = json.loads((REPO / "schemas" / "libya-seeds.json").read_text())
    mine["id"] = "my-actors/v1"
    write(tmp_path / "mine.json", json.dumps(mine))
    assert run(capsys, "tasks", SEEDS, "--scheme", tmp_path / "mine.json", "-o", tmp_path / "t.json")[0] == 0
    assert (tmp_path / "store" / "my-actors@v1.json").is_file()
    # sample (and push, read, agree, ...) find it from the tasks' id, without --scheme
    code, out, err = run(capsys, "sample", tmp_path / "t.json", "-n", "5", "-o", tmp_path / "b.json")
    assert (code, err) == (0, "")
    expect_error(capsys, ["sample", str(tmp_path / "t.json"), "-n", "5", "--scheme", str(REPO / "schemas" / "libya-seeds.json"),
                          "-o", str(tmp_path / "c.json")],
                 f"{tmp_path / 't.json'}: the data is for scheme 'my-actors/v1', the --scheme file is 'libya-seeds/v1'; "
                 "give the scheme file of 'my-actors/v1', or leave --scheme out")
    monkeypatch.setenv("STANCE_SCHEMES", str(tmp_path / "elsewhere"))
    expect_error(capsys, ["sample", str(tmp_path / "t.json"), "-n", "5", "-o", str(tmp_path / "c.json")],
                 f"{tmp_path / 't.json'}: scheme 'my-actors/v1' is not known here; give its file with --scheme FILE "
                 f"(stance keeps the schemes it has seen in {tmp_path / 'elsewhere'}; `stance pull` and a model folder "
                 "bring theirs)")


def test_config_writes_the_committed_xml(tmp_path, capsys):
    code, out, _ = run(capsys, "config", "-o", tmp_path / "c.xml")
    assert code == 0
    assert (tmp_path / "c.xml").read_text() == (REPO / "schemas" / "libya-seeds.xml").read_text()
    assert "3 targets: haftar_lna, gna, turkey_military" in out


def test_read_then_agree_on_the_seeds_example_export(tmp_path, capsys):
    export = REPO / "seeds" / "example-export-ls-1.23.2.json"
    code, out, err = run(capsys, "read", export, "-o", tmp_path / "a.jsonl")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == ("read 21 tasks (0 without annotations) from 1 export: 42 annotations: 42 accepted, "
                                   "0 rejected, 0 skipped by the annotator, 0 superseded by a newer one")
    code, out, err = run(capsys, "agree", tmp_path / "a.jsonl", "-o", tmp_path / "g.json",
                         "--markdown", tmp_path / "g.md", "--bootstrap", "100")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["question", "alpha", "95%", "interval", "units", "2+", "labels", "articles",
                                "observed", "Fleiss"]
    assert [line.split()[0] for line in lines[1:6]] == [
        "claim", "stance_haftar_lna", "stance_gna", "stance_turkey_military", "pooled"]
    assert lines[-1] == f"wrote {tmp_path / 'g.json'}, {tmp_path / 'g.md'}, {tmp_path / 'g.png'}"
    report = json.loads((tmp_path / "g.json").read_text())
    assert (report["annotations"], report["sentences"], len(report["annotators"])) == (42, 21, 2)
    assert (tmp_path / "g.md").read_text().startswith("#")


def test_agree_names_the_file_of_a_bad_record(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.jsonl", '{"sentence_id": "s"}\n')
    code, out, err = run(capsys, "agree", "a.jsonl", "-o", "g.json")
    assert (code, out) == (1, "")
    assert err == ("error: a.jsonl: line 1: Field required at article_id; annotation files are written by "
                   "`stance read`, one record per line\n")
