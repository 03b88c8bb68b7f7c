"""Agreement statistics against published worked examples and reference libraries; the report."""

from __future__ import annotations

import doctest
import os
import itertools
import json
import math
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import cohen_kappa_score

from annotate import agreement, coefficients, metrics
from annotate.agreement import MIN_ARTICLES, AgreementReport, agreement_report, plot_agreement, read_rejects, report_markdown
from annotate.coefficients import (
    bootstrap_alpha,
    bootstrap_alphas,
    cohen_kappa,
    cohen_matrix,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    majority_agreement,
    observed_agreement,
    pooled_alpha_nominal,
    pooled_weights,
    span_f1,
    value_counts,
)
from annotate.errors import AnnotateError, InputError
from annotate.gold import adjudicate
from annotate.labels import Annotation, Annotator, RejectedAnnotation, Span
from annotate.metrics import percentile_interval, resample_weights
from annotate.scheme import load_scheme

from helpers import run


def examples(n: int) -> int:
    """Hypothesis examples: fewer under mutation testing (mutmut sets MUTANT_UNDER_TEST), where
    every mutant reruns the tests that reach it."""
    return min(n, 25) if os.environ.get("MUTANT_UNDER_TEST") else n

nan = math.nan

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication, University of Pennsylvania, p. 8 (C.: "Nominal data, any number of observers,
# missing data"): 4 observers x 12 units; nominal alpha = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories;
# P-bar = 0.378, kappa = 0.210 (also statsmodels' test_inter_rater.py, table1).
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
# Bulletin 76(5), 378-382, Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses (depression,
# personality disorder, schizophrenia, neurosis, other); kappa = .430 (R irr::kappam.fleiss on
# the `diagnoses` data: 0.4302445).
FLEISS_1971 = [
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
    [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
    [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
]

# A SAS PROC FREQ agreement printout ("Simple Kappa Coefficient ... Kappa 0.4842"), the
# unweighted case of statsmodels' stats/tests/test_inter_rater.py (table10): a 3 x 3 table of
# 19 units, rater 1 in rows, rater 2 in columns.
SAS_COHEN_TABLE = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]


def table_to_pairs(table: list[list[int]]) -> tuple[list[int], list[int]]:
    pairs = [(i, j) for i, row in enumerate(table) for j, n in enumerate(row) for _ in range(n)]
    return [i for i, _ in pairs], [j for _, j in pairs]


def test_krippendorff_2011_nominal_example() -> None:
    assert round(krippendorff_alpha_nominal(KRIPPENDORFF_2011), 3) == 0.743
    # Same with -1 for missing, and codes shifted to start at 0.
    codes = np.nan_to_num(np.array(KRIPPENDORFF_2011) - 1, nan=-1).astype(int)
    assert krippendorff_alpha_nominal(codes) == pytest.approx(0.743421052631579, abs=1e-12)


def test_wikipedia_fleiss_example() -> None:
    assert round(fleiss_kappa(WIKIPEDIA_FLEISS), 3) == 0.210
    assert round(observed_agreement(WIKIPEDIA_FLEISS), 3) == 0.378


def test_fleiss_1971_example() -> None:
    counts = np.array(FLEISS_1971)
    assert counts.shape == (30, 5) and (counts.sum(axis=1) == 6).all()
    assert counts.sum(axis=0).tolist() == [26, 26, 30, 55, 43]  # the column totals of Table 1
    assert fleiss_kappa(counts) == pytest.approx(0.4302445, abs=5e-8)


def test_cohen_sas_example() -> None:
    a, b = table_to_pairs(SAS_COHEN_TABLE)
    assert round(cohen_kappa(a, b), 4) == 0.4842
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_doctests() -> None:
    result = doctest.testmod(coefficients)
    assert result.attempted >= 6 and result.failed == 0


reliability = arrays(
    np.float64, st.tuples(st.integers(2, 6), st.integers(1, 40)),
    elements=st.sampled_from([nan, 0.0, 1.0, 2.0, 3.0]),
)


@settings(max_examples=examples(300), deadline=None)
@given(reliability)
def test_alpha_equals_krippendorff_package(data: np.ndarray) -> None:
    ours = krippendorff_alpha_nominal(data)
    counts = value_counts(data)
    pairable = counts[counts.sum(axis=1) >= 2]
    if (pairable > 0).any(axis=0).sum() < 2:  # no unit with two labels, or no variation
        assert math.isnan(ours)
        return
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_alpha_equals_krippendorff_package_large_seeded() -> None:
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4, size=(7, 5_000)).astype(float)
    data[rng.random(data.shape) < 0.35] = nan
    data[:, :2_500] = np.where(np.isnan(data[:, :2_500]), nan, data[0, :2_500])  # some agreement
    ours = krippendorff_alpha_nominal(data)
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"),
                                 abs=1e-9)
    assert 0.2 < ours < 0.8


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 3)), min_size=1, max_size=60))
def test_cohen_equals_sklearn(pairs: list[tuple[int, int]]) -> None:
    a, b = map(np.array, zip(*pairs))
    both = (a >= 0) & (b >= 0)
    ours = cohen_kappa(a, b)
    if not both.any() or len(set(a[both]) | set(b[both])) < 2:
        assert math.isnan(ours)  # no shared unit, or one label on both sides: undefined
        return
    assert ours == pytest.approx(cohen_kappa_score(a[both], b[both]), abs=1e-12)


def test_cohen_matrix() -> None:
    data = [[0, 1, 1, -1], [0, 1, 0, 1], [-1, -1, 1, 1]]
    kappa, shared = cohen_matrix(data)
    assert shared.tolist() == [[3, 3, 1], [3, 4, 2], [1, 2, 2]]
    assert np.isnan(np.diag(kappa)).all()
    assert kappa[0, 1] == kappa[1, 0] == pytest.approx(cohen_kappa_score([0, 1, 1], [0, 1, 0]))
    assert math.isnan(kappa[0, 2])  # one shared unit: one label each, chance agreement 1


def test_observed_agreement_counts_pairs_within_units() -> None:
    # Units (A, A, B): 1 of 3 pairs agree; (A, B): 0 of 1; (A, A): 1 of 1; a single label: left out.
    assert observed_agreement([[2, 1], [1, 1], [2, 0], [1, 0]]) == pytest.approx((1 / 3 + 0 + 1) / 3)
    assert math.isnan(observed_agreement([[1, 0], [0, 1]]))


# Gwet, K. L. (2014), Handbook of Inter-Rater Reliability, 4th ed.: two worked examples with missing
# ratings, as irrCAC ships them (raw_4raters, raw_5observers) with the published results of its
# Fleiss' generalised kappa (irrCAC's test/unit/irrCAC/raw/test_fleiss.py): P_a, P_e and kappa.
GWET_4RATERS = [  # 12 units x 4 raters, categories 1-5
    [1, 1, nan, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [nan, 5, 5, 5], [nan, nan, 1, 1], [nan, nan, 3, nan],
]
GWET_5OBSERVERS = [  # 15 units x 5 observers, categories 0-3
    [1, 1, 2, nan, 2], [1, 1, 0, 1, nan], [2, 3, 3, 3, nan], [nan, 0, 0, nan, 0], [0, 0, 0, nan, 0],
    [0, 0, 0, nan, 0], [1, 0, 2, nan, 1], [1, nan, 2, 0, nan], [2, 2, 2, nan, 2], [2, 1, 1, 1, nan],
    [nan, 1, 0, 0, nan], [0, 0, 0, 0, nan], [1, 2, 2, 2, nan], [3, 3, 2, 2, 3], [1, 1, 1, nan, 1],
]


def gwet_parts(units_by_raters: list[list[float]]) -> tuple[float, float, float]:
    """(P_a, P_e, kappa) of our Fleiss' kappa, P_a and P_e recovered from kappa and the counts."""
    counts = value_counts(np.array(units_by_raters, dtype=float).T)
    kappa = fleiss_kappa(counts)
    r = counts.sum(axis=1)
    c, r = counts[r > 0], r[r > 0]
    p_e = float(((c / r[:, None]).mean(axis=0) ** 2).sum())
    return kappa * (1 - p_e) + p_e, p_e, kappa


@pytest.mark.parametrize("data, published", [
    (GWET_4RATERS, (0.818, 0.239, 0.761)),
    (GWET_5OBSERVERS, (0.616, 0.291, 0.458)),
])
def test_fleiss_unequal_raters_gwet_worked_examples(data, published) -> None:
    p_a, p_e, kappa = gwet_parts(data)
    assert (round(p_a, 3), round(p_e, 3), round(kappa, 3)) == published
    # A single-rated unit (the 4 raters' unit 12) counts in the chance agreement: dropping it changes kappa.
    counts = value_counts(np.array(data, dtype=float).T)
    if (counts.sum(axis=1) == 1).any():
        assert fleiss_kappa(counts[counts.sum(axis=1) >= 2]) != pytest.approx(kappa, abs=1e-4)


def test_fleiss_equal_raters_is_fleiss_1971_and_undefined_cases() -> None:
    # With the same raters for every unit, Gwet's generalisation is Fleiss' formula: p_j pooled.
    counts = np.array(FLEISS_1971, dtype=float)
    p = counts.sum(axis=0) / counts.sum()
    p_e = (p ** 2).sum()
    assert fleiss_kappa(counts) == pytest.approx((observed_agreement(counts) - p_e) / (1 - p_e), abs=1e-12)
    assert math.isnan(fleiss_kappa([[3, 0], [2, 0]]))  # one category: chance agreement 1
    assert math.isnan(fleiss_kappa([[1, 0], [0, 1]]))  # no unit with two ratings
    assert math.isnan(fleiss_kappa(np.zeros((0, 2))))
    # Units with no rating at all are dropped before the shares are averaged.
    assert fleiss_kappa([[2, 0], [0, 2], [1, 1], [0, 0]]) == pytest.approx(fleiss_kappa([[2, 0], [0, 2], [1, 1]]))


def test_majority_agreement() -> None:
    data = [
        [0, 0, 1, 2, -1],
        [0, 1, 1, 0, 0],
        [0, 1, 0, 1, 0],
    ]
    agree, units = majority_agreement(data)
    # Annotator 0: others (0,0) agreed with; (1,1) not; (1,0) and (0,1) are ties: left out.
    # Annotator 1: (0,0) yes; three ties; unit 4, one other (0): yes.
    # Annotator 2: (0,0) yes; (0,1) tie; (1,1) no; (2,0) tie; unit 4, one other (0): yes.
    assert units.tolist() == [2, 2, 3]
    assert agree.tolist() == [0.5, 1.0, pytest.approx(2 / 3)]


def noisy(seed: int, units: int = 300, annotators: int = 4, keep: float = 0.8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, units)
    return np.where(rng.random((annotators, units)) < keep, truth, rng.integers(0, 3, (annotators, units)))


def test_resample_weights_draw_as_many_clusters_as_there_are_from_the_seed() -> None:
    chunks = list(resample_weights(7, 50, 3, max_cells=7 * 8))  # chunks of 8 resamples
    weights = np.concatenate(chunks)
    assert weights.shape == (50, 7) and len(chunks) == 7
    assert (weights.sum(axis=1) == 7).all()  # every resample draws n of n clusters
    rng = np.random.default_rng(3)  # resample b: rng.integers(0, n, n), one after another
    for b in range(50):
        assert weights[b].tolist() == np.bincount(rng.integers(0, 7, size=7), minlength=7).tolist()
    assert np.array_equal(weights, np.concatenate(list(resample_weights(7, 50, 3))))  # chunking changes nothing
    assert not np.array_equal(weights, np.concatenate(list(resample_weights(7, 50, 4))))


def test_bootstrap_alpha_resamples_equal_alpha_of_the_resampled_units() -> None:
    data = noisy(3, units=60)
    clusters = np.repeat(np.arange(20), 3)  # 20 articles of 3 sentences
    values = bootstrap_alpha(data, clusters, n_boot=40, random_state=5)
    weights = np.concatenate(list(resample_weights(20, 40, 5)))
    order = sorted({str(c) for c in clusters})  # weights' columns: the clusters in the sorted order of their ids
    for b in (0, 17, 39):
        units = np.concatenate([np.flatnonzero(clusters.astype(str) == c) for k, c in enumerate(order)
                                for _ in range(weights[b, k])])
        resampled = data[:, units].astype(float)
        assert values[b] == pytest.approx(krippendorff.alpha(reliability_data=resampled,
                                                             level_of_measurement="nominal"), abs=1e-12)
    assert np.array_equal(values, bootstrap_alpha(data, clusters, n_boot=40, random_state=5))
    assert not np.array_equal(values, bootstrap_alpha(data, clusters, n_boot=40, random_state=6))


def test_bootstrap_moves_whole_articles() -> None:
    # Every article holds the same three sentences: any resample of whole articles has the
    # data's own alpha; resampling sentences does not.
    article = np.array([[0, 1, 2], [0, 1, 1]])
    data, clusters = np.tile(article, 12), np.repeat(np.arange(12), 3)
    alpha = krippendorff_alpha_nominal(data)
    assert np.allclose(bootstrap_alpha(data, clusters, n_boot=200), alpha)
    assert np.ptp(bootstrap_alpha(data, None, n_boot=200)) > 0.1
    ci = percentile_interval(bootstrap_alpha(data, clusters, n_boot=200), level=0.95, clusters=12, min_clusters=10)
    assert ci.status == "degenerate" and ci.low is None and "every resample gives" in ci.note


def test_bootstrap_alphas_take_every_question_of_a_sentence_together() -> None:
    # Two questions that always agree together (in the same sentences): their alphas move
    # together in every resample, and the pooled one lies between them.
    a = noisy(1, units=40)
    b = np.where(a == a[0], a, (a + 1) % 3)
    values = bootstrap_alphas([a, b], [f"s{i:02d}" for i in range(40)], n_boot=300, random_state=0)
    assert values.shape == (300, 3)
    weights = np.concatenate(list(resample_weights(40, 300, 0)))
    for row, w in zip(values[:5], weights[:5]):
        units = np.repeat(np.arange(40), w)
        assert row[0] == pytest.approx(krippendorff_alpha_nominal(a[:, units]), abs=1e-12)
        assert row[1] == pytest.approx(krippendorff_alpha_nominal(b[:, units]), abs=1e-12)
        assert row[2] == pytest.approx(pooled_alpha_nominal([a[:, units], b[:, units]]), abs=1e-12)
    lo, hi = np.minimum(values[:, 0], values[:, 1]), np.maximum(values[:, 0], values[:, 1])
    assert ((lo - 1e-12 <= values[:, 2]) & (values[:, 2] <= hi + 1e-12)).all()
    with pytest.raises(ValueError, match="same units"):
        bootstrap_alphas([a, b[:, :10]])
    with pytest.raises(ValueError, match="clusters for"):
        bootstrap_alphas([a], np.arange(3))


tables = st.lists(arrays(np.float64, st.tuples(st.integers(2, 4), st.integers(2, 25)),
                         elements=st.sampled_from([nan, 0.0, 1.0, 2.0])), min_size=1, max_size=4)


@settings(max_examples=examples(200), deadline=None)
@given(tables)
def test_pooled_alpha_lies_between_the_question_alphas(datas: list[np.ndarray]) -> None:
    alphas = [krippendorff_alpha_nominal(d) for d in datas]
    defined = [a for a in alphas if not math.isnan(a)]
    pooled = pooled_alpha_nominal(datas)
    if not defined:
        assert math.isnan(pooled)
        return
    assert min(defined) - 1e-12 <= pooled <= max(defined) + 1e-12
    weights = pooled_weights(datas)
    assert weights.sum() == pytest.approx(1.0)
    assert pooled == pytest.approx(sum(w * a for w, a in zip(weights, alphas) if w > 0), abs=1e-12)


def test_pooled_alpha_is_not_one_table_of_all_labels() -> None:
    a = [[0, 1, 0, 1, 1], [0, 1, 1, 1, 1]]
    b = [[0, 0, 1, 2, 2], [0, 1, 1, 2, 2]]
    one_table = krippendorff.alpha(reliability_data=np.hstack([a, np.array(b) + 2]), level_of_measurement="nominal")
    assert one_table == pytest.approx(0.7532, abs=1e-4)  # above both questions' alphas: the old "overall"
    assert pooled_alpha_nominal([a, b]) == pytest.approx(2 / 3)  # between 0.5714 and 0.7273
    assert pooled_alpha_nominal([a, a]) == pytest.approx(krippendorff_alpha_nominal(a))


@pytest.mark.parametrize("undefined, status", [(25, "interval"), (26, "undefined")])
def test_percentile_interval_counts_undefined_resamples(undefined: int, status: str) -> None:
    values = np.linspace(0, 1, 1000)
    values[:undefined] = nan
    ci = percentile_interval(values, level=0.95, clusters=50, min_clusters=10)
    assert (ci.status, ci.undefined, ci.resamples, ci.clusters) == (status, undefined, 1000, 50)
    if status == "interval":
        finite = values[np.isfinite(values)]
        assert (ci.low, ci.high) == pytest.approx(tuple(np.percentile(finite, [2.5, 97.5])), abs=1e-12)
        assert "undefined in 25 of 1,000 resamples (2.5%)" in ci.note and "(2.5% undefined)" in ci.describe()
    else:
        assert ci.low is None and "more than the 2.5%" in ci.note and ci.describe() == "none: undefined"


def test_percentile_interval_needs_enough_clusters() -> None:
    ci = percentile_interval(None, level=0.95, clusters=9, min_clusters=10)
    assert (ci.status, ci.resamples, ci.low) == ("too few clusters", 0, None)
    assert ci.note.startswith("9 articles: an interval needs 10") and ci.describe() == "none: 9 articles"
    ok = percentile_interval([0.0, 1.0], level=0.5, clusters=10, min_clusters=10)
    assert (ok.status, ok.low, ok.high) == ("interval", 0.25, 0.75) and ok.describe() == "0.250 to 0.750"
    assert percentile_interval([], level=0.95, clusters=10, min_clusters=10).status == "undefined"


def test_span_f1_exact_and_overlap() -> None:
    a = [[(0, 10, "CLAIM"), (12, 20, "SOURCE")], [(0, 5, "CLAIM")]]
    b = [[(0, 10, "CLAIM"), (13, 20, "SOURCE")], [(3, 8, "SOURCE")]]
    assert span_f1(a, b) == pytest.approx(2 * 1 / (3 + 3))  # one exact match of 3 + 3 spans
    assert span_f1(a, b, overlap=True) == pytest.approx(2 / 3)  # P = 2/3, R = 2/3
    assert span_f1([[]], [[(0, 1, "CLAIM")]]) == 0.0
    assert math.isnan(span_f1([[]], [[]]))
    assert span_f1([[(0, 4, "CLAIM")]], [[(4, 8, "CLAIM")]], overlap=True) == 0.0  # touching is not overlapping


# --- the report ----------------------------------------------------------------------------

SCHEME = load_scheme()
TARGETS = SCHEME.target_ids
TEXT = "Haftar said the army would advance."
_ids = itertools.count(1)


def ann(sentence: str, annotator: str, claim: str, stance: str | dict[str, str] = "NONE",
        spans: tuple[tuple[int, int, str], ...] = (), *, email: str | None = None,
        lead_time: float | None = None) -> Annotation:
    if isinstance(stance, str):
        stance = dict.fromkeys(TARGETS, stance)
    n = next(_ids)
    return Annotation(
        sentence_id=sentence, article_id=sentence.split(":")[0], text=TEXT,
        annotator=Annotator(id=annotator, email=email), stance=stance, claim=claim,
        spans=[Span(label=label, start=s, end=e, article_start=s, article_end=e, text=TEXT[s:e])
               for s, e, label in spans],
        annotation_id=n, task_id=n, lead_time=lead_time, scheme=SCHEME.id,
    )


def three_annotators() -> list[Annotation]:
    return [
        ann("a:0-10", "1", "CLAIM", "FAVOR", ((0, 6, "SOURCE"), (7, 20, "CLAIM")), email="one@example.com",
            lead_time=10.0),
        ann("a:0-10", "2", "CLAIM", "FAVOR", ((0, 6, "SOURCE"), (7, 25, "CLAIM")), lead_time=4.0),
        ann("a:0-10", "3", "NO_CLAIM", "FAVOR"),
        ann("a:11-20", "1", "NO_CLAIM", "AGAINST", lead_time=2.0),
        ann("a:11-20", "2", "NO_CLAIM", "NONE", lead_time=6.0),
        ann("a:11-20", "3", "NO_CLAIM", "AGAINST"),
        ann("b:0-5", "1", "CLAIM", lead_time=3.0),
        ann("b:0-5", "2", "NO_CLAIM", lead_time=5.0),  # a disagreement
        ann("b:6-9", "3", "CLAIM"),  # a unit with one label
    ]


def many_articles(articles: int, seed: int = 0, *, agree: float = 0.8, per_article: int = 3) -> list[Annotation]:
    """Three annotators on every sentence of ``articles`` articles, agreeing with a truth at ``agree``."""
    rng = np.random.default_rng(seed)
    out = []
    for a in range(articles):
        for s in range(per_article):
            truth = (str(rng.choice(["CLAIM", "NO_CLAIM"])), {t: str(rng.choice(["FAVOR", "AGAINST", "NONE"]))
                                                              for t in TARGETS})
            for who in ("1", "2", "3"):
                claim = truth[0] if rng.random() < agree else str(rng.choice(["CLAIM", "NO_CLAIM"]))
                stance = {t: v if rng.random() < agree else str(rng.choice(["FAVOR", "AGAINST", "NONE"]))
                          for t, v in truth[1].items()}
                out.append(ann(f"art{a}:{s * 10}-{s * 10 + 5}", who, claim, stance))
    return out


def test_report_counts_and_statistics() -> None:
    report = agreement_report(three_annotators(), SCHEME, n_boot=200)
    assert report.format == "stance-agreement/v2" and report.scheme == SCHEME.id
    assert (report.annotations, report.sentences, report.articles, report.annotators) == (9, 4, 2, ["1", "2", "3"])
    names = [q.question for q in report.questions]
    assert names == ["claim", *(SCHEME.stance_control(t) for t in TARGETS)]
    claim = report.questions[0]
    assert (claim.units, claim.annotators, claim.units_multi, claim.units_single, claim.articles) == (4, 3, 3, 1, 2)
    # The single-label unit is left out of alpha: the statistics equal those of the 3 shared units.
    data = [[0, 1, 0], [0, 1, 1], [1, 1, -1]]
    assert claim.alpha == pytest.approx(krippendorff_alpha_nominal(data))
    # Fleiss' kappa (Gwet) counts it in the chance agreement.
    assert claim.fleiss_kappa == pytest.approx(fleiss_kappa(value_counts([[0, 1, 0, -1], [0, 1, 1, -1],
                                                                           [1, 1, -1, 0]])))
    assert claim.observed_agreement == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert claim.cohen_units == [[3, 3, 2], [3, 3, 2], [2, 2, 3]]
    assert claim.cohen_kappa[0][1] == pytest.approx(cohen_kappa_score([0, 1, 0], [0, 1, 1]))
    assert claim.cohen_kappa[0][0] is None
    assert "1 unit with one label left out of every statistic but Fleiss' chance agreement" in claim.notes
    pooled = report.pooled
    assert pooled.units == 4 * (1 + len(TARGETS)) and pooled.units_multi == 3 * (1 + len(TARGETS))
    claim4 = [[0, 1, 0, -1], [0, 1, 1, -1], [1, 1, -1, 0]]
    stance = [[0, 1, 2, -1], [0, 2, 2, -1], [0, 1, -1, 2]]  # FAVOR 0, AGAINST 1, NONE 2; every target alike
    assert pooled.alpha == pytest.approx(pooled_alpha_nominal([claim4] + [stance] * len(TARGETS)))
    assert pooled.weights == pytest.approx(dict(zip(names, pooled_weights([claim4] + [stance] * len(TARGETS)))))
    spans = report.spans
    assert (spans.units_multi, spans.units_single) == (3, 1)
    pair = spans.pairs[0]
    assert pair.annotators == ("1", "2") and pair.spans == (2, 2)
    assert (pair.exact_f1, pair.overlap_f1) == (0.5, 1.0)


def test_report_per_annotator() -> None:
    skips = [RejectedAnnotation(file="x.json", fate=fate, kind=fate, task_id=1, annotation_id=n, sentence_id="a:0-10",
                                annotator=who, reason="", annotation={})
             for n, (fate, who) in enumerate([("skipped", Annotator(id="2", email="two@example.com")),
                                              ("skipped", Annotator(id="2")), ("superseded", Annotator(id="1")),
                                              ("skipped", Annotator(id="9", email="nine@example.com")),
                                              ("skipped", None)])]
    report = agreement_report(three_annotators(), SCHEME, n_boot=0, skips=skips, rejects_source="r.jsonl")
    by = {a.annotator: a for a in report.per_annotator}
    assert list(by) == ["1", "2", "3", "9"]  # 9 skipped everything: listed with no labels
    assert [by[a].labels for a in by] == [3, 3, 3, 0]
    assert [by[a].skips for a in by] == [0, 2, 0, 1]  # superseded and nameless lines are not skips
    assert report.emails == {"1": "one@example.com", "2": "two@example.com", "9": "nine@example.com"}
    assert [by[a].median_lead_time for a in by] == [3.0, 5.0, None, None]
    assert [by[a].lead_times for a in by] == [3, 3, 0, 0]
    assert report.rejects == "r.jsonl" and any("1 more that name no annotator" in n for n in report.notes)
    # Agreement with the others' majority: per question from majority_agreement, pooled by units.
    names = [q.question for q in report.questions]
    one = by["1"]
    for q, name in zip(one.questions, names):
        codes = {"claim": [[0, 1, 0], [0, 1, 1], [1, 1, -1]]}.get(name, [[0, 1, 2], [0, 2, 2], [0, 1, -1]])
        codes = np.column_stack([codes, [-1, -1, 0]]) if name == "claim" else np.column_stack([codes, [-1, -1, 2]])
        agree, units = majority_agreement(codes)
        assert (q.majority_units, q.majority_agreement) == (units[0], agree[0] if units[0] else None)
    units = sum(q.majority_units for q in one.questions)
    assert one.majority_units == units
    assert one.majority_agreement == pytest.approx(sum(q.majority_agreement * q.majority_units
                                                       for q in one.questions if q.majority_units) / units)
    assert by["1"].gold_units is None and by["1"].questions[0].dawid_skene is None
    without = agreement_report(three_annotators(), SCHEME, n_boot=0)
    assert [a.skips for a in without.per_annotator] == [None, None, None] and without.rejects is None


def test_report_against_gold_and_dawid_skene() -> None:
    records = many_articles(6, seed=4, agree=0.7)
    gold, _, _ = adjudicate(records, SCHEME, method="majority")
    report = agreement_report(records, SCHEME, n_boot=0, gold=gold, gold_source="gold.jsonl", dawid_skene=True)
    assert report.gold == "gold.jsonl" and report.dawid_skene
    gold_by = {g.sentence_id: g for g in gold}
    for person in report.per_annotator:
        mine = [r for r in records if r.annotator.id == person.annotator]
        for q in person.questions:
            pairs = [(r.claim, gold_by[r.sentence_id].claim) if q.question == "claim" else
                     (r.stance[q.question[len("stance_"):]], gold_by[r.sentence_id].stance.get(q.question[7:]))
                     for r in mine]
            pairs = [(x, y) for x, y in pairs if y is not None]
            assert q.gold_units == len(pairs)
            assert q.gold_agreement == pytest.approx(sum(x == y for x, y in pairs) / len(pairs))
        assert person.gold_units == sum(q.gold_units for q in person.questions)
    # Dawid-Skene: each annotator's matrix is crowd-kit's errors_ (P(answer | truth)), rows truth.
    import pandas as pd
    from crowdkit.aggregation import DawidSkene
    frame = pd.DataFrame([(r.sentence_id, r.annotator.id, r.claim) for r in records], columns=["task", "worker", "label"])
    errors = DawidSkene(n_iter=100, tol=1e-5).fit(frame).errors_
    for person in report.per_annotator:
        ds = person.questions[0].dawid_skene
        assert ds.labels == ["CLAIM", "NO_CLAIM"]
        for i, truth in enumerate(ds.labels):
            for j, said in enumerate(ds.labels):
                assert ds.matrix[i][j] == pytest.approx(errors.loc[(person.annotator, said), truth], abs=1e-6)
        assert all(sum(row) == pytest.approx(1.0) for row in ds.matrix)
    other = [g.model_copy(update={"scheme": "other/v1"}) for g in gold[:1]]
    with pytest.raises(AnnotateError, match="gold row of scheme 'other/v1'"):
        agreement_report(records, SCHEME, n_boot=0, gold=other)


def test_report_intervals_are_the_percentiles_of_article_resamples() -> None:
    records = many_articles(MIN_ARTICLES + 2, seed=1)
    report = agreement_report(records, SCHEME, n_boot=300, random_state=7)
    names = [q.question for q in report.questions]
    sentences = sorted({r.sentence_id for r in records}, key=lambda s: (s.split(":")[0], s))
    # Rebuild the tables the report resamples, in its own sentence order (natural sort of ids).
    order = sorted({r.sentence_id for r in records}, key=agreement.natural_key)
    assert sorted(order) == sorted(sentences)
    codes = {n: np.full((3, len(order)), -1) for n in names}
    col = {s: j for j, s in enumerate(order)}
    for r in records:
        i, j = int(r.annotator.id) - 1, col[r.sentence_id]
        codes["claim"][i, j] = ["CLAIM", "NO_CLAIM"].index(r.claim)
        for t in TARGETS:
            codes[SCHEME.stance_control(t)][i, j] = ["FAVOR", "AGAINST", "NONE"].index(r.stance[t])
    values = bootstrap_alphas([codes[n] for n in names], [s.split(":")[0] for s in order], n_boot=300,
                              random_state=7)
    for q, column in zip([*report.questions, report.pooled], values.T):
        assert q.alpha_ci.status == "interval" and q.alpha_ci.resamples == 300
        assert (q.alpha_ci.low, q.alpha_ci.high) == pytest.approx(tuple(np.percentile(column, [2.5, 97.5])), abs=1e-12)
        assert q.alpha_ci.low < q.alpha < q.alpha_ci.high
    assert report.bootstrap.min_articles == MIN_ARTICLES and report.bootstrap.level == 0.95
    other = agreement_report(records, SCHEME, n_boot=300, random_state=8)
    assert other.questions[0].alpha_ci != report.questions[0].alpha_ci  # the seed is used
    narrow = agreement_report(records, SCHEME, n_boot=300, random_state=7, level=0.5)
    assert (narrow.questions[0].alpha_ci.low, narrow.questions[0].alpha_ci.high) == pytest.approx(tuple(
        np.percentile(values[:, 0], [25, 75])), abs=1e-12)


def test_report_interval_needs_min_articles_and_says_why() -> None:
    few = agreement_report(many_articles(MIN_ARTICLES - 1), SCHEME, n_boot=100)
    for ci in [*(q.alpha_ci for q in few.questions), few.pooled.alpha_ci]:
        assert (ci.status, ci.resamples, ci.clusters) == ("too few clusters", 0, MIN_ARTICLES - 1)
    assert any(f"an interval needs {MIN_ARTICLES}" in n for n in few.questions[0].notes)
    enough = agreement_report(many_articles(MIN_ARTICLES), SCHEME, n_boot=100)
    assert enough.questions[0].alpha_ci.status == "interval"


def test_report_perfect_agreement_is_degenerate_not_one_to_one() -> None:
    records = [ann(f"art{a}:0-5", who, "CLAIM" if a % 2 else "NO_CLAIM") for a in range(MIN_ARTICLES + 5)
               for who in ("1", "2")]
    claim = agreement_report(records, SCHEME, n_boot=200).questions[0]
    assert claim.alpha == 1.0 and claim.alpha_ci.status == "degenerate"
    assert claim.alpha_ci.low is None and claim.alpha_ci.high is None
    assert any("every resample gives 1.000" in n for n in claim.notes)
    assert "1.000 – 1.000" not in report_markdown(agreement_report(records, SCHEME, n_boot=200))


def test_report_counts_undefined_resamples() -> None:
    # One disagreement among otherwise all-NONE answers: resamples without it have no variation.
    records = [ann(f"art{a}:0-5", who, "CLAIM", "FAVOR" if (a, who) == (0, "2") else "NONE")
               for a in range(40) for who in ("1", "2")]
    question = agreement_report(records, SCHEME, n_boot=500).questions[1]
    ci = question.alpha_ci
    values = bootstrap_alpha(np.array([[2] * 40, [0] + [2] * 39]), np.arange(40), n_boot=500)
    assert ci.undefined == int(np.isnan(values).sum()) > 0.025 * 500
    assert ci.status == "undefined" and ci.low is None
    assert f"undefined in {ci.undefined} of 500 resamples" in ci.note


def test_report_json_is_strict_and_has_no_nan() -> None:
    report = agreement_report(three_annotators(), SCHEME, n_boot=100)
    text = report.model_dump_json()
    assert "NaN" not in text and "Infinity" not in text
    assert AgreementReport.model_validate_json(text) == report
    schema = json.dumps(AgreementReport.model_json_schema())
    assert '"additionalProperties": false' in schema
    with pytest.raises(ValueError):
        AgreementReport.model_validate({**json.loads(text), "format": "stance-agreement/v1"})


def test_report_no_variation_is_null_with_a_reason() -> None:
    records = [ann("a:0-1", "1", "CLAIM"), ann("a:0-1", "2", "CLAIM")]
    claim = agreement_report(records, SCHEME, n_boot=50).questions[0]
    assert claim.observed_agreement == 1.0
    assert claim.alpha is None and claim.fleiss_kappa is None and claim.alpha_ci.status == "too few clusters"
    assert any("undefined" in n for n in claim.notes)
    many = [ann(f"art{a}:0-1", who, "CLAIM") for a in range(MIN_ARTICLES) for who in ("1", "2")]
    ci = agreement_report(many, SCHEME, n_boot=50).questions[0].alpha_ci
    assert (ci.status, ci.note) == ("undefined", "alpha is undefined on the data itself: no interval")


@pytest.mark.parametrize("records", [
    [],
    [ann("a:0-1", "1", "CLAIM"), ann("a:2-3", "1", "NO_CLAIM")],  # one annotator
    [ann("a:0-1", "1", "CLAIM"), ann("a:2-3", "2", "NO_CLAIM")],  # no shared unit
])
def test_report_without_pairs_is_null_not_a_crash(records: list[Annotation]) -> None:
    report = agreement_report(records, SCHEME, n_boot=50)
    for q in [*report.questions, report.pooled]:
        assert q.alpha is None and q.observed_agreement is None
        assert q.notes
    assert all(q.fleiss_kappa is None for q in report.questions)
    assert all(a.majority_agreement is None for a in report.per_annotator)
    assert report.spans.exact_f1 is None and report.spans.notes
    assert "NaN" not in report.model_dump_json()
    assert "## Notes" in report_markdown(report)
    assert plot_agreement(report)[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_rejects_duplicates_and_other_schemes() -> None:
    first, second = ann("a:0-1", "1", "CLAIM"), ann("a:0-1", "1", "NO_CLAIM")
    with pytest.raises(AnnotateError, match=r"second answer.*first: annotation \d+.*; keep one answer"):
        agreement_report([first, second], SCHEME)
    other = ann("a:0-1", "2", "CLAIM", {"someone_else": "FAVOR"})
    with pytest.raises(AnnotateError, match=r"stance targets \['someone_else'\] are not the scheme's.*--scheme"):
        agreement_report([first, other], SCHEME)
    with pytest.raises(AnnotateError, match="labelled with scheme 'stance-claim/v0'"):
        agreement_report([first.model_copy(update={"scheme": "stance-claim/v0"})], SCHEME)


@pytest.mark.parametrize("data", [[0, 1], [[0, -2]], [[0.5, 1.0]], [["a", "b"]]])
def test_bad_reliability_data_is_refused(data: object) -> None:
    with pytest.raises(ValueError):
        krippendorff_alpha_nominal(data)


def test_report_markdown_leads_with_alpha_and_names_annotators_by_email() -> None:
    text = report_markdown(agreement_report(three_annotators(), SCHEME, n_boot=100), image="g.png")
    assert text.startswith(f"# Agreement ({SCHEME.id})")
    for heading in ("## Per annotator", "### Per question", "## Cohen's kappa per annotator pair", "### claim",
                    "## Spans", "## Notes"):
        assert heading in text
    table = text.split("\n\n")[2].splitlines()
    assert table[0].startswith("| question | alpha | alpha 95% interval |")
    assert table[2].startswith("| claim |") and table[-1].startswith("| *pooled* (4 questions) |")
    assert "![alpha per question and agreement per annotator](g.png)" in text
    assert "| one@example.com | 3 | — | 3.0 |" in text and "annotator 2" in text
    assert "| one@example.com – annotator 2 | 3 | 2 / 2 | 0.500 | 1.000 |" in text
    assert "always lies between the lowest and the highest" in text
    assert "nan" not in text.lower()


def test_read_rejects(tmp_path) -> None:
    good = RejectedAnnotation(file="e.json", fate="skipped", kind="skipped", task_id=1, annotation_id=2,
                              sentence_id="a:0-1", annotator=Annotator(id="3"), reason="skipped", annotation={})
    path = tmp_path / "r.jsonl"
    path.write_text(good.model_dump_json() + "\n\n" + '{"file": 1}\n')
    rows = read_rejects(path)
    assert next(rows) == good
    with pytest.raises(AnnotateError, match=r"r.jsonl: line 3: .*; rejects files are written by `stance read`"):
        next(rows)
    with pytest.raises(AnnotateError, match="no such rejects file"):
        next(read_rejects(tmp_path / "none.jsonl"))


REPO = Path(__file__).resolve().parents[1]


def test_agree_command_per_annotator_files(tmp_path, capsys) -> None:
    scheme = REPO / "schemas" / "libya-seeds.json"  # found from the data without it too
    code, _, err = run(capsys, "read", REPO / "seeds" / "example-export-ls-1.23.2.json", "-o", tmp_path / "a.jsonl",
                       "--scheme", scheme)
    assert (code, err) == (0, "")
    code, _, err = run(capsys, "adjudicate", tmp_path / "a.jsonl", "-o", tmp_path / "gold.jsonl", "--scheme", scheme)
    assert (code, err) == (0, "")
    code, out, err = run(capsys, "agree", tmp_path / "a.jsonl", "-o", tmp_path / "g.json", "--markdown",
                         tmp_path / "g.md", "--gold", tmp_path / "gold.jsonl", "--rejects", tmp_path / "a.rejects.jsonl",
                         "--dawid-skene", "--bootstrap", "50", "--scheme", scheme)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["question", "alpha", "95%"]
    assert [line.split()[0] for line in lines[1:6]] == [
        "claim", "stance_haftar_lna", "stance_gna", "stance_turkey_military", "pooled"]
    assert lines[5].split()[1] == "0.906"  # chance within each question (one table of all labels: 0.956)
    assert "no interval (claim, stance_haftar_lna, stance_gna, stance_turkey_military, pooled): 2 articles" in out
    assert any(line.startswith("amira.haddad@example.com ") and line.split()[1:3] == ["21", "0"] for line in lines)
    assert lines[-1] == f"wrote {tmp_path / 'g.json'}, {tmp_path / 'g.md'}, {tmp_path / 'g.png'}"
    report = AgreementReport.model_validate_json((tmp_path / "g.json").read_text())
    assert report.gold == str(tmp_path / "gold.jsonl") and report.dawid_skene
    assert {a.email for a in report.per_annotator} == {"amira.haddad@example.com", "tom.becker@example.com"}
    assert all(a.gold_units and a.questions[0].dawid_skene for a in report.per_annotator)
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| amira.haddad@example.com | 21 | 0 |" in (tmp_path / "g.md").read_text()


def test_report_notes_word_for_word() -> None:
    report = agreement_report(three_annotators(), SCHEME, n_boot=50)
    interval = ("alpha interval: 2 articles with a unit of two or more labels: an interval needs "
                f"{MIN_ARTICLES} (coverage simulation, benchmarks/coverage.py)")
    for q in report.questions:
        assert q.notes == ["1 unit with one label left out of every statistic but Fleiss' chance agreement", interval]
    low, high = min(q.alpha for q in report.questions), max(q.alpha for q in report.questions)
    assert report.pooled.notes == [
        "chance agreement is taken within each question: pooled alpha is the per-question alphas' mean weighted by "
        f"n_q D_e,q, so it lies between the lowest ({low:.3f}) and the highest ({high:.3f})", interval]
    assert report.notes == ["units with a single label are counted (units_single) and left out of every statistic "
                            "but Fleiss' chance agreement"]
    assert report.pooled.method == ("1 - sum_q n_q D_o,q / sum_q n_q D_e,q: the per-question alphas weighted by "
                                    "n_q D_e,q")
    assert report.bootstrap.method == ("percentile; articles resampled with replacement, each with all its "
                                       "sentences and questions")
    empty = agreement_report([], SCHEME, n_boot=50)
    none = interval.replace("2 articles", "0 articles")
    assert empty.questions[0].notes == ["only 0 annotator(s) answered: no statistics", none]
    assert empty.pooled.notes == ["no question has a defined alpha: no pooled alpha", none]
    assert empty.notes[1:] == ["0 annotator(s): agreement needs two or more"]
    assert empty.spans.notes == ["no sentence has two annotators: no span statistics"]
    one_each = agreement_report([ann("a:0-1", "1", "CLAIM"), ann("a:2-3", "2", "NO_CLAIM")], SCHEME, n_boot=50)
    assert one_each.questions[0].notes[:2] == ["2 units with one label left out of every statistic but Fleiss' "
                                               "chance agreement", "no unit has two or more labels: no statistics"]
    no_spans = agreement_report([ann("a:0-1", "1", "CLAIM"), ann("a:0-1", "2", "CLAIM")], SCHEME, n_boot=50)
    assert no_spans.spans.notes == ["no spans were marked in sentences with two or more annotators: no span F1"]
    assert no_spans.questions[0].notes[0] == "alpha and Fleiss' kappa are undefined: every label given is the same"


def test_documented_defaults() -> None:
    # The README and `stance agree --help` promise 1,000 resamples, a 95% interval and seed 0.
    report = agreement_report(three_annotators(), SCHEME)
    assert (report.bootstrap.n_boot, report.bootstrap.level, report.bootstrap.random_state) == (1000, 0.95, 0)
    data = noisy(2, units=40)
    assert np.array_equal(bootstrap_alpha(data), bootstrap_alpha(data, None, n_boot=1000, random_state=0))
    assert np.array_equal(bootstrap_alphas([data]), bootstrap_alphas([data], None, n_boot=1000, random_state=0))


def test_errors_word_for_word(tmp_path) -> None:
    with pytest.raises(ValueError, match="^no question's table to resample$"):
        bootstrap_alphas([])
    with pytest.raises(ValueError, match="^every question's table must have the same units$"):
        bootstrap_alphas([[[0, 1]], [[0, 1, 2]]])
    with pytest.raises(ValueError, match=r"^10 clusters for 2 units$"):
        bootstrap_alphas([[[0, 1]]], np.arange(10))
    with pytest.raises(ValueError):
        span_f1([[], []], [[]])  # one annotator's units longer than the other's
    with pytest.raises(AnnotateError) as caught:
        next(read_rejects(tmp_path / "none.jsonl"))
    assert caught.value.message == (f"{tmp_path / 'none.jsonl'}: no such rejects file; give the rejects file "
                                    "`stance read` wrote (--rejects, or OUTPUT.rejects.jsonl)")
    (tmp_path / "bad.jsonl").write_text("{}\n")
    with pytest.raises(AnnotateError) as caught:
        next(read_rejects(tmp_path / "bad.jsonl"))
    assert caught.value.path == str(tmp_path / "bad.jsonl") and caught.value.where == "line 1"
    assert caught.value.fix == "rejects files are written by `stance read`, one record per line"


def test_gold_rows_are_matched_by_sentence_and_counted() -> None:
    records = many_articles(2, seed=3)
    gold, _, _ = adjudicate(records, SCHEME, method="majority")
    stranger = gold[0].model_copy(update={"sentence_id": "elsewhere:0-5"})
    report = agreement_report(records, SCHEME, n_boot=0, gold=[stranger, *gold], gold_source="g.jsonl")
    assert report.notes[-1] == (f"gold: {len(gold) + 1:,} rows read, {len(gold):,} of them sentences of these "
                                "annotations (gold adjudicated from these same annotators agrees with them by "
                                "construction: read it as a check, not as accuracy)")
    decided = sum(g.claim is not None for g in gold) + sum(len(g.stance) for g in gold)
    assert all(a.gold_units == decided for a in report.per_annotator)  # everyone answered every sentence
    with pytest.raises(InputError) as caught:
        agreement_report(records, SCHEME, n_boot=0, gold=[gold[0], gold[1].model_copy(update={"scheme": "x/v1"})])
    assert caught.value.message == (f"row 2 (sentence {gold[1].sentence_id}): gold row of scheme 'x/v1', not "
                                    f"'{SCHEME.id}'; give the gold file adjudicated from these annotations")


def test_undefined_statistics_raise_no_floating_point_error() -> None:
    # Every guard against 0/0 is in place: under numpy's strictest setting nothing divides by zero.
    with np.errstate(all="raise"):
        same = [[0, 0, 0], [0, 0, 0]]
        assert math.isnan(krippendorff_alpha_nominal(same)) and math.isnan(pooled_alpha_nominal([same, same]))
        assert np.isnan(bootstrap_alphas([same], n_boot=5)).all()
        assert math.isnan(pooled_alpha_nominal([[[0, -1], [-1, 0]]]))
        assert pooled_weights([same]).tolist() == [0.0]
        assert math.isnan(fleiss_kappa(value_counts(same))) and math.isnan(observed_agreement([[1, 0]]))
        assert math.isnan(cohen_kappa([0, 0], [0, 0]))


def test_touching_spans_do_not_overlap_either_way() -> None:
    assert coefficients._span_counts([(0, 4, "CLAIM")], [(4, 8, "CLAIM")], True) == (0, 1, 0, 1)
    assert coefficients._span_counts([(4, 8, "CLAIM")], [(0, 4, "CLAIM")], True) == (0, 1, 0, 1)
    assert coefficients._span_counts([(0, 5, "CLAIM")], [(4, 8, "CLAIM")], True) == (1, 1, 1, 1)


def test_annotators_in_natural_order_and_articles_with_pairs() -> None:
    records = [ann("a:0-1", "10", "CLAIM"), ann("a:0-1", "9", "CLAIM"), ann("a:0-1", "ann", "NO_CLAIM"),
               ann("b:0-1", "9", "CLAIM"), ann("b:2-3", "10", "CLAIM"), ann("c:0-1", "ann", "CLAIM")]
    report = agreement_report(records, SCHEME, n_boot=0)
    assert report.annotators == ["9", "10", "ann"]  # numbers by value, then names
    assert report.articles == 3 and report.questions[0].articles == 1 == report.pooled.articles
    assert report.sentences == 4


def test_pooled_observed_agreement_and_span_totals_over_pairs() -> None:
    records = three_annotators() + [ann("c:0-5", "1", "CLAIM", spans=((0, 4, "CLAIM"),)),
                                    ann("c:0-5", "3", "CLAIM", spans=((0, 5, "CLAIM"),))]
    report = agreement_report(records, SCHEME, n_boot=0)
    # Observed agreement over every (sentence, question) unit with two or more labels.
    shares = []
    for q in report.questions:
        counts = np.array([[sum(1 for r in records if r.sentence_id == s and
                                (r.claim if q.question == "claim" else r.stance[q.question[7:]]) == label)
                            for label in q.labels] for s in sorted({r.sentence_id for r in records})])
        shares += [(c * (c - 1)).sum() / (c.sum() * (c.sum() - 1)) for c in counts if c.sum() >= 2]
    assert report.pooled.observed_agreement == pytest.approx(np.mean(shares))
    assert report.pooled.units_multi == len(shares)
    # Spans: pairs 1-2 (sentences a:0-10, a:11-20, b:0-5) and 1-3 (a:0-10, a:11-20, c:0-5); 2-3 share a:*.
    by = {p.annotators: p for p in report.spans.pairs}
    assert set(by) == {("1", "2"), ("1", "3"), ("2", "3")}
    assert by[("1", "3")].spans == (3, 1) and by[("1", "3")].exact_f1 == 0.0
    assert by[("1", "3")].overlap_f1 == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    matched_a = 1 + 0 + 0  # exact: (0, 6, SOURCE) of 1-2; nothing of 1-3 or 2-3
    total_a, total_b = 2 + 3 + 2, 2 + 1 + 0
    assert report.spans.exact_f1 == pytest.approx(
        2 * (matched_a / total_a) * (matched_a / total_b) / (matched_a / total_a + matched_a / total_b))
    assert report.spans.overlap_f1 is not None and report.spans.overlap_f1 > report.spans.exact_f1
    lonely = agreement_report([ann("a:0-1", "1", "CLAIM"), ann("b:0-1", "2", "CLAIM"), ann("b:0-1", "3", "CLAIM",
                                                                                         spans=((0, 3, "CLAIM"),))],
                              SCHEME, n_boot=0)
    assert [p.annotators for p in lonely.spans.pairs] == [("2", "3")]  # 1-2 and 1-3 share nothing: skipped
    assert lonely.spans.exact_f1 == 0.0


def test_units_with_one_and_two_labels_are_told_apart() -> None:
    records = [ann("a:0-1", "1", "CLAIM"), ann("a:0-1", "2", "CLAIM"), ann("a:2-3", "1", "CLAIM"),
               ann("a:4-5", "2", "NO_CLAIM"), ann("a:4-5", "1", "CLAIM")]
    claim = agreement_report(records, SCHEME, n_boot=0).questions[0]
    assert (claim.units, claim.units_multi, claim.units_single) == (3, 2, 1)
    assert claim.notes[0].startswith("1 unit with one label")
    two = agreement_report(records + [ann("a:6-7", "2", "CLAIM")], SCHEME, n_boot=0).questions[0]
    assert two.notes[0].startswith("2 units with one label")


def test_alpha_interval_without_resamples_or_without_alpha() -> None:
    records = many_articles(MIN_ARTICLES)
    ci = agreement_report(records, SCHEME, n_boot=0).questions[0].alpha_ci
    assert (ci.status, ci.resamples, ci.undefined, ci.clusters, ci.low) == ("undefined", 0, 0, MIN_ARTICLES, None)
    assert ci.note.startswith("no resample")
    same = [ann(f"art{a}:0-1", who, "CLAIM") for a in range(MIN_ARTICLES) for who in ("1", "2")]
    ci = agreement_report(same, SCHEME, n_boot=20).questions[0].alpha_ci
    assert ci == metrics.Interval(status="undefined", low=None, high=None, clusters=MIN_ARTICLES, resamples=0,
                                  undefined=0, note="alpha is undefined on the data itself: no interval")


def test_per_annotator_totals_skip_only_annotators_and_stance_confusions() -> None:
    records = many_articles(5, seed=8, agree=0.6)
    gold, _, _ = adjudicate(records, SCHEME, method="majority")
    skips = [RejectedAnnotation(file="x", fate="skipped", kind="skipped", task_id=1, annotation_id=n, sentence_id=None,
                                annotator=Annotator(id=who), reason="", annotation={})
             for n, who in enumerate(["10", "9"])]
    report = agreement_report(records, SCHEME, n_boot=0, gold=gold, skips=skips, dawid_skene=True)
    assert [a.annotator for a in report.per_annotator] == ["1", "2", "3", "9", "10"]
    gold_by = {g.sentence_id: g for g in gold}
    for person in report.per_annotator[:3]:
        mine = [r for r in records if r.annotator.id == person.annotator]
        assert [q.labels for q in person.questions] == [len(mine)] * len(person.questions)
        hits = units = 0
        for r in mine:
            g = gold_by[r.sentence_id]
            pairs = [(r.claim, g.claim)] + [(r.stance[t], g.stance.get(t)) for t in TARGETS]
            hits += sum(x == y for x, y in pairs if y is not None)
            units += sum(y is not None for _, y in pairs)
        assert (person.gold_units, person.gold_agreement) == (units, pytest.approx(hits / units))
    for skipper in report.per_annotator[3:]:
        assert (skipper.labels, skipper.skips, skipper.majority_units, skipper.gold_units) == (0, 1, 0, 0)
        assert skipper.majority_agreement is None and skipper.gold_agreement is None
        assert all((q.labels, q.majority_units, q.gold_units, q.gold_agreement, q.dawid_skene) == (0, 0, 0, None, None)
                   for q in skipper.questions)
    # A stance question: labels in the scheme's order (FAVOR, AGAINST, NONE), not crowd-kit's sorted one.
    import pandas as pd
    from crowdkit.aggregation import DawidSkene
    target = TARGETS[0]
    frame = pd.DataFrame([(r.sentence_id, r.annotator.id, r.stance[target]) for r in records],
                         columns=["task", "worker", "label"])
    errors = DawidSkene(n_iter=100, tol=1e-5).fit(frame).errors_
    for person in report.per_annotator[:3]:
        ds = person.questions[1].dawid_skene
        assert ds.labels == [label for label in ("FAVOR", "AGAINST", "NONE") if label in set(frame.label)]
        for i, truth in enumerate(ds.labels):
            for j, said in enumerate(ds.labels):
                expected = errors.loc[(person.annotator, said), truth] if (person.annotator, said) in errors.index else 0
                assert ds.matrix[i][j] == pytest.approx(expected, abs=1e-6)


def test_edge_cases_of_the_report_and_its_helpers() -> None:
    assert math.isnan(pooled_alpha_nominal([]))
    agree, units = majority_agreement([[0, 0], [0, 0]])  # one category: everyone agrees with everyone
    assert agree.tolist() == [1.0, 1.0] and units.tolist() == [2, 2]
    empty = agreement_report([], SCHEME, n_boot=10, dawid_skene=True)
    assert empty.per_annotator == [] and empty.dawid_skene
    # Spans: 3 sentences with two annotators, 2 with one, 1 with three.
    records = [ann(f"a:{i}-{i + 1}", who, "CLAIM") for i, whos in enumerate(["12", "12", "12", "1", "2", "123"])
               for who in whos]
    spans = agreement_report(records, SCHEME, n_boot=0).spans
    assert (spans.units_multi, spans.units_single) == (4, 2)
    two = agreement_report([ann("a:0-1", "1", "CLAIM"), ann("a:0-1", "2", "CLAIM")], SCHEME, n_boot=0)
    assert not any("annotator(s): agreement needs two or more" in n for n in two.notes)
    assert agreement_report(three_annotators(), SCHEME, n_boot=0, rejects_source="r.jsonl").rejects is None
    # One resample: every resample equal, not "no resample".
    one = agreement_report(many_articles(MIN_ARTICLES), SCHEME, n_boot=1).questions[0].alpha_ci
    assert (one.status, one.resamples) == ("degenerate", 1)


def test_skips_counted_word_for_word() -> None:
    def skip(n: int, who: Annotator | None) -> RejectedAnnotation:
        return RejectedAnnotation(file="x", fate="skipped", kind="skipped", task_id=1, annotation_id=n,
                                  sentence_id=None, annotator=who, reason="", annotation={})
    skips = [skip(1, None), skip(2, Annotator(id="1")), skip(3, None), skip(4, Annotator(id="1"))]
    report = agreement_report(three_annotators(), SCHEME, n_boot=0, skips=skips)
    assert report.per_annotator[0].skips == 2
    assert report.notes[1] == "skips: 2 skipped annotations counted from the rejects file, 2 more that name no annotator"
    named = agreement_report(three_annotators(), SCHEME, n_boot=0, skips=skips[1:2])
    assert named.notes[1] == "skips: 1 skipped annotations counted from the rejects file"


def test_report_errors_word_for_word() -> None:
    first = ann("a:0-1", "1", "CLAIM")
    second = ann("a:0-1", "1", "NO_CLAIM")
    where = f"annotation {second.annotation_id} (sentence a:0-1, annotator 1)"
    with pytest.raises(InputError) as caught:
        agreement_report([first, second], SCHEME)
    assert caught.value.message == (f"{where}: a second answer of this annotator to this sentence (first: annotation "
                                    f"{first.annotation_id}); keep one answer per annotator and sentence: delete the "
                                    "duplicate task or annotation in Label Studio and read the export again")
    other = ann("a:0-1", "2", "CLAIM", {"someone_else": "FAVOR"})
    with pytest.raises(InputError) as caught:
        agreement_report([other], SCHEME)
    assert caught.value.message == (f"annotation {other.annotation_id} (sentence a:0-1, annotator 2): stance targets "
                                    f"['someone_else'] are not the scheme's {sorted(TARGETS)}; pass the scheme the "
                                    "annotations were made with (--scheme)")
    with pytest.raises(InputError) as caught:
        agreement_report([first.model_copy(update={"scheme": "x/v1"})], SCHEME)
    assert caught.value.message == (f"annotation {first.annotation_id} (sentence a:0-1, annotator 1): labelled with "
                                    f"scheme 'x/v1', not '{SCHEME.id}'; pass the scheme the annotations were made "
                                    "with (--scheme)")


# --- Tests for the survivors of the mutation run (issue 14 point 6; README, "Mutation testing") ---


def test_reliability_data_errors_word_for_word() -> None:
    cases = [([0, 1], "reliability data must be 2-D (annotators, units), not 1-D"),
             ([[0.5, 1.0]], "reliability data must hold integer category codes (or NaN)"),
             ([["a", "b"]], "reliability data must be numeric codes, not dtype <U1"),
             ([[0, -2]], "category codes must be >= 0, with -1 for a missing label")]
    for data, message in cases:
        with pytest.raises(ValueError) as caught:
            krippendorff_alpha_nominal(data)
        assert str(caught.value) == message


def test_value_counts_has_one_column_per_code_up_to_the_largest() -> None:
    # By default the largest code + 1 columns: none at all when nobody gave a label, one for code 0 only.
    assert value_counts([[-1, -1], [-1, -1]]).shape == (2, 0)
    assert value_counts([[0, 0], [0, -1]]).tolist() == [[2], [1]]
    assert value_counts(np.zeros((2, 0), dtype=int)).shape == (0, 0)
    assert value_counts([[-1, -1]], 3).tolist() == [[0, 0, 0], [0, 0, 0]]


def test_alpha_of_a_single_pair_of_labels() -> None:
    # One unit, two labels that differ: n = 2, n D_o = 2, n D_e = (2^2 - 1 - 1) / (2 - 1) = 2, alpha = 0
    # (the krippendorff package says the same); two such units: n D_e = (16 - 8) / 3, alpha = 1 - 4 / (8/3) = -0.5.
    for data, by_hand in (([[0], [1]], 0.0), ([[0, 0], [1, 1]], -0.5), ([[0, 1], [1, 1]], 0.0)):
        assert krippendorff_alpha_nominal(data) == pytest.approx(by_hand, abs=1e-12)
        assert krippendorff.alpha(reliability_data=data, level_of_measurement="nominal") == pytest.approx(by_hand)
    assert math.isnan(krippendorff_alpha_nominal([[0], [0]]))  # one category: undefined


def test_majority_agreement_and_cohen_matrix_types() -> None:
    # Annotator 3 labels only a unit nobody else labelled: no unit with a majority of the others, NaN (a float).
    agree, units = majority_agreement([[0, -1], [0, -1], [-1, 1]])
    assert agree.dtype == np.float64 and agree[:2].tolist() == [1.0, 1.0] and np.isnan(agree[2])
    assert units.dtype.kind == "i" and units.tolist() == [1, 1, 0]
    kappa, shared = cohen_matrix([[0, 1, -1], [0, 1, -1], [-1, -1, 1]])
    assert shared.dtype.kind == "i" and shared.tolist() == [[2, 2, 0], [2, 2, 0], [0, 0, 1]]
    assert kappa[0, 1] == 1.0 and np.isnan(kappa[0, 2]) and np.isnan(kappa[0, 0])


def test_dawid_skene_note_and_gold_source_without_gold_word_for_word() -> None:
    report = agreement_report(many_articles(3, seed=2), SCHEME, n_boot=0, dawid_skene=True)
    assert report.notes[-1] == ("Dawid-Skene: each annotator's confusion matrix per question, fitted by EM over that "
                                "question's answers (annotate.gold.dawid_skene); with few annotators or units it is a "
                                "rough estimate")
    assert not any(n.startswith("Dawid-Skene") for n in agreement_report(many_articles(3, seed=2), SCHEME,
                                                                          n_boot=0).notes)
    # A gold file's name without its rows compares nobody with gold: the report names no gold file.
    assert agreement_report(three_annotators(), SCHEME, n_boot=0, gold_source="g.jsonl").gold is None


def test_bootstrap_of_no_unit_is_undefined_in_every_resample() -> None:
    # No unit: alpha is undefined (NaN) on the data and in every resample, not an error.
    assert math.isnan(krippendorff_alpha_nominal(np.zeros((2, 0))))
    assert np.isnan(bootstrap_alpha(np.zeros((2, 0)), n_boot=3)).all()
    assert bootstrap_alphas([np.zeros((2, 0)), np.zeros((3, 0))], n_boot=2).shape == (2, 3)
