"""The evaluation report: majority-class figures, warnings, intervals, and its files."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.metrics import f1_score

from annotate.baseline import train
from annotate.errors import InputError
from annotate.cli import _scores_table
from annotate.evaluate import (MIN_ARTICLES, EvaluationReport, QuestionPredictions, evaluate, majority_of_counts,
                               question_report, report_from_predictions, report_markdown, write_report)
from annotate.metrics import bootstrap_confusions, confusion_matrix, f_avg, macro_f1
from annotate.modelcard import card_markdown, model_card
from annotate.scheme import STANCE_LABELS, load_scheme

from test_baseline import make_rows

LABELS = list(STANCE_LABELS)  # FAVOR, AGAINST, NONE


def predictions(n: int = 160, seed: int = 0, per_article: int = 4) -> list[QuestionPredictions]:
    rng = np.random.default_rng(seed)
    out = []
    for target in ("gna", "turkey"):
        y_true = rng.choice(LABELS, size=n).tolist()
        y_pred = [y if rng.random() < 0.7 else str(rng.choice(LABELS)) for y in y_true]
        out.append(QuestionPredictions(question=f"stance_{target}", target=target, labels=STANCE_LABELS,
                                       y_true=y_true, y_pred=y_pred,
                                       groups=[f"a{i // per_article:03d}" for i in range(n)]))
    claims = rng.choice(["CLAIM", "NO_CLAIM"], size=n).tolist()
    out.insert(0, QuestionPredictions(question="claim", labels=("CLAIM", "NO_CLAIM"), y_true=claims,
                                      y_pred=claims[::-1], groups=[f"a{i // per_article:03d}" for i in range(n)]))
    return out


def report(preds=None, **kw) -> EvaluationReport:
    kw = {"n_boot": 200, **kw}
    return report_from_predictions(preds or predictions(), scheme="s/v1", model="m", data="d", **kw)


def test_report_pools_targets_and_holds_intervals():
    preds = predictions()
    rep = report(preds)
    assert rep.format == "stance-evaluation/v2"
    assert [q.question for q in rep.questions] == ["claim", "stance_gna", "stance_turkey"]
    pooled = rep.stance
    assert pooled.question == "stance" and pooled.rows == 320 and pooled.articles == 40
    y_true = [y for p in preds[1:] for y in p.y_true]
    y_pred = [y for p in preds[1:] for y in p.y_pred]
    assert pooled.f_avg == pytest.approx(f1_score(y_true, y_pred, labels=["FAVOR", "AGAINST"], average="macro"))
    assert np.array(pooled.confusion).sum() == 320
    for q in rep.questions[1:] + [pooled]:
        assert q.f_avg_ci.status == "interval" and q.f_avg_ci.low <= q.f_avg <= q.f_avg_ci.high
        assert q.macro_f1_ci.low <= q.macro_f1_ci.high
    claim = rep.questions[0]
    assert claim.f_avg is None and claim.f_avg_ci is None and claim.macro_f1 is not None
    assert report(preds) == rep


def test_intervals_are_the_percentiles_of_the_article_resamples():
    preds = predictions()
    p = preds[1]
    q = report(preds, random_state=3).questions[1]
    boots = bootstrap_confusions(p.y_true, p.y_pred, p.groups, LABELS, n_boot=200, random_state=3)
    assert (q.f_avg_ci.low, q.f_avg_ci.high) == pytest.approx(
        tuple(np.percentile(f_avg(boots, LABELS), [2.5, 97.5])), abs=1e-12)
    assert (q.macro_f1_ci.low, q.macro_f1_ci.high) == pytest.approx(
        tuple(np.percentile(macro_f1(boots, [0, 1, 2]), [2.5, 97.5])), abs=1e-12)
    favor = q.classes[0].f1_ci
    f1 = 2 * boots[:, 0, 0] / (boots[:, 0, :].sum(axis=1) + boots[:, :, 0].sum(axis=1))
    assert (favor.low, favor.high) == pytest.approx(tuple(np.percentile(f1, [2.5, 97.5])), abs=1e-12)
    assert (q.f_avg_ci.resamples, q.f_avg_ci.clusters) == (200, 40)
    other = report(preds, random_state=4).questions[1]
    assert other.f_avg_ci != q.f_avg_ci  # the seed is used
    level = report(preds, random_state=3, level=0.8).questions[1]
    assert (level.f_avg_ci.low, level.f_avg_ci.high) == pytest.approx(
        tuple(np.percentile(f_avg(boots, LABELS), [10, 90])), abs=1e-12)


def test_macro_f1_interval_scores_the_full_golds_classes_in_every_resample():
    # FAVOR in 3 of 30 articles, never predicted: resamples without those articles used to score
    # macro F1 over NONE alone (1.000); now every resample averages FAVOR and NONE.
    y_true = ["FAVOR" if i < 6 else "NONE" for i in range(120)]
    preds = [QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS, y_true=y_true,
                                 y_pred=["NONE"] * 120, groups=[f"a{i // 4:02d}" for i in range(120)])]
    q = report(preds, n_boot=400).questions[0]
    assert q.scored_labels == ["FAVOR", "NONE"]
    assert q.macro_f1 == pytest.approx(f1_score(y_true, ["NONE"] * 120, labels=["FAVOR", "NONE"], average="macro",
                                                zero_division=0))
    assert q.macro_f1_ci.high < 0.51  # at most F1(NONE) / 2: never 1.000
    assert any("macro F1 averages the labels with gold rows here: FAVOR, NONE" in n for n in q.notes)


def test_no_interval_below_min_articles():
    few = report(predictions(n=4 * (MIN_ARTICLES - 1))).questions[1]
    assert few.articles == MIN_ARTICLES - 1
    assert few.f_avg_ci.status == few.macro_f1_ci.status == "too few clusters"
    assert few.f_avg_ci.low is None and all(c.f1_ci.status == "too few clusters" for c in few.classes)
    assert any(n.startswith(f"{MIN_ARTICLES - 1} articles: an interval needs {MIN_ARTICLES}") for n in few.notes)
    enough = report(predictions(n=4 * MIN_ARTICLES)).questions[1]
    assert enough.f_avg_ci.status == "interval"
    assert report().bootstrap.min_articles == MIN_ARTICLES


def test_majority_class_figures():
    preds = predictions()
    gna, turkey = preds[1], preds[2]
    rep = report([gna, turkey.__class__(**{**turkey.__dict__, "majority": "AGAINST"})])
    q = rep.questions[0]
    label = max(LABELS, key=lambda x: (gna.y_true.count(x), -LABELS.index(x)))
    assert q.majority.predicts == {"stance_gna": label} and q.majority.source == "evaluated rows"
    constant = [label] * len(gna.y_true)
    assert q.majority.f_avg == pytest.approx(f1_score(gna.y_true, constant, labels=["FAVOR", "AGAINST"],
                                                      average="macro", zero_division=0))
    assert q.majority.macro_f1 == pytest.approx(f1_score(gna.y_true, constant, labels=LABELS, average="macro",
                                                         zero_division=0))
    assert q.majority.accuracy == pytest.approx(gna.y_true.count(label) / len(constant))
    # Pooled: each target's own majority label (as SemEval-2016's majority baseline), pooled.
    pooled = rep.stance
    assert pooled.majority.predicts == {"stance_gna": label, "stance_turkey": "AGAINST"}
    assert pooled.majority.source == "evaluated rows"  # one of the two came from the rows
    y_true = gna.y_true + turkey.y_true
    y_major = constant + ["AGAINST"] * len(turkey.y_true)
    assert pooled.majority.f_avg == pytest.approx(f1_score(y_true, y_major, labels=["FAVOR", "AGAINST"],
                                                           average="macro", zero_division=0))
    claim = report().questions[0]
    assert claim.majority.f_avg is None and claim.majority.macro_f1 is not None
    assert majority_of_counts({"NONE": 3, "FAVOR": 3}, LABELS) == "FAVOR" and majority_of_counts({}, LABELS) is None


@pytest.mark.parametrize("constant, warned", [(95, True), (94, False)])
def test_a_model_predicting_one_label_for_95_percent_gets_a_warning(constant: int, warned: bool):
    y_true = (["FAVOR", "AGAINST", "NONE", "NONE"] * 25)
    y_pred = ["NONE"] * constant + ["FAVOR"] * (100 - constant)
    q = question_report(QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS, y_true=y_true,
                                            y_pred=y_pred, groups=[f"a{i:03d}" for i in range(100)]), n_boot=50)
    assert (q.top_predicted, q.top_predicted_share) == ("NONE", constant / 100)
    assert bool(q.warnings) == warned
    if warned:
        assert q.warnings == [f"the model predicts NONE for {constant}.0% of the 100 rows (at least 95%): close to a "
                              "constant model; its scores say little more than the majority-class figures beside them"]


def constant_report() -> EvaluationReport:
    y_true = ["NONE"] * 90 + ["FAVOR"] * 5 + ["AGAINST"] * 5
    preds = [QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS, y_true=y_true,
                                 y_pred=["NONE"] * 100, groups=[f"a{i // 4:02d}" for i in range(100)], majority="NONE")]
    return report(preds)


def test_terminal_markdown_and_card_show_majority_and_warning(tmp_path):
    rep = constant_report()
    q = rep.questions[0]
    assert q.f_avg == 0.0 and q.majority.f_avg == 0.0 and q.majority.source == "training rows"
    table = _scores_table(rep).splitlines()
    assert table[0].split() == ["question", "rows", "F_avg", "(95%", "interval)", "majority", "macro", "F1", "(95%",
                                "interval)", "majority"]
    assert table[1].split()[:2] == ["stance_gna", "100"] and table[1].split()[2] == "0.000"
    assert table[1].split()[-1] == f"{q.majority.macro_f1:.3f}"
    assert "warning: stance_gna: the model predicts NONE for 100.0% of the 100 rows" in table[-2]
    assert table[-1].startswith("warning: stance: the model predicts NONE")
    md = report_markdown(rep)
    assert "| question | rows | articles | F_avg | F_avg 95% interval | majority F_avg | macro F1 |" in md
    assert "**Warning:** stance_gna: the model predicts NONE for 100.0%" in md
    assert "Majority-class model: stance_gna → NONE (most frequent label of the training rows)." in md
    write_report(rep, tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["questions"][0]["majority"]["f_avg"] == 0.0 and data["questions"][0]["warnings"]


@pytest.fixture(scope="module")
def tiny_model():
    scheme = load_scheme()
    rows = [{**r, "scheme": scheme.id} for r in make_rows(articles=30, per_article=4, seed=3)]
    # One configuration and two folds: the model is not what these tests measure, the report is.
    return train(rows[:60], scheme, C=(1.0,), class_weight=(None,), stance_mode="per-target", n_splits=2), rows[60:]


def test_card_shows_majority_and_warning(tiny_model):
    model, held_out = tiny_model
    rep = evaluate(model, held_out, name="tiny", n_boot=50)
    card = model_card(model, name="tiny", model_sha256="0" * 64, held_out=rep)
    metrics = card.metrics["held-out"]
    for q in [*rep.questions, rep.stance]:
        assert metrics[q.question].majority_f_avg == q.majority.f_avg
        assert metrics[q.question].majority_macro_f1 == q.majority.macro_f1
        assert metrics[q.question].warnings == q.warnings
    text = card_markdown(card)
    assert "| question | rows | F_avg | majority F_avg | macro F1 | majority macro F1 |" in text
    constant = model_card(model, name="tiny", model_sha256="0" * 64, held_out=constant_report())
    assert "**Warning:** stance_gna: the model predicts NONE" in card_markdown(constant)


def test_evaluate_a_model_on_gold_rows(tiny_model):
    model, held_out = tiny_model
    held_out = list(held_out)
    held_out[0] = {**held_out[0], "claim": None}  # a null label leaves that question of that row out
    rep = evaluate(model, held_out, name="tiny", data="dev.jsonl", n_boot=100)
    assert rep.model == "tiny" and rep.rows == len(held_out)
    claim = next(q for q in rep.questions if q.question == "claim")
    assert claim.rows == len(held_out) - 1
    assert rep.stance.rows == sum(len(r["stance"]) for r in held_out)
    assert rep.stance.f_avg > 0.5  # the synthetic words are easy
    # The majority-class model predicts the most frequent training label of each question.
    for q in rep.questions:
        counts = model.label_counts_[q.question]
        assert q.majority.source == "training rows"
        assert q.majority.predicts == {q.question: max(q.labels, key=lambda x: (counts.get(x, 0), -q.labels.index(x)))}


def test_report_notes_a_label_absent_on_both_sides():
    preds = [QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS,
                                 y_true=["AGAINST", "NONE"] * 5, y_pred=["AGAINST", "NONE"] * 5,
                                 groups=[str(i) for i in range(10)])]
    q = report(preds, n_boot=50).questions[0]
    assert q.f_avg == pytest.approx(0.5)  # F1(FAVOR) = 0 by convention, F1(AGAINST) = 1
    assert q.macro_f1 == pytest.approx(1.0)  # FAVOR has no gold row: not averaged
    assert any("FAVOR is neither in the gold rows nor predicted" in n for n in q.notes)


def test_report_is_strict_and_json_round_trips():
    rep = report(n_boot=50)
    text = rep.model_dump_json()
    assert EvaluationReport.model_validate_json(text) == rep
    data = json.loads(text)
    data["unexpected"] = 1
    with pytest.raises(ValidationError):
        EvaluationReport.model_validate(data)
    data = json.loads(text)
    data["questions"][0]["accuracy"] = float("nan")
    with pytest.raises(ValidationError):
        EvaluationReport.model_validate(data)


def test_report_json_validates_against_its_json_schema(tmp_path):
    rep = report(n_boot=50)
    write_report(rep, tmp_path)
    schema = EvaluationReport.model_json_schema(mode="serialization")
    jsonschema.validate(json.loads((tmp_path / "report.json").read_text()), schema)


def test_write_report_files(tmp_path):
    rep = report(n_boot=50)
    written = write_report(rep, tmp_path / "rep")
    assert sorted(p.name for p in written) == ["confusion.png", "report.json", "report.md", "scores.png"]
    for name in ("confusion.png", "scores.png"):
        assert (tmp_path / "rep" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md == report_markdown(rep, images=["confusion.png", "scores.png"])
    assert "| **stance** | 320 | 40 |" in md and "![confusion](confusion.png)" in md
    first = (tmp_path / "rep" / "confusion.png").read_bytes()
    write_report(rep, tmp_path / "rep")
    assert (tmp_path / "rep" / "confusion.png").read_bytes() == first  # no date or version stamped in
    few = report(predictions(n=8), n_boot=50)  # no intervals: the plot still draws
    assert write_report(few, tmp_path / "few")


def test_confusion_matrix_of_the_report():
    preds = predictions()
    q = report(preds).questions[1]
    assert q.confusion == confusion_matrix(preds[1].y_true, preds[1].y_pred, LABELS).tolist()


def test_report_notes_word_for_word():
    preds = [QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS,
                                 y_true=["AGAINST", "NONE"] * 5, y_pred=["AGAINST", "NONE"] * 5,
                                 groups=[str(i) for i in range(10)])]
    q = report(preds, n_boot=50).questions[0]
    assert q.notes == [f"10 articles: an interval needs {MIN_ARTICLES} (coverage simulation, benchmarks/coverage.py)",
                       "FAVOR is neither in the gold rows nor predicted: its F1 is 0 and counts as 0 in F_avg",
                       "macro F1 averages the labels with gold rows here: AGAINST, NONE (every resample averages the "
                       "same labels)"]
    claim = [QuestionPredictions(question="claim", labels=("CLAIM", "NO_CLAIM"), y_true=["CLAIM"] * 4,
                                 y_pred=["CLAIM"] * 4, groups=["a"] * 4)]
    assert report(claim, n_boot=50).questions[0].notes == [
        f"1 article: an interval needs {MIN_ARTICLES} (coverage simulation, benchmarks/coverage.py)",
        "NO_CLAIM is neither in the gold rows nor predicted: its F1 is 0",
        "macro F1 averages the labels with gold rows here: CLAIM (every resample averages the same labels)"]
    empty = report([QuestionPredictions(question="claim", labels=("CLAIM", "NO_CLAIM"), y_true=[], y_pred=[],
                                        groups=[])], n_boot=50).questions[0]
    assert empty.notes[-1] == "no row has a gold label for this question"
    assert (empty.rows, empty.accuracy, empty.macro_f1, empty.macro_f1_ci, empty.top_predicted) == (0, 0.0, None, None, None)
    rep = report()
    assert rep.bootstrap.method == "percentile, articles resampled with replacement"
    assert (rep.bootstrap.n_boot, rep.bootstrap.level, rep.bootstrap.random_state) == (200, 0.95, 0)


def test_documented_defaults():
    # `stance evaluate` promises 1,000 resamples, a 95% interval and seed 0 by default.
    rep = report_from_predictions(predictions(), scheme="s/v1", model="m", data="d")
    assert (rep.bootstrap.n_boot, rep.bootstrap.level, rep.bootstrap.random_state) == (1000, 0.95, 0)
    q = question_report(predictions()[1])
    assert q == rep.questions[1] and q.f_avg_ci.resamples == 1000


@pytest.fixture(scope="module")
def model_without_gna():
    """A model trained on rows without a gna label (the scheme's middle target): no stance_gna model."""
    scheme = load_scheme()
    rows = [{**r, "scheme": scheme.id} for r in make_rows(articles=24, per_article=4, seed=5)]
    train_rows = [{**r, "stance": {t: v for t, v in r["stance"].items() if t != "gna"}} for r in rows[:48]]
    model = train(train_rows, scheme, C=(1.0,), class_weight=(None,), stance_mode="per-target", n_splits=2)
    return model, rows[48:]


def test_evaluate_counts_rows_names_unanswerable_questions_and_passes_everything_on(model_without_gna):
    model, held_out = model_without_gna
    assert "stance_gna" not in model.questions_ and model.targets_[1] == "gna"
    rows = list(held_out)
    rows[0] = {**rows[0], "claim": None}  # stance only: still a row
    rows[1] = {**rows[1], "claim": None, "stance": {}}  # nothing to score: not a row
    rows[2] = {**rows[2], "stance": {}}  # claim only
    rep = evaluate(model, rows, n_boot=60, data_sha256="ab" * 32)
    assert (rep.model, rep.data, rep.data_sha256, rep.rows) == ("model", "gold rows", "ab" * 32, len(rows) - 1)
    assert rep.notes == [f"stance_gna: {sum(1 for r in rows if r['stance'].get('gna'))} labelled rows, but the model "
                         "has no model for this question (no label of it in its training data): not evaluated"]
    assert [q.question for q in rep.questions] == ["claim", "stance_haftar_lna", "stance_turkey_military"]
    assert [q.target for q in rep.questions] == [None, "haftar_lna", "turkey_military"]
    assert rep.questions[0].rows == len(rows) - 2 and rep.questions[1].rows == len(rows) - 2
    assert all(q.articles == len({r["article_id"] for r in rows if r["stance"] or r["claim"]}) for q in rep.questions)
    expected = evaluate(model, rows, n_boot=60, level=0.8, random_state=3, name="n", data="d")
    assert (expected.model, expected.data, expected.bootstrap.level, expected.bootstrap.random_state) == ("n", "d", 0.8, 3)
    defaults = evaluate(model, rows)
    assert (defaults.bootstrap.n_boot, defaults.bootstrap.level, defaults.bootstrap.random_state) == (1000, 0.95, 0)
    with pytest.raises(InputError, match="^row 1 .*: labelled with scheme 'other/v1'"):
        evaluate(model, [{**rows[0], "scheme": "other/v1"}])
    nothing = [{**r, "claim": None, "stance": {"gna": "FAVOR"}} for r in rows]
    with pytest.raises(InputError) as caught:
        evaluate(model, nothing)
    assert caught.value.message == ("no row has a label the model can predict; evaluate on adjudicated gold rows "
                                    "(`stance adjudicate`) of the scheme the model was trained on")


def test_evaluate_without_claim_labels_rows_counted_and_resamples_passed_on(model_without_gna):
    model, held_out = model_without_gna
    # no row has a claim label: the stance questions after it are still evaluated
    stance_only = [{**r, "claim": None} for r in held_out]
    rep = evaluate(model, stance_only, n_boot=40)
    assert [q.question for q in rep.questions] == ["stance_haftar_lna", "stance_turkey_military"]
    assert rep.rows == len(stance_only) and rep.bootstrap.n_boot == 40
    # a row counts when it has some label: two rows with a claim only count, one with nothing does not
    rows = list(held_out)
    rows[0] = {**rows[0], "stance": {}}
    rows[1] = {**rows[1], "stance": {t: None for t in rows[1]["stance"]}}
    rows[2] = {**rows[2], "claim": None, "stance": {}}
    rep = evaluate(model, rows, n_boot=40)
    assert rep.rows == len(rows) - 1
    assert next(q for q in rep.questions if q.question == "claim").rows == len(rows) - 1


def test_majority_of_counts_needs_a_count():
    assert majority_of_counts({"AGAINST": 1}, LABELS) == "AGAINST"  # labels without a count count 0
    assert majority_of_counts({"FAVOR": 0}, LABELS) is None


def test_report_per_class_scores_equal_sklearn_and_pass_everything_on():
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support
    preds = predictions()
    rep = report_from_predictions(preds, scheme="s/v1", model="m", data="d", data_sha256="cd" * 32, n_boot=50,
                                  notes=["a note"])
    assert (rep.scheme, rep.model, rep.data, rep.data_sha256, rep.rows, rep.notes) == (
        "s/v1", "m", "d", "cd" * 32, 160, ["a note"])
    assert report_from_predictions(preds, scheme="s", model="m", data="d", rows=7, n_boot=0).rows == 7
    for p, q in zip(preds, rep.questions):
        precision, recall, f1, support = precision_recall_fscore_support(p.y_true, p.y_pred, labels=list(p.labels),
                                                                         zero_division=0)
        assert [c.label for c in q.classes] == list(p.labels) == q.labels
        assert [c.precision for c in q.classes] == pytest.approx(precision.tolist())
        assert [c.recall for c in q.classes] == pytest.approx(recall.tolist())
        assert [c.f1 for c in q.classes] == pytest.approx(f1.tolist())
        assert [c.support for c in q.classes] == support.tolist()
        assert [c.predicted for c in q.classes] == [p.y_pred.count(label) for label in p.labels]
        assert q.accuracy == pytest.approx(accuracy_score(p.y_true, p.y_pred))
        top = max(p.labels, key=lambda x: (p.y_pred.count(x), -p.labels.index(x)))
        assert (q.top_predicted, q.top_predicted_share) == (top, pytest.approx(p.y_pred.count(top) / len(p.y_pred)))
        assert q.rows == len(p.y_true) and q.target == p.target


def test_no_resamples_and_an_empty_stance_question():
    rep = report(n_boot=0)
    q = rep.questions[1]
    for ci in (q.f_avg_ci, q.macro_f1_ci, *(c.f1_ci for c in q.classes)):
        assert (ci.status, ci.resamples, ci.clusters) == ("undefined", 0, 40) and ci.note.startswith("no resample")
    empty = question_report(QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS, y_true=[],
                                                y_pred=[], groups=[]), n_boot=50)
    assert (empty.f_avg, empty.f_avg_ci, empty.macro_f1, empty.macro_f1_ci, empty.scored_labels) == (
        None, None, None, None, [])
    assert all(c.f1_ci is None for c in empty.classes) and empty.majority.predicts == {}
    assert (empty.majority.accuracy, empty.majority.f_avg, empty.majority.macro_f1, empty.warnings) == (0.0, None, None, [])


def test_pooled_majority_from_training_when_every_target_has_one():
    preds = [p.__class__(**{**p.__dict__, "majority": "NONE"}) for p in predictions()[1:]]
    pooled = report(preds).stance
    assert pooled.majority.source == "training rows"
    assert pooled.majority.predicts == {"stance_gna": "NONE", "stance_turkey": "NONE"}
    y_true = [y for p in preds for y in p.y_true]
    assert pooled.majority.accuracy == pytest.approx(y_true.count("NONE") / len(y_true))
    assert report(predictions()[:1]).stance is None  # no stance question: nothing pooled


def test_notes_of_edge_cases_word_for_word():
    rep = report()
    assert rep.questions[1].notes == [] and rep.questions[0].notes == []  # every label has gold rows, enough articles
    empty = question_report(QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS, y_true=[],
                                                y_pred=[], groups=[]), n_boot=50)
    assert empty.notes == ["FAVOR is neither in the gold rows nor predicted: its F1 is 0 and counts as 0 in F_avg",
                           "AGAINST is neither in the gold rows nor predicted: its F1 is 0 and counts as 0 in F_avg",
                           "NONE is neither in the gold rows nor predicted: its F1 is 0",
                           "no row has a gold label for this question"]
    only_predicted = question_report(QuestionPredictions(
        question="stance_gna", target="gna", labels=STANCE_LABELS, y_true=["NONE", "AGAINST"] * 20,
        y_pred=["FAVOR", "AGAINST"] * 20, groups=[f"a{i % 20:02d}" for i in range(40)]), n_boot=50)
    assert only_predicted.notes[0] == ("macro F1 averages the labels with gold rows here: AGAINST, NONE (every "
                                       "resample averages the same labels)")
    assert not any("is neither in the gold rows nor predicted" in n for n in only_predicted.notes)
    one = report(n_boot=1).questions[1]
    assert (one.f_avg_ci.status, one.f_avg_ci.resamples) == ("degenerate", 1)
    constant = constant_report().questions[0]
    assert constant.f_avg_ci.status == "degenerate"
    assert ("F_avg: every resample gives 0.000: the bootstrap sees no variation here, which does not mean there is "
            "none") in constant.notes


# --- Tests for the survivors of the mutation run (issue 14 point 6; README, "Mutation testing") ---


def test_no_predictions_evaluate_no_rows():
    rep = report_from_predictions([], scheme="s/v1", model="m", data="d", n_boot=10)
    assert (rep.rows, rep.questions, rep.stance) == (0, [], None)


def test_no_resamples_say_so_in_the_intervals_not_the_notes():
    # n_boot=0: no interval, and with enough articles not "too few" of them, at MIN_ARTICLES exactly too.
    q = report(n_boot=0).questions[1]
    assert q.notes == []
    y = ["FAVOR", "AGAINST", "NONE", "NONE"] * 5
    at_min = question_report(QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS,
                                                 y_true=y, y_pred=y[::-1],
                                                 groups=[f"a{i:02d}" for i in range(MIN_ARTICLES)]), n_boot=0)
    assert at_min.articles == MIN_ARTICLES and at_min.notes == []
    for ci in (at_min.f_avg_ci, at_min.macro_f1_ci, *(c.f1_ci for c in at_min.classes)):
        assert (ci.status, ci.clusters, ci.resamples) == ("undefined", MIN_ARTICLES, 0)


def test_perfect_predictions_note_both_degenerate_intervals_word_for_word():
    y = ["FAVOR", "AGAINST", "NONE"] * 10
    q = question_report(QuestionPredictions(question="stance_gna", target="gna", labels=STANCE_LABELS, y_true=y,
                                            y_pred=y, groups=[f"a{i:02d}" for i in range(30)]), n_boot=50)
    same = "every resample gives 1.000: the bootstrap sees no variation here, which does not mean there is none"
    assert q.notes == [f"F_avg: {same}", f"macro F1: {same}"]


def test_a_label_set_without_against_has_no_f_avg():
    # F_avg is (F1(FAVOR) + F1(AGAINST)) / 2: a question needs both labels to have one.
    q = question_report(QuestionPredictions(question="q", labels=("FAVOR", "NONE"), y_true=["FAVOR", "NONE"] * 10,
                                            y_pred=["FAVOR"] * 20, groups=[str(i) for i in range(20)]), n_boot=10)
    assert (q.f_avg, q.f_avg_ci, q.majority.f_avg) == (None, None, None)
    assert q.macro_f1 == pytest.approx((2 * 10 / 30 + 0) / 2)  # FAVOR: 2*10 / (10 + 20); NONE: 0
