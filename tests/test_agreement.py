"""Agreement statistics against published worked examples and reference libraries; the report."""

from __future__ import annotations

import doctest
import itertools
import json
import math

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import cohen_kappa_score

from annotate import agreement
from annotate.agreement import (
    AgreementReport,
    agreement_report,
    bootstrap_alpha,
    cohen_kappa,
    cohen_matrix,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    majority_agreement,
    observed_agreement,
    report_markdown,
    span_f1,
    value_counts,
)
from annotate.errors import AnnotateError
from annotate.labels import Annotation, Annotator, Span
from annotate.scheme import load_scheme

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
    result = doctest.testmod(agreement)
    assert result.attempted >= 6 and result.failed == 0


reliability = arrays(
    np.float64, st.tuples(st.integers(2, 6), st.integers(1, 40)),
    elements=st.sampled_from([nan, 0.0, 1.0, 2.0, 3.0]),
)


@settings(max_examples=300, deadline=None)
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


@settings(max_examples=300, deadline=None)
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


def test_fleiss_unequal_raters_and_undefined() -> None:
    # Units with one rating are dropped; with equal raters after that, plain Fleiss.
    assert fleiss_kappa([[2, 0], [0, 2], [1, 1], [1, 0]]) == pytest.approx(fleiss_kappa([[2, 0], [0, 2], [1, 1]]))
    assert math.isnan(fleiss_kappa([[3, 0], [2, 0]]))
    assert math.isnan(fleiss_kappa([[1, 0]]))


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


def test_bootstrap_alpha_reproducible_and_brackets() -> None:
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 300)
    data = np.where(rng.random((4, 300)) < 0.8, truth, rng.integers(0, 3, (4, 300)))
    low, high = bootstrap_alpha(data, n_boot=500, random_state=1)
    assert (low, high) == bootstrap_alpha(data, n_boot=500, random_state=1)
    assert low < krippendorff_alpha_nominal(data) < high
    assert 0.0 < high - low < 0.2
    assert all(math.isnan(x) for x in bootstrap_alpha([[0, 1], [-1, -1]]))


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
        spans: tuple[tuple[int, int, str], ...] = ()) -> Annotation:
    if isinstance(stance, str):
        stance = dict.fromkeys(TARGETS, stance)
    n = next(_ids)
    return Annotation(
        sentence_id=sentence, article_id=sentence.split(":")[0], text=TEXT,
        annotator=Annotator(id=annotator), stance=stance, claim=claim,
        spans=[Span(label=label, start=s, end=e, article_start=s, article_end=e, text=TEXT[s:e])
               for s, e, label in spans],
        annotation_id=n, task_id=n, scheme=SCHEME.scheme,
    )


def three_annotators() -> list[Annotation]:
    return [
        ann("a:0-10", "1", "CLAIM", "FAVOR", ((0, 6, "SOURCE"), (7, 20, "CLAIM"))),
        ann("a:0-10", "2", "CLAIM", "FAVOR", ((0, 6, "SOURCE"), (7, 25, "CLAIM"))),
        ann("a:0-10", "3", "NO_CLAIM", "FAVOR"),
        ann("a:11-20", "1", "NO_CLAIM", "AGAINST"),
        ann("a:11-20", "2", "NO_CLAIM", "NONE"),
        ann("a:11-20", "3", "NO_CLAIM", "AGAINST"),
        ann("b:0-5", "1", "CLAIM"),
        ann("b:0-5", "2", "NO_CLAIM"),  # a disagreement
        ann("b:6-9", "3", "CLAIM"),  # a unit with one label
    ]


def test_report_counts_and_statistics() -> None:
    report = agreement_report(three_annotators(), SCHEME, n_boot=200)
    assert report.format == "stance-agreement/v1" and report.scheme == "stance-claim/v1"
    assert (report.annotations, report.sentences, report.annotators) == (9, 4, ["1", "2", "3"])
    names = [q.question for q in report.questions]
    assert names == ["claim", *(SCHEME.stance_control(t) for t in TARGETS)]
    claim = report.questions[0]
    assert (claim.units, claim.annotators, claim.units_multi, claim.units_single) == (4, 3, 3, 1)
    # The single-label unit is left out: the statistics equal those of the 3 shared units.
    data = [[0, 1, 0], [0, 1, 1], [1, 1, -1]]
    assert claim.alpha == pytest.approx(krippendorff_alpha_nominal(data))
    assert claim.fleiss_kappa == pytest.approx(fleiss_kappa(value_counts(data)))
    assert claim.observed_agreement == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert claim.cohen_units == [[3, 3, 2], [3, 3, 2], [2, 2, 3]]
    assert claim.cohen_kappa[0][1] == pytest.approx(cohen_kappa_score([0, 1, 0], [0, 1, 1]))
    assert claim.cohen_kappa[0][0] is None
    assert [m.units for m in claim.majority] == [2, 2, 2]
    assert "1 unit with one label left out of every statistic" in claim.notes
    overall = report.overall
    assert overall.units == 4 * (1 + len(TARGETS)) and overall.units_single == 1 + len(TARGETS)
    assert overall.labels == ["FAVOR", "AGAINST", "NONE", "CLAIM", "NO_CLAIM"]
    spans = report.spans
    assert (spans.units_multi, spans.units_single) == (3, 1)
    pair = spans.pairs[0]
    assert pair.annotators == ("1", "2") and pair.spans == (2, 2)
    assert (pair.exact_f1, pair.overlap_f1) == (0.5, 1.0)


def test_report_json_is_strict_and_has_no_nan() -> None:
    report = agreement_report(three_annotators(), SCHEME, n_boot=100)
    text = report.model_dump_json()
    assert "NaN" not in text and "Infinity" not in text
    assert AgreementReport.model_validate_json(text) == report
    schema = json.dumps(AgreementReport.model_json_schema())
    assert '"additionalProperties": false' in schema
    with pytest.raises(ValueError):
        AgreementReport.model_validate({**json.loads(text), "format": "stance-agreement/v0"})


def test_report_no_variation_is_null_with_a_reason() -> None:
    records = [ann("a:0-1", "1", "CLAIM"), ann("a:0-1", "2", "CLAIM")]
    claim = agreement_report(records, SCHEME, n_boot=50).questions[0]
    assert claim.observed_agreement == 1.0
    assert claim.alpha is None and claim.fleiss_kappa is None and claim.alpha_ci is None
    assert any("undefined" in n for n in claim.notes)


@pytest.mark.parametrize("records", [
    [],
    [ann("a:0-1", "1", "CLAIM"), ann("a:2-3", "1", "NO_CLAIM")],  # one annotator
    [ann("a:0-1", "1", "CLAIM"), ann("a:2-3", "2", "NO_CLAIM")],  # no shared unit
])
def test_report_without_pairs_is_null_not_a_crash(records: list[Annotation]) -> None:
    report = agreement_report(records, SCHEME, n_boot=50)
    for q in [*report.questions, report.overall]:
        assert q.alpha is None and q.fleiss_kappa is None and q.observed_agreement is None
        assert all(m.agreement is None for m in q.majority)
        assert q.notes
    assert report.spans.exact_f1 is None and report.spans.notes
    assert "NaN" not in report.model_dump_json()
    assert "## Notes" in report_markdown(report)


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


def test_report_markdown() -> None:
    text = report_markdown(agreement_report(three_annotators(), SCHEME, n_boot=100))
    assert text.startswith("# Agreement (stance-claim/v1)")
    for heading in ("## Cohen's kappa per annotator pair", "### claim", "### overall",
                    "## Agreement with the others' majority", "## Spans", "## Notes"):
        assert heading in text
    assert "| **overall** |" in text and "| 1 – 2 | 3 | 2 / 2 | 0.500 | 1.000 |" in text
    assert "nan" not in text.lower()
