"""Reading Label Studio exports: recorded real exports (tests/fixtures/record_exports.py) in, records out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotate.errors import InputError
from annotate.labels import Annotation, python_offsets, read_exports, utf16_offsets
from annotate.scheme import load_scheme
from helpers import run

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
INVALID = FIXTURES / "export-ls-1.23.2-invalid.json"  # a snapshot, as `stance pull` writes it
DOWNLOADED = FIXTURES / "export-ls-1.23.2-invalid-download.json"  # the Export button's JSON
SEEDS_EXPORT = REPO / "seeds" / "example-export-ls-1.23.2.json"
SCHEME = load_scheme()


def read(*paths: Path) -> tuple[list[Annotation], list, object]:
    rejects: list = []
    records, counts = read_exports(paths, SCHEME, on_reject=rejects.append)
    return list(records), rejects, counts


@pytest.mark.parametrize("export", [INVALID, DOWNLOADED])
def test_every_annotation_ends_in_one_place_with_its_reason(export):
    records, rejects, counts = read(export)
    assert counts.annotations == counts.accepted + counts.rejected + counts.skipped + counts.superseded == 11
    assert (counts.accepted, counts.rejected, counts.skipped, counts.superseded) == (3, 6, 1, 1)
    assert len(records) == counts.accepted and len(rejects) == counts.annotations - counts.accepted
    assert sorted((r.fate, r.kind) for r in rejects) == [
        ("rejected", "missing required answer"), ("rejected", "span offsets outside the text"),
        ("rejected", "span text that does not match"), ("rejected", "unknown control"),
        ("rejected", "unknown label"), ("rejected", "unknown scheme version"),
        ("skipped", "skipped"), ("superseded", "superseded")]
    reasons = {r.kind: r.reason for r in rejects}
    assert reasons["unknown label"] == "unknown label ['MAYBE'] for control 'claim' (known: one of CLAIM, NO_CLAIM)"
    assert reasons["unknown control"].startswith("unknown control 'mood' (known: span, claim, stance_haftar_lna")
    assert reasons["missing required answer"] == "missing required answer for stance_turkey_military"
    assert reasons["span text that does not match"] == (
        "span text 'Cairo' does not match the sentence's 'Egypt' at 0-5")
    assert reasons["unknown scheme version"] == "unknown scheme version 'stance-claim/v0' (known: stance-claim/v1)"
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
    code, stdout, err = run(capsys, "read", INVALID, "-o", out)
    assert (code, err) == (0, "")
    assert stdout == (
        f"read 12 tasks (4 without annotations) from 1 export: 11 annotations: 3 accepted, 6 rejected, "
        "1 skipped by the annotator, 1 superseded by a newer one\n"
        "rejected: 1 unknown label, 1 unknown control, 1 missing required answer, 1 span offsets outside the text, "
        "1 span text that does not match, 1 unknown scheme version\n"
        "0 drafts and 1 predictions counted, not taken as labels\n"
        f"wrote 3 annotations to {out} and 8 others, each with its reason, to {tmp_path / 'annotations.rejects.jsonl'}\n")
    assert [Annotation.model_validate_json(line).annotation_id for line in out.read_text().splitlines()] == [
        r.annotation_id for r in read(INVALID)[0]]
    assert len((tmp_path / "annotations.rejects.jsonl").read_text().splitlines()) == 8


@pytest.mark.parametrize("content, problem", [
    ('{"tasks": []}', "not a Label Studio JSON export (a JSON list of tasks); export the project as JSON "
                      "(not JSON_MIN or CSV), e.g. with `stance pull`"),
    ('[{"id": 1, "data": {}}, {"id": 2', "broken JSON after task 1: parse error: premature EOF; download the export again"),
])
def test_a_file_that_is_not_an_export_is_one_line(tmp_path, monkeypatch, capsys, content, problem):
    monkeypatch.chdir(tmp_path)
    Path("export.json").write_text(content)
    assert run(capsys, "read", "export.json", "-o", "a.jsonl") == (1, "", f"error: export.json: {problem}\n")
    assert not Path("a.jsonl").exists()


def test_a_missing_export_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="^nothing.json: no such export file; write one with `stance pull`$"):
        read(Path("nothing.json"))
