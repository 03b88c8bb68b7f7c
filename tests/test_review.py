"""Conflicts reviewed in Label Studio and read back into gold, on a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate import studio
from annotate.gold import read_gold
from helpers import run, seed_export_tasks

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"


@pytest.mark.integration
def test_conflicts_go_to_a_reviewer_and_come_back_as_gold(studio_server, tmp_path, capsys, team_server_unset):
    d = studio_server.data_dir
    annotations, tasks = tmp_path / "annotations.jsonl", tmp_path / "tasks.json"
    export = tmp_path / "seeds-export.json"
    export.write_text(json.dumps(seed_export_tasks()))  # the recorded real export, of the bundled scheme
    assert run(capsys, "read", export, "-o", annotations)[0] == 0
    assert run(capsys, "tasks", SEEDS, "-o", tasks)[0] == 0
    code, out, err = run(capsys, "adjudicate", annotations, "-o", tmp_path / "gold.jsonl", "--push",
                         "--project", "review", "--tasks", tasks, "--data-dir", d)
    assert (code, err) == (0, "")
    conflicts = [json.loads(line) for line in (tmp_path / "gold.conflicts.jsonl").read_text().splitlines()]
    assert len(conflicts) == 2
    assert out.splitlines()[-1] == (
        "2 sentences with a question in conflict: 0 already there, 2 sent with every annotator's answer as a prediction")
    conn = studio.Connection(studio_server.url, studio_server.token, local=True)
    seen = {}
    with studio.api(conn) as rest:
        project = studio.require_project(rest, conn, "review")
        for task in rest.tasks(project.id, include="id,data"):
            predictions = rest.request("GET", "api/predictions/", params={"task": task["id"]})
            seen[task["data"]["sentence_id"]] = (task["data"]["title"], task["data"]["context_before"],
                                                 sorted(p["model_version"] for p in predictions))
    assert sorted(seen) == sorted(c["sentence_id"] for c in conflicts)
    # People are named: the email Label Studio gave, beside the stable id (as the recorded export has them).
    ids = {r["annotator"]["email"]: r["annotator"]["id"]
           for r in map(json.loads, annotations.read_text().splitlines())}
    amira, tom = ids["amira.haddad@example.com"], ids["tom.becker@example.com"]
    for conflict in conflicts:
        title, context, versions = seen[conflict["sentence_id"]]
        assert title.startswith(f"Review: {conflict['question']}")
        assert context  # the sentence is shown in its place
        assert versions == [f"annotator amira.haddad@example.com (id {amira})",
                            f"annotator tom.becker@example.com (id {tom})"]
        assert sorted((v["annotator"], v["email"]) for v in conflict["votes"]) == [
            (amira, "amira.haddad@example.com"), (tom, "tom.becker@example.com")]
    # pushing again adds nothing
    assert run(capsys, "adjudicate", annotations, "--push", "--project", "review", "--data-dir", d)[1].endswith(
        "2 already there, 0 sent with every annotator's answer as a prediction\n")

    reviewer = SEEDS / "labels" / "reviewer.json"
    assert run(capsys, "studio", "load-labels", reviewer, "--project", "review", "--data-dir", d)[0] == 0
    with studio.api(conn) as rest:
        sara = next(str(u["id"]) for u in studio.users(rest, conn) if u["email"] == "sara.lindqvist@example.com")
    assert run(capsys, "pull", "--project", "review", "-o", tmp_path / "review.json", "--data-dir", d)[0] == 0
    code, out, err = run(capsys, "adjudicate", annotations, "--resolutions", tmp_path / "review.json",
                         "-o", tmp_path / "final.jsonl")
    assert (code, err) == (0, "")
    assert ("reviews read: 2 accepted (2 used, 0 with nothing open), 0 not taken; 2 questions resolved by a "
            "reviewer, 0 still open") in out
    assert out.splitlines()[-1] == (f"wrote 21 gold rows (21 complete, 0 with open questions) to "
                                    f"{tmp_path / 'final.jsonl'} and 0 conflicts to {tmp_path / 'final.conflicts.jsonl'}")
    decided = json.loads(reviewer.read_text())["labels"]
    final = {row.sentence_id: row for row in read_gold(tmp_path / "final.jsonl")}
    for conflict in conflicts:
        row = final[conflict["sentence_id"]]
        entry = row.provenance.questions[conflict["question"]]
        target = conflict["question"].removeprefix("stance_")
        wanted = next(label for label in decided if label["sentence_id"] == conflict["sentence_id"])
        assert (entry.label, entry.reviewer, entry.reviewer_id, entry.method_label) == (
            wanted["stance"][target], "sara.lindqvist@example.com", sara, None)
        assert row.provenance.emails == {amira: "amira.haddad@example.com", tom: "tom.becker@example.com"}
        assert row.stance[target] == wanted["stance"][target]
        assert sorted(v.label for v in entry.votes) == sorted(v["label"] for v in conflict["votes"])
