"""Evaluation of the baseline: the numbers behind ``stance evaluate``.

The metrics (F_avg, macro F1, the confusion matrix, the bootstrap) live in
:mod:`annotate.metrics`, shared with :mod:`annotate.baseline`; this module turns predictions
into an :class:`EvaluationReport` (``report.json``, a strict pydantic model whose JSON Schema is
the contract) with :func:`evaluate` and :func:`report_from_predictions`, and writes it for
people with :func:`write_report` (``report.md`` and PNG plots).

The headline stance metric is SemEval-2016 Task 6's F_avg = (F1(FAVOR) + F1(AGAINST)) / 2:
NONE is a class to predict but its F1 is not averaged in; FAVOR or AGAINST with neither gold
rows nor predictions has F1 0, as in the task's official script. Macro F1 averages the labels
with gold rows in the evaluated data, and every bootstrap resample averages those same labels.
Beside every score stands the majority-class figure: the score of a model that predicts each
question's most frequent training label for every row; a model that predicts one label for 95%
or more of a question's rows gets a warning. Intervals are percentile bootstrap intervals that
resample *articles* (all sentences of an article together; sentences of one article are not
independent), pooled over targets too, and are given from :data:`MIN_ARTICLES` articles up.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .baseline import StanceBaseline, check_rows
from .errors import AnnotateError, InputError
from .files import atomic_write
from .labeling import CLAIM_CONTROL
from .metrics import (AGAINST, FAVOR, ONE_LABEL_WARNING, Interval, bootstrap_confusions, class_scores,
                      confusion_matrix, f_avg, gold_classes, macro_f1, majority_label, percentile_interval)
from .scheme import CLAIM_LABELS, STANCE_LABELS

__all__ = ["EvaluationReport", "Interval", "QuestionPredictions", "QuestionReport", "bootstrap_confusions",
           "class_scores", "confusion_matrix", "evaluate", "f_avg", "macro_f1", "question_report",
           "report_from_predictions", "report_markdown", "write_report"]

FORMAT = "stance-evaluation/v2"
POOLED = "stance"  # the question name of all stance questions pooled over targets
# The least articles an interval needs: below it, the 95% percentile intervals of the article
# bootstrap cover the true F_avg or macro F1 less than 90% of the time in the coverage
# simulation of benchmarks/coverage.py (see the README, "stance evaluate").
MIN_ARTICLES = 20


# --- the report ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ClassScores(_Strict):
    """Precision, recall and F1 of one label."""

    label: str
    precision: float = Field(description="correct / predicted as this label; 0 when none predicted")
    recall: float = Field(description="correct / gold rows of this label; 0 when there are none")
    f1: float = Field(description="2 * correct / (gold + predicted); 0 when both are 0")
    f1_ci: Interval | None = Field(description="bootstrap interval of f1, or why there is none (see EvaluationReport.bootstrap)")
    support: int = Field(description="gold rows of this label")
    predicted: int = Field(description="rows predicted as this label")


class MajorityBaseline(_Strict):
    """The scores of the majority-class model: each question's most frequent label, for every row."""

    predicts: dict[str, str] = Field(description="question -> the label it predicts (one per target for pooled stance)")
    source: Literal["training rows", "evaluated rows"] = Field(
        description="where the most frequent label was counted: the model's training rows when known")
    accuracy: float
    f_avg: float | None = Field(description="null for the claim question")
    macro_f1: float | None = Field(description="over the same labels as the model's macro_f1")


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
    f_avg_ci: Interval | None = Field(description="null where f_avg is")
    macro_f1: float | None = Field(description="mean F1 over scored_labels; null without gold rows")
    macro_f1_ci: Interval | None = Field(description="every resample averages scored_labels")
    scored_labels: list[str] = Field(description="the labels with gold rows here: those macro F1 averages")
    majority: MajorityBaseline
    top_predicted: str | None = Field(description="the label the model predicts most often here")
    top_predicted_share: float | None = Field(description="its share of the rows")
    classes: list[ClassScores]
    confusion: list[list[int]] = Field(description="rows: gold label, columns: predicted label, in the order of labels")
    warnings: list[str] = Field(description="what makes the scores hard to trust: a model predicting one label for "
                                "95% or more of the rows")
    notes: list[str]


class Bootstrap(_Strict):
    """How the intervals were drawn."""

    method: Literal["percentile, articles resampled with replacement"]
    n_boot: int
    level: float
    random_state: int
    min_articles: int = Field(description="the least articles an interval needs (coverage simulation, benchmarks/coverage.py)")


class EvaluationReport(_Strict):
    """What ``stance evaluate`` writes as ``report.json`` (format ``stance-evaluation/v2``)."""

    format: Literal["stance-evaluation/v2"]
    scheme: str = Field(description="the label scheme id of the model and the data")
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
    """Gold and predicted labels of one question, with each row's group (article) for the bootstrap.

    ``majority`` is the label the majority-class model predicts (the most frequent training
    label); when None, the most frequent gold label of these rows is taken, and the report says so.
    """

    question: str
    labels: tuple[str, ...]
    y_true: Sequence[str]
    y_pred: Sequence[str]
    groups: Sequence[str]
    target: str | None = None
    majority: str | None = None


def _majority(preds: QuestionPredictions) -> tuple[str | None, bool]:
    """(the majority-class label, whether it came from the training rows)."""
    if preds.majority is not None:
        return preds.majority, True
    return majority_label(preds.y_true, preds.labels), False


def _report(preds: QuestionPredictions, majority: dict[str, str], majority_pred: Sequence[str], from_training: bool,
            *, n_boot: int, level: float, random_state: int) -> QuestionReport:
    labels = list(preds.labels)
    conf = confusion_matrix(preds.y_true, preds.y_pred, labels)
    precision, recall, f1, support = class_scores(conf)
    predicted = conf.sum(axis=0)
    stance = FAVOR in labels and AGAINST in labels
    n = int(conf.sum())
    scored = gold_classes(conf)
    articles = len({str(g) for g in preds.groups})
    notes, warnings = [], []
    boots = None
    if n and n_boot > 0 and articles >= MIN_ARTICLES:
        boots = bootstrap_confusions(preds.y_true, preds.y_pred, preds.groups, labels, n_boot=n_boot,
                                     random_state=random_state)

    def interval(values: np.ndarray | None) -> Interval:
        return percentile_interval(values, level=level, clusters=articles, min_clusters=MIN_ARTICLES)

    if n and articles < MIN_ARTICLES:
        notes.append(interval(None).note)
    for i, label in enumerate(labels):
        if support[i] == 0 and predicted[i] == 0:
            counted = " and counts as 0 in F_avg" if stance and label in (FAVOR, AGAINST) else ""
            notes.append(f"{label} is neither in the gold rows nor predicted: its F1 is 0{counted}")
    if n and len(scored) < len(labels):
        notes.append("macro F1 averages the labels with gold rows here: "
                     + ", ".join(labels[i] for i in scored) + " (every resample averages the same labels)")
    if not n:
        notes.append("no row has a gold label for this question")
    fa = f_avg(conf, labels) if stance and n else None
    mf = macro_f1(conf, scored) if n else None
    mf = None if mf is None or math.isnan(mf) else mf
    cis = {}
    if boots is not None:
        _, _, boot_f1, _ = class_scores(boots)
        cis = {"f_avg": interval(f_avg(boots, labels)) if fa is not None else None,
               "macro_f1": interval(macro_f1(boots, scored)),
               "classes": [interval(boot_f1[:, i]) for i in range(len(labels))]}
        for what, ci in (("F_avg", cis["f_avg"] if fa is not None else None), ("macro F1", cis["macro_f1"])):
            if ci is not None and ci.note:
                notes.append(f"{what}: {ci.note}")
    top, share = None, None
    if n:
        j = int(np.argmax(predicted))
        top, share = labels[j], float(predicted[j] / n)
        if share >= ONE_LABEL_WARNING:
            warnings.append(f"the model predicts {top} for {share:.1%} of the {n:,} rows (at least "
                            f"{ONE_LABEL_WARNING:.0%}): close to a constant model; its scores say little more "
                            "than the majority-class figures beside them")
    m_conf = confusion_matrix(preds.y_true, majority_pred, labels) if n else conf
    base = MajorityBaseline(
        predicts=majority, source="training rows" if from_training else "evaluated rows",
        accuracy=float(np.trace(m_conf) / n) if n else 0.0,
        f_avg=f_avg(m_conf, labels) if stance and n else None,
        macro_f1=None if mf is None else float(macro_f1(m_conf, scored)))
    none = percentile_interval(None if articles < MIN_ARTICLES else np.zeros(0), level=level, clusters=articles,
                               min_clusters=MIN_ARTICLES)
    return QuestionReport(
        question=preds.question, target=preds.target, labels=labels, rows=n, articles=articles,
        accuracy=float(np.trace(conf) / n) if n else 0.0,
        f_avg=fa, f_avg_ci=None if fa is None else cis.get("f_avg", none),
        macro_f1=mf, macro_f1_ci=None if mf is None else cis.get("macro_f1", none),
        scored_labels=[labels[i] for i in scored], majority=base, top_predicted=top, top_predicted_share=share,
        classes=[ClassScores(label=label, precision=float(precision[i]), recall=float(recall[i]), f1=float(f1[i]),
                             f1_ci=cis["classes"][i] if cis else (none if n else None),
                             support=int(support[i]), predicted=int(predicted[i]))
                 for i, label in enumerate(labels)],
        confusion=conf.tolist(), warnings=warnings, notes=notes)


def question_report(preds: QuestionPredictions, *, n_boot: int = 1000, level: float = 0.95,
                    random_state: int = 0) -> QuestionReport:
    """The scores of one question, with the majority-class figures and bootstrap intervals; every
    interval of the question comes from the same resamples, drawn with a fresh generator seeded
    with ``random_state``."""
    label, from_training = _majority(preds)
    majority = {} if label is None else {preds.question: label}
    return _report(preds, majority, [label] * len(preds.y_true), from_training, n_boot=n_boot, level=level,
                   random_state=random_state)


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
    (sentence, target) pairs, resampled by article together; its majority-class model predicts
    each target's own majority label (as SemEval-2016's published majority baseline).
    """
    preds = list(predictions)
    kw = dict(n_boot=n_boot, level=level, random_state=random_state)
    questions = [question_report(p, **kw) for p in preds]
    stance = [p for p in preds if p.question.startswith("stance_")]
    pooled = None
    if stance:
        majority, majority_pred, sources = {}, [], []
        for p in stance:
            label, from_training = _majority(p)
            sources.append(from_training)
            if label is not None:
                majority[p.question] = label
            majority_pred += [label] * len(p.y_true)
        pooled = _report(QuestionPredictions(
            question=POOLED, labels=STANCE_LABELS,
            y_true=[y for p in stance for y in p.y_true], y_pred=[y for p in stance for y in p.y_pred],
            groups=[g for p in stance for g in p.groups]), majority, majority_pred, all(sources), **kw)
    boot = Bootstrap(method="percentile, articles resampled with replacement", n_boot=n_boot, level=level,
                     random_state=random_state, min_articles=MIN_ARTICLES)
    return EvaluationReport(
        format=FORMAT, scheme=scheme, model=model, data=data, data_sha256=data_sha256,
        rows=rows if rows is not None else max((q.rows for q in questions), default=0),
        bootstrap=boot, questions=questions, stance=pooled, notes=list(notes))


def majority_of_counts(counts: Mapping[str, int], labels: Sequence[str]) -> str | None:
    """The most frequent label of a label -> count table (a tie goes to the earlier label); None when empty.

    >>> majority_of_counts({"NONE": 5, "FAVOR": 5, "AGAINST": 1}, ["FAVOR", "AGAINST", "NONE"])
    'FAVOR'
    """
    best = max(labels, key=lambda label: counts.get(label, 0))
    return best if counts.get(best, 0) > 0 else None


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
    """Predict every labelled question of ``rows`` (gold rows as dicts: ``claim``, ``stance``) and score it.

    A null or missing label leaves that question of that row out. Questions that the model
    cannot answer (it saw no label of them in training) are listed in the notes. The
    majority-class figures predict each question's most frequent training label.

    Raises
    ------
    InputError
        Rows of another scheme, a target the model does not know, or no labelled row at all.
    """
    rows = list(rows)
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
        if question not in by_question:
            continue
        labelled = by_question[question]
        if question not in model.questions_:
            notes.append(f"{question}: {len(labelled)} labelled rows, but the model has no model for this "
                         "question (no label of it in its training data): not evaluated")
            continue
        target = question[len("stance_"):] if question != CLAIM_CONTROL else None
        gold = [r[CLAIM_CONTROL] if target is None else r["stance"][target] for r in labelled]
        predicted = model.predict(labelled, question)  # the rows: the stance model reads their mentions
        labels = CLAIM_LABELS if target is None else STANCE_LABELS
        preds.append(QuestionPredictions(
            question=question, target=target, labels=labels, y_true=gold, y_pred=[str(x) for x in predicted],
            groups=[str(r["article_id"]) for r in labelled],
            majority=majority_of_counts(model.label_counts_[question], labels)))
    if not preds:
        raise InputError("no row has a label the model can predict", fix="evaluate on adjudicated gold rows "
                         "(`stance adjudicate`) of the scheme the model was trained on")
    evaluated = sum(1 for r in rows if r.get(CLAIM_CONTROL) is not None or any(
        v is not None for v in (r.get("stance") or {}).values()))
    return report_from_predictions(preds, scheme=model.scheme, model=name, data=data, data_sha256=data_sha256,
                                   rows=evaluated, n_boot=n_boot, level=level, random_state=random_state,
                                   notes=notes)


# --- Markdown and plots ----------------------------------------------------------------------


def _fmt(x: float | None, digits: int = 3) -> str:  # pragma: no mutate block
    return "—" if x is None else f"{x:.{digits}f}"


def _ci(ci: Interval | None) -> str:  # pragma: no mutate block
    return "—" if ci is None else ci.describe().replace(" to ", " – ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:  # pragma: no mutate block
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def _all_questions(report: EvaluationReport) -> list[QuestionReport]:  # pragma: no mutate block
    return report.questions + ([report.stance] if report.stance is not None else [])


def report_markdown(report: EvaluationReport, *, images: Sequence[str] = ()) -> str:  # pragma: no mutate block
    """The report as Markdown: a summary table with the majority-class figures, warnings, per-class
    scores, confusion matrices, notes."""
    b = report.bootstrap
    level = f"{b.level:.0%}"
    out = [f"# Evaluation of {report.model} ({report.scheme})", "",
           f"{report.rows} rows of {report.data}. F_avg is SemEval-2016 Task 6's (F1(FAVOR) + F1(AGAINST)) / 2; "
           "macro F1 averages the labels with gold rows. *Majority* is the same score for a model that predicts "
           "each question's most frequent training label for every row: a score is worth what it adds to that. "
           f"Intervals: {level} bootstrap ({b.method}; {b.n_boot} resamples, seed {b.random_state}), given from "
           f"{b.min_articles} articles up. `stance` pools every target's stance question.", ""]
    qs = _all_questions(report)
    out += _table(["question", "rows", "articles", "F_avg", f"F_avg {level} interval", "majority F_avg", "macro F1",
                   f"macro F1 {level} interval", "majority macro F1", "accuracy", "majority accuracy"],
                  [[f"**{q.question}**" if q is report.stance else q.question, str(q.rows), str(q.articles),
                    _fmt(q.f_avg), _ci(q.f_avg_ci), _fmt(q.majority.f_avg), _fmt(q.macro_f1), _ci(q.macro_f1_ci),
                    _fmt(q.majority.macro_f1), _fmt(q.accuracy), _fmt(q.majority.accuracy)]
                   for q in qs])
    warnings = [f"{q.question}: {w}" for q in qs for w in q.warnings]
    out += [f"**Warning:** {w}" for w in warnings] + ([""] if warnings else [])
    out += [f"![{Path(i).stem}]({i})" for i in images] + ([""] if images else [])
    out += ["## Per class", ""]
    for q in qs:
        out += [f"### {q.question}", "",
                "Majority-class model: " + ", ".join(f"{k} → {v}" for k, v in q.majority.predicts.items())
                + f" (most frequent label of the {q.majority.source}).", ""]
        out += _table(["label", "precision", "recall", "F1", f"F1 {level} interval", "support", "predicted"],
                      [[c.label, _fmt(c.precision), _fmt(c.recall), _fmt(c.f1), _ci(c.f1_ci), str(c.support),
                        str(c.predicted)] for c in q.classes])
        out += ["Confusion matrix (rows: gold, columns: predicted):", ""]
        out += _table(["gold \\ predicted", *q.labels],
                      [[label, *(str(n) for n in row)] for label, row in zip(q.labels, q.confusion)])
    notes = report.notes + [f"{q.question}: {n}" for q in qs for n in q.notes]
    out += ["## Notes", "", *(f"- {n}" for n in notes or ["none"])]
    return "\n".join(out) + "\n"


def _png(fig: Any) -> bytes:  # pragma: no mutate block
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})  # no version stamp: same bytes
    return buffer.getvalue()


def plot_confusions(report: EvaluationReport) -> bytes:  # pragma: no mutate block
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


def plot_scores(report: EvaluationReport) -> bytes:  # pragma: no mutate block
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
                pair = (FAVOR, AGAINST) if q.f_avg is not None else CLAIM_LABELS
                wanted = pair[s - 1]
                cls = next((c for c in q.classes if c.label == wanted), None)
                value, ci = (cls.f1, cls.f1_ci) if cls is not None else (None, None)
            if value is None:
                continue
            xs.append(x + (s - 1) * 0.22)
            ys.append(value)
            ok = ci is not None and ci.status == "interval"
            lows.append(value - ci.low if ok else 0.0)
            highs.append(ci.high - value if ok else 0.0)
        ax.errorbar(xs, ys, yerr=[lows, highs], fmt=marker, color=colour, capsize=3, label=name)
    majority = [(x, q.majority.f_avg if q.f_avg is not None else q.majority.macro_f1) for x, q in enumerate(qs)]
    majority = [(x, y) for x, y in majority if y is not None]
    if majority:
        ax.plot(*zip(*majority), "_", color="grey", markersize=22, markeredgewidth=2,
                label="majority class (headline score)")
    ax.set_xticks(range(len(qs)), [q.question for q in qs], rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{report.model}: scores with {report.bootstrap.level:.0%} bootstrap intervals (none below "
                 f"{report.bootstrap.min_articles} articles)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a point
    return _png(fig)


def write_report(report: EvaluationReport, directory: str | os.PathLike[str]) -> list[Path]:  # pragma: no mutate block
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
