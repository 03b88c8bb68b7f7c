"""Agreement coefficients: pure numeric functions on numpy arrays, the numbers behind ``stance agree``.

Reliability data ``data`` of shape ``(annotators, units)`` holds non-negative integer category
codes, ``-1`` (or NaN) where an annotator gave no label; a count table ``counts`` has shape
``(units, categories)``. The functions return NaN where a statistic is undefined (no unit with
two labels, or no variation at all). Each is checked against published worked examples
(``tests/test_agreement.py``). :mod:`annotate.agreement` turns annotations into a report with them.

Units with a single label take part in no statistic but one: they have no pair to agree
within. The exception is Fleiss' kappa, whose chance agreement in Gwet's generalisation (the
one used here, for units with unequal numbers of raters) counts every rated unit.

The questions (the claim, each target's stance) have label sets that never meet in one unit,
so chance agreement is taken within each question; :func:`pooled_alpha_nominal` adds the
questions up that way, and the result always lies between the lowest and the highest
per-question alpha.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike

from .metrics import cluster_sums

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


def alpha_parts(counts: ArrayLike) -> np.ndarray:
    """Per unit: its pairable values per category and its coincidences on the diagonal.

    A unit with fewer than two labels has no pairable value: its row is all zeros, so rows stay
    aligned with the units (and so with their articles) and the sums of the columns are all
    alpha needs.

    Parameters
    ----------
    counts : array_like, shape (units, categories)

    Returns
    -------
    ndarray of float, shape (units, categories + 1)
        The last column holds ``sum_c n_uc (n_uc - 1) / (m_u - 1)``.

    >>> alpha_parts([[2, 0], [1, 1], [1, 0]]).tolist()
    [[2.0, 0.0, 2.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    c = np.asarray(counts, dtype=np.float64)
    m = c.sum(axis=1)
    pairable = m >= 2
    parts = np.zeros((len(c), c.shape[1] + 1))
    parts[pairable, :-1] = c[pairable]
    parts[pairable, -1] = (c[pairable] * (c[pairable] - 1)).sum(axis=1) / (m[pairable] - 1)
    return parts


def _disagreements(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(observed, expected) disagreement, each times the pairable values n, from column sums.

    With n_c the pairable values of category c, n their total and o the coincidences on the
    diagonal: n D_o = n - o and n D_e = (n^2 - sum n_c^2) / (n - 1). Works on stacked rows.
    """
    n_c, o_same = sums[..., :-1], sums[..., -1]
    n = n_c.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(n > 1, (n * n - (n_c * n_c).sum(axis=-1)) / (n - 1), 0.0)
    return n - o_same, expected


def _alpha_from_sums(sums: np.ndarray) -> np.ndarray:
    """Nominal alpha = 1 - D_o / D_e from column sums of :func:`alpha_parts`; NaN where D_e = 0."""
    observed, expected = _disagreements(sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1.0 - observed / expected, np.nan)


def _pooled_from_sums(sums: np.ndarray) -> np.ndarray:
    """Alpha over questions with chance within each: sums of shape (..., questions, categories + 1)."""
    observed, expected = _disagreements(sums)
    observed, expected = observed.sum(axis=-1), expected.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1.0 - observed / expected, np.nan)


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
    return float(_alpha_from_sums(alpha_parts(value_counts(data)).sum(axis=0)))


def _padded_sums(datas: Sequence[ArrayLike]) -> np.ndarray:
    """Column sums of :func:`alpha_parts` per question, categories padded to the widest: (questions, v + 1)."""
    parts = [alpha_parts(value_counts(d)).sum(axis=0) for d in datas]
    width = max((len(p) for p in parts), default=1)
    out = np.zeros((len(parts), width))
    for q, p in enumerate(parts):
        out[q, :len(p) - 1] = p[:-1]
        out[q, -1] = p[-1]
    return out


def pooled_alpha_nominal(datas: Sequence[ArrayLike]) -> float:
    """Nominal alpha of several questions together, chance taken within each question.

    ``1 - sum_q n_q D_o,q / sum_q n_q D_e,q``: each question's observed and expected
    disagreement, weighted by its pairable values ``n_q``. This equals the mean of the
    per-question alphas weighted by ``n_q D_e,q``, so it lies between the lowest and the highest
    of them; pooling the questions' categories into one table instead would count pairs of
    labels from different questions (a stance against a claim label) as chance disagreement,
    which no unit can show, and inflate alpha.

    Parameters
    ----------
    datas : sequence of array_like, each of shape (annotators, units)
        One reliability table per question (the annotators need not be the same).

    Returns
    -------
    float
        NaN when every question's alpha is undefined.

    >>> a = [[0, 1, 0, 1, 1], [0, 1, 1, 1, 1]]
    >>> b = [[0, 0, 1, 2, 2], [0, 1, 1, 2, 2]]
    >>> round(krippendorff_alpha_nominal(a), 4), round(krippendorff_alpha_nominal(b), 4)
    (0.5714, 0.7273)
    >>> round(pooled_alpha_nominal([a, b]), 4)  # 0.3889 * 0.5714 + 0.6111 * 0.7273
    0.6667

    One table of both questions' labels (b's codes moved to 2-4) would say 0.7532, above both.
    """
    return float(_pooled_from_sums(_padded_sums(datas)))


def pooled_weights(datas: Sequence[ArrayLike]) -> np.ndarray:
    """Each question's share ``n_q D_e,q / sum_q n_q D_e,q`` in :func:`pooled_alpha_nominal`.

    >>> pooled_weights([[[0, 1, 0, 1, 1], [0, 1, 1, 1, 1]], [[0, 0, 1, 2, 2], [0, 1, 1, 2, 2]]]).round(4).tolist()
    [0.3889, 0.6111]
    """
    _, expected = _disagreements(_padded_sums(datas))
    total = expected.sum()
    return expected / total if total > 0 else np.zeros_like(expected)


def bootstrap_alphas(
    datas: Sequence[ArrayLike],
    clusters: ArrayLike | None = None,
    *,
    n_boot: int = 1000,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Alpha of every question, and pooled, in each resample of a cluster bootstrap.

    A resample draws as many clusters (articles) as there are, with replacement
    (:func:`annotate.metrics.resample_weights`), and takes every unit of each cluster drawn with
    all its questions, since the questions of one sentence, and the sentences of one article,
    are not independent (cf. Zapf et al. 2016, BMC Med. Res. Methodol. 16:93).

    Parameters
    ----------
    datas : sequence of array_like, each of shape (annotators, units)
        One reliability table per question, the same units in the same column order.
    clusters : array_like, shape (units,), optional
        Each unit's cluster (article id); every unit its own cluster when None.

    Returns
    -------
    ndarray of float, shape (n_boot, questions + 1)
        Column q: question q's alpha; last column: :func:`pooled_alpha_nominal`. NaN where undefined.
    """
    if not len(datas):
        raise ValueError("no question's table to resample")
    parts = [alpha_parts(value_counts(d)) for d in datas]
    n_units = parts[0].shape[0]
    if any(p.shape[0] != n_units for p in parts):
        raise ValueError("every question's table must have the same units")
    width = max(p.shape[1] for p in parts)
    stacked = np.zeros((n_units, len(parts), width))
    for q, p in enumerate(parts):
        stacked[:, q, :p.shape[1] - 1] = p[:, :-1]
        stacked[:, q, -1] = p[:, -1]
    groups = np.arange(n_units) if clusters is None else np.asarray(clusters)
    if len(groups) != n_units:
        raise ValueError(f"{len(groups)} clusters for {n_units} units")
    sums = cluster_sums(stacked, groups, n_boot, random_state)
    return np.column_stack([_alpha_from_sums(sums), _pooled_from_sums(sums)])


def bootstrap_alpha(
    data: ArrayLike,
    clusters: ArrayLike | None = None,
    *,
    n_boot: int = 1000,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Nominal alpha in each of ``n_boot`` cluster-bootstrap resamples (NaN where undefined).

    As :func:`bootstrap_alphas` for one question; turn the values into an interval with
    :func:`annotate.metrics.percentile_interval`, which counts the undefined ones.
    """
    return bootstrap_alphas([data], clusters, n_boot=n_boot, random_state=random_state)[:, 0]


def fleiss_kappa(counts: ArrayLike) -> float:
    """Fleiss' kappa, generalised to units with unequal numbers of raters (Gwet 2014).

    Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*, 4th ed., chapter 5, "Fleiss'
    generalized kappa", as in his R package irrCAC (``fleiss.kappa.raw``) and its Python port
    ``irrCAC.raw.CAC.fleiss``: units with no rating are dropped; the observed agreement is the
    mean over units with two or more ratings of ``sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))``; the
    chance agreement is ``sum_k pi_k^2`` with ``pi_k`` the mean over all rated units of the
    share ``r_ik / r_i`` of a unit's ratings in category k (so units with one rating count
    there). With the same number of raters for every unit this is Fleiss (1971) exactly.

    Parameters
    ----------
    counts : array_like, shape (units, categories)
        How many raters put each unit in each category.

    Returns
    -------
    float
        NaN when undefined (no unit with 2 ratings, or chance agreement 1).

    Examples
    --------
    Gwet's worked example of 4 raters and 12 units with missing ratings (irrCAC's
    ``raw_4raters``, Krippendorff's 2011 data): P_a = 0.818, P_e = 0.239, kappa = 0.761.

    >>> round(fleiss_kappa([[3, 0, 0, 0, 0], [0, 3, 1, 0, 0], [0, 0, 4, 0, 0], [0, 0, 4, 0, 0],
    ...                     [0, 4, 0, 0, 0], [1, 1, 1, 1, 0], [0, 0, 0, 4, 0], [3, 1, 0, 0, 0],
    ...                     [0, 4, 0, 0, 0], [0, 0, 0, 0, 3], [2, 0, 0, 0, 0], [0, 0, 1, 0, 0]]), 3)
    0.761
    """
    c = np.asarray(counts, dtype=np.float64)
    r = c.sum(axis=1)
    c, r = c[r > 0], r[r > 0]
    multi = r >= 2
    if not multi.any():
        return math.nan
    p_a = ((c[multi] * (c[multi] - 1)).sum(axis=1) / (r[multi] * (r[multi] - 1))).mean()
    pi = (c / r[:, None]).mean(axis=0)
    p_e = (pi * pi).sum()
    if p_e >= 1.0 - 1e-15:
        return math.nan
    return float((p_a - p_e) / (1.0 - p_e))


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
