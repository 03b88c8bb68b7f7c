"""benchmarks/claimbuster.py: ClaimBuster records read as gold rows grouped by runs of ids, and the benchmark on small data."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotate.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("claimbuster", ROOT / "benchmarks" / "claimbuster.py")
claimbuster = importlib.util.module_from_spec(spec)
spec.loader.exec_module(claimbuster)


def write(path: Path, records) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_records_are_claim_rows_grouped_by_runs_of_consecutive_ids(tmp_path):
    rows = claimbuster.read_file(write(tmp_path / "t.json", [
        {"sentence_id": 23782, "label": 1, "text": "Unemployment fell by 2 percent."},
        {"sentence_id": 23799, "label": 0, "text": "Thank you."},
        {"sentence_id": 23800, "label": 0, "text": "I will fight for you."}]))
    assert [r["claim"] for r in rows] == ["CLAIM", "NO_CLAIM", "NO_CLAIM"]
    assert rows[0]["article_id"] == rows[1]["article_id"] != rows[2]["article_id"]  # ids 23700-23799, 23800-
    assert rows[0]["stance"] == {} and rows[0]["scheme"] == claimbuster.SCHEME_ID


@pytest.mark.parametrize("content, message", [
    ("[", "not JSON"),
    ("{}", "not a non-empty JSON list"),
    ('[{"sentence_id": 1, "label": 2, "text": "x"}]', "record 1: not a ClaimBuster record"),
    ('[{"sentence_id": "1", "label": 1, "text": "x"}]', "record 1: not a ClaimBuster record"),
])
def test_bad_files_name_the_record(tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(InputError, match=message):
        claimbuster.read_file(tmp_path / "bad.json")


def test_average_precision_is_scikit_learns():
    # Ranked CLAIM, NO, CLAIM: precision 1 at the first, 2/3 at the third: (1 + 2/3) / 2.
    assert claimbuster.average_precision(["CLAIM", "NO_CLAIM", "CLAIM"], [0.9, 0.8, 0.7]) == pytest.approx(5 / 6)


@pytest.mark.slow
def test_benchmark_scores_test_json_and_every_test_file(tmp_path):
    data = tmp_path / "claimbuster"
    data.mkdir()
    claims = ["Taxes rose by {} percent last year.", "We created {} million jobs.", "The deficit is {} billion."]
    others = ["I believe in {} things.", "Thank you, {} friends.", "We must do {} better."]
    records = [{"sentence_id": i, "label": int(i % 3 == 0),
                "text": (claims if i % 3 == 0 else others)[(i // 3) % 3].format(i)} for i in range(600)]
    write(data / "train.json", records[:450])
    write(data / "test.json", records[450:])
    extra = write(tmp_path / "more.json", records[500:])
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "claimbuster.py"), str(data), "--test", str(extra),
                          "--out", str(out), "--n-jobs", "1"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "narrower than the scheme's CLAIM" in run.stdout
    summary = json.loads((out / "report.json").read_text())
    assert set(summary["test"]) == {"test", "more"}
    assert summary["test"]["test"]["f1"] > 95 and summary["test"]["test"]["ap"] > 95
    for name in ("report.md", "scores.png", "test/report.json", "more/confusion.png"):
        assert (out / name).is_file()
    twice = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "claimbuster.py"), str(data), "--test",
                            str(data / "test.json")], capture_output=True, text=True, cwd=ROOT)
    assert twice.returncode == 1 and "two test files named 'test'" in twice.stderr
