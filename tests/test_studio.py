"""Push and pull: pure parts as unit tests, and the round trip on a real Label Studio server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate import preload, server, studio
from annotate.cli import main
from annotate.errors import InputError
from annotate.labeling import labeling_config
from annotate.scheme import load_scheme
from helpers import run

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
FIRST_ARTICLE = SEEDS / "000_2e743664b03188b8.txt"
SCHEME = load_scheme()


# --- unit tests: no server -------------------------------------------------------------

def test_configs_equal_but_for_layout_have_no_difference():
    config = labeling_config(SCHEME)
    relaid = config.replace("\n  ", "\n").replace('" />', '"/>')
    assert studio.config_difference(config, relaid) is None


def test_a_missing_target_is_named():
    smaller = SCHEME.model_copy(update={"targets": SCHEME.targets[:-1]})
    last = SCHEME.targets[-1]
    assert studio.config_difference(labeling_config(SCHEME), labeling_config(smaller)) == (
        f"it lacks <Header value={'Stance toward: ' + last.name!r}>")
    assert studio.config_difference(labeling_config(smaller), labeling_config(SCHEME)) == (
        f"it has an extra <Header value={'Stance toward: ' + last.name!r}>")
    assert studio.config_difference("<View/>", "<View").startswith("its config is not valid XML")


def tasks_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "tasks.json"
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n")
    return path


def seed_task_lines(tmp_path: Path) -> list[str]:
    assert main(["tasks", str(FIRST_ARTICLE), "-o", str(tmp_path / "seed.json")]) == 0
    return [line.rstrip(",") for line in (tmp_path / "seed.json").read_text().splitlines()[1:-1]]


def test_tasks_stream_from_the_file_stance_tasks_writes(tmp_path, capsys):
    lines = seed_task_lines(tmp_path)
    capsys.readouterr()
    tasks = list(studio.read_tasks(tasks_file(tmp_path, *lines), SCHEME))
    assert [t["data"]["sentence_id"] for t in tasks] == [json.loads(line)["data"]["sentence_id"] for line in lines]


def test_a_bad_task_names_its_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    good = seed_task_lines(tmp_path)[0]
    bad = json.loads(good)
    del bad["data"]["sentence_id"]
    tasks_file(tmp_path, good, json.dumps(bad))
    with pytest.raises(InputError) as caught:
        list(studio.read_tasks("tasks.json", SCHEME))
    assert caught.value.message == (
        "tasks.json: line 3: Field required at data -> sentence_id; a tasks file is a JSON list with "
        "one {\"data\": {...}} per line, as `stance tasks` writes it")
    other = json.loads(good)
    other["data"]["scheme"] = "stance-claim/v0"
    tasks_file(tmp_path, json.dumps(other))
    with pytest.raises(InputError) as caught:
        list(studio.read_tasks("tasks.json", SCHEME))
    assert caught.value.message == (
        "tasks.json: line 2: task is for scheme 'stance-claim/v0', not 'stance-claim/v1'; give the matching --scheme")


def test_a_team_server_needs_both_url_and_key(monkeypatch, capsys):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:1")
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    assert run(capsys, "pull", "--project", "p", "-o", "x.json") == (
        4, "", "error: LABEL_STUDIO_API_KEY is not set; set both LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY "
        "for a team server, or neither for the local one\n")


def test_an_unreachable_team_server_is_retried_then_named(monkeypatch, capsys):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "k")
    monkeypatch.setattr(studio, "FIRST_DELAY", 0.01)
    assert run(capsys, "pull", "--project", "p", "-o", "x.json") == (
        5, "", "error: checking the API key: cannot reach Label Studio at http://127.0.0.1:1 after 4 tries "
        "(ConnectError); check LABEL_STUDIO_URL and that the server runs\n")


def test_push_without_a_local_server_says_how_to_start_one(tmp_path, monkeypatch, capsys, team_server_unset):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "push", "tasks.json", "--project", "p", "--data-dir", "nowhere") == (
        5, "", "error: no Label Studio server runs for data dir nowhere; start one with "
        "`stance studio start --data-dir nowhere`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY "
        "for a team server\n")


def test_a_label_becomes_a_label_studio_result():
    label = {"sentence_id": "a:0-10", "claim": "CLAIM",
             "stance": {t: "NONE" for t in SCHEME.target_ids} | {SCHEME.target_ids[0]: "FAVOR"},
             "spans": [{"start": 0, "end": 4, "label": "SOURCE", "text": "Egyp"}], "lead_time": 3.5}
    result = preload.label_result(label, SCHEME)
    assert result[0] == {"from_name": "claim", "to_name": "sentence", "type": "choices",
                         "value": {"choices": ["CLAIM"]}}
    assert [r["value"]["choices"] for r in result[1:-1]] == [["FAVOR"]] + [["NONE"]] * (len(SCHEME.targets) - 1)
    assert result[-1]["value"] == {"start": 0, "end": 4, "text": "Egyp", "labels": ["SOURCE"]}


# --- integration: a real server --------------------------------------------------------

@pytest.fixture(scope="module")
def seed_tasks(tmp_path_factory) -> dict[str, Path]:
    """The seeds' tasks: all of them, and those of the first article only."""
    folder = tmp_path_factory.mktemp("tasks")
    paths = {"all": folder / "all.json", "first": folder / "first.json"}
    assert main(["tasks", str(SEEDS), "-o", str(paths["all"])]) == 0
    assert main(["tasks", str(FIRST_ARTICLE), "-o", str(paths["first"])]) == 0
    return paths


def count(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.startswith("{"))


def local(found: server.Server) -> studio.Connection:
    return studio.Connection(found.url, found.token, local=True)


@pytest.mark.integration
def test_push_creates_then_adds_only_new_tasks(studio_server, seed_tasks, capsys, team_server_unset):
    d = studio_server.data_dir
    first, total = count(seed_tasks["first"]), count(seed_tasks["all"])
    assert 0 < first < total
    code, out, _ = run(capsys, "push", seed_tasks["first"], "--project", "grows", "--data-dir", d)
    assert code == 0
    project_id = studio.find_project(studio.client(local(studio_server)), local(studio_server), "grows").id
    assert out == (f"project 'grows' (id {project_id}) created: {studio_server.url}/projects/{project_id}\n"
                   f"{first} tasks read from {seed_tasks['first']}: 0 already there, {first} sent and created\n")
    assert run(capsys, "push", seed_tasks["all"], "--project", "grows", "--data-dir", d)[1] == (
        f"project 'grows' (id {project_id}) found: {studio_server.url}/projects/{project_id}\n"
        f"{total} tasks read from {seed_tasks['all']}: {first} already there, {total - first} sent and created\n")
    assert run(capsys, "push", seed_tasks["all"], "--project", "grows", "--data-dir", d)[1].endswith(
        f": {total} already there, 0 sent and created\n")


@pytest.mark.integration
def test_an_interrupted_push_resumes_without_duplicates(studio_server, seed_tasks):
    conn = local(studio_server)

    def interrupt(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        studio.push(seed_tasks["all"], "interrupted", SCHEME, conn=conn, batch_size=5, on_batch=interrupt)
    counts = studio.push(seed_tasks["all"], "interrupted", SCHEME, conn=conn, batch_size=5)
    total = count(seed_tasks["all"])
    assert (counts.read, counts.already, counts.created) == (total, 5, total - 5)
    ls = studio.client(conn)
    assert len(studio.task_ids(ls, conn, counts.project_id)) == total
    assert ls.projects.get(counts.project_id).task_number == total


@pytest.mark.integration
def test_a_project_with_another_config_is_refused(studio_server, seed_tasks, tmp_path, capsys, team_server_unset):
    other = SCHEME.model_dump()
    other["targets"] = other["targets"][:-1]
    (tmp_path / "smaller.json").write_text(json.dumps(other))
    d = studio_server.data_dir
    assert run(capsys, "push", seed_tasks["first"], "--project", "two configs", "--data-dir", d)[0] == 0
    project_id = studio.find_project(studio.client(local(studio_server)), local(studio_server), "two configs").id
    code, out, err = run(capsys, "push", seed_tasks["first"], "--project", "two configs", "--data-dir", d,
                         "--scheme", tmp_path / "smaller.json")
    assert (code, out) == (4, "")
    assert err == (
        f"error: project 'two configs' (id {project_id}) at {studio_server.url} has another labeling config "
        f"than scheme {SCHEME.name!r}: it has an extra <Header value={'Stance toward: ' + SCHEME.targets[-1].name!r}>; "
        "use another --project, or give the --scheme it was made with; to change its config on purpose, "
        "paste `stance config` output into its Settings > Labeling Interface\n")


@pytest.mark.integration
def test_wrong_key_and_missing_project_are_one_line(studio_server, monkeypatch, capsys):
    monkeypatch.setenv("LABEL_STUDIO_URL", studio_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "not-a-token")
    assert run(capsys, "pull", "--project", "p", "-o", "x.json") == (
        4, "", f"error: checking the API key: Label Studio at {studio_server.url} rejected the API key "
        "(HTTP 401: Invalid token.); check LABEL_STUDIO_API_KEY: a personal access token, or a legacy token "
        "if the organisation allows them (Organization > API Tokens Settings)\n")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio_server.token)
    code, out, err = run(capsys, "pull", "--project", "no such project", "-o", "x.json")
    assert (code, out) == (4, "")
    assert err.startswith(f"error: no project titled 'no such project' at {studio_server.url} (projects there: ")
    assert err.endswith("); check --project, or create it with `stance push TASKS --project 'no such project'`\n")


@pytest.fixture(scope="module")
def annotated(studio_server, seed_tasks) -> dict:
    """A project labelled by two annotators with their own tokens: a disagreement, a skip, a draft."""
    conn = local(studio_server)
    studio.push(seed_tasks["all"], "round trip", SCHEME, conn=conn)
    ls = studio.client(conn)
    project = studio.find_project(ls, conn, "round trip")
    ids = sorted(studio.task_ids(ls, conn, project.id).items(), key=lambda item: item[1])
    (first_sid, first), (second_sid, second), (third_sid, third) = ids[:3]
    stance = dict.fromkeys(SCHEME.target_ids, "NONE")
    tokens = {email: server.add_user(studio_server, email, first_name=name, last_name="Annotator")
              for email, name in (("ann1@example.com", "Ann"), ("ann2@example.com", "Bo"))}
    one = studio.Connection(studio_server.url, tokens["ann1@example.com"], local=True)
    two = studio.Connection(studio_server.url, tokens["ann2@example.com"], local=True)
    preload.post_labels(one, "round trip", [preload.LabelRecord(**label) for label in [
        {"sentence_id": first_sid, "claim": "CLAIM", "stance": stance, "lead_time": 4.0,
         "spans": [{"start": 0, "end": 5, "label": "SOURCE", "text": "CAIRO"}]}]], SCHEME)
    preload.post_labels(two, "round trip", [preload.LabelRecord(**label) for label in [
        {"sentence_id": first_sid, "claim": "NO_CLAIM", "stance": stance, "lead_time": 2.5}]], SCHEME)
    studio.client(one).annotations.create(second, result=[], was_cancelled=True)
    server.api_request(studio_server.url, tokens["ann2@example.com"], f"/api/tasks/{third}/drafts",
                       body={"result": preload.label_result(
                           {"sentence_id": third_sid, "claim": "CLAIM", "stance": stance}, SCHEME),
                           "lead_time": 1.5})
    ls.predictions.create(task=third, result=preload.label_result(
        {"sentence_id": third_sid, "claim": "NO_CLAIM", "stance": stance}, SCHEME),
        score=0.5, model_version="test-0")
    return {"project": project.id, "first": first, "second": second, "third": third}


@pytest.mark.integration
def test_pull_brings_back_every_task_annotation_skip_draft_and_prediction(
        studio_server, seed_tasks, annotated, tmp_path, capsys, team_server_unset):
    out_file = tmp_path / "export.json"
    code, out, err = run(capsys, "pull", "--project", "round trip", "-o", out_file,
                         "--data-dir", studio_server.data_dir)
    total = count(seed_tasks["all"])
    assert (code, err) == (0, "")
    assert out == (f"wrote {total} tasks (2 annotations, 1 skipped, 1 drafts, 1 predictions) of project 'round trip' "
                   f"({studio_server.url}/projects/{annotated['project']}) to {out_file}\n")
    tasks = {task["id"]: task for task in json.loads(out_file.read_text())}
    assert len(tasks) == total
    first = tasks[annotated["first"]]["annotations"]
    assert sorted((a["completed_by"]["email"], a["result"][0]["value"]["choices"][0]) for a in first) == [
        ("ann1@example.com", "CLAIM"), ("ann2@example.com", "NO_CLAIM")]
    assert {a["completed_by"]["first_name"] for a in first} == {"Ann", "Bo"}
    span = next(r for a in first for r in a["result"] if r["type"] == "labels")
    assert span["value"] == {"start": 0, "end": 5, "text": "CAIRO", "labels": ["SOURCE"]}
    (skipped,) = tasks[annotated["second"]]["annotations"]
    assert (skipped["was_cancelled"], skipped["result"]) == (True, [])
    third = tasks[annotated["third"]]
    assert third["annotations"] == []
    (draft,) = third["drafts"]
    assert draft["result"][0]["value"] == {"choices": ["CLAIM"]}
    (prediction,) = third["predictions"]
    assert (prediction["model_version"], prediction["score"]) == ("test-0", 0.5)
    ls = studio.client(local(studio_server))
    assert list(ls.projects.exports.list(annotated["project"])) == []  # the snapshot was cleaned up


@pytest.mark.integration
def test_label_files_load_once_as_their_annotators(studio_server, seed_tasks, tmp_path, capsys, team_server_unset):
    d = studio_server.data_dir
    assert run(capsys, "push", seed_tasks["all"], "--project", "examples", "--data-dir", d)[0] == 0
    labels = SEEDS / "labels" / "annotator-1.json"
    n = len(json.loads(labels.read_text())["labels"])
    assert run(capsys, "studio", "load-labels", labels, "--project", "examples", "--data-dir", d) == (
        0, f"{labels}: {n} labels by amira.haddad@example.com: {n} saved as annotations, 0 already there\n", "")
    assert run(capsys, "studio", "load-labels", labels, "--project", "examples", "--data-dir", d)[1] == (
        f"{labels}: {n} labels by amira.haddad@example.com: 0 saved as annotations, {n} already there\n")
    record = json.loads(labels.read_text())
    record["annotator"]["email"] = "someone.else@example.com"
    record["labels"][1]["spans"][0]["text"] = "Both lead"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(record))
    code, out, err = run(capsys, "studio", "load-labels", bad, "--project", "examples", "--data-dir", d)
    span = record["labels"][1]["spans"][0]
    assert (code, out) == (1, "")
    assert err == (f"error: {bad}: labels -> 1: span {span['start']}-{span['end']} is 'Both leaders' in the sentence, "
                   "not 'Both lead'; offsets count characters of the sentence, from 0\n")
