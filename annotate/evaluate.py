"""Evaluation of the baseline: the numbers behind ``stance evaluate``.

Two layers, as in :mod:`annotate.agreement`. Pure numeric functions on confusion matrices
(``conf[i, j]``: rows whose gold label is ``labels[i]`` and whose predicted label is
``labels[j]``; stacked matrices of shape ``(..., k, k)`` work too, which is how the
bootstrap runs). Then :func:`evaluate` and :func:`report_from_predictions`, which turn
predictions into an :class:`EvaluationReport` (``report.json``, a strict pydantic model whose
JSON Schema is the contract), and :func:`write_report`, which adds ``report.md`` and PNG plots.

The headline stance metric is SemEval-2016 Task 6's F_avg = (F1(FAVOR) + F1(AGAINST)) / 2:
NONE is a class to predict but its F1 is not averaged in. A class that is neither in the
gold labels nor predicted has precision, recall and F1 0, as in scikit-learn
(``zero_division=0``) and the task's official script; a note says so where it happens.
Intervals are percentile bootstrap intervals that resample *articles* (all sentences of an
article together; sentences of one article are not independent), pooled over targets too.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

from .errors import AnnotateError, InputError
from .files import atomic_write
from .labeling import CLAIM_CONTROL
from .scheme import CLAIM_LABELS, STANCE_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from .baseline import StanceBaseline

FORMAT = "stance-evaluation/v1"
POOLED = "stance"  # the question name of all stance questions pooled over targets
_FAVOR, _AGAINST = "FAVOR", "AGAINST"


# --- numbers ---------------------------------------------------------------------------------


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
    average="macro")`` (tested). Worked example, gold in rows and predictions in columns
    (FAVOR, AGAINST, NONE): F1(FAVOR) = 2*8 / (10 + 10) = 0.8, F1(AGAINST) = 2*4 / (6 + 6)
    = 0.667, F_avg = 0.733:

    >>> round(f_avg([[8, 1, 1], [2, 4, 0], [0, 1, 3]], ["FAVOR", "AGAINST", "NONE"]), 4)
    0.7333

    Returns
    -------
    float, or ndarray of shape (...) for stacked matrices
    """
    _, _, f1, _ = class_scores(conf)
    value = (f1[..., list(labels).index(_FAVOR)] + f1[..., list(labels).index(_AGAINST)]) / 2
    return float(value) if np.ndim(value) == 0 else value


def macro_f1(conf: ArrayLike) -> np.ndarray | float:
    """Mean F1 over the classes that are in the gold labels or predicted.

    As ``sklearn.metrics.f1_score(y_true, y_pred, average="macro")`` without ``labels``
    (tested): a class that occurs on neither side does not count. NaN when no class occurs.
    """
    c = np.asarray(conf)
    _, _, f1, support = class_scores(c)
    present = (support + c.sum(axis=-2)) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(present, f1, 0.0).sum(axis=-1) / present.sum(axis=-1)
    return float(value) if np.ndim(value) == 0 else value


def bootstrap_confusions(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    groups: ArrayLike,
    labels: Sequence[str],
    *,
    n_boot: int = 1000,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Confusion matrices of ``n_boot`` cluster-bootstrap resamples.

    Each resample draws as many groups (articles) as there are, with replacement, and adds up
    the confusion matrices of the rows of the groups drawn.

    Returns
    -------
    ndarray of int64, shape (n_boot, k, k)
    """
    t, p, g = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object), np.asarray(groups, dtype=object)
    _, group_index = np.unique(g.astype(str), return_inverse=True)
    n_groups, k = int(group_index.max(initial=-1)) + 1, len(labels)
    per_group = np.zeros((n_groups, k, k), dtype=np.int64)
    index = {label: i for i, label in enumerate(labels)}
    np.add.at(per_group, (group_index, [index[x] for x in t], [index[x] for x in p]), 1)
    flat = per_group.reshape(n_groups, k * k)
    rng = np.random.default_rng(random_state)
    out = np.empty((n_boot, k * k), dtype=np.int64)
    chunk = max(1, 2_000_000 // max(n_groups, 1))  # bounds the weights at ~16 MB per chunk
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        picks = rng.integers(0, n_groups, size=(rows, n_groups)) + n_groups * np.arange(rows)[:, None]
        weights = np.bincount(picks.ravel(), minlength=rows * n_groups).reshape(rows, n_groups)
        out[start:start + rows] = weights @ flat
    return out.reshape(n_boot, k, k)


def _interval(values: np.ndarray, level: float) -> Interval | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return Interval(low=float(low), high=float(high))


# --- the report ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Interval(_Strict):
    """A bootstrap confidence interval."""

    low: float
    high: float


class ClassScores(_Strict):
    """Precision, recall and F1 of one label."""

    label: str
    precision: float = Field(description="correct / predicted as this label; 0 when none predicted")
    recall: float = Field(description="correct / gold rows of this label; 0 when there are none")
    f1: float = Field(description="2 * correct / (gold + predicted); 0 when both are 0")
    f1_ci: Interval | None = Field(description="bootstrap interval of f1 (see EvaluationReport.bootstrap)")
    support: int = Field(description="gold rows of this label")
    predicted: int = Field(description="rows predicted as this label")


class QuestionReport(_Strict):
    """The scores of one question, or of all stance questions pooled over targets."""

    question: str = Field(description="claim, stance_<target id>, or stance (all targets pooled)")
    target: str | None = Field(description="the target id of a stance question; null for claim and pooled")
    labels: list[str] = Field(description="the label set, in the order of the confusion matrix")
    rows: int = Field(description="rows with a gold label for this question")
    articles: int = Field(description="articles those rows come from: the bootstrap's units")
    accuracy: float
    f_avg: float | None = Field(
        description="SemEval-2016 Task 6: (F1(FAVOR) + F1(AGAINST)) / 2; null for the claim question")
    f_avg_ci: Interval | None
    macro_f1: float | None = Field(description="mean F1 over the labels in the gold rows or predicted")
    macro_f1_ci: Interval | None
    classes: list[ClassScores]
    confusion: list[list[int]] = Field(description="rows: gold label, columns: predicted label, in the order of labels")
    notes: list[str]


class Bootstrap(_Strict):
    """How the intervals were drawn."""

    method: Literal["percentile, articles resampled with replacement"]
    n_boot: int
    level: float
    random_state: int


class EvaluationReport(_Strict):
    """What ``stance evaluate`` writes as ``report.json`` (format ``stance-evaluation/v1``)."""

    format: Literal["stance-evaluation/v1"]
    scheme: str = Field(description="the label scheme version id of the model and the data")
    model: str = Field(description="the model evaluated: its name or folder, as given")
    data: str = Field(description="what was predicted: a file name, or how the predictions were made")
    data_sha256: str | None = Field(description="sha256 of the data file, when known")
    rows: int = Field(description="rows evaluated (sentences with at least one gold label)")
    bootstrap: Bootstrap
    questions: list[QuestionReport] = Field(description="claim, then stance_<target id> per target, as present")
    stance: QuestionReport | None = Field(
        description="every stance question pooled over targets (the official SemEval-2016 Task 6 score); "
        "null when no stance question was evaluated")
    notes: list[str]


@dataclass(frozen=True)
class QuestionPredictions:
    """Gold and predicted labels of one question, with each row's group (article) for the bootstrap."""

    question: str
    labels: tuple[str, ...]
    y_true: Sequence[str]
    y_pred: Sequence[str]
    groups: Sequence[str]
    target: str | None = None


def question_report(preds: QuestionPredictions, *, n_boot: int = 1000, level: float = 0.95,
                    random_state: int = 0) -> QuestionReport:
    """The scores of one question, with bootstrap intervals; every interval of the question
    comes from the same resamples, drawn with a fresh generator seeded with ``random_state``."""
    labels = list(preds.labels)
    conf = confusion_matrix(preds.y_true, preds.y_pred, labels)
    precision, recall, f1, support = class_scores(conf)
    predicted = conf.sum(axis=0)
    stance = _FAVOR in labels and _AGAINST in labels
    notes = []
    n = int(conf.sum())
    boots = (bootstrap_confusions(preds.y_true, preds.y_pred, preds.groups, labels, n_boot=n_boot,
                                  random_state=random_state) if n and n_boot > 0 else None)
    articles = len({str(g) for g in preds.groups})
    if n and articles < 2:
        notes.append(f"{articles} article: no bootstrap interval (resampling one article gives back the same rows)")
        boots = None
    for i, label in enumerate(labels):
        if support[i] == 0 and predicted[i] == 0:
            counted = " and counts as 0 in F_avg" if stance and label in (_FAVOR, _AGAINST) else ""
            notes.append(f"{label} is neither in the gold rows nor predicted: its F1 is 0{counted}")
    if not n:
        notes.append("no row has a gold label for this question")
    fa = f_avg(conf, labels) if stance and n else None
    mf = macro_f1(conf) if n else None
    return QuestionReport(
        question=preds.question, target=preds.target, labels=labels, rows=n, articles=articles,
        accuracy=float(np.trace(conf) / n) if n else 0.0,
        f_avg=fa, f_avg_ci=_interval(f_avg(boots, labels), level) if fa is not None and boots is not None else None,
        macro_f1=None if mf is None or math.isnan(mf) else mf,
        macro_f1_ci=_interval(macro_f1(boots), level) if mf is not None and boots is not None else None,
        classes=[ClassScores(label=label, precision=float(precision[i]), recall=float(recall[i]), f1=float(f1[i]),
                             f1_ci=None if boots is None else _interval(class_scores(boots)[2][:, i], level),
                             support=int(support[i]), predicted=int(predicted[i]))
                 for i, label in enumerate(labels)],
        confusion=conf.tolist(), notes=notes)


def report_from_predictions(
    predictions: Iterable[QuestionPredictions],
    *,
    scheme: str,
    model: str,
    data: str,
    data_sha256: str | None = None,
    rows: int | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
    notes: Sequence[str] = (),
) -> EvaluationReport:
    """An :class:`EvaluationReport` from gold and predicted labels per question.

    Stance questions (``stance_<target id>``) are also pooled into ``stance``: their rows are
    (sentence, target) pairs, resampled by article together.
    """
    preds = list(predictions)
    kw = dict(n_boot=n_boot, level=level, random_state=random_state)
    questions = [question_report(p, **kw) for p in preds]
    stance = [p for p in preds if p.question.startswith("stance_")]
    pooled = None
    if stance:
        pooled = question_report(QuestionPredictions(
            question=POOLED, labels=STANCE_LABELS,
            y_true=[y for p in stance for y in p.y_true], y_pred=[y for p in stance for y in p.y_pred],
            groups=[g for p in stance for g in p.groups]), **kw)
    boot = Bootstrap(method="percentile, articles resampled with replacement", n_boot=n_boot, level=level,
                     random_state=random_state)
    return EvaluationReport(
        format=FORMAT, scheme=scheme, model=model, data=data, data_sha256=data_sha256,
        rows=rows if rows is not None else max((q.rows for q in questions), default=0),
        bootstrap=boot, questions=questions, stance=pooled, notes=list(notes))


def _row(row: Any) -> dict:
    return row.model_dump() if hasattr(row, "model_dump") else dict(row)


def evaluate(
    model: StanceBaseline,
    rows: Iterable[Mapping[str, Any]],
    *,
    name: str = "model",
    data: str = "gold rows",
    data_sha256: str | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> EvaluationReport:
    """Predict every labelled question of ``rows`` (gold rows: ``claim``, ``stance``) and score it.

    A null or missing label leaves that question of that row out. Questions that the model
    cannot answer (it saw no label of them in training) are listed in the notes.

    Raises
    ------
    InputError
        Rows of another scheme, a target the model does not know, or no labelled row at all.
    """
    from .baseline import check_rows  # evaluate needs the baseline, never the reverse at import time

    rows = [_row(r) for r in rows]
    check_rows(rows, scheme=model.scheme, targets=model.targets_)
    by_question: dict[str, list[dict]] = {}
    for r in rows:
        if r.get(CLAIM_CONTROL) is not None:
            by_question.setdefault(CLAIM_CONTROL, []).append(r)
        for target, label in (r.get("stance") or {}).items():
            if label is not None:
                by_question.setdefault(f"stance_{target}", []).append(r)
    order = [CLAIM_CONTROL, *(f"stance_{t}" for t in model.targets_)]
    preds, notes = [], []
    for question in order:
        labelled = by_question.get(question, [])
        if not labelled:
            continue
        if question not in model.questions_:
            notes.append(f"{question}: {len(labelled)} labelled rows, but the model has no model for this "
                         "question (no label of it in its training data): not evaluated")
            continue
        target = question[len("stance_"):] if question != CLAIM_CONTROL else None
        gold = [r[CLAIM_CONTROL] if target is None else r["stance"][target] for r in labelled]
        predicted = model.predict([r["text"] for r in labelled], question)
        preds.append(QuestionPredictions(
            question=question, target=target, labels=CLAIM_LABELS if target is None else STANCE_LABELS,
            y_true=gold, y_pred=[str(x) for x in predicted], groups=[str(r["article_id"]) for r in labelled]))
    if not preds:
        raise InputError("no row has a label the model can predict", fix="evaluate on adjudicated gold rows "
                         "(`stance adjudicate`) of the scheme the model was trained on")
    evaluated = sum(1 for r in rows if r.get(CLAIM_CONTROL) is not None or any(
        v is not None for v in (r.get("stance") or {}).values()))
    return report_from_predictions(preds, scheme=model.scheme, model=name, data=data, data_sha256=data_sha256,
                                   rows=evaluated, n_boot=n_boot, level=level, random_state=random_state,
                                   notes=notes)


# --- Markdown and plots ----------------------------------------------------------------------


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _ci(ci: Interval | None) -> str:
    return "—" if ci is None else f"{ci.low:.3f} – {ci.high:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def _all_questions(report: EvaluationReport) -> list[QuestionReport]:
    return report.questions + ([report.stance] if report.stance is not None else [])


def report_markdown(report: EvaluationReport, *, images: Sequence[str] = ()) -> str:
    """The report as Markdown: a summary table, per-class scores, confusion matrices, notes."""
    b = report.bootstrap
    level = f"{b.level:.0%}"
    out = [f"# Evaluation of {report.model} ({report.scheme})", "",
           f"{report.rows} rows of {report.data}. F_avg is SemEval-2016 Task 6's (F1(FAVOR) + F1(AGAINST)) / 2; "
           f"macro F1 averages the labels present. Intervals: {level} bootstrap ({b.method}; {b.n_boot} resamples, "
           f"seed {b.random_state}). `stance` pools every target's stance question.", ""]
    qs = _all_questions(report)
    out += _table(["question", "rows", "articles", "F_avg", f"F_avg {level} CI", "macro F1", f"macro F1 {level} CI",
                   "accuracy"],
                  [[f"**{q.question}**" if q is report.stance else q.question, str(q.rows), str(q.articles),
                    _fmt(q.f_avg), _ci(q.f_avg_ci), _fmt(q.macro_f1), _ci(q.macro_f1_ci), _fmt(q.accuracy)]
                   for q in qs])
    out += [f"![{Path(i).stem}]({i})" for i in images] + ([""] if images else [])
    out += ["## Per class", ""]
    for q in qs:
        out += [f"### {q.question}", ""]
        out += _table(["label", "precision", "recall", "F1", f"F1 {level} CI", "support", "predicted"],
                      [[c.label, _fmt(c.precision), _fmt(c.recall), _fmt(c.f1), _ci(c.f1_ci), str(c.support),
                        str(c.predicted)] for c in q.classes])
        out += ["Confusion matrix (rows: gold, columns: predicted):", ""]
        out += _table(["gold \\ predicted", *q.labels],
                      [[label, *(str(n) for n in row)] for label, row in zip(q.labels, q.confusion)])
    notes = report.notes + [f"{q.question}: {n}" for q in qs for n in q.notes]
    out += ["## Notes", "", *(f"- {n}" for n in notes or ["none"])]
    return "\n".join(out) + "\n"


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})  # no version stamp: same bytes
    return buffer.getvalue()


def plot_confusions(report: EvaluationReport) -> bytes:
    """PNG: one confusion matrix per question (and pooled stance), counts in the cells."""
    from matplotlib.figure import Figure  # Figure without pyplot: the Agg canvas, no display, no global state

    qs = _all_questions(report)
    cols = min(3, len(qs)) or 1
    rows = math.ceil(len(qs) / cols) or 1
    fig = Figure(figsize=(3.6 * cols, 3.3 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel()[len(qs):]:
        ax.set_axis_off()
    for ax, q in zip(axes.ravel(), qs):
        conf = np.asarray(q.confusion)
        ax.imshow(conf, cmap="Blues", vmin=0, vmax=max(int(conf.max(initial=0)), 1))
        ax.set_xticks(range(len(q.labels)), q.labels, fontsize=8)
        ax.set_yticks(range(len(q.labels)), q.labels, fontsize=8)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("gold", fontsize=8)
        ax.set_title(f"{q.question} ({q.rows} rows)", fontsize=9)
        top = conf.max(initial=0)
        for (i, j), n in np.ndenumerate(conf):
            ax.text(j, i, str(n), ha="center", va="center", fontsize=9,
                    color="white" if top and n > top / 2 else "black")
    return _png(fig)


def plot_scores(report: EvaluationReport) -> bytes:
    """PNG: per question the headline score (F_avg for stance, macro F1 for claim) and the F1 of
    each label it averages, with bootstrap intervals."""
    from matplotlib.figure import Figure

    qs = _all_questions(report)
    fig = Figure(figsize=(max(5.0, 1.5 * len(qs) + 2), 4.0), layout="constrained")
    ax = fig.subplots()
    series = [("F_avg / macro F1", "o", "black"), ("F1 FAVOR / CLAIM", "^", "tab:green"),
              ("F1 AGAINST / NO_CLAIM", "v", "tab:red")]
    for s, (name, marker, colour) in enumerate(series):
        xs, ys, lows, highs = [], [], [], []
        for x, q in enumerate(qs):
            if s == 0:
                value, ci = (q.f_avg, q.f_avg_ci) if q.f_avg is not None else (q.macro_f1, q.macro_f1_ci)
            else:
                pair = (_FAVOR, _AGAINST) if q.f_avg is not None else CLAIM_LABELS
                wanted = pair[s - 1]
                cls = next((c for c in q.classes if c.label == wanted), None)
                value, ci = (cls.f1, cls.f1_ci) if cls is not None else (None, None)
            if value is None:
                continue
            xs.append(x + (s - 1) * 0.22)
            ys.append(value)
            lows.append(value - (ci.low if ci else value))
            highs.append((ci.high if ci else value) - value)
        ax.errorbar(xs, ys, yerr=[lows, highs], fmt=marker, color=colour, capsize=3, label=name)
    ax.set_xticks(range(len(qs)), [q.question for q in qs], rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{report.model}: scores with {report.bootstrap.level:.0%} bootstrap intervals", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a point
    return _png(fig)


def write_report(report: EvaluationReport, directory: str | os.PathLike[str]) -> list[Path]:
    """Write ``report.json``, ``report.md``, ``confusion.png`` and ``scores.png`` into ``directory``.

    Every file is written atomically; returns the paths written.
    """
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise AnnotateError("is a file, not a folder", path=out, fix="give a folder for the report")
    images = {"confusion.png": plot_confusions(report), "scores.png": plot_scores(report)}
    written = []
    for name, content in images.items():
        with atomic_write(out / name, binary=True) as handle:
            handle.write(content)
        written.append(out / name)
    with atomic_write(out / "report.json") as handle:
        handle.write(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    with atomic_write(out / "report.md") as handle:
        handle.write(report_markdown(report, images=list(images)))
    return [out / "report.json", out / "report.md", *written]
