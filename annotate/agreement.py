"""Inter-annotator agreement: the numbers behind ``stance agree``.

Two layers. Pure numeric functions on numpy arrays: reliability data ``data`` of shape
``(annotators, units)`` holding non-negative integer category codes, ``-1`` (or NaN) where an
annotator gave no label; or a count table ``counts`` of shape ``(units, categories)``. They
return NaN where a statistic is undefined (no unit with two labels, or no variation at all).
Then :func:`agreement_report`, which turns :class:`~annotate.labels.Annotation` records into
an :class:`AgreementReport` (where every undefined statistic is ``None`` with a note), and
:func:`report_markdown`.

Units with a single label take part in no statistic: they have no pair to agree within.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

from .errors import InputError
from .labels import Annotation
from .scheme import CLAIM_LABELS, STANCE_LABELS, Scheme

FORMAT = "stance-agreement/v1"
Span3 = tuple[int, int, str]  # (start, end, label)


def _codes(data: ArrayLike) -> np.ndarray:
    """``data`` as int64 codes with -1 for missing (NaN in float input)."""
    x = np.asarray(data)
    if x.ndim != 2:
        raise ValueError(f"reliability data must be 2-D (annotators, units), not {x.ndim}-D")
    if x.dtype.kind == "f":
        filled = np.where(np.isnan(x), -1.0, x)
        codes = filled.astype(np.int64)
        if not np.array_equal(codes, filled):
            raise ValueError("reliability data must hold integer category codes (or NaN)")
    elif x.dtype.kind in "iub":
        codes = x.astype(np.int64, copy=False)
    else:
        raise ValueError(f"reliability data must be numeric codes, not dtype {x.dtype}")
    if codes.size and codes.min() < -1:
        raise ValueError("category codes must be >= 0, with -1 for a missing label")
    return codes


def value_counts(data: ArrayLike, n_categories: int | None = None) -> np.ndarray:
    """How many annotators gave each category to each unit.

    Parameters
    ----------
    data : array_like, shape (annotators, units)
        Integer category codes, -1 or NaN for missing.
    n_categories : int, optional
        Number of columns; by default the largest code + 1.

    Returns
    -------
    counts : ndarray of int64, shape (units, categories)

    >>> value_counts([[0, 1, -1], [0, 0, 2]]).tolist()
    [[2, 0, 0], [1, 1, 0], [0, 0, 1]]
    """
    codes = _codes(data)
    n_units = codes.shape[1]
    v = max(n_categories or 0, int(codes.max(initial=-1)) + 1)
    # One bincount over (unit, code + 1): slot 0 of each unit collects the missing labels.
    flat = codes + 1 + (v + 1) * np.arange(n_units)
    counts = np.bincount(flat.ravel(), minlength=n_units * (v + 1)).reshape(n_units, v + 1)
    return counts[:, 1:]


def _alpha_parts(counts: np.ndarray) -> np.ndarray:
    """Per pairable unit: its pairable values per category and its coincidences on the diagonal.

    Shape (pairable units, categories + 1); the sums of the columns are all alpha needs.
    """
    m = counts.sum(axis=1)
    c = counts[m >= 2]
    same = (c * (c - 1)).sum(axis=1) / (m[m >= 2] - 1)
    return np.column_stack([c.astype(np.float64), same])


def _alpha_from_sums(sums: np.ndarray) -> np.ndarray:
    """Nominal alpha from column sums of :func:`_alpha_parts`; works on stacked rows too.

    With n_c the pairable values of category c, n their total and o_cc the coincidences,
    alpha = 1 - D_o / D_e = 1 - (n - 1) (n - sum o_cc) / (n^2 - sum n_c^2).
    """
    n_c, o_same = sums[..., :-1], sums[..., -1]
    n = n_c.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - (n - 1) * (n - o_same) / (n * n - (n_c * n_c).sum(axis=-1))


def krippendorff_alpha_nominal(data: ArrayLike) -> float:
    """Krippendorff's alpha for nominal data, from the coincidences of pairable values.

    Parameters
    ----------
    data : array_like, shape (annotators, units)
        Integer category codes >= 0; -1 or NaN for missing.

    Returns
    -------
    float
        NaN when undefined: no unit has two labels, or all pairable labels are one category.

    Examples
    --------
    Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", p. 8 (nominal):

    >>> nan = float("nan")
    >>> round(krippendorff_alpha_nominal([
    ...     [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...     [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...     [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...     [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]), 3)
    0.743
    """
    return float(_alpha_from_sums(_alpha_parts(value_counts(data)).sum(axis=0)))


def bootstrap_alpha(
    data: ArrayLike,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of nominal alpha, resampling units.

    Each of ``n_boot`` resamples draws the pairable units (two or more labels) with
    replacement, as many as there are, and recomputes alpha; the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of those alphas. Units, not single
    values, are resampled because the labels of one unit are not independent (cf. Zapf et al.
    2016, BMC Med. Res. Methodol. 16:93). Resamples where alpha is undefined are left out.

    Parameters
    ----------
    data : array_like, shape (annotators, units)
        As for :func:`krippendorff_alpha_nominal`.

    Returns
    -------
    (low, high) : tuple of float
        NaN, NaN when alpha is undefined on every resample.
    """
    parts = _alpha_parts(value_counts(data))
    p = len(parts)
    if p == 0 or n_boot < 1:
        return math.nan, math.nan
    rng = np.random.default_rng(random_state)
    alphas = []
    chunk = max(1, 4_000_000 // p)  # bounds memory at ~32 MB per chunk of weights
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        picks = rng.integers(0, p, size=(rows, p)) + p * np.arange(rows)[:, None]
        weights = np.bincount(picks.ravel(), minlength=rows * p).reshape(rows, p)
        alphas.append(_alpha_from_sums(weights @ parts))
    alphas = np.concatenate(alphas)
    alphas = alphas[np.isfinite(alphas)]
    if not len(alphas):
        return math.nan, math.nan
    low, high = np.percentile(alphas, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def fleiss_kappa(counts: ArrayLike) -> float:
    """Fleiss' kappa from a count table.

    Units with fewer than 2 ratings are left out. Fleiss (1971) assumes the same number of
    ratings per unit; where it differs, each unit's agreement P_i uses its own n_i,
    P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)), and p_j is the share of all ratings in
    category j; with equal n_i this is exactly Fleiss' formula.

    Parameters
    ----------
    counts : array_like, shape (units, categories)
        How many raters put each unit in each category.

    Returns
    -------
    float
        NaN when undefined (no unit with 2 ratings, or one category only).

    >>> round(fleiss_kappa([[2, 0], [0, 2], [1, 1]]), 4)
    0.3333
    """
    c = np.asarray(counts, dtype=np.float64)
    c = c[c.sum(axis=1) >= 2]
    if not len(c):
        return math.nan
    p_e = ((c.sum(axis=0) / c.sum()) ** 2).sum()
    if p_e >= 1.0:
        return math.nan
    return float((observed_agreement(c) - p_e) / (1.0 - p_e))


def observed_agreement(counts: ArrayLike) -> float:
    """Mean over units with 2+ labels of the share of agreeing label pairs within the unit.

    This is Fleiss' P-bar: a unit with labels (A, A, B) agrees in 1 of its 3 pairs.

    Parameters
    ----------
    counts : array_like, shape (units, categories)

    >>> observed_agreement([[3, 0], [2, 1]])
    0.6666666666666666
    """
    c = np.asarray(counts, dtype=np.float64)
    m = c.sum(axis=1)
    keep = m >= 2
    if not keep.any():
        return math.nan
    return float(((c[keep] * (c[keep] - 1)).sum(axis=1) / (m[keep] * (m[keep] - 1))).mean())


def cohen_kappa(a: ArrayLike, b: ArrayLike) -> float:
    """Cohen's kappa of two annotators over the units both labelled.

    Parameters
    ----------
    a, b : array_like, shape (units,)
        Integer codes, -1 or NaN for missing.

    Returns
    -------
    float
        NaN when they share no unit or chance agreement is 1 (one label on both sides).
        Equal to ``sklearn.metrics.cohen_kappa_score`` on the shared units (tested).
    """
    codes = _codes(np.vstack([np.asarray(a, dtype=float), np.asarray(b, dtype=float)]))
    both = (codes >= 0).all(axis=0)
    x, y = codes[0, both], codes[1, both]
    if not len(x):
        return math.nan
    v = int(max(x.max(), y.max())) + 1
    table = np.bincount(x * v + y, minlength=v * v).reshape(v, v) / len(x)
    p_o = np.trace(table)
    p_e = table.sum(axis=1) @ table.sum(axis=0)
    return math.nan if p_e >= 1.0 else float((p_o - p_e) / (1.0 - p_e))


def cohen_matrix(data: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Cohen's kappa for every pair of annotators.

    Returns
    -------
    kappa : ndarray of float, shape (annotators, annotators)
        Symmetric, NaN on the diagonal and where undefined.
    shared : ndarray of int, shape (annotators, annotators)
        Units both annotators labelled (the diagonal: units each labelled).
    """
    codes = _codes(data)
    labelled = (codes >= 0).astype(np.int64)
    shared = labelled @ labelled.T
    kappa = np.full(shared.shape, math.nan)
    for i, j in combinations(range(len(codes)), 2):
        kappa[i, j] = kappa[j, i] = cohen_kappa(codes[i], codes[j])
    return kappa, shared


def majority_agreement(data: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Each annotator's agreement with the majority label of the other annotators.

    Counted over the units the annotator labelled where the others' most frequent label has a
    strict majority of the others' labels (more than half; with one other, that one's label).

    Returns
    -------
    agreement : ndarray of float, shape (annotators,)
        Share of those units where the annotator gave the majority label; NaN with no such unit.
    units : ndarray of int, shape (annotators,)
        How many such units.
    """
    codes = _codes(data)
    counts = value_counts(codes)
    agreement, units = np.full(len(codes), math.nan), np.zeros(len(codes), dtype=np.int64)
    if counts.shape[1] == 0:
        return agreement, units
    for i, row in enumerate(codes):
        mine = row >= 0
        others = counts[mine].copy()
        others[np.arange(len(others)), row[mine]] -= 1
        top = others.max(axis=1)
        strict = 2 * top > others.sum(axis=1)
        units[i] = strict.sum()
        if units[i]:
            agreement[i] = (others.argmax(axis=1) == row[mine])[strict].mean()
    return agreement, units


def _span_counts(a: Iterable[Span3], b: Iterable[Span3], overlap: bool) -> tuple[int, int, int, int]:
    """(matched in a, spans in a, matched in b, spans in b) for one unit."""
    a, b = set(a), set(b)
    if not overlap:
        return len(a & b), len(a), len(a & b), len(b)

    def hits(xs: set[Span3], ys: set[Span3]) -> int:
        return sum(any(s < e2 and s2 < e and lab == lab2 for s2, e2, lab2 in ys) for s, e, lab in xs)

    return hits(a, b), len(a), hits(b, a), len(b)


def _f1(matched_a: int, n_a: int, matched_b: int, n_b: int) -> float:
    if n_a + n_b == 0:
        return math.nan
    if matched_a == 0 or matched_b == 0:
        return 0.0
    precision, recall = matched_a / n_a, matched_b / n_b
    return 2 * precision * recall / (precision + recall)


def span_f1(a: Sequence[Iterable[Span3]], b: Sequence[Iterable[Span3]], *, overlap: bool = False) -> float:
    """F1 of two annotators' spans, pooled over units.

    Parameters
    ----------
    a, b : sequence of iterables of (start, end, label)
        ``a[k]`` and ``b[k]`` are the spans each annotator marked in unit ``k``.
    overlap : bool
        False: a span matches only a span of the other with the same start, end and label.
        True: a span matches if it overlaps a span of the other with the same label;
        precision is the share of ``a``'s spans matched, recall the share of ``b``'s.

    Returns
    -------
    float
        NaN when neither marked a span.

    >>> span_f1([[(0, 4, "CLAIM")]], [[(0, 5, "CLAIM"), (6, 9, "SOURCE")]], overlap=True)
    0.6666666666666666
    """
    sums = np.array([_span_counts(x, y, overlap) for x, y in zip(a, b, strict=True)]).reshape(-1, 4)
    return _f1(*(int(s) for s in sums.sum(axis=0)))


# --- The report: Annotation records in, AgreementReport out ----------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Interval(_Strict):
    """A confidence interval."""

    low: float
    high: float


class MajorityAgreement(_Strict):
    """One annotator against the majority label of the others."""

    annotator: str
    units: int = Field(description="units this annotator labelled where the others have a strict majority")
    agreement: float | None = Field(description="share of those units where this annotator gave the majority label")


class QuestionAgreement(_Strict):
    """Agreement on one choice question, or on all of them pooled (``overall``)."""

    question: str = Field(description="claim, stance_<target id>, or overall")
    labels: list[str]
    units: int = Field(description="units with at least one label")
    annotators: int = Field(description="annotators with at least one label")
    units_multi: int = Field(description="units with two or more labels: the only units any statistic uses")
    units_single: int = Field(description="units with one label: counted here, used by no statistic")
    observed_agreement: float | None = Field(description="mean share of agreeing label pairs per unit (Fleiss' P-bar)")
    alpha: float | None = Field(description="Krippendorff's alpha, nominal")
    alpha_ci: Interval | None = Field(description="bootstrap interval of alpha (see AgreementReport.bootstrap)")
    fleiss_kappa: float | None
    cohen_kappa: list[list[float | None]] = Field(
        description="Cohen's kappa per annotator pair, rows and columns in the order of "
        "AgreementReport.annotators; null on the diagonal, for pairs with no shared unit, "
        "and where kappa is undefined")
    cohen_units: list[list[int]] = Field(description="units each pair both labelled (diagonal: units each labelled)")
    majority: list[MajorityAgreement]
    notes: list[str] = Field(description="why a statistic is null, and what was left out")


class SpanPair(_Strict):
    """Span agreement of two annotators over the sentences both annotated."""

    annotators: tuple[str, str]
    units: int
    spans: tuple[int, int] = Field(description="spans each of the two marked in those sentences")
    exact_f1: float | None
    overlap_f1: float | None


class SpanAgreement(_Strict):
    """Pairwise F1 of the marked spans, pooled over annotator pairs."""

    units_multi: int = Field(description="sentences annotated by two or more annotators")
    units_single: int = Field(description="sentences annotated by one: counted, not used")
    exact_f1: float | None = Field(description="same start, end and label")
    overlap_f1: float | None = Field(description="overlapping, same label")
    pairs: list[SpanPair]
    notes: list[str]


class Bootstrap(_Strict):
    """How the alpha intervals were drawn."""

    method: Literal["percentile, units resampled with replacement"]
    n_boot: int
    level: float
    random_state: int


class AgreementReport(_Strict):
    """What ``stance agree`` writes (format ``stance-agreement/v1``)."""

    format: Literal["stance-agreement/v1"]
    scheme: str = Field(description="the label scheme version id of the annotations")
    annotations: int
    sentences: int
    annotators: list[str]
    bootstrap: Bootstrap
    questions: list[QuestionAgreement] = Field(description="claim, then stance_<target id> per target")
    overall: QuestionAgreement = Field(
        description="all choice questions pooled: units are (sentence, question) pairs, categories "
        "FAVOR, AGAINST, NONE (shared by all targets), CLAIM, NO_CLAIM")
    spans: SpanAgreement
    notes: list[str]


def _none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _question(name: str, labels: Sequence[str], codes: np.ndarray, annotators: list[str],
              boot: Bootstrap) -> QuestionAgreement:
    counts = value_counts(codes, len(labels))
    per_unit = counts.sum(axis=1)
    multi, single = int((per_unit >= 2).sum()), int((per_unit == 1).sum())
    active = int((codes >= 0).any(axis=1).sum())
    kappa, shared = cohen_matrix(codes)
    notes = []
    if single:
        notes.append(f"{single} unit{'s' * (single > 1)} with one label left out of every statistic")
    if active < 2 or not multi:
        notes.append(f"only {active} annotator(s) answered: no statistics" if active < 2
                     else "no unit has two or more labels: no statistics")
        nan = math.nan
        observed, alpha, ci, fleiss = nan, nan, (nan, nan), nan
        majority = np.full(len(annotators), nan), np.zeros(len(annotators), dtype=int)
    else:
        observed, alpha, fleiss = observed_agreement(counts), krippendorff_alpha_nominal(codes), fleiss_kappa(counts)
        ci = bootstrap_alpha(codes, n_boot=boot.n_boot, level=boot.level, random_state=boot.random_state)
        majority = majority_agreement(codes)
        if math.isnan(alpha):
            notes.append("alpha and Fleiss' kappa are undefined: every label given is the same")
    return QuestionAgreement(
        question=name, labels=list(labels), units=int((per_unit >= 1).sum()), annotators=active,
        units_multi=multi, units_single=single, observed_agreement=_none(observed), alpha=_none(alpha),
        alpha_ci=None if math.isnan(ci[0]) else Interval(low=ci[0], high=ci[1]),
        fleiss_kappa=_none(fleiss),
        cohen_kappa=[[_none(k) for k in row] for row in kappa], cohen_units=shared.tolist(),
        majority=[MajorityAgreement(annotator=a, units=int(n), agreement=_none(g))
                  for a, g, n in zip(annotators, *majority)],
        notes=notes,
    )


def _spans(spans: dict[str, dict[str, list[Span3]]], annotators: list[str]) -> SpanAgreement:
    per_sentence = [len(by) for by in spans.values()]
    pairs, total = [], np.zeros((2, 4), dtype=np.int64)
    for a, b in combinations(annotators, 2):
        shared = [(by[a], by[b]) for by in spans.values() if a in by and b in by]
        if not shared:
            continue
        sums = np.array([[_span_counts(x, y, overlap) for x, y in shared] for overlap in (False, True)]).sum(axis=1)
        total += sums
        pairs.append(SpanPair(annotators=(a, b), units=len(shared), spans=(int(sums[0, 1]), int(sums[0, 3])),
                              exact_f1=_none(_f1(*sums[0])), overlap_f1=_none(_f1(*sums[1]))))
    exact, overlap = _none(_f1(*total[0])), _none(_f1(*total[1]))
    notes = [] if pairs else ["no sentence has two annotators: no span statistics"]
    if pairs and exact is None:
        notes.append("no spans were marked in sentences with two or more annotators: no span F1")
    return SpanAgreement(units_multi=sum(n >= 2 for n in per_sentence), units_single=per_sentence.count(1),
                         exact_f1=exact, overlap_f1=overlap, pairs=pairs, notes=notes)


def _natural(key: str) -> tuple[bool, int, str]:
    return (not key.isdigit(), int(key) if key.isdigit() else 0, key)


def agreement_report(annotations: Iterable[Annotation], scheme: Scheme, *, n_boot: int = 1000,
                     level: float = 0.95, random_state: int = 0) -> AgreementReport:
    """Agreement per question and overall, from one record per (sentence, annotator).

    The unit of a choice question is the sentence; ``overall`` pools all choice questions, its
    units being (sentence, question) pairs and its categories the stance labels (shared by all
    targets) and the claim labels. Every alpha interval uses a fresh generator seeded with
    ``random_state``, so each question's interval is reproducible on its own.

    Raises
    ------
    InputError
        An annotation of another scheme, with targets other than the scheme's, or a second
        answer of one annotator to one sentence.
    """
    targets = scheme.target_ids
    records: dict[tuple[str, str], Annotation] = {}
    for ann in annotations:
        key = (ann.sentence_id, ann.annotator.id)
        where = f"annotation {ann.annotation_id} (sentence {ann.sentence_id}, annotator {ann.annotator.id})"
        if ann.scheme != scheme.scheme:
            raise InputError(f"labelled with scheme {ann.scheme!r}, not {scheme.scheme!r}", where=where,
                             fix="pass the scheme the annotations were made with (--scheme)")
        if set(ann.stance) != set(targets):
            raise InputError(
                f"stance targets {sorted(ann.stance)} are not the scheme's {sorted(targets)}", where=where,
                fix="pass the scheme the annotations were made with (--scheme)")
        if key in records:
            raise InputError(
                f"a second answer of this annotator to this sentence (first: annotation "
                f"{records[key].annotation_id})", where=where,
                fix="keep one answer per annotator and sentence: delete the duplicate task or "
                "annotation in Label Studio and read the export again")
        records[key] = ann
    sentences = sorted({s for s, _ in records}, key=_natural)
    annotators = sorted({a for _, a in records}, key=_natural)
    row, col = {a: i for i, a in enumerate(annotators)}, {s: j for j, s in enumerate(sentences)}
    names = ["claim", *(scheme.stance_control(t) for t in targets)]
    codes = {name: np.full((len(annotators), len(sentences)), -1, dtype=np.int64) for name in names}
    spans: dict[str, dict[str, list[Span3]]] = {s: {} for s in sentences}
    for (s, a), ann in records.items():
        i, j = row[a], col[s]
        codes["claim"][i, j] = CLAIM_LABELS.index(ann.claim)
        for t in targets:
            codes[scheme.stance_control(t)][i, j] = STANCE_LABELS.index(ann.stance[t])
        spans[s][a] = [(span.start, span.end, span.label) for span in ann.spans]

    boot = Bootstrap(method="percentile, units resampled with replacement", n_boot=n_boot, level=level,
                     random_state=random_state)
    questions = [_question(n, CLAIM_LABELS if n == "claim" else STANCE_LABELS, codes[n], annotators, boot)
                 for n in names]
    # Stance codes 0-2 are shared by all targets; claim codes move to 3-4.
    claim = codes["claim"]
    pooled = np.hstack([*(codes[n] for n in names[1:]), np.where(claim >= 0, claim + len(STANCE_LABELS), -1)])
    overall = _question("overall", STANCE_LABELS + CLAIM_LABELS, pooled, annotators, boot)
    notes = ["units with a single label are counted (units_single) and left out of every statistic"]
    if len(annotators) < 2:
        notes.append(f"{len(annotators)} annotator(s): agreement needs two or more")
    return AgreementReport(format=FORMAT, scheme=scheme.scheme, annotations=len(records),
                           sentences=len(sentences), annotators=annotators, bootstrap=boot,
                           questions=questions, overall=overall, spans=_spans(spans, annotators), notes=notes)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def report_markdown(report: AgreementReport) -> str:
    """The report as Markdown: a table of the questions, Cohen's kappa per pair, majority, spans, notes."""
    qs = [*report.questions, report.overall]
    b = report.bootstrap
    out = [f"# Agreement ({report.scheme})", "",
           f"{report.annotations} annotations of {report.sentences} sentences by {len(report.annotators)} "
           f"annotators ({', '.join(report.annotators) or 'none'}). Alpha is Krippendorff's alpha (nominal), with "
           f"a {b.level:.0%} bootstrap interval ({b.method}; {b.n_boot} resamples, seed {b.random_state}). "
           "Overall pools every choice question: its units are (sentence, question) pairs. Units with one "
           "label are counted and left out of every statistic.", ""]
    out += _table(
        ["question", "units", "annotators", "2+ labels", "1 label", "observed", "alpha", f"alpha {b.level:.0%} CI",
         "Fleiss kappa"],
        [[f"**{q.question}**" if q is report.overall else q.question, str(q.units), str(q.annotators),
          str(q.units_multi), str(q.units_single), _fmt(q.observed_agreement), _fmt(q.alpha),
          "—" if q.alpha_ci is None else f"{q.alpha_ci.low:.3f} – {q.alpha_ci.high:.3f}", _fmt(q.fleiss_kappa)]
         for q in qs])
    out += ["## Cohen's kappa per annotator pair", "", "Each cell: kappa (units both labelled).", ""]
    for q in qs:
        out += [f"### {q.question}", ""]
        out += _table([""] + report.annotators, [
            [a] + ["" if i == j else f"{_fmt(q.cohen_kappa[i][j])} ({q.cohen_units[i][j]})"
                   for j in range(len(report.annotators))]
            for i, a in enumerate(report.annotators)])
    out += ["## Agreement with the others' majority", "",
            "Each cell: share of agreement (units where the others have a strict majority).", ""]
    out += _table(["annotator"] + [q.question for q in qs], [
        [a] + [f"{_fmt(q.majority[i].agreement)} ({q.majority[i].units})" for q in qs]
        for i, a in enumerate(report.annotators)])
    sp = report.spans
    out += ["## Spans", "", f"Pairwise F1 over {sp.units_multi} sentences with two or more annotators "
            f"({sp.units_single} with one are left out): exact (same start, end and label) "
            "and overlap (overlapping, same label).", ""]
    out += _table(["pair", "sentences", "spans", "exact F1", "overlap F1"],
                  [[f"{p.annotators[0]} – {p.annotators[1]}", str(p.units), f"{p.spans[0]} / {p.spans[1]}",
                    _fmt(p.exact_f1), _fmt(p.overlap_f1)] for p in sp.pairs]
                  + [["**all pairs**", "", "", _fmt(sp.exact_f1), _fmt(sp.overlap_f1)]])
    notes = report.notes + [f"{q.question}: {n}" for q in qs for n in q.notes] + [f"spans: {n}" for n in sp.notes]
    out += ["## Notes", "", *(f"- {n}" for n in notes)]
    return "\n".join(out) + "\n"
