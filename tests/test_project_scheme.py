"""The scheme travels with the data: stored with the Label Studio project, found again by every command.

On a real Label Studio server: `push` stores the scheme in the project and makes its instructions
page; `pull` brings the scheme back, so `read` needs no `--scheme`; the stored scheme survives a
server restart; tasks of another scheme are refused, and so is reading against another id.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from annotate import server, studio
from annotate.errors import StudioUnavailable
from annotate.labeling import scheme_from_config
from annotate.scheme import load_scheme

from helpers import run

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"


def own_scheme(path: Path, scheme_id: str) -> Path:
    data = json.loads((REPO / "schemas" / "libya-seeds.json").read_text())
    data["id"] = scheme_id
    data["name"] = f"A scheme of one's own ({scheme_id})"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.integration
def test_the_project_keeps_the_scheme_and_every_command_finds_it(studio_server, tmp_path, capsys, monkeypatch,
                                                                 team_server_unset):
    data_dir = str(studio_server.data_dir)
    mine = own_scheme(tmp_path / "mine.json", "travelling-actors/v1")
    tasks = tmp_path / "tasks.json"
    assert run(capsys, "tasks", SEEDS, "--scheme", mine, "-o", tasks)[0] == 0
    code, out, err = run(capsys, "push", tasks, "--project", "travelling", "--data-dir", data_dir)
    assert (code, err) == (0, ""), err
    conn = studio.Connection(studio_server.url, studio_server.token, local=True)
    ls = studio.client(conn)
    project = studio.find_project(ls, conn, "travelling")
    assert scheme_from_config(project.label_config) == load_scheme(mine)
    assert project.raw["show_instruction"] is True and "travelling-actors/v1" in project.raw["expert_instruction"]
    assert "“Libyan National Army”" in project.raw["expert_instruction"]

    # on a machine that has never seen the scheme: pull brings it, read finds it
    monkeypatch.setenv("STANCE_SCHEMES", str(tmp_path / "another-machine"))
    export = tmp_path / "export.json"
    code, out, err = run(capsys, "pull", "--project", "travelling", "-o", export, "--data-dir", data_dir)
    assert (code, err) == (0, "")
    assert "scheme 'travelling-actors/v1' of the project kept in" in out
    code, out, err = run(capsys, "read", export, "-o", tmp_path / "ann.jsonl")
    assert (code, err) == (0, ""), err
    assert out.startswith("read 21 tasks (21 without annotations)")

    # reading against another scheme's id is refused, naming both
    code, out, err = run(capsys, "read", export, "-o", tmp_path / "other.jsonl",
                         "--scheme", REPO / "schemas" / "libya-seeds.json")
    assert code == 1 and err == (f"error: {export}: the data is for scheme 'travelling-actors/v1', the --scheme file "
                                 "is 'libya-seeds/v1'; give the scheme file of 'travelling-actors/v1', or leave "
                                 "--scheme out\n")

    # tasks of another scheme into this project are refused, naming both
    other = tmp_path / "other-tasks.json"
    assert run(capsys, "tasks", SEEDS, "--scheme", own_scheme(tmp_path / "o.json", "other-actors/v1"),
               "-o", other)[0] == 0
    code, out, err = run(capsys, "push", other, "--project", "travelling", "--data-dir", data_dir)
    assert code == 4 and "is of scheme 'travelling-actors/v1', the tasks are of scheme 'other-actors/v1'" in err
    assert studio.task_ids(ls, conn, project.id).keys() == {json.loads(line.rstrip(","))["data"]["sentence_id"]
                                                           for line in tasks.read_text().splitlines()[1:-1]}


@pytest.mark.integration
def test_the_stored_scheme_survives_a_server_restart(studio_server, tmp_path, capsys, team_server_unset):
    data_dir = Path(studio_server.data_dir)
    tasks = tmp_path / "tasks.json"
    mine = own_scheme(tmp_path / "mine.json", "restart-actors/v1")
    assert run(capsys, "tasks", SEEDS, "--scheme", mine, "-o", tasks)[0] == 0
    assert run(capsys, "push", tasks, "--project", "restart", "--data-dir", data_dir)[0] == 0
    server.stop(data_dir)
    deadline = time.monotonic() + 60  # the same port, for the other tests: wait until the old socket is gone
    while True:
        try:
            restarted, _ = server.start(data_dir, port=studio_server.port, timeout=300, say=lambda message: None)
            break
        except StudioUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert restarted.url == studio_server.url
    conn = studio.Connection(restarted.url, restarted.token, local=True)
    project = studio.find_project(studio.client(conn), conn, "restart")
    assert scheme_from_config(project.label_config) == load_scheme(mine)
