"""Issue 13's promises, checked end to end: a real Label Studio, a real second user, real signals.

The server here is started by our own code in a folder that every user can reach (its parent is
0755, as a home or project folder is), so that the check by a second user (`nobody`) tests the
data dir's own permissions and not those of pytest's private temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from annotate import server
from annotate.errors import AnnotateError
from annotate.scheme import DEFAULT_SCHEME_PATH, load_scheme
from conftest import unavailable
from helpers import run, seed_export_tasks

STANCE = Path(sys.executable).with_name("stance")
SCHEME = load_scheme()


@pytest.fixture(scope="module")
def open_server():
    """A real server whose data dir our code makes, under a parent every user can enter."""
    parent = Path(tempfile.mkdtemp(prefix="stance-reliability-", dir="/tmp"))
    parent.chmod(0o755)
    try:
        try:
            running, _ = server.start(parent / "studio", timeout=300, say=lambda message: None)
        except AnnotateError as exc:
            unavailable(f"no Label Studio server: {exc.message}")
        yield running
        server.stop(parent / "studio")
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def as_nobody(*argv: str) -> subprocess.CompletedProcess:
    if shutil.which("runuser") is None or os.geteuid() != 0:
        unavailable("checking what another user can read needs root and runuser")
    return subprocess.run(["runuser", "-u", "nobody", "--", *argv], capture_output=True, text=True, timeout=30)


# --- item 7: nobody else reads the token ---------------------------------------------------------

@pytest.mark.integration
def test_another_user_cannot_read_the_database_or_the_token(open_server):
    """The data dir was 0755 and label_studio.sqlite3 0644: `runuser -u nobody` read the token there."""
    directory = Path(open_server.data_dir)
    database = directory / "label_studio.sqlite3"
    (directory.parent / "public.txt").write_text("anyone may read this\n")
    (directory.parent / "public.txt").chmod(0o644)
    assert as_nobody("cat", str(directory.parent / "public.txt")).returncode == 0  # the check can succeed
    for target in (database, directory / server.TOKEN_FILE, directory / server.PASSWORD_FILE):
        denied = as_nobody("cat", str(target))
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, target
    assert as_nobody("ls", str(directory)).returncode != 0
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) & 0o077 == 0
    media = directory / "media"
    if media.exists():
        assert stat.S_IMODE(media.stat().st_mode) & 0o077 == 0


# --- item 8: stop signals only its own server --------------------------------------------------

@pytest.mark.integration
def test_stop_of_another_data_dir_leaves_a_running_server_alone(open_server, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / server.STATE_FILE).write_text(json.dumps({
        "pid": open_server.pid, "port": open_server.port, "url": open_server.url,
        "version": server.LABEL_STUDIO_VERSION, "data_dir": str(other)}))
    assert run(capsys, "studio", "stop", "--data-dir", "other") == (
        0, "nothing to stop: no Label Studio server runs for data dir other\n", "")
    assert server.status(Path(open_server.data_dir)).pid == open_server.pid  # still there, still answering


# --- item 9: a password never on a command line ------------------------------------------------

@pytest.mark.integration
def test_a_password_goes_to_label_studio_on_stdin_and_logs_in(open_server, monkeypatch):
    import requests

    seen: list[list[str]] = []
    real_run = subprocess.run

    def recording_run(argv, *args, **kwargs):  # calls through: only records what `ps` would show
        seen.append([str(a) for a in argv])
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording_run)
    password = "correct horse battery staple 13"
    server.add_user(open_server, "reviewer.13@example.com", first_name="Re", password=password)
    assert seen and not any(password in arg for argv in seen for arg in argv)
    assert any("reset_password" in argv for argv in seen)
    session = requests.Session()
    session.get(open_server.url + "/user/login/", timeout=30)
    reply = session.post(open_server.url + "/user/login/", allow_redirects=False, timeout=30, data={
        "email": "reviewer.13@example.com", "password": password,
        "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert reply.status_code == 302  # logged in (a wrong password gets the form again: 200)


# --- item 2: the Export button's JSON_MIN is refused in one line, never read as zero -------------

def _project_with_annotations(running: server.Server, title: str) -> tuple[object, int]:
    """A project of three seed tasks, each with one of the seeds' real annotations, made through the SDK."""
    from label_studio_sdk import LabelStudio

    from annotate.labeling import labeling_config

    client = LabelStudio(base_url=running.url, api_key=running.token)
    config = labeling_config(SCHEME)
    fields = set(re.findall(r"\$(\w+)", config))
    seeds = seed_export_tasks()[:3]
    project = client.projects.create(title=title, label_config=config)
    data = [{"data": {**dict.fromkeys(fields, ""), **task["data"]}} for task in seeds]
    ids = client.projects.import_tasks(project.id, request=data, return_task_ids=True).task_ids
    for task_id, task in zip(ids, seeds):
        annotation = task["annotations"][0]
        client.annotations.create(task_id, result=annotation["result"], lead_time=annotation["lead_time"])
    return client, project.id


@pytest.mark.integration
def test_a_json_min_export_is_refused_in_one_line(open_server, tmp_path, monkeypatch, capsys):
    """`stance read` of export?exportType=JSON_MIN said "42 tasks (42 without annotations), 0 annotations"."""
    monkeypatch.chdir(tmp_path)
    client, project = _project_with_annotations(open_server, "json-min")
    for kind in ("JSON_MIN", "JSON"):
        Path(f"{kind}.json").write_bytes(b"".join(client.projects.exports.download_sync(
            project, export_type=kind, download_all_tasks=True)))
    rows = json.loads(Path("JSON_MIN.json").read_text())
    assert len(rows) == 3 and all("annotation_id" in row and "data" not in row for row in rows)  # what it is
    code, out, err = run(capsys, "read", "JSON.json", "-o", "full.jsonl", "--scheme", DEFAULT_SCHEME_PATH)
    assert (code, err) == (0, "") and "3 annotations: 3 accepted" in out
    refusal = ("error: JSON_MIN.json: a JSON_MIN export (one flat row per annotation: it leaves out skipped "
               "annotations, drafts and predictions, so its labels cannot all be accounted for); export the "
               "project as JSON (Export > JSON, not JSON_MIN or CSV), or run `stance pull`\n")
    assert run(capsys, "read", "JSON_MIN.json", "-o", "min.jsonl", "--scheme", DEFAULT_SCHEME_PATH) == (1, "", refusal)
    assert not Path("min.jsonl").exists()
    code, out, err = run(capsys, "adjudicate", "full.jsonl", "--resolutions", "JSON_MIN.json", "-o", "gold.jsonl",
                         "--scheme", DEFAULT_SCHEME_PATH)
    assert (code, err) == (1, refusal) and not Path("gold.jsonl").exists()


# --- item 14: an interrupted push says what it did ---------------------------------------------

@pytest.mark.integration
def test_an_interrupted_push_says_how_many_tasks_it_sent(open_server, tmp_path):
    """SIGINT in `push` said "nothing was written" after 1,520 tasks were created."""
    articles = tmp_path / "articles.jsonl"
    sentence = "The GNA said on Sunday that forces loyal to Haftar had shelled the south of Tripoli again. "
    with open(articles, "w") as out:
        for number in range(400):
            out.write(json.dumps({"id": f"a{number}", "date": "2020-01-05", "text": sentence * 10}) + "\n")
    env = {**os.environ, "STANCE_STUDIO_DIR": open_server.data_dir}
    env.pop("LABEL_STUDIO_URL", None)
    env.pop("LABEL_STUDIO_API_KEY", None)
    made = subprocess.run([str(STANCE), "tasks", str(articles), "-o", str(tmp_path / "tasks.json"),
                           "--scheme", str(DEFAULT_SCHEME_PATH)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    total = len(json.loads((tmp_path / "tasks.json").read_text()))
    assert total == 4000
    push = subprocess.Popen([str(STANCE), "push", str(tmp_path / "tasks.json"), "--project", "interrupted-13",
                             "--batch-size", "20", "--scheme", str(DEFAULT_SCHEME_PATH)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)

    def in_project() -> int:
        found = server.api_request(open_server.url, open_server.token, "/api/projects/?title=interrupted-13")
        found = found["results"] if isinstance(found, dict) else found
        return found[0]["task_number"] if found else 0

    deadline = time.monotonic() + 120
    while in_project() < 100:
        assert push.poll() is None, push.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    push.send_signal(signal.SIGINT)
    out, err = push.communicate(timeout=120)
    created = in_project()
    assert push.returncode == 130, err
    assert 0 < created < total, "the push ended before the interrupt: send more tasks"
    said = re.fullmatch(r"interrupted after ([\d,]+) tasks sent; no file was written \(a file being written is "
                        r"removed, never left half-written\)\n", err)
    assert said, err
    assert 0 < int(said.group(1).replace(",", "")) <= created


# --- item 11: a deep export is refused in one line, in flat memory ------------------------------

def test_a_deep_export_is_refused_by_the_command_in_flat_memory(tmp_path):
    """A 400 KB export whose task data is `[` 200,000 deep was killed at 21.5 GB."""
    deep = tmp_path / "deep.json"
    deep.write_text('[{"id": 1, "data": ' + "[" * 200_000 + "]" * 200_000 + "}]")
    cap = 3 << 30  # so that a failure cannot take the machine's memory
    # Linux keeps a process's peak memory across fork and exec, so a child of this (large) test process
    # would report at least this process's size: a small launcher runs the command as its own child.
    launcher = ("import os, resource, subprocess, sys\n"
                "cap = int(sys.argv[1])\n"
                "child = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,\n"
                "                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))\n"
                "_, status, usage = os.wait4(child.pid, 0)  # the output is a line: the pipes cannot fill\n"
                "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
                "print(child.stdout.read(), end='')\n"
                "sys.stderr.write(child.stderr.read())\n")
    done = subprocess.run([sys.executable, "-c", launcher, str(cap), str(STANCE), "read", str(deep), "-o",
                           str(tmp_path / "a.jsonl"), "--scheme", str(DEFAULT_SCHEME_PATH)],
                          capture_output=True, text=True, timeout=300)
    head, out = done.stdout.split("\n", 1)
    code, max_rss_kib = map(int, head.split())
    assert (code, out) == (1, "")
    assert done.stderr == (f"error: {deep}: task 1: JSON nested deeper than 64 levels; a Label Studio task is about "
                           "seven levels deep; export the project as JSON (Export > JSON, not JSON_MIN or CSV), or run "
                           "`stance pull`\n")
    assert max_rss_kib < 400 * 1024, f"peak memory {max_rss_kib / 1024:.0f} MiB"


# --- item 12: a user's mistake is one line, never a traceback ------------------------------------

@pytest.mark.parametrize("argv", [
    ["read", "{folder}", "-o", "a.jsonl"],
    ["agree", "{folder}", "-o", "a.json"],
    ["adjudicate", "{folder}", "-o", "gold.jsonl"],
    ["adjudicate", "{annotations}", "--resolutions", "{folder}", "-o", "gold.jsonl"],
    ["split", "{folder}", "-o", "splits"],
    ["train", "{folder}", "-o", "model"],
    ["evaluate", "{file}", "{folder}", "-o", "report"],  # a file as the model folder
    ["predict", "{file}", "{folder}", "-o", "p.json"],
    ["push", "{folder}", "--project", "P"],
    ["studio", "load-labels", "{folder}", "--project", "P"],
    ["read", "{export}", "-o", "/sys/x.jsonl"],  # an output nobody may write
    ["articles", "{articles}", "-o", "/sys/x.jsonl"],
    ["config", "-o", "/sys/x.xml"],
    ["studio", "start", "--port", "99999"],
    ["studio", "status", "--data-dir", "{file}"],
    ["studio", "start", "--timeout", "-1"],
    ["predict", "{file}", "{folder}", "-o", "p.json", "--timeout", "0"],
    ["push", "{folder}", "--project", "P", "--timeout", "-1"],
])
def test_a_mistake_is_one_line_and_a_non_zero_exit(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STANCE_STUDIO_DIR", str(tmp_path / "studio"))
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.json").write_text("{}")
    (tmp_path / "export.json").write_text(json.dumps(seed_export_tasks()))
    (tmp_path / "articles.jsonl").write_text('{"id": "a", "text": "Haftar spoke."}\n')
    assert run(capsys, "read", "export.json", "-o", "annotations.jsonl")[0] == 0
    names = {"folder": "folder", "file": "file.json", "export": "export.json", "articles": "articles.jsonl",
             "annotations": "annotations.jsonl"}
    try:
        code, out, err = run(capsys, *[arg.format(**names) for arg in argv])
    except SystemExit as exc:  # argparse refuses a value: its usage and one error line, exit 2
        code, out, err = exc.code, *capsys.readouterr()
        assert code == 2 and err.splitlines()[-1].startswith(f"stance {argv[0]}")
        return
    assert code != 0 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


# --- item 15: a model folder reads only its own files ----------------------------------------

def _tiny_model(folder: Path) -> Path:
    """A model trained on rows whose words give their labels away, saved by `save_model`."""
    from annotate.baseline import train
    from annotate.modelcard import save_model

    rows = []
    for article in range(6):
        for number in range(4):
            claim = ("CLAIM", "NO_CLAIM")[(article + number) % 2]
            stance = {t: ("FAVOR", "AGAINST", "NONE")[(article + number + i) % 3] for i, t in enumerate(SCHEME.target_ids)}
            words = ["officials said" if claim == "CLAIM" else "the weather"] + [f"{label.lower()}{t}" for t, label in
                                                                              stance.items()]
            rows.append({"sentence_id": f"a{article}:{number * 10}-{number * 10 + 9}", "article_id": f"a{article}",
                         "text": " ".join(words), "scheme": SCHEME.id, "claim": claim, "stance": stance,
                         "spans": [], "provenance": {}})
    save_model(train(rows, SCHEME, n_splits=3), folder, scheme=SCHEME)
    return folder


@pytest.mark.parametrize("elsewhere", ["../other/model.skops", "{absolute}", "link"])
def test_a_card_that_points_outside_its_folder_is_refused(tmp_path, elsewhere):
    from annotate.errors import ModelError
    from annotate.modelcard import load_model

    folder = _tiny_model(tmp_path / "model")
    (tmp_path / "other").mkdir()
    outside = tmp_path / "other" / "model.skops"
    shutil.copy(folder / "model.skops", outside)  # the same bytes: the card's sha256 matches
    card = json.loads((folder / "card.json").read_text())
    if elsewhere == "link":
        (folder / "model.skops").unlink()
        (folder / "model.skops").symlink_to(outside)
    else:
        card["model_file"] = elsewhere.format(absolute=outside)
        (folder / "model.skops").unlink()
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError) as caught:
        load_model(folder)
    assert caught.value.message == (
        f"{folder / 'card.json'}: model_file: model_file {card['model_file']!r} is not a file of the model folder; "
        "a model folder reads only its own files; train the model again")


# --- items 4 and 11 for the other commands -------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000  # past Python's own limit: a RecursionError before the fix


@pytest.mark.parametrize("argv, problem", [
    (["articles", "deep.jsonl", "-o", "a.jsonl"], "deep.jsonl: line 2: JSON nested deeper than 64 levels"),
    (["tasks", "deep.jsonl", "-o", "t.json", "--scheme", str(DEFAULT_SCHEME_PATH)],
     "deep.jsonl: line 2: JSON nested deeper than 64 levels"),
    (["split", "deep-gold.jsonl", "-o", "splits"], "deep-gold.jsonl: line 1: JSON nested deeper than 64 levels"),
])
def test_a_deep_line_is_one_line(tmp_path, monkeypatch, capsys, argv, problem):
    """`articles`, `tasks`, `split` and `evaluate` ended in a RecursionError on deep lines."""
    monkeypatch.chdir(tmp_path)
    Path("deep.jsonl").write_text('{"id": "a", "text": "Haftar spoke."}\n{"id": "b", "text": ' + DEEP + "}\n")
    Path("deep-gold.jsonl").write_text('{"format": ' + DEEP + "}\n")
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "") and err.startswith(f"error: {problem}; ") and err.count("\n") == 1, err


def test_evaluate_on_a_deep_gold_line_or_a_deep_card_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _tiny_model(tmp_path / "model")
    Path("deep-gold.jsonl").write_text('{"format": ' + DEEP + "}\n")
    code, out, err = run(capsys, "evaluate", "model", "deep-gold.jsonl", "-o", "report")
    assert (code, out) == (1, "") and err.startswith("error: deep-gold.jsonl: line 1: JSON nested deeper than 64 levels")
    (tmp_path / "model" / "card.json").write_text(DEEP)
    code, out, err = run(capsys, "evaluate", "model", "deep-gold.jsonl", "-o", "report")
    assert (code, out) == (1, "") and err.startswith("error: model/card.json: card.json is nested too deep")


@pytest.mark.parametrize("argv, flags", [
    (["articles", "articles.jsonl", "-o", "same.jsonl", "--rejects", "same.jsonl"], "-o and --rejects"),
    (["tasks", "articles.jsonl", "-o", "same.json", "--rejects", "same.json", "--scheme", str(DEFAULT_SCHEME_PATH)],
     "-o and --rejects"),
    (["adjudicate", "annotations.jsonl", "-o", "same.jsonl", "--conflicts", "same.jsonl"], "-o and --conflicts"),
    (["agree", "annotations.jsonl", "-o", "same.md", "--markdown", "same.md"], "-o and --markdown"),
])
def test_two_outputs_of_a_command_on_one_file_are_refused(tmp_path, monkeypatch, capsys, argv, flags):
    """The same path for output and rejects lost the output (`articles --rejects`, `adjudicate --conflicts`)."""
    monkeypatch.chdir(tmp_path)
    Path("articles.jsonl").write_text('{"id": "a", "text": "Haftar spoke."}\n')
    Path("export.json").write_text(json.dumps(seed_export_tasks()))
    assert run(capsys, "read", "export.json", "-o", "annotations.jsonl")[0] == 0
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, *argv)
    same = argv[argv.index("-o") + 1]
    assert (code, out, err) == (1, "", f"error: {same}: {flags} name the same file; give {flags.split()[-1]} a path "
                                       "of its own; one file cannot hold both\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
