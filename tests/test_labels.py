"""Reading Label Studio exports: recorded real exports (tests/fixtures/record_exports.py) in, records out."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotate.errors import InputError
from annotate.labels import Annotation, python_offsets, read_exports, utf16_offsets
from annotate.scheme import DEFAULT_SCHEME_PATH, load_scheme
from helpers import run, seed_export_tasks

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
INVALID = FIXTURES / "export-ls-1.23.2-invalid.json"  # a snapshot, as `stance pull` writes it
DOWNLOADED = FIXTURES / "export-ls-1.23.2-invalid-download.json"  # the Export button's JSON
SEEDS_EXPORT = REPO / "seeds" / "example-export-ls-1.23.2.json"
RECORDED_SCHEME = FIXTURES / "scheme-stance-claim-v1.json"  # the first format's scheme: the synthetic and invalid
SCHEME = load_scheme(RECORDED_SCHEME)                         # exports were recorded with it, and still read
SEEDS_SCHEME = load_scheme()  # the seeds' export is re-recorded with each scheme of the seeds


def read(*paths: Path) -> tuple[list[Annotation], list, object]:
    rejects: list = []
    scheme = SEEDS_SCHEME if paths[0] == SEEDS_EXPORT else SCHEME
    records, counts = read_exports(paths, scheme, on_reject=rejects.append)
    return list(records), rejects, counts


@pytest.mark.parametrize("export", [INVALID, DOWNLOADED])
def test_every_annotation_ends_in_one_place_with_its_reason(export):
    records, rejects, counts = read(export)
    assert counts.annotations == counts.accepted + counts.rejected + counts.skipped + counts.superseded == 11
    assert (counts.accepted, counts.rejected, counts.skipped, counts.superseded) == (3, 6, 1, 1)
    assert len(records) == counts.accepted and len(rejects) == counts.annotations - counts.accepted
    assert sorted((r.fate, r.kind) for r in rejects) == [
        ("rejected", "another scheme"), ("rejected", "missing required answer"), ("rejected", "span offsets outside the text"),
        ("rejected", "span text that does not match"), ("rejected", "unknown control"),
        ("rejected", "unknown label"),
        ("skipped", "skipped"), ("superseded", "superseded")]
    reasons = {r.kind: r.reason for r in rejects}
    assert reasons["unknown label"] == "unknown label ['MAYBE'] for control 'claim' (known: one of CLAIM, NO_CLAIM)"
    assert reasons["unknown control"].startswith("unknown control 'mood' (known: span, claim, stance_haftar_lna")
    assert reasons["missing required answer"] == "missing required answer for stance_turkey_military"
    assert reasons["span text that does not match"] == (
        "span text 'Cairo' does not match the sentence's 'Egypt' at 0-5")
    assert reasons["another scheme"] == "task is for scheme 'stance-claim/v0', not 'stance-claim/v1' (the export's scheme)"
    assert (counts.drafts, counts.predictions) == (0, 1)  # counted, never labels
    # the superseded annotation lost to the newer one of the same annotator on the same task
    (old,) = [r for r in rejects if r.fate == "superseded"]
    newer = next(r for r in records if r.sentence_id == old.sentence_id)
    assert newer.annotator.id == old.annotator.id and newer.lead_time == 7.0
    assert newer.annotation_id > old.annotation_id


def test_a_snapshot_and_the_export_button_give_the_same_records_but_for_emails():
    snapshot, download = read(INVALID)[0], read(DOWNLOADED)[0]
    assert [r.annotator.email for r in snapshot] == ["bo.two@example.com", "ann.one@example.com", "ann.one@example.com"]
    assert {r.annotator.email for r in download} == {None}
    strip = [r.model_dump(exclude={"annotator": {"email"}}) for r in snapshot]
    assert strip == [r.model_dump(exclude={"annotator": {"email"}}) for r in download]


def test_span_offsets_after_an_emoji_are_converted_from_utf16():
    (emoji,) = [r for r in read(INVALID)[0] if r.sentence_id.startswith("emoji:")]
    (span,) = emoji.spans
    assert emoji.text[span.start:span.end] == span.text == "the GNA"
    raw = next(t for t in json.loads(INVALID.read_text()) if t["data"]["sentence_id"] == emoji.sentence_id)
    stored = next(r["value"] for a in raw["annotations"] for r in a["result"] if r["type"] == "labels")
    assert (stored["start"], stored["end"]) == (span.start + 1, span.end + 1)  # one emoji: two UTF-16 units
    assert (span.article_start, span.article_end) == (raw["data"]["start"] + span.start, raw["data"]["start"] + span.end)


@given(st.text(alphabet=st.sampled_from("ab \U0001F600\u00e9\U00010348"), max_size=30), st.data())
def test_utf16_offsets_round_trip(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    u_start, u_end = utf16_offsets(text, start, end)
    assert text.encode("utf-16-le")[2 * u_start:2 * u_end].decode("utf-16-le") == text[start:end]
    assert python_offsets(text, u_start, u_end) == (start, end)


def test_the_example_labels_come_back_unchanged_through_label_studio():
    records = read(SEEDS_EXPORT)[0]
    assert len(records) == 42
    assert {r.scheme for r in records} == {"libya-seeds/v1"}
    haftar = next(r for r in records if r.text.startswith("He said that Haftar’s visit"))
    assert [(m.target, m.text) for m in haftar.mentions] == [("haftar_lna", "Haftar"), ("turkey_military", "Turkey")]
    for path in sorted((REPO / "seeds" / "labels").glob("annotator-*.json")):
        given_labels = json.loads(path.read_text())
        email = given_labels["annotator"]["email"]
        back = {r.sentence_id: r for r in records if r.annotator.email == email}
        assert len(back) == len(given_labels["labels"])
        for label in given_labels["labels"]:
            record = back[label["sentence_id"]]
            assert (record.claim, record.stance, record.lead_time) == (label["claim"], label["stance"], label["lead_time"])
            assert sorted((s.start, s.end, s.label, s.text) for s in record.spans) == sorted(
                (s["start"], s["end"], s["label"], s["text"]) for s in label["spans"])


def test_the_same_export_twice_rejects_the_second_copy_as_duplicates():
    records, rejects, counts = read(SEEDS_EXPORT, SEEDS_EXPORT)
    assert (counts.accepted, counts.rejected, counts.annotations) == (42, 42, 84)
    assert {r.kind for r in rejects} == {"duplicate"}


def test_read_writes_records_and_rejects_and_counts_that_add_up(tmp_path, capsys):
    out = tmp_path / "annotations.jsonl"
    code, stdout, err = run(capsys, "read", INVALID, "-o", out, "--scheme", RECORDED_SCHEME)
    assert (code, err) == (0, "")
    assert stdout == (
        f"read 12 tasks (4 without annotations) from 1 export: 11 annotations: 3 accepted, 6 rejected, "
        "1 skipped by the annotator, 1 superseded by a newer one\n"
        "rejected: 1 unknown label, 1 unknown control, 1 missing required answer, 1 span offsets outside the text, "
        "1 span text that does not match, 1 another scheme\n"
        "0 drafts, 1 predictions and 0 mention highlights counted, not taken as labels\n"
        f"wrote 3 annotations to {out} and 8 others, each with its reason, to {tmp_path / 'annotations.rejects.jsonl'}\n")
    assert [Annotation.model_validate_json(line).annotation_id for line in out.read_text().splitlines()] == [
        r.annotation_id for r in read(INVALID)[0]]
    assert len((tmp_path / "annotations.rejects.jsonl").read_text().splitlines()) == 8


@pytest.mark.parametrize("content, problem", [
    ('{"tasks": []}', "not a Label Studio JSON export (a JSON list of tasks); export the project as JSON "
                      "(Export > JSON, not JSON_MIN or CSV), or run `stance pull`"),
    ('[{"id": 1, "data": {}}, {"id": 2', "broken JSON after task 1: parse error: premature EOF; download the export again"),
])
def test_a_file_that_is_not_an_export_is_one_line(tmp_path, monkeypatch, capsys, content, problem):
    monkeypatch.chdir(tmp_path)
    Path("export.json").write_text(content)
    assert run(capsys, "read", "export.json", "-o", "a.jsonl", "--scheme", DEFAULT_SCHEME_PATH) == (
        1, "", f"error: export.json: {problem}\n")
    assert not Path("a.jsonl").exists()


def test_a_missing_export_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="^nothing.json: no such export file; write one with `stance pull`$"):
        read(Path("nothing.json"))


# --- malformed exports: every record ends in one place, and no traceback ----------------------

def _mutated(mutate) -> list[dict]:
    """The seeds' real export (21 tasks, 42 annotations) with one change made by ``mutate(tasks)``."""
    tasks = seed_export_tasks()
    mutate(tasks)
    return tasks


def _read_tasks(tmp_path, tasks) -> tuple[list[Annotation], list, object]:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    rejects: list = []
    records, counts = read_exports([path], load_scheme(), on_reject=rejects.append)
    records = list(records)
    assert counts.annotations == counts.accepted + counts.rejected + counts.skipped + counts.superseded
    assert len(rejects) == counts.rejected + counts.skipped + counts.superseded + counts.tasks_rejected
    assert len(records) == counts.accepted
    return records, rejects, counts


def _set(path: str, value):
    """A mutation that sets ``tasks[0] -> a -> b`` (path "a.b", list indexes as numbers) to ``value``."""
    def mutate(tasks):
        *parents, last = path.split(".")
        node = tasks[0]
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value
    return mutate


@pytest.mark.parametrize("mutate, kind, reason", [
    (_set("annotations.0.result", {"a": 1}), "malformed annotation", "'result' is a JSON object, not a list"),
    (_set("annotations.0.result.1", 5), "malformed annotation", "result -> 1 is a JSON number, not an object"),
    (_set("annotations.0.result.0.value", [1]), "malformed annotation",
     "result -> 0 -> value is a JSON array, not an object"),
    (_set("annotations.0.result.0.value.choices", "CLAIM"), "malformed annotation",
     "result -> 0 -> value -> choices is a JSON string, not a list"),
    (_set("annotations.0.result.0.from_name", ["claim"]), "malformed annotation",
     "result -> 0 -> from_name is ['claim'], not a control name"),
    (_set("annotations.0.lead_time", "slow"), "malformed annotation",
     "'lead_time' is 'slow', not a number of seconds or null"),
    (_set("annotations.0.updated_at", 5), "malformed annotation", "'updated_at' is 5, not a time (a string) or null"),
    (_set("annotations.0.id", "15"), "malformed annotation", "'id' is '15', not a whole number"),
    (_set("annotations.0.was_cancelled", "no"), "malformed annotation", "'was_cancelled' is 'no', not true or false"),
    (_set("annotations.0.completed_by", {"id": 4, "email": 5}), "no annotator",
     "no annotator: completed_by is {'id': 4, 'email': 5}"),
    (_set("annotations.0", 5), "malformed annotation", "a JSON number, not an annotation object"),
])
def test_a_malformed_annotation_is_rejected_with_its_reason(tmp_path, mutate, kind, reason):
    records, rejects, counts = _read_tasks(tmp_path, _mutated(mutate))
    (reject,) = rejects
    assert (reject.fate, reject.kind, reject.reason) == ("rejected", kind, reason)
    assert (counts.accepted, counts.rejected, counts.tasks_rejected) == (41, 1, 0)


@pytest.mark.parametrize("mutate, reason", [
    (_set("data.text", 5), "data -> text is a JSON number, not a string"),
    (_set("data.sentence_id", None), "data -> sentence_id is None, not a non-empty string"),
    (_set("data.start", -100), "data -> start is -100, not an offset (a whole number, 0 or more)"),
    (_set("data.start", "0"), "data -> start is '0', not an offset (a whole number, 0 or more)"),
    (_set("id", True), "'id' is True, not a whole number"),
])
def test_a_task_of_the_wrong_types_rejects_its_annotations(tmp_path, mutate, reason):
    records, rejects, counts = _read_tasks(tmp_path, _mutated(mutate))
    assert [(r.kind, r.reason) for r in rejects] == [("malformed task", reason)] * 2  # both annotators'
    assert (counts.accepted, counts.rejected) == (40, 2)


@pytest.mark.parametrize("mutate, reason", [
    (lambda tasks: tasks.insert(0, 5), "a JSON number, not a task object"),
    (lambda tasks: tasks.insert(0, ["not", "a", "task"]), "a JSON array, not a task object"),
    (_set("annotations", {"id": 15}), "'annotations' is a JSON object, not a list"),
    (_set("drafts", 5), "'drafts' is a JSON number, not a list"),
    (lambda tasks: tasks.insert(0, {"what": "no id, no data"}), "not a Label Studio task (no 'id' and 'data')"),
])
def test_a_record_that_is_not_a_task_is_rejected_whole_never_counted_as_unlabelled(tmp_path, mutate, reason):
    """These were counted as tasks "without annotations", and their annotations lost."""
    tasks = _mutated(mutate)
    records, rejects, counts = _read_tasks(tmp_path, tasks)
    whole = [r for r in rejects if r.record == "task"]
    assert [(r.fate, r.kind, r.reason, r.annotation) for r in whole] == [("rejected", "not a task", reason, None)]
    assert whole[0].task == next(t for t in tasks if t == whole[0].task)  # the record as the export holds it
    assert (counts.tasks_rejected, counts.tasks_unlabelled) == (1, 0)
    assert counts.accepted + 2 * (len(rejects) - 1) + (2 if counts.tasks == 21 else 0) == 42


def test_read_prints_counts_that_add_up_for_records_that_are_not_tasks(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    tasks = _mutated(lambda t: t.extend([5, {"annotations": "x"}]))
    Path("export.json").write_text(json.dumps(tasks))
    code, out, err = run(capsys, "read", "export.json", "-o", "a.jsonl")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == ("read 23 tasks (0 without annotations, 2 rejected whole: not tasks) from 1 export: "
                                   "42 annotations: 42 accepted, 0 rejected, 0 skipped by the annotator, "
                                   "0 superseded by a newer one")
    assert out.splitlines()[-1] == "wrote 42 annotations to a.jsonl and 2 others, each with its reason, to a.rejects.jsonl"
    lines = [json.loads(line) for line in Path("a.rejects.jsonl").read_text().splitlines()]
    assert [(line["record"], line["task"]) for line in lines] == [("task", 5), ("task", {"annotations": "x"})]


@pytest.mark.parametrize("option", ["--rejects", None])
def test_one_file_for_the_records_and_the_rejects_is_refused(tmp_path, monkeypatch, capsys, option):
    """`-o same.jsonl --rejects same.jsonl` said "wrote 44 annotations" and the file held the rejects."""
    monkeypatch.chdir(tmp_path)
    Path("export.json").write_text(json.dumps(seed_export_tasks()))
    if option:
        expected = ("error: same.jsonl: -o and --rejects name the same file; give --rejects a path of its own; "
                    "one file cannot hold both\n")
        assert run(capsys, "read", "export.json", "-o", "same.jsonl", "--rejects", "same.jsonl") == (1, "", expected)
    else:
        expected = ("error: export.json: -o names an input file; write -o to another path: writing over the input "
                    "would lose it\n")
        assert run(capsys, "read", "export.json", "-o", "export.json") == (1, "", expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json"]


def test_a_folder_or_an_unreadable_export_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("folder").mkdir()
    code, out, err = run(capsys, "read", "folder", "-o", "a.jsonl", "--scheme", DEFAULT_SCHEME_PATH)
    assert (code, out) == (1, "") and err.startswith("error: folder: a folder, not ") and err.count("\n") == 1
    with pytest.raises(InputError, match="^folder: a folder, not an export file; name the export file itself$"):
        read(Path("folder"))


def test_an_export_from_a_pipe_is_read(tmp_path):
    """A pipe cannot seek: the reader looked at the first bytes and then went back to the start."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "export.json").write_text(json.dumps(seed_export_tasks()))
    writer = subprocess.Popen(["sh", "-c", 'cat export.json > fifo'], cwd=tmp_path)
    rejects: list = []
    records, counts = read_exports([fifo], load_scheme(), on_reject=rejects.append)
    records = list(records)
    writer.wait(timeout=10)
    assert (counts.tasks, counts.accepted, len(rejects)) == (21, 42, 0)


def test_a_lone_surrogate_in_an_export_is_one_line(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(seed_export_tasks()[:2])[:-1] + ', {"id": 1, "data": {"text": "\\udc00x"}}]')
    with pytest.raises(InputError, match="text that is not UTF-8 \\(or a lone surrogate escape\\) after task 2"):
        read(path)
