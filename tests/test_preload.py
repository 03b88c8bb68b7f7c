"""Label files into Label Studio (`stance studio load-labels`): checks as unit tests, loads on a real server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from annotate import preload, server, studio
from annotate.cli import main
from annotate.errors import InputError
from annotate.scheme import load_scheme
from helpers import run

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SCHEME = load_scheme()
ANNOTATOR_1 = SEEDS / "labels" / "annotator-1.json"


def label_file(path: Path, email: str, labels: list[dict]) -> Path:
    path.write_text(json.dumps({"annotator": {"email": email, "first_name": "Test"}, "labels": labels}))
    return path


def seed_labels() -> list[dict]:
    return json.loads(ANNOTATOR_1.read_text())["labels"]


# --- unit tests: no server -------------------------------------------------------------


def at_once(*calls):
    """Run the calls in threads started together; their results, in the order they finished
    (none may raise)."""
    results: list = []

    def one(call) -> None:
        try:
            results.append(call())
        except Exception as exc:  # noqa: BLE001 - reported below
            results.append(exc)
    threads = [threading.Thread(target=one, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in results if isinstance(r, Exception)], results
    return results

def test_skips_and_drafts_are_checked_with_the_record_and_the_fix(tmp_path):
    first, second = seed_labels()[:2]
    sid = first["sentence_id"]
    path = label_file(tmp_path / "l.json", "a@example.com", [{"sentence_id": sid, "status": "skip"},
                                                             {**second, "status": "draft", "claim": None}])
    record = preload.read_label_file(path, SCHEME)
    assert [label.status for label in record.labels] == ["skip", "draft"]

    def problem(*labels: dict) -> str:
        with pytest.raises(InputError) as caught:
            preload.read_label_file(label_file(tmp_path / "bad.json", "a@example.com", list(labels)), SCHEME)
        return caught.value.message

    bad = tmp_path / "bad.json"
    assert problem({**first, "status": "skip"}) == (
        f"{bad}: labels -> 0 (sentence {sid}): a skipped label has answers; leave claim, stance and spans out of "
        "a skip, or drop \"status\": \"skip\"")
    assert problem({"sentence_id": sid, "status": "draft"}) == (
        f"{bad}: labels -> 0 (sentence {sid}): a draft without any answer or span; give the answers so far, or "
        "leave the sentence out")
    assert problem({**first, "stance": {}}).startswith(
        f"{bad}: labels -> 0 (sentence {sid}): a submitted label answers the claim and every target's stance; ")
    assert problem({**first, "status": "maybe"}).startswith(
        f"{bad}: Input should be 'submit', 'skip' or 'draft' at labels -> 0 -> status; ")


def test_the_same_sentence_twice_is_counted_when_equal_and_refused_when_not(tmp_path):
    first, second = seed_labels()[:2]
    same = preload.read_label_file(label_file(tmp_path / "same.json", "a@example.com", [first, second, first]),
                                   SCHEME)
    assert len(same.labels) == 3
    other = {**first, "claim": "CLAIM" if first["claim"] == "NO_CLAIM" else "NO_CLAIM"}
    with pytest.raises(InputError) as caught:
        preload.read_label_file(label_file(tmp_path / "twice.json", "a@example.com", [first, second, other]), SCHEME)
    assert caught.value.message == (
        f"{tmp_path / 'twice.json'}: labels -> 2 (sentence {first['sentence_id']}): the sentence is labelled twice, "
        "differently (first in labels -> 0); keep one record per sentence_id")


def test_the_unique_id_is_one_per_project_sentence_and_person():
    one = preload.unique_id(1, "a:0-5", "Ann@example.com")
    assert one == preload.unique_id(1, "a:0-5", "ann@example.com")
    assert len({one, preload.unique_id(2, "a:0-5", "ann@example.com"), preload.unique_id(1, "a:0-6", "ann@example.com"),
                preload.unique_id(1, "a:0-5", "bo@example.com")}) == 4


# --- on a real Label Studio ------------------------------------------------------------

def local(studio_server: server.Server) -> studio.Connection:
    return studio.Connection(studio_server.url, studio_server.token, local=True)


def project_state(studio_server: server.Server, title: str) -> dict[str, list[tuple[str, bool]]]:
    """sentence_id -> [(annotator email, skipped)] of every annotation in the project, from a pull."""
    conn = local(studio_server)
    out = Path(server.data_dir(studio_server.data_dir)) / f"pulled-{abs(hash(title))}.json"
    studio.pull(title, out, conn=conn)
    state: dict[str, list] = {}
    for task in json.loads(out.read_text()):
        state.setdefault(task["data"]["sentence_id"], []).extend(
            (a["completed_by"]["email"], a["was_cancelled"]) for a in task["annotations"])
        state[task["data"]["sentence_id"]].extend(("draft " + d["user"], False) for d in task.get("drafts") or [])
    return state


@pytest.fixture(scope="module")
def seed_tasks(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("preload") / "tasks.json"
    assert main(["tasks", str(SEEDS), "-o", str(path)]) == 0
    return path


@pytest.mark.integration
def test_load_twice_or_twice_at_once_leaves_one_annotation_each(studio_server, seed_tasks, tmp_path, capsys,
                                                                 team_server_unset):
    d = studio_server.data_dir
    assert run(capsys, "push", seed_tasks, "--project", "twice", "--data-dir", d)[0] == 0
    labels = seed_labels()
    repeated = label_file(tmp_path / "repeated.json", "rita@example.com", labels + labels[:3])
    code, out, err = run(capsys, "studio", "load-labels", repeated, "--project", "twice", "--data-dir", d)
    assert (code, err) == (0, "")
    assert out == (f"{repeated}: {len(labels) + 3} labels by rita@example.com: {len(labels)} saved as annotations, "
                   f"0 already there, 3 repeated in the file\n")
    # Two loads at once of another person's file: Label Studio keeps one annotation of each sentence.
    other = label_file(tmp_path / "other.json", "sam@example.com", labels)
    server.add_user(studio_server, "sam@example.com")

    def load():
        return preload.load_labels([other], "twice", SCHEME, conn=local(studio_server), data_dir=d).files[0].counts
    results = at_once(load, load)
    assert sum(r.posted for r in results) == len(labels)
    assert sum(r.posted + r.already for r in results) == 2 * len(labels)
    state = project_state(studio_server, "twice")
    assert len(state) == len(labels)
    for sentence, found in state.items():
        assert sorted(found) == [("rita@example.com", False), ("sam@example.com", False)], sentence
    # Loading again adds nothing.
    code, out, err = run(capsys, "studio", "load-labels", other, "--project", "twice", "--data-dir", d)
    assert out == f"{other}: {len(labels)} labels by sam@example.com: 0 saved as annotations, {len(labels)} already there\n"


@pytest.mark.integration
def test_skips_and_drafts_become_skips_and_drafts_of_their_person(studio_server, seed_tasks, tmp_path, capsys,
                                                                  team_server_unset):
    d = studio_server.data_dir
    assert run(capsys, "push", seed_tasks, "--project", "skips", "--data-dir", d)[0] == 0
    first, second, third = seed_labels()[:3]
    path = label_file(tmp_path / "mixed.json", "tess@example.com", [
        first, {"sentence_id": second["sentence_id"], "status": "skip", "lead_time": 3.0},
        {"sentence_id": third["sentence_id"], "status": "draft", "claim": "CLAIM", "lead_time": 1.5}])
    for attempt in range(2):
        code, out, err = run(capsys, "studio", "load-labels", path, "--project", "skips", "--data-dir", d)
        assert (code, err) == (0, "")
        assert out == (f"{path}: 3 labels by tess@example.com: 1 saved as annotations, 1 as skips, 1 as drafts, "
                       "0 already there\n" if attempt == 0 else
                       f"{path}: 3 labels by tess@example.com: 0 saved as annotations, 3 already there\n")
    state = project_state(studio_server, "skips")
    assert state[first["sentence_id"]] == [("tess@example.com", False)]
    assert state[second["sentence_id"]] == [("tess@example.com", True)]
    assert state[third["sentence_id"]] == [("draft tess@example.com", False)]
    assert run(capsys, "pull", "--project", "skips", "-o", tmp_path / "x.json", "--data-dir", d)[0] == 0
    code, out, err = run(capsys, "read", tmp_path / "x.json", "-o", tmp_path / "a.jsonl")
    assert "1 accepted, 0 rejected, 1 skipped by the annotator" in out


@pytest.mark.integration
def test_a_team_server_from_the_environment_needs_no_data_dir(studio_server, seed_tasks, tmp_path, capsys,
                                                              monkeypatch):
    assert run(capsys, "push", seed_tasks, "--project", "team", "--data-dir", studio_server.data_dir)[0] == 0
    server.add_user(studio_server, "uma@example.com")
    monkeypatch.setenv("LABEL_STUDIO_URL", studio_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio_server.token)
    monkeypatch.chdir(tmp_path)  # no data dir here: the environment names the server
    labels = seed_labels()
    path = label_file(tmp_path / "uma.json", "uma@example.com", labels)
    code, out, err = run(capsys, "studio", "load-labels", path, "--project", "team")
    assert (code, err) == (0, "")
    assert out == f"{path}: {len(labels)} labels by uma@example.com: {len(labels)} saved as annotations, 0 already there\n"
    stranger = label_file(tmp_path / "nobody.json", "nobody@example.com", labels)
    code, out, err = run(capsys, "studio", "load-labels", stranger, "--project", "team")
    assert (code, out) == (4, "")
    assert err == (f"error: nobody@example.com is not a user of the organisation at {studio_server.url}; on a team "
                   "server the annotators must exist already; invite them in Label Studio (Organization > Add "
                   "People), then load again\n")
    drafts = label_file(tmp_path / "drafts.json", "uma@example.com",
                        [{"sentence_id": labels[0]["sentence_id"], "status": "draft", "claim": "CLAIM"}])
    code, out, err = run(capsys, "studio", "load-labels", drafts, "--project", "team")
    assert (code, out) == (4, "")
    assert err.startswith(f"error: {drafts}: drafts of uma@example.com, but LABEL_STUDIO_API_KEY is the key of "
                          "admin@example.com: Label Studio saves a draft as the user whose key sends it; ")
    assert not (tmp_path / ".stance").exists()


@pytest.mark.integration
def test_new_sentences_come_in_with_their_labels_in_bulk_once_even_twice_at_once(studio_server, seed_tasks, tmp_path,
                                                                                 capsys, team_server_unset):
    d = studio_server.data_dir
    lines = seed_tasks.read_text().splitlines()
    one = tmp_path / "one.json"
    one.write_text("[\n" + lines[1].removesuffix(",") + "\n]\n")
    labels = seed_labels()
    files = [label_file(tmp_path / f"{who}.json", f"{who}@example.com", labels) for who in ("vic", "wen")]
    # A project that does not exist yet is made, and every sentence comes in with both people's labels.
    code, out, err = run(capsys, "studio", "load-labels", *files, "--project", "bulk", "--tasks", seed_tasks,
                         "--data-dir", d)
    assert (code, err) == (0, "")
    lines_out = out.splitlines()
    assert lines_out[0].startswith("project 'bulk' (id ") and " created: " in lines_out[0]
    assert lines_out[1:] == [f"{f}: {len(labels)} labels by {who}@example.com: {len(labels)} saved as annotations, "
                             f"0 already there ({len(labels)} with their tasks)" for f, who in zip(files, ("vic", "wen"))]
    state = project_state(studio_server, "bulk")
    assert len(state) == len(labels)
    assert all(sorted(found) == [("vic@example.com", False), ("wen@example.com", False)] for found in state.values())
    assert run(capsys, "push", seed_tasks, "--project", "bulk", "--data-dir", d)[1].splitlines()[-1].endswith(
        f"{len(labels)} already there, 0 sent and created")

    def load(title: str):
        return preload.load_labels(files, title, SCHEME, conn=local(studio_server), data_dir=d, tasks=seed_tasks).files
    # everything is there already
    assert [(f.counts.posted, f.counts.already) for f in load("bulk")] == [(0, len(labels))] * 2

    # A fresh project, loaded twice at once: each sentence ends in one task with one annotation of each person.
    assert run(capsys, "push", one, "--project", "bulk twice", "--data-dir", d)[0] == 0
    results = at_once(lambda: load("bulk twice"), lambda: load("bulk twice"))
    state = project_state(studio_server, "bulk twice")
    assert len(state) == len(labels)
    for sentence, found in state.items():
        assert sorted(found) == [("vic@example.com", False), ("wen@example.com", False)], sentence
    saved = [sum(f.counts.posted for f in loaded) for loaded in results]
    assert sum(saved) == 2 * len(labels)


def pulled_tasks(studio_server: server.Server, title: str) -> dict[str, list[dict]]:
    """sentence_id -> every task of that sentence in a pull of the project."""
    out = Path(server.data_dir(studio_server.data_dir)) / f"pulled-tasks-{abs(hash(title))}.json"
    studio.pull(title, out, conn=local(studio_server))
    found: dict[str, list[dict]] = {}
    for task in json.loads(out.read_text()):
        found.setdefault(task["data"]["sentence_id"], []).append(task)
    return found


def kept(task: dict) -> tuple:
    """What a copy of a task must keep: data, meta, and each prediction's result, score and model version."""
    return (task["data"], task["meta"], sorted(json.dumps({k: p.get(k) for k in ("result", "score", "model_version")},
                                                          sort_keys=True) for p in task["predictions"]))


@pytest.mark.integration
def test_untouched_tasks_come_back_with_their_labels_and_touched_ones_take_the_per_request_path(
        studio_server, seed_tasks, tmp_path, capsys, team_server_unset):
    d = studio_server.data_dir
    assert run(capsys, "push", seed_tasks, "--project", "replace", "--data-dir", d)[0] == 0
    labels = seed_labels()
    sids = [label["sentence_id"] for label in labels]
    conn = local(studio_server)
    with studio.api(conn) as rest:
        pid = studio.find_project(rest, conn, "replace").id
        ids = studio.task_ids(rest, conn, pid)
        # Someone annotated sentence 0, someone drafted sentence 1, a model predicted sentence 2.
        other = server.add_user(studio_server, "pat@example.com")
        with studio.api(studio.Connection(conn.url, other, True)) as pat:
            pat.request("POST", f"api/tasks/{ids[sids[0]]}/annotations/", json={"result": [], "lead_time": 1.0})
            pat.request("POST", f"api/tasks/{ids[sids[1]]}/drafts", json={"result": [], "lead_time": 1.0})
        rest.request("POST", f"api/projects/{pid}/import/predictions", json=[{
            "task": ids[sids[2]], "score": 0.25, "model_version": "test-model",
            "result": preload.label_result(labels[2], SCHEME)}])
    before = pulled_tasks(studio_server, "replace")
    records = [{**labels[0], "lead_time": 7.5}, labels[1], labels[2], {**labels[3], "lead_time": 12.25},
               {"sentence_id": sids[4], "status": "skip", "lead_time": 2.0},
               {"sentence_id": sids[5], "status": "draft", "claim": "CLAIM", "lead_time": 3.0}] + labels[6:]
    path = label_file(tmp_path / "xia.json", "xia@example.com", records + records[:2])
    code, out, err = run(capsys, "studio", "load-labels", path, "--project", "replace", "--data-dir", d,
                         "--replace-untouched")
    assert (code, err) == (0, "")
    n = len(labels)
    replaced = n - 3  # not the annotated, the drafted, nor the one with only a draft to load
    assert out == (f"{path}: {n + 2} labels by xia@example.com: {n - 2} saved as annotations, 1 as skips, "
                   f"1 as drafts, 0 already there, 2 repeated in the file ({replaced} with copies of their untouched "
                   f"tasks)\nreplaced {replaced} untouched tasks by copies with the labels (the same data, meta and "
                   "predictions; new task ids)\n")
    after = pulled_tasks(studio_server, "replace")
    assert after.keys() == before.keys() and all(len(tasks) == 1 for tasks in after.values())
    for sid in sids:
        old, new = before[sid][0], after[sid][0]
        assert kept(new) == kept(old), sid
        assert (new["id"] == old["id"]) == (sid in sids[:2] + [sids[5]]), sid
        mine = [a for a in new["annotations"] if a["completed_by"]["email"] == "xia@example.com"]
        if sid == sids[5]:
            assert mine == [] and [d["user"] for d in new["drafts"]] == ["xia@example.com"]
            continue
        assert len(mine) == 1, sid
        record = next(r for r in records if r["sentence_id"] == sid)
        assert (mine[0]["was_cancelled"], mine[0]["lead_time"]) == (sid == sids[4], record.get("lead_time")), sid
        if sid != sids[4]:
            assert sorted(map(json.dumps, mine[0]["result"])) == sorted(
                map(json.dumps, preload._result(preload._Item(None, preload.LabelRecord(**record),  # noqa: SLF001
                                                              text=new["data"]["text"]), SCHEME))), sid
    assert [a["completed_by"]["email"] for a in after[sids[0]][0]["annotations"]] == ["pat@example.com",
                                                                                      "xia@example.com"]
    assert any(p["model_version"] == "test-model" for p in after[sids[2]][0]["predictions"])
    # Loading again (replacing again) adds nothing and replaces nothing.
    code, out, err = run(capsys, "studio", "load-labels", path, "--project", "replace", "--data-dir", d,
                         "--replace-untouched")
    assert out == f"{path}: {n + 2} labels by xia@example.com: 0 saved as annotations, {n} already there, 2 repeated " \
                  "in the file\n"
    assert pulled_tasks(studio_server, "replace").keys() == after.keys()


@pytest.mark.integration
def test_replacing_twice_at_once_beside_a_per_request_load_leaves_one_task_and_one_annotation_each(
        studio_server, seed_tasks, tmp_path, team_server_unset):
    d = studio_server.data_dir
    assert main(["push", str(seed_tasks), "--project", "replace twice", "--data-dir", d]) == 0
    labels = seed_labels()
    files = [label_file(tmp_path / f"{who}.json", f"{who}@example.com", labels) for who in ("yan", "zoe")]
    slow = label_file(tmp_path / "abe.json", "abe@example.com", labels)
    for who in ("yan", "zoe", "abe"):
        server.add_user(studio_server, f"{who}@example.com")
    before = pulled_tasks(studio_server, "replace twice")

    def load(paths: list[Path], replace: bool):
        return preload.load_labels(paths, "replace twice", SCHEME, conn=local(studio_server), data_dir=d,
                                   replace_untouched=replace)
    results = at_once(lambda: load(files, True), lambda: load(files, True), lambda: load([slow], False))
    after = pulled_tasks(studio_server, "replace twice")
    assert after.keys() == before.keys()
    for sentence, tasks in after.items():
        assert len(tasks) == 1, sentence
        assert kept(tasks[0]) == kept(before[sentence][0]), sentence
        assert sorted(a["completed_by"]["email"] for a in tasks[0]["annotations"]) == [
            "abe@example.com", "yan@example.com", "zoe@example.com"], sentence
    for who in range(2):
        saved = sum(loaded.files[who].counts.posted for loaded in results if len(loaded.files) == 2)
        assert saved == len(labels)
    assert sum(loaded.files[0].counts.posted for loaded in results if len(loaded.files) == 1) == len(labels)
