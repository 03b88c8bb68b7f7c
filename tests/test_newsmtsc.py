"""benchmarks/newsmtsc.py: NewsMTSC records read as gold rows with mentions, and the benchmark end to end on small data."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotate.baseline import check_rows
from annotate.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("newsmtsc", ROOT / "benchmarks" / "newsmtsc.py")
newsmtsc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(newsmtsc)

# The data set's own example (its readme), and a sentence with two targets.
GORSUCH = {"primary_gid": "allsides_1192_476_17_— Judge Neil M. Gorsuch_126_139",
           "sentence_normalized": "But neither side harbored any doubts, based on the judge’s opinions, other writings "
           "and the president who nominated him, that Judge Gorsuch would be a reliable conservative committed to "
           "following the original understanding of those who drafted and ratified the Constitution.",
           "targets": [{"Input.gid": "allsides_1192_476_17_— Judge Neil M. Gorsuch_126_139", "from": 126, "to": 139,
                        "mention": "Judge Gorsuch", "polarity": 6.0,
                        "further_mentions": [{"from": 116, "to": 119, "mention": "him"}]}]}
TWO = {"primary_gid": "allsides_7_1_2_Trump_0_5", "sentence_normalized": "Trump attacked Pelosi on Monday.",
       "targets": [{"Input.gid": "allsides_7_1_2_Trump_0_5", "from": 0, "to": 5, "mention": "Trump", "polarity": 2.0},
                   {"Input.gid": "allsides_7_1_2_Pelosi_15_21", "from": 15, "to": 21, "mention": "Pelosi",
                    "polarity": 4.0}]}


def write(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_a_record_is_one_gold_row_per_target_with_its_mentions(tmp_path):
    rows = newsmtsc.read_file(write(tmp_path / "train.jsonl", [GORSUCH, TWO]))
    assert len(rows) == 3
    gorsuch, trump, pelosi = rows
    assert gorsuch["article_id"] == "newsmtsc:allsides_1192" and trump["article_id"] == "newsmtsc:allsides_7"
    # POLUSA's gids carry a version before the article's number.
    assert newsmtsc.article_of("polusa_v1_113706627_-1_68_Anna_124_128") == "polusa_v1_113706627"
    assert gorsuch["stance"] == {"person": "FAVOR"} and trump["stance"] == {"person": "AGAINST"}
    assert pelosi["stance"] == {"person": "NONE"}
    # The main mention and the data's coreference are the target's; the other labelled person is another target's.
    assert [(m["target"], m["text"]) for m in gorsuch["mentions"]] == [("person", "Judge Gorsuch"), ("person", "him")]
    assert [(m["target"], m["text"]) for m in trump["mentions"]] == [("person", "Trump"), ("other", "Pelosi")]
    assert [(m["target"], m["text"]) for m in pelosi["mentions"]] == [("other", "Trump"), ("person", "Pelosi")]
    assert trump["text"] == pelosi["text"] and trump["sentence_id"] != pelosi["sentence_id"]
    check_rows(rows, scheme=newsmtsc.SCHEME_ID, targets=("person",))  # valid gold rows for the baseline


@pytest.mark.parametrize("record, message", [
    ({"primary_gid": "a_b"}, "line 1: not a NewsMTSC record \\(KeyError"),
    ({**TWO, "targets": [{**TWO["targets"][0], "polarity": 3.0}]}, "line 1: not a NewsMTSC record \\(KeyError: 3.0"),
    ({**TWO, "targets": [{**TWO["targets"][0], "to": 4}]}, "line 1: target 1: 'Trump' is not the sentence's 'Trum'"),
])
def test_bad_records_name_the_line(tmp_path, record, message):
    with pytest.raises(InputError, match=message):
        newsmtsc.read_file(write(tmp_path / "bad.jsonl", [record]))
    with pytest.raises(InputError, match="no such file"):
        newsmtsc.read_file(tmp_path / "missing.jsonl")


@pytest.mark.slow
def test_benchmark_trains_and_reports_every_devtest_file(tmp_path):
    data = tmp_path / "newsmtsc"
    data.mkdir()
    records = []
    for a in range(30):  # 30 articles: positive, negative and neutral words after each of two people
        for s, (first, second) in enumerate((("praised", "blamed"), ("blamed", "met"), ("met", "praised"))):
            text = f"Alpha{a} {first} the plan while Beta{s} {second} it."
            polarity = {"praised": 6.0, "blamed": 2.0, "met": 4.0}
            b = text.index(f"Beta{s}")
            records.append({"primary_gid": f"src_{a}_{s}_x", "sentence_normalized": text, "targets": [
                {"Input.gid": f"src_{a}_{s}_a", "from": 0, "to": len(f"Alpha{a}"), "mention": f"Alpha{a}",
                 "polarity": polarity[first]},
                {"Input.gid": f"src_{a}_{s}_b", "from": b, "to": b + len(f"Beta{s}"), "mention": f"Beta{s}",
                 "polarity": polarity[second]}]})
    write(data / "train.jsonl", records[:60])
    write(data / "devtest_mt.jsonl", records[60:])
    write(data / "devtest_rw.jsonl", records[75:])
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "newsmtsc.py"), str(data), "--out", str(out),
                          "--n-jobs", "1"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "sentiment toward a target, not stance in SemEval-2016's sense" in run.stdout
    summary = json.loads((out / "report.json").read_text())
    assert set(summary["test"]) == {"devtest_mt", "devtest_rw"}
    assert summary["test"]["devtest_mt"]["rows"] == 60 and summary["test"]["devtest_mt"]["f1m"] > 90
    assert "mentions" in summary["chosen"]["features"]  # only the mentions tell whose word is whose
    for name in ("report.md", "scores.png", "devtest_mt/report.json", "devtest_rw/confusion.png"):
        assert (out / name).is_file()
    assert "F1m" in (out / "report.md").read_text()
    missing = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "newsmtsc.py"), str(tmp_path / "nothing")],
                             capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and "no such file" in missing.stderr
