"""Classification metrics and the cluster bootstrap: what ``baseline``, ``evaluate`` and ``agreement`` share.

Confusion matrices are ``conf[i, j]``: rows whose gold label is ``labels[i]`` and whose
predicted label is ``labels[j]``; stacked matrices of shape ``(..., k, k)`` work wherever a
single one does, which is how a bootstrap scores all its resamples at once.

The bootstrap resamples *clusters* (articles; sentences where each is its own article): each
resample draws as many clusters as there are, with replacement, and :func:`resample_weights`
says how often each cluster was drawn. :func:`percentile_interval` turns the statistic of every
resample into an :class:`Interval` that says when there is none and why: too few clusters (the
thresholds come from the coverage simulation in ``benchmarks/coverage.py``), a statistic
undefined in too many resamples, or every resample giving the same value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

FAVOR, AGAINST = "FAVOR", "AGAINST"
ONE_LABEL_WARNING = 0.95  # a model predicting one label for this share of a question's rows or more gets a warning


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, labels: Sequence[str]) -> np.ndarray:
    """Counts of (gold, predicted) label pairs.

    Returns
    -------
    conf : ndarray of int64, shape (k, k)
        ``conf[i, j]``: rows with gold ``labels[i]`` predicted as ``labels[j]``.

    >>> confusion_matrix(["A", "A", "B"], ["A", "B", "B"], ["A", "B"]).tolist()
    [[1, 1], [0, 1]]
    """
    index = {label: i for i, label in enumerate(labels)}
    t, p = list(y_true), list(y_pred)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} labels, y_pred {len(p)}")
    unknown = sorted({x for x in t + p if x not in index})
    if unknown:
        raise ValueError(f"labels {unknown} are not in {list(labels)}")
    k = len(labels)
    codes = np.array([index[a] * k + index[b] for a, b in zip(t, p)], dtype=np.int64)
    return np.bincount(codes, minlength=k * k).reshape(k, k)


def class_scores(conf: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 and support from confusion matrices.

    Parameters
    ----------
    conf : array_like, shape (..., k, k)

    Returns
    -------
    precision, recall, f1 : ndarray of float, shape (..., k)
        0 where undefined (nothing predicted, no support, neither), as scikit-learn's
        ``zero_division=0``. F1 is ``2 tp / (support + predicted)``, equal to the harmonic
        mean of precision and recall wherever that is defined.
    support : ndarray of int, shape (..., k)
    """
    c = np.asarray(conf)
    tp = np.diagonal(c, axis1=-2, axis2=-1).astype(np.float64)
    predicted = c.sum(axis=-2).astype(np.float64)
    support = c.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
    return precision, recall, f1, support


def f_avg(conf: ArrayLike, labels: Sequence[str]) -> np.ndarray | float:
    """SemEval-2016 Task 6's F_avg = (F1(FAVOR) + F1(AGAINST)) / 2.

    Equal to ``sklearn.metrics.f1_score(y_true, y_pred, labels=["FAVOR", "AGAINST"],
    average="macro", zero_division=0)`` (tested), and to the task's official ``eval.pl``.
    Worked example, gold in rows and predictions in columns (FAVOR, AGAINST, NONE):
    F1(FAVOR) = 2*8 / (10 + 10) = 0.8, F1(AGAINST) = 2*4 / (6 + 6) = 0.667, F_avg = 0.733:

    >>> round(f_avg([[8, 1, 1], [2, 4, 0], [0, 1, 3]], ["FAVOR", "AGAINST", "NONE"]), 4)
    0.7333

    Returns
    -------
    float, or ndarray of shape (...) for stacked matrices
    """
    _, _, f1, _ = class_scores(conf)
    value = (f1[..., list(labels).index(FAVOR)] + f1[..., list(labels).index(AGAINST)]) / 2
    return float(value) if np.ndim(value) == 0 else value


def gold_classes(conf: ArrayLike) -> np.ndarray:
    """Indices of the classes with gold rows (support > 0) in one confusion matrix.

    >>> gold_classes([[2, 0, 1], [0, 0, 0], [0, 1, 3]]).tolist()
    [0, 2]
    """
    c = np.asarray(conf)
    if c.ndim != 2:
        raise ValueError(f"one confusion matrix of shape (k, k), not {c.shape}")
    return np.flatnonzero(c.sum(axis=1) > 0)


def macro_f1(conf: ArrayLike, classes: Sequence[int] | np.ndarray | None = None) -> np.ndarray | float:
    """Mean F1 over a fixed set of classes: by default those with gold rows in ``conf``.

    As ``sklearn.metrics.f1_score(y_true, y_pred, labels=<the classes>, average="macro",
    zero_division=0)`` (tested). A class predicted but absent from the gold is not averaged; a
    class in ``classes`` with neither gold rows nor predictions (a bootstrap resample that drew
    none of its articles) counts 0, as scikit-learn's ``zero_division=0``. A bootstrap passes the
    classes of the full data, so that every resample averages the same classes.

    Parameters
    ----------
    conf : array_like, shape (..., k, k)
    classes : sequence of int, optional
        The class indices to average; required for stacked matrices. NaN when empty.

    >>> round(macro_f1([[8, 1, 1], [2, 4, 0], [0, 1, 3]]), 4)
    0.7389
    >>> macro_f1([[3, 1], [0, 0]])  # the second class is predicted once, never gold: not averaged
    0.8571428571428571
    """
    c = np.asarray(conf)
    if classes is None:
        classes = gold_classes(c)
    classes = np.asarray(classes, dtype=np.int64)
    if not len(classes):
        return float("nan") if c.ndim == 2 else np.full(c.shape[:-2], np.nan)
    _, _, f1, _ = class_scores(c)
    value = f1[..., classes].mean(axis=-1)
    return float(value) if np.ndim(value) == 0 else value


def majority_label(labels: Sequence[str], order: Sequence[str]) -> str | None:
    """The most frequent of ``labels``; a tie goes to the label earlier in ``order``. None when empty.

    >>> majority_label(["NONE", "FAVOR", "FAVOR", "NONE"], ["FAVOR", "AGAINST", "NONE"])
    'FAVOR'
    """
    counts = {label: 0 for label in order}
    for label in labels:
        counts[label] += 1
    best = max(order, key=lambda label: counts[label])
    return best if counts[best] else None


# --- the bootstrap -----------------------------------------------------------------------------


def resample_weights(n_clusters: int, n_boot: int, random_state: int | np.random.Generator | None = 0,
                     *, max_cells: int = 4_000_000) -> Iterator[np.ndarray]:
    """How often each cluster is drawn in each of ``n_boot`` resamples, in chunks.

    Resample ``b`` draws ``n_clusters`` cluster indices with replacement,
    ``rng.integers(0, n_clusters, size=n_clusters)`` with ``rng = np.random.default_rng(random_state)``,
    resamples one after another; its row of weights counts the draws of each cluster, so every
    row sums to ``n_clusters``.

    Yields
    ------
    ndarray of int64, shape (rows, n_clusters)
        Consecutive resamples, at most ``max_cells // n_clusters`` rows at a time (bounded memory).
    """
    rng = np.random.default_rng(random_state)
    chunk = max(1, max_cells // max(n_clusters, 1))
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        picks = rng.integers(0, n_clusters, size=(rows, n_clusters)) + n_clusters * np.arange(rows)[:, None]
        yield np.bincount(picks.ravel(), minlength=rows * n_clusters).reshape(rows, n_clusters)


def cluster_sums(values: np.ndarray, clusters: ArrayLike, n_boot: int,
                 random_state: int | np.random.Generator | None = 0) -> np.ndarray:
    """Per resample, the sum of ``values`` over the rows of the clusters drawn.

    Parameters
    ----------
    values : ndarray, shape (rows, ...)
        What each row adds (a one-hot confusion cell, a unit's coincidences).
    clusters : array_like, shape (rows,)
        Each row's cluster (article id); column k of :func:`resample_weights` is the k-th of the
        distinct ids in sorted order (as strings).

    Returns
    -------
    ndarray, shape (n_boot, ...)
    """
    values = np.asarray(values)
    _, index = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
    n_clusters = int(index.max(initial=-1)) + 1
    per_cluster = np.zeros((n_clusters, *values.shape[1:]), dtype=values.dtype)
    np.add.at(per_cluster, index, values)
    flat = per_cluster.reshape(n_clusters, math.prod(values.shape[1:]))  # not -1: no row, no cluster is fine
    out = np.empty((n_boot, flat.shape[1]), dtype=np.result_type(values.dtype, np.int64))
    done = 0
    for weights in resample_weights(n_clusters, n_boot, random_state):
        out[done:done + len(weights)] = weights @ flat
        done += len(weights)
    return out.reshape(n_boot, *values.shape[1:])


def bootstrap_confusions(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    groups: ArrayLike,
    labels: Sequence[str],
    *,
    n_boot: int = 1000,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Confusion matrices of ``n_boot`` cluster-bootstrap resamples (groups: articles).

    Returns
    -------
    ndarray of int64, shape (n_boot, k, k)
    """
    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    t, p = list(y_true), list(y_pred)
    cells = np.zeros((len(t), k * k), dtype=np.int64)
    cells[np.arange(len(t)), [index[a] * k + index[b] for a, b in zip(t, p)]] = 1
    return cluster_sums(cells, groups, n_boot, random_state).reshape(n_boot, k, k)


class Interval(BaseModel):
    """A percentile bootstrap interval, or why there is none (``status``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    status: Literal["interval", "degenerate", "too few clusters", "undefined"] = Field(
        description="interval: low and high are set; degenerate: every resample gave the same value; "
        "too few clusters: fewer articles (or units) than the coverage simulation supports, so no resampling; "
        "undefined: the statistic is undefined in more resamples than the interval may lose")
    low: float | None = Field(description="the (1 - level) / 2 percentile of the defined resamples; null unless an interval")
    high: float | None = Field(description="the (1 + level) / 2 percentile; null unless an interval")
    clusters: int = Field(description="articles (or units) there are to resample")
    resamples: int = Field(description="resamples drawn (0 when too few clusters)")
    undefined: int = Field(description="resamples in which the statistic is undefined: counted, left out of the percentiles")
    note: str | None = Field(description="why there is no interval, or what it leaves out")

    def describe(self, digits: int = 3) -> str:  # pragma: no mutate block
        """A short cell for a table: ``0.657 to 1.000``, or why there is none."""
        if self.status == "interval":
            text = f"{self.low:.{digits}f} to {self.high:.{digits}f}"
            return text + (f" ({self.undefined / self.resamples:.1%} undefined)" if self.undefined else "")
        articles = f"{self.clusters} article" + "s" * (self.clusters != 1)
        return {"degenerate": "none: every resample equal", "too few clusters": f"none: {articles}",
                "undefined": "none: undefined"}[self.status]


def percentile_interval(values: ArrayLike | None, *, level: float, clusters: int, min_clusters: int,
                        what: str = "articles") -> Interval:
    """The interval of a statistic from its value in every resample (NaN where undefined).

    No interval when ``clusters < min_clusters`` (``values`` may then be None), when the
    statistic is undefined in more than ``(1 - level) / 2`` of the resamples (each of the two
    tails may lose no more than that), or when every defined resample gives the same value
    (``degenerate``: the bootstrap cannot see any uncertainty, which is not the same as none).
    Undefined resamples are counted in ``undefined`` and named in the note.

    >>> percentile_interval([0.1, 0.2, 0.3, 0.4, 0.5], level=0.5, clusters=10, min_clusters=5).low
    0.2
    >>> percentile_interval([1.0, 1.0], level=0.95, clusters=10, min_clusters=5).status
    'degenerate'
    """
    if clusters < min_clusters or values is None:
        noun = what if clusters != 1 else what.replace("articles", "article", 1)
        return Interval(status="too few clusters", low=None, high=None, clusters=clusters, resamples=0, undefined=0,
                        note=f"{clusters} {noun}: an interval needs {min_clusters} (coverage simulation, "
                        "benchmarks/coverage.py)")
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    finite = v[np.isfinite(v)]
    undefined = n - len(finite)
    share = f"undefined in {undefined:,} of {n:,} resamples ({undefined / n:.1%})" if n else "no resample"
    if not len(finite) or undefined > (1 - level) / 2 * n:
        return Interval(status="undefined", low=None, high=None, clusters=clusters, resamples=n, undefined=undefined,
                        note=f"{share}: more than the {(1 - level) / 2:.1%} a {level:.0%} interval may lose in "
                        "each tail, so no interval")
    if finite.max() - finite.min() <= 1e-12:
        return Interval(status="degenerate", low=None, high=None, clusters=clusters, resamples=n, undefined=undefined,
                        note=f"every resample gives {finite[0]:.3f}: the bootstrap sees no variation "
                        "here, which does not mean there is none" + (f"; {share}" if undefined else ""))
    low, high = np.percentile(finite, [50 * (1 - level), 50 * (1 + level)])
    return Interval(status="interval", low=float(low), high=float(high), clusters=clusters, resamples=n,
                    undefined=undefined,
                    note=f"{share}, left out of the percentiles" if undefined else None)
