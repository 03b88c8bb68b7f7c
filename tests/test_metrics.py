"""The shared metrics: F_avg, macro F1, the confusion matrix and the cluster bootstrap."""

from __future__ import annotations

import doctest
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_recall_fscore_support

from annotate import metrics
from annotate.metrics import (bootstrap_confusions, class_scores, cluster_sums, confusion_matrix, f_avg,
                              gold_classes, macro_f1, majority_label, percentile_interval, resample_weights)
from annotate.scheme import STANCE_LABELS


def examples(n: int) -> int:
    """Hypothesis examples: fewer under mutation testing (mutmut sets MUTANT_UNDER_TEST), where
    every mutant reruns the tests that reach it."""
    return min(n, 25) if os.environ.get("MUTANT_UNDER_TEST") else n

LABELS = list(STANCE_LABELS)  # FAVOR, AGAINST, NONE


def expand(conf: list[list[int]]) -> tuple[list[str], list[str]]:
    """Gold and predicted label lists with the given confusion matrix."""
    y_true, y_pred = [], []
    for i, row in enumerate(conf):
        for j, n in enumerate(row):
            y_true += [LABELS[i]] * n
            y_pred += [LABELS[j]] * n
    return y_true, y_pred


def test_doctests() -> None:
    result = doctest.testmod(metrics)
    assert result.attempted >= 8 and result.failed == 0


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
    assert f_avg(conf, ["NONE", "AGAINST", "FAVOR"]) == pytest.approx((0.0 + 1.0) / 2)  # labels name the columns


labels_st = st.lists(st.sampled_from(LABELS), min_size=1, max_size=60)


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_metrics_equal_sklearn(data):
    y_true = data.draw(labels_st)
    y_pred = data.draw(st.lists(st.sampled_from(LABELS), min_size=len(y_true), max_size=len(y_true)))
    conf = confusion_matrix(y_true, y_pred, LABELS)
    assert f_avg(conf, LABELS) == pytest.approx(
        f1_score(y_true, y_pred, labels=["FAVOR", "AGAINST"], average="macro", zero_division=0))
    # Macro F1 over the labels of the gold rows only: a label only predicted is not averaged.
    present = [label for label in LABELS if label in y_true]
    assert macro_f1(conf) == pytest.approx(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
    assert [LABELS[i] for i in gold_classes(conf)] == present
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=LABELS, zero_division=0)
    ours = class_scores(conf)
    for a, b in zip(ours, (p, r, f, s)):
        assert np.allclose(a, b)


def test_stacked_confusions_give_one_score_each():
    confs = np.array([[[8, 1, 1], [2, 4, 0], [0, 1, 3]], [[1, 0, 0], [0, 1, 0], [0, 0, 1]]])
    assert f_avg(confs, LABELS).tolist() == pytest.approx([11 / 15, 1.0])
    assert macro_f1(confs, [0, 1, 2]).tolist() == pytest.approx([(0.8 + 2 / 3 + 0.75) / 3, 1.0])
    assert macro_f1(confs, [0, 2]).tolist() == pytest.approx([(0.8 + 0.75) / 2, 1.0])
    assert np.isnan(macro_f1(confs, [])).all() and np.isnan(macro_f1(np.zeros((3, 3))))
    with pytest.raises(ValueError):
        gold_classes(confs)


def test_macro_f1_keeps_its_classes_in_a_resample_without_one():
    # A resample with no FAVOR row and no FAVOR prediction: FAVOR still counts, as 0 (zero_division=0),
    # instead of dropping out and lifting the mean to 1.0.
    resample = [[0, 0, 0], [0, 0, 0], [0, 0, 9]]
    assert macro_f1(resample) == 1.0  # its own classes: NONE only
    assert macro_f1(resample, [0, 2]) == 0.5  # the full data's classes
    y_true, y_pred = ["NONE"] * 9, ["NONE"] * 9
    assert f1_score(y_true, y_pred, labels=["FAVOR", "NONE"], average="macro", zero_division=0) == 0.5


def test_confusion_matrix_refuses_unknown_labels_and_unequal_lengths():
    with pytest.raises(ValueError, match=r"labels \['MAYBE'\] are not in"):
        confusion_matrix(["FAVOR"], ["MAYBE"], LABELS)
    with pytest.raises(ValueError, match="y_true has 2 labels, y_pred 1"):
        confusion_matrix(["FAVOR", "NONE"], ["FAVOR"], LABELS)


def test_majority_label():
    assert majority_label(["NONE", "AGAINST", "NONE"], LABELS) == "NONE"
    assert majority_label(["AGAINST", "FAVOR"], LABELS) == "FAVOR"  # a tie: the earlier label
    assert majority_label([], LABELS) is None


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


def test_bootstrap_confusions_are_the_confusions_of_the_articles_drawn():
    rng = np.random.default_rng(0)
    y_true = rng.choice(LABELS, size=60).tolist()
    y_pred = rng.choice(LABELS, size=60).tolist()
    groups = [f"g{i % 12:02d}" for i in range(60)]
    boots = bootstrap_confusions(y_true, y_pred, groups, LABELS, n_boot=30, random_state=4)
    weights = np.concatenate(list(resample_weights(12, 30, 4)))
    order = sorted(set(groups))
    for b in (0, 11, 29):
        rows = [i for k, g in enumerate(order) for _ in range(weights[b, k]) for i in range(60) if groups[i] == g]
        assert boots[b].tolist() == confusion_matrix([y_true[i] for i in rows], [y_pred[i] for i in rows],
                                                     LABELS).tolist()
    assert not np.array_equal(boots, bootstrap_confusions(y_true, y_pred, groups, LABELS, n_boot=30, random_state=5))


def test_cluster_sums_match_explicit_resamples():
    values = np.arange(10, dtype=float).reshape(5, 2)
    sums = cluster_sums(values, ["b", "a", "b", "c", "a"], 20, 9)
    weights = np.concatenate(list(resample_weights(3, 20, 9)))
    per_cluster = np.array([values[[1, 4]].sum(axis=0), values[[0, 2]].sum(axis=0), values[3]])  # a, b, c
    assert np.allclose(sums, weights @ per_cluster)


def test_percentile_interval_uses_the_level():
    values = np.linspace(0, 1, 101)
    ci = percentile_interval(values, level=0.95, clusters=30, min_clusters=20)
    assert (ci.low, ci.high) == pytest.approx((0.025, 0.975), abs=1e-12)
    ci = percentile_interval(values, level=0.9, clusters=30, min_clusters=20)
    assert (ci.low, ci.high) == pytest.approx((0.05, 0.95), abs=1e-12)
    assert percentile_interval(values, level=0.95, clusters=19, min_clusters=20).status == "too few clusters"
    assert percentile_interval(values, level=0.95, clusters=20, min_clusters=20).status == "interval"
    one = percentile_interval(None, level=0.95, clusters=1, min_clusters=20)
    assert one.note.startswith("1 article: an interval needs 20") and one.describe() == "none: 1 article"
    two = percentile_interval(None, level=0.95, clusters=2, min_clusters=20, what="articles with pairs")
    assert two.note.startswith("2 articles with pairs: ") and two.describe() == "none: 2 articles"


def test_cluster_sums_over_several_chunks_and_the_documented_defaults():
    values = np.arange(5000, dtype=np.int64)[:, None] % 7
    clusters = [f"c{i:04d}" for i in range(5000)]
    sums = cluster_sums(values, clusters, 1000, 3)  # 4,000,000 // 5,000 = 800 resamples a chunk: two chunks
    weights = np.concatenate(list(resample_weights(5000, 1000, 3)))
    assert np.array_equal(sums, weights @ values)
    assert np.array_equal(cluster_sums(values[:50], clusters[:50], 20), cluster_sums(values[:50], clusters[:50], 20, 0))
    assert np.array_equal(np.concatenate(list(resample_weights(5, 3))), np.concatenate(list(resample_weights(5, 3, 0))))
    y = ["FAVOR", "NONE"] * 10
    assert np.array_equal(bootstrap_confusions(y, y, [str(i) for i in range(20)], LABELS),
                          bootstrap_confusions(y, y, [str(i) for i in range(20)], LABELS, n_boot=1000, random_state=0))
    assert macro_f1(np.zeros((4, 3, 3)), []).shape == (4,)


def test_percentile_interval_notes_word_for_word():
    values = np.full(100, 0.5)
    values[:2] = np.nan
    assert percentile_interval(values, level=0.9, clusters=30, min_clusters=20).note == (
        "every resample gives 0.500: the bootstrap sees no variation here, which does not mean there is none; "
        "undefined in 2 of 100 resamples (2.0%)")
    assert percentile_interval(np.full(10, 0.5), level=0.9, clusters=30, min_clusters=20).note == (
        "every resample gives 0.500: the bootstrap sees no variation here, which does not mean there is none")
    values[:10] = np.nan
    assert percentile_interval(values, level=0.9, clusters=30, min_clusters=20).note == (
        "undefined in 10 of 100 resamples (10.0%): more than the 5.0% a 90% interval may lose in each tail, so no "
        "interval")
    ok = percentile_interval(np.linspace(0, 1, 10), level=0.9, clusters=30, min_clusters=20)
    assert ok.note is None and ok.undefined == 0
    few = percentile_interval(None, level=0.9, clusters=3, min_clusters=20)
    assert (few.undefined, few.resamples) == (0, 0)


# --- Tests for the survivors of the mutation run (issue 14 point 6; README, "Mutation testing") ---


def test_gold_classes_refuses_stacked_matrices_word_for_word():
    with pytest.raises(ValueError) as caught:
        gold_classes(np.zeros((2, 3, 3)))
    assert str(caught.value) == "one confusion matrix of shape (k, k), not (2, 3, 3)"


def test_macro_f1_without_classes_is_a_float_nan_for_one_matrix():
    value = macro_f1([[0, 0], [0, 0]])  # no gold rows: nothing to average
    assert type(value) is float and np.isnan(value)
    assert type(macro_f1([[0, 0], [0, 0]], [])) is float


def test_class_scores_of_empty_classes_raise_no_floating_point_error():
    # 0 / 0 (a class neither predicted nor in the gold) is guarded: nothing raises under numpy's strictest setting.
    with np.errstate(all="raise"):
        precision, recall, f1, support = class_scores([[0, 0, 0], [0, 2, 1], [0, 0, 0]])
    assert precision.tolist() == [0.0, 1.0, 0.0] and recall.tolist() == [0.0, 2 / 3, 0.0]
    assert f1.tolist() == pytest.approx([0.0, 0.8, 0.0]) and support.tolist() == [0, 3, 0]


def test_cluster_sums_of_one_cluster_and_integer_counts():
    # One cluster: every resample draws it once, so every resample sums every row.
    values = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int64)
    assert cluster_sums(values, ["x", "x", "x"], 7, 1).tolist() == [[9, 12]] * 7
    # Counts stay integers (bootstrap_confusions documents int64).
    assert cluster_sums(values, ["a", "b", "a"], 5, 2).dtype == np.int64
    boots = bootstrap_confusions(["FAVOR", "NONE"] * 10, ["NONE"] * 20, [str(i) for i in range(20)], LABELS, n_boot=5)
    assert boots.dtype == np.int64 and (boots.sum(axis=(1, 2)) == 20).all()


def test_cluster_sums_over_many_chunks_are_the_documented_draws(monkeypatch):
    # Chunks of 3 resamples (max_cells 30 over 10 clusters): 10 resamples in 4 chunks, each row the
    # draws of rng.integers(0, 10, size=10), one resample after another, as resample_weights documents.
    n, n_boot, seed = 10, 10, 5
    chunked = list(resample_weights(n, n_boot, seed, max_cells=30))
    assert [len(w) for w in chunked] == [3, 3, 3, 1]
    rng = np.random.default_rng(seed)
    drawn = np.array([np.bincount(rng.integers(0, n, size=n), minlength=n) for _ in range(n_boot)])
    assert np.array_equal(np.concatenate(chunked), drawn)
    original = metrics.resample_weights
    monkeypatch.setattr(metrics, "resample_weights",
                        lambda *args, **kw: original(*args, **{**kw, "max_cells": 30}))
    values = np.arange(2 * n).reshape(n, 2)
    clusters = [f"c{i}" for i in range(n)]  # sorted as strings: c0, c1, ..., c9 is also the row order
    assert np.array_equal(cluster_sums(values, clusters, n_boot, seed), drawn @ values)


def test_percentile_interval_boundaries():
    # Exactly (1 - level) / 2 of the resamples undefined is not more than each tail may lose: an interval.
    ci = percentile_interval([np.nan, 0.1, 0.2, 0.3], level=0.5, clusters=30, min_clusters=20)
    assert (ci.status, ci.undefined) == ("interval", 1)
    assert (ci.low, ci.high) == pytest.approx((0.15, 0.25))  # 25th and 75th percentiles of 0.1, 0.2, 0.3
    over = percentile_interval([np.nan, np.nan, 0.2, 0.3], level=0.5, clusters=30, min_clusters=20)
    assert over.status == "undefined"
    # A spread of 1e-12 or less is rounding: degenerate; more is an interval.
    assert percentile_interval([0.0, 1e-12], level=0.9, clusters=30, min_clusters=20).status == "degenerate"
    assert percentile_interval([0.0, 2e-12], level=0.9, clusters=30, min_clusters=20).status == "interval"


def test_cluster_sums_of_no_rows_are_zeros():
    # No row, no cluster: every resample draws nothing and sums to zero (it used to fail in a reshape).
    assert cluster_sums(np.zeros((0, 2), dtype=np.int64), [], 4).tolist() == [[0, 0]] * 4
    assert cluster_sums(np.zeros((0, 2, 3)), [], 3).shape == (3, 2, 3)
    assert bootstrap_confusions([], [], [], LABELS, n_boot=2).tolist() == [[[0] * 3] * 3] * 2
