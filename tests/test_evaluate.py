"""Metrics, the evaluation report and its files."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sklearn.metrics import f1_score, precision_recall_fscore_support

from annotate.baseline import train
from annotate.evaluate import (EvaluationReport, QuestionPredictions, bootstrap_confusions, class_scores,
                               confusion_matrix, evaluate, f_avg, macro_f1, report_from_predictions,
                               report_markdown, write_report)
from annotate.scheme import STANCE_LABELS, load_scheme

from test_baseline import make_rows

LABELS = list(STANCE_LABELS)  # FAVOR, AGAINST, NONE


def expand(conf: list[list[int]]) -> tuple[list[str], list[str]]:
    """Gold and predicted label lists with the given confusion matrix."""
    y_true, y_pred = [], []
    for i, row in enumerate(conf):
        for j, n in enumerate(row):
            y_true += [LABELS[i]] * n
            y_pred += [LABELS[j]] * n
    return y_true, y_pred


def test_f_avg_worked_example():
    # Gold in rows, predictions in columns, FAVOR, AGAINST, NONE:
    #   FAVOR:   8 right of 10 gold, 10 predicted (8 + 2 + 0)  -> F1 = 2*8 / (10 + 10) = 0.8
    #   AGAINST: 4 right of  6 gold,  6 predicted (1 + 4 + 1)  -> F1 = 2*4 / (6 + 6)   = 2/3
    #   NONE:    3 right of  4 gold,  4 predicted (1 + 0 + 3)  -> F1 = 2*3 / (4 + 4)   = 0.75
    # F_avg = (0.8 + 2/3) / 2 = 11/15 = 0.7333...; macro F1 = (0.8 + 2/3 + 0.75) / 3 = 0.7388...
    conf = [[8, 1, 1], [2, 4, 0], [0, 1, 3]]
    assert f_avg(conf, LABELS) == pytest.approx(11 / 15)
    assert macro_f1(conf) == pytest.approx((0.8 + 2 / 3 + 0.75) / 3)
    precision, recall, f1, support = class_scores(np.array(conf))
    assert precision.tolist() == pytest.approx([0.8, 4 / 6, 0.75])
    assert recall.tolist() == pytest.approx([0.8, 4 / 6, 0.75])
    assert support.tolist() == [10, 6, 4]
    y_true, y_pred = expand(conf)
    assert confusion_matrix(y_true, y_pred, LABELS).tolist() == conf
    assert f1_score(y_true, y_pred, labels=["FAVOR", "AGAINST"], average="macro") == pytest.approx(11 / 15)


def test_f_avg_ignores_none_but_none_errors_cost_precision():
    # Everything NONE predicted as FAVOR: FAVOR's precision halves, F_avg drops, NONE's F1 is not in it.
    conf = [[5, 0, 0], [0, 5, 0], [5, 0, 0]]
    assert f_avg(conf, LABELS) == pytest.approx((2 * 5 / (5 + 10) + 1.0) / 2)


labels_st = st.lists(st.sampled_from(LABELS), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_metrics_equal_sklearn(data):
    y_true = data.draw(labels_st)
    y_pred = data.draw(st.lists(st.sampled_from(LABELS), min_size=len(y_true), max_size=len(y_true)))
    conf = confusion_matrix(y_true, y_pred, LABELS)
    assert f_avg(conf, LABELS) == pytest.approx(
        f1_score(y_true, y_pred, labels=["FAVOR", "AGAINST"], average="macro", zero_division=0))
    assert macro_f1(conf) == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=LABELS, zero_division=0)
    ours = class_scores(conf)
    for a, b in zip(ours, (p, r, f, s)):
        assert np.allclose(a, b)


def test_stacked_confusions_give_one_score_each():
    confs = np.array([[[8, 1, 1], [2, 4, 0], [0, 1, 3]], [[1, 0, 0], [0, 1, 0], [0, 0, 1]]])
    assert f_avg(confs, LABELS).tolist() == pytest.approx([11 / 15, 1.0])
    assert macro_f1(confs).tolist() == pytest.approx([(0.8 + 2 / 3 + 0.75) / 3, 1.0])


def test_bootstrap_resamples_whole_articles():
    # Every article has one right and one wrong sentence, so every resample of whole articles has
    # accuracy exactly 1/2; resampling sentences would not.
    y_true = ["FAVOR", "AGAINST"] * 50
    y_pred = ["FAVOR", "FAVOR"] * 50
    groups = [f"a{i // 2}" for i in range(100)]
    boots = bootstrap_confusions(y_true, y_pred, groups, LABELS, n_boot=300, random_state=1)
    assert boots.shape == (300, 3, 3)
    assert (np.trace(boots, axis1=1, axis2=2) == 50).all()
    assert (boots.sum(axis=(1, 2)) == 100).all()
    again = bootstrap_confusions(y_true, y_pred, groups, LABELS, n_boot=300, random_state=1)
    assert np.array_equal(boots, again)


def predictions(n: int = 40, seed: int = 0) -> list[QuestionPredictions]:
    rng = np.random.default_rng(seed)
    out = []
    for target in ("gna", "turkey"):
        y_true = rng.choice(LABELS, size=n).tolist()
        y_pred = [y if rng.random() < 0.7 else str(rng.choice(LABELS)) for y in y_true]
        out.append(QuestionPredictions(question=f"stance_{target}", target=target, labels=STANCE_LABELS,
                                       y_true=y_true, y_pred=y_pred, groups=[f"a{i // 4}" for i in range(n)]))
    claims = rng.choice(["CLAIM", "NO_CLAIM"], size=n).tolist()
    out.insert(0, QuestionPredictions(question="claim", labels=("CLAIM", "NO_CLAIM"), y_true=claims,
                                      y_pred=claims[::-1], groups=[f"a{i // 4}" for i in range(n)]))
    return out


def test_report_pools_targets_and_holds_intervals():
    preds = predictions()
    report = report_from_predictions(preds, scheme="stance-claim/v1", model="m", data="d", n_boot=200)
    assert [q.question for q in report.questions] == ["claim", "stance_gna", "stance_turkey"]
    pooled = report.stance
    assert pooled.question == "stance" and pooled.rows == 80 and pooled.articles == 10
    y_true = [y for p in preds[1:] for y in p.y_true]
    y_pred = [y for p in preds[1:] for y in p.y_pred]
    assert pooled.f_avg == pytest.approx(f1_score(y_true, y_pred, labels=["FAVOR", "AGAINST"], average="macro"))
    assert np.array(pooled.confusion).sum() == 80
    for q in report.questions[1:] + [pooled]:
        assert q.f_avg_ci.low <= q.f_avg <= q.f_avg_ci.high
        assert q.macro_f1_ci.low <= q.macro_f1_ci.high
    claim = report.questions[0]
    assert claim.f_avg is None and claim.f_avg_ci is None and claim.macro_f1 is not None
    again = report_from_predictions(preds, scheme="stance-claim/v1", model="m", data="d", n_boot=200)
    assert again == report


def test_report_notes_a_label_absent_on_both_sides():
    preds = [QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS,
                                 y_true=["AGAINST", "NONE"] * 5, y_pred=["AGAINST", "NONE"] * 5,
                                 groups=[str(i) for i in range(10)])]
    report = report_from_predictions(preds, scheme="stance-claim/v1", model="m", data="d", n_boot=50)
    q = report.questions[0]
    assert q.f_avg == pytest.approx(0.5)  # F1(FAVOR) = 0 by convention, F1(AGAINST) = 1
    assert q.macro_f1 == pytest.approx(1.0)  # FAVOR is on neither side: not averaged
    assert any("FAVOR is neither in the gold rows nor predicted" in n for n in q.notes)


def test_report_is_strict_and_json_round_trips():
    report = report_from_predictions(predictions(), scheme="stance-claim/v1", model="m", data="d", n_boot=50)
    text = report.model_dump_json()
    assert EvaluationReport.model_validate_json(text) == report
    data = json.loads(text)
    data["unexpected"] = 1
    with pytest.raises(ValidationError):
        EvaluationReport.model_validate(data)
    data = json.loads(text)
    data["questions"][0]["accuracy"] = float("nan")
    with pytest.raises(ValidationError):
        EvaluationReport.model_validate(data)


def test_report_json_validates_against_its_json_schema(tmp_path):
    report = report_from_predictions(predictions(), scheme="stance-claim/v1", model="m", data="d", n_boot=50)
    write_report(report, tmp_path)
    schema = EvaluationReport.model_json_schema(mode="serialization")
    jsonschema.validate(json.loads((tmp_path / "report.json").read_text()), schema)


def test_write_report_files(tmp_path):
    report = report_from_predictions(predictions(), scheme="stance-claim/v1", model="m", data="d", n_boot=50)
    written = write_report(report, tmp_path / "rep")
    assert sorted(p.name for p in written) == ["confusion.png", "report.json", "report.md", "scores.png"]
    for name in ("confusion.png", "scores.png"):
        assert (tmp_path / "rep" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md == report_markdown(report, images=["confusion.png", "scores.png"])
    assert "| **stance** | 80 | 10 |" in md and "![confusion](confusion.png)" in md
    first = (tmp_path / "rep" / "confusion.png").read_bytes()
    write_report(report, tmp_path / "rep")
    assert (tmp_path / "rep" / "confusion.png").read_bytes() == first  # no date or version stamped in


def test_evaluate_a_model_on_gold_rows():
    scheme = load_scheme()
    rows = make_rows(articles=12, per_article=6, seed=3)
    model = train(rows[:48], scheme)
    held_out = rows[48:]
    held_out[0] = {**held_out[0], "claim": None}  # a null label leaves that question of that row out
    report = evaluate(model, held_out, name="tiny", data="dev.jsonl", n_boot=100)
    assert report.model == "tiny" and report.rows == len(held_out)
    claim = next(q for q in report.questions if q.question == "claim")
    assert claim.rows == len(held_out) - 1
    assert report.stance.rows == sum(len(r["stance"]) for r in held_out)
    assert report.stance.f_avg > 0.5  # the synthetic words are easy
