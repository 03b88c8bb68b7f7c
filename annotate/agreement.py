"""Inter-annotator agreement: the report behind ``stance agree``.

:func:`agreement_report` turns :class:`~annotate.labels.Annotation` records into an
:class:`AgreementReport` (every undefined statistic ``None`` with a note), with the
coefficients of :mod:`annotate.coefficients` (pure numeric functions on numpy arrays: alpha,
the kappas, span F1; which units take part in each is said there); :func:`report_markdown` and
:func:`plot_agreement` are for people.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import combinations
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .coefficients import (Span3, _f1, _span_counts, bootstrap_alphas, cohen_matrix, fleiss_kappa,
                           krippendorff_alpha_nominal, majority_agreement, observed_agreement, pooled_alpha_nominal,
                           pooled_weights, value_counts)
from .errors import InputError
from .files import read_model_lines
from .gold import Gold, dawid_skene, natural_key
from .labels import Annotation, RejectedAnnotation
from .metrics import Interval, percentile_interval
from .scheme import CLAIM_LABELS, STANCE_LABELS, Scheme

FORMAT = "stance-agreement/v2"
# The least articles (clusters) an alpha interval needs: below it, percentile intervals of the
# cluster bootstrap cover the true alpha less than 90% of the time for a nominal 95% in the
# coverage simulation of benchmarks/coverage.py (see the README, "Agreement").
MIN_ARTICLES = 15


# --- The report: Annotation records in, AgreementReport out ----------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class QuestionAgreement(_Strict):
    """Agreement on one choice question."""

    question: str = Field(description="claim, or stance_<target id>")
    labels: list[str]
    units: int = Field(description="units with at least one label")
    annotators: int = Field(description="annotators with at least one label")
    units_multi: int = Field(description="units with two or more labels: the only units the statistics but "
                             "Fleiss' chance agreement use")
    units_single: int = Field(description="units with one label: counted, used by no statistic but Fleiss' "
                              "chance agreement")
    articles: int = Field(description="articles with a unit of two or more labels: the clusters of the bootstrap")
    alpha: float | None = Field(description="Krippendorff's alpha, nominal")
    alpha_ci: Interval = Field(description="percentile bootstrap interval of alpha, articles resampled, "
                               "or why there is none (see AgreementReport.bootstrap)")
    observed_agreement: float | None = Field(description="mean share of agreeing label pairs per unit (Fleiss' P-bar)")
    fleiss_kappa: float | None = Field(description="Fleiss' kappa generalised to unequal numbers of raters (Gwet 2014)")
    cohen_kappa: list[list[float | None]] = Field(
        description="Cohen's kappa per annotator pair, rows and columns in the order of "
        "AgreementReport.annotators; null on the diagonal, for pairs with no shared unit, "
        "and where kappa is undefined")
    cohen_units: list[list[int]] = Field(description="units each pair both labelled (diagonal: units each labelled)")
    notes: list[str] = Field(description="why a statistic is null, and what was left out")


class PooledAgreement(_Strict):
    """Alpha of all choice questions together, chance taken within each question."""

    method: Literal["1 - sum_q n_q D_o,q / sum_q n_q D_e,q: the per-question alphas weighted by n_q D_e,q"]
    questions: list[str]
    units: int = Field(description="(sentence, question) pairs with at least one label")
    units_multi: int = Field(description="(sentence, question) pairs with two or more labels")
    articles: int
    alpha: float | None = Field(description="between the lowest and the highest per-question alpha, always")
    alpha_ci: Interval
    weights: dict[str, float] = Field(description="each question's share n_q D_e,q of the pooled alpha")
    observed_agreement: float | None = Field(description="mean share of agreeing label pairs over (sentence, question) pairs")
    notes: list[str]


class ConfusionEstimate(_Strict):
    """Dawid-Skene's estimate of how one annotator answers one question."""

    labels: list[str] = Field(description="the labels given to this question by anyone, in row and column order")
    matrix: list[list[float]] = Field(description="row: the estimated true label; column: this annotator's answer; "
                                      "each row sums to 1 (all zeros where the annotator never met that truth)")


class AnnotatorQuestion(_Strict):
    """One annotator on one question."""

    question: str
    labels: int = Field(description="sentences this annotator answered")
    majority_units: int = Field(description="of those, units where the others have a strict majority")
    majority_agreement: float | None = Field(description="share of those units where this annotator gave the majority label")
    gold_units: int | None = Field(description="sentences this annotator answered that have a gold label; null without --gold")
    gold_agreement: float | None = Field(description="share of those where this annotator's label is the gold label")
    dawid_skene: ConfusionEstimate | None = Field(description="null without --dawid-skene")


class AnnotatorReport(_Strict):
    """What one annotator did, and how they agree with the others (and gold)."""

    annotator: str = Field(description="annotator id")
    email: str | None = Field(description="the annotator's email where an annotation or skip names it")
    labels: int = Field(description="accepted annotations (sentences labelled)")
    skips: int | None = Field(description="annotations skipped, from the rejects file of `stance read`; null without --rejects")
    median_lead_time: float | None = Field(description="median seconds per accepted annotation, as Label Studio measured")
    lead_times: int = Field(description="accepted annotations with a lead_time")
    majority_units: int = Field(description="units over all questions where the others have a strict majority")
    majority_agreement: float | None = Field(description="share of those where this annotator gave the majority label")
    gold_units: int | None
    gold_agreement: float | None
    questions: list[AnnotatorQuestion]


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

    method: Literal["percentile; articles resampled with replacement, each with all its sentences and questions"]
    n_boot: int
    level: float
    random_state: int
    min_articles: int = Field(description="the least articles an interval needs (coverage simulation, benchmarks/coverage.py)")


class AgreementReport(_Strict):
    """What ``stance agree`` writes (format ``stance-agreement/v2``)."""

    format: Literal["stance-agreement/v2"]
    scheme: str = Field(description="the label scheme id of the annotations")
    annotations: int
    sentences: int
    articles: int
    annotators: list[str] = Field(description="annotator ids, in the row order of every matrix")
    emails: dict[str, str] = Field(description="annotator id -> email, where an annotation or skip names it")
    bootstrap: Bootstrap
    questions: list[QuestionAgreement] = Field(description="claim, then stance_<target id> per target")
    pooled: PooledAgreement
    per_annotator: list[AnnotatorReport] = Field(description="every annotator with an accepted annotation or a skip")
    gold: str | None = Field(description="the gold file the annotators were compared with (--gold), or null")
    rejects: str | None = Field(description="the rejects file the skips were counted from (--rejects), or null")
    dawid_skene: bool = Field(description="whether per-annotator confusion matrices were estimated (--dawid-skene)")
    spans: SpanAgreement
    notes: list[str]


def _none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _clusters_with_pairs(codes: np.ndarray, articles: np.ndarray) -> int:
    """Articles with a unit of two or more labels in ``codes``: the clusters a bootstrap can draw.

    Every annotation answers every question of its sentence, so one question's table tells it for all.
    """
    return len(set(articles[(codes >= 0).sum(axis=0) >= 2].tolist()))


def _alpha_interval(alpha: float, resampled: np.ndarray | None, *, level: float, clusters: int) -> Interval:
    """The interval of alpha from its resamples, or why there is none."""
    if clusters >= MIN_ARTICLES and math.isnan(alpha):
        return Interval(status="undefined", low=None, high=None, clusters=clusters, resamples=0, undefined=0,
                        note="alpha is undefined on the data itself: no interval")
    return percentile_interval(np.zeros(0) if resampled is None and clusters >= MIN_ARTICLES else resampled,
                               level=level, clusters=clusters, min_clusters=MIN_ARTICLES,
                               what="articles with a unit of two or more labels")


def _question(name: str, labels: Sequence[str], codes: np.ndarray, articles: np.ndarray,
              resampled: np.ndarray | None, level: float) -> QuestionAgreement:
    counts = value_counts(codes, len(labels))
    per_unit = counts.sum(axis=1)
    multi, single = int((per_unit >= 2).sum()), int((per_unit == 1).sum())
    active = int((codes >= 0).any(axis=1).sum())
    clusters = _clusters_with_pairs(codes, articles)
    kappa, shared = cohen_matrix(codes)
    notes = []
    if single:
        notes.append(f"{single} unit{'s' * (single > 1)} with one label left out of every statistic but Fleiss' "
                     "chance agreement")
    nan = math.nan
    observed, alpha, fleiss = nan, nan, nan
    if active < 2 or not multi:
        notes.append(f"only {active} annotator(s) answered: no statistics" if active < 2
                     else "no unit has two or more labels: no statistics")
    else:
        observed, alpha, fleiss = observed_agreement(counts), krippendorff_alpha_nominal(codes), fleiss_kappa(counts)
        if math.isnan(alpha):
            notes.append("alpha and Fleiss' kappa are undefined: every label given is the same")
    ci = _alpha_interval(alpha, resampled, level=level, clusters=clusters)
    if ci.note:
        notes.append(f"alpha interval: {ci.note}")
    return QuestionAgreement(
        question=name, labels=list(labels), units=int((per_unit >= 1).sum()), annotators=active,
        units_multi=multi, units_single=single, articles=clusters, alpha=_none(alpha), alpha_ci=ci,
        observed_agreement=_none(observed), fleiss_kappa=_none(fleiss),
        cohen_kappa=[[_none(k) for k in row] for row in kappa], cohen_units=shared.tolist(), notes=notes)


def _pooled(names: list[str], codes: dict[str, np.ndarray], articles: np.ndarray, resampled: np.ndarray | None,
            questions: list[QuestionAgreement], level: float) -> PooledAgreement:
    datas = [codes[n] for n in names]  # never empty: the claim question is always asked
    counts = np.concatenate([value_counts(codes[n], len(STANCE_LABELS)) for n in names])  # (sentence, question) units
    per_unit = counts.sum(axis=1)
    alpha = pooled_alpha_nominal(datas)
    multi = int((per_unit >= 2).sum())
    observed = observed_agreement(counts)
    clusters = _clusters_with_pairs(datas[0], articles)
    ci = _alpha_interval(alpha, resampled, level=level, clusters=clusters)
    defined = [q.alpha for q in questions if q.alpha is not None]
    notes = [f"chance agreement is taken within each question: pooled alpha is the per-question alphas' mean weighted "
             f"by n_q D_e,q, so it lies between the lowest ({min(defined):.3f}) and the highest "
             f"({max(defined):.3f})" if defined else "no question has a defined alpha: no pooled alpha"]
    if ci.note:
        notes.append(f"alpha interval: {ci.note}")
    weights = pooled_weights(datas)
    return PooledAgreement(
        method="1 - sum_q n_q D_o,q / sum_q n_q D_e,q: the per-question alphas weighted by n_q D_e,q",
        questions=names, units=int((per_unit >= 1).sum()), units_multi=multi, articles=clusters, alpha=_none(alpha),
        alpha_ci=ci, weights={n: float(w) for n, w in zip(names, weights)}, observed_agreement=_none(observed),
        notes=notes)


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


def _gold_codes(gold: Iterable[Gold], scheme: Scheme, names: list[str], sentences: list[str],
                notes: list[str]) -> dict[str, np.ndarray]:
    col = {s: j for j, s in enumerate(sentences)}
    out = {n: np.full(len(sentences), -1, dtype=np.int64) for n in names}
    rows = matched = 0
    for number, row in enumerate(gold, 1):
        rows += 1
        if row.scheme != scheme.id:
            raise InputError(f"gold row of scheme {row.scheme!r}, not {scheme.id!r}", where=f"row {number} "
                             f"(sentence {row.sentence_id})", fix="give the gold file adjudicated from these annotations")
        j = col.get(row.sentence_id)
        if j is None:
            continue
        matched += 1
        if row.claim is not None:
            out["claim"][j] = CLAIM_LABELS.index(row.claim)
        for target, label in row.stance.items():
            name = scheme.stance_control(target)
            if name in out:
                out[name][j] = STANCE_LABELS.index(label)
    notes.append(f"gold: {rows:,} rows read, {matched:,} of them sentences of these annotations "
                 "(gold adjudicated from these same annotators agrees with them by construction: read it as a check, "
                 "not as accuracy)")
    return out


def _share(hits: float, units: int) -> float | None:
    return hits / units if units else None


def _per_annotator(records: dict[tuple[str, str], Annotation], annotators: list[str], names: list[str],
                   codes: dict[str, np.ndarray], gold: dict[str, np.ndarray] | None,
                   skips: dict[str, int] | None, emails: dict[str, str], sentences: list[str],
                   dawid: bool, labels_of: dict[str, tuple[str, ...]]) -> list[AnnotatorReport]:
    lead: dict[str, list[float]] = {}
    for (_, a), ann in records.items():
        if ann.lead_time is not None:
            lead.setdefault(a, []).append(float(ann.lead_time))
    majority = {n: majority_agreement(codes[n]) for n in names}
    estimates: dict[str, dict[str, ConfusionEstimate]] = {}
    for n in names if dawid else ():
        rows = [(sentences[j], annotators[i], labels_of[n][codes[n][i, j]]) for i, j in zip(*np.nonzero(codes[n] >= 0))]
        fitted = dawid_skene(*zip(*rows)) if rows else None
        seen = [] if fitted is None else fitted.labels.tolist()
        order = [label for label in labels_of[n] if label in seen]  # the scheme's order, not the sorted one
        index = [seen.index(label) for label in order]
        for w, worker in enumerate([] if fitted is None else fitted.workers.tolist()):
            errors = fitted.errors[w][np.ix_(index, index)]  # [answer, truth]
            estimates.setdefault(worker, {})[n] = ConfusionEstimate(labels=order, matrix=errors.T.tolist())
    out = []
    nothing = np.full(len(sentences), -1)
    for a in annotators + sorted(set(skips or {}) - set(annotators), key=natural_key):
        i = annotators.index(a) if a in annotators else None
        questions = []
        for n in names:
            mine = nothing if i is None else codes[n][i]
            agree, units = (math.nan, 0) if i is None else (majority[n][0][i], majority[n][1][i])
            gu = ga = None
            if gold is not None:
                both = (mine >= 0) & (gold[n] >= 0)
                gu = int(both.sum())
                ga = _share(int((mine[both] == gold[n][both]).sum()), gu)
            questions.append(AnnotatorQuestion(
                question=n, labels=int((mine >= 0).sum()), majority_units=int(units), majority_agreement=_none(agree),
                gold_units=gu, gold_agreement=ga, dawid_skene=estimates.get(a, {}).get(n)))
        m_units = sum(q.majority_units for q in questions)
        g_units = sum(q.gold_units for q in questions) if gold is not None else None
        times = lead.get(a, [])
        out.append(AnnotatorReport(
            annotator=a, email=emails.get(a), labels=sum(1 for (_, who) in records if who == a),
            skips=None if skips is None else skips.get(a, 0),
            median_lead_time=float(np.median(times)) if times else None, lead_times=len(times),
            majority_units=m_units,
            majority_agreement=_share(sum(q.majority_agreement * q.majority_units for q in questions
                                          if q.majority_units), m_units),
            gold_units=g_units,
            gold_agreement=None if gold is None else _share(sum(q.gold_agreement * q.gold_units for q in questions
                                                                if q.gold_units), g_units),
            questions=questions))
    return out


def agreement_report(
    annotations: Iterable[Annotation],
    scheme: Scheme,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
    gold: Iterable[Gold] | None = None,
    skips: Iterable[RejectedAnnotation] | None = None,
    dawid_skene: bool = False,
    gold_source: str | None = None,
    rejects_source: str | None = None,
) -> AgreementReport:
    """Agreement per question, pooled, and per annotator, from one record per (sentence, annotator).

    The unit of a choice question is the sentence. Every interval comes from the same
    ``n_boot`` resamples of whole articles (each with all its sentences and all their questions),
    drawn with a generator seeded with ``random_state``; an interval needs :data:`MIN_ARTICLES`
    articles with a unit of two or more labels.

    Parameters
    ----------
    gold : iterable of Gold, optional
        Gold rows to compare every annotator with.
    skips : iterable of RejectedAnnotation, optional
        The rejects file of ``stance read``: its ``skipped`` lines are counted per annotator.
    dawid_skene : bool
        Estimate every annotator's confusion matrix per question (Dawid and Skene 1979).

    Raises
    ------
    InputError
        An annotation of another scheme, with targets other than the scheme's, or a second
        answer of one annotator to one sentence.
    """
    targets = scheme.target_ids
    records: dict[tuple[str, str], Annotation] = {}
    emails: dict[str, str] = {}
    for ann in annotations:
        key = (ann.sentence_id, ann.annotator.id)
        where = f"annotation {ann.annotation_id} (sentence {ann.sentence_id}, annotator {ann.annotator.id})"
        if ann.scheme != scheme.id:
            raise InputError(f"labelled with scheme {ann.scheme!r}, not {scheme.id!r}", where=where,
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
        if ann.annotator.email:
            emails.setdefault(ann.annotator.id, ann.annotator.email)
    skip_counts: dict[str, int] | None = None
    notes = ["units with a single label are counted (units_single) and left out of every statistic but Fleiss' "
             "chance agreement"]
    if skips is not None:
        skip_counts = {}
        nameless = 0
        for reject in skips:
            if reject.fate != "skipped":
                continue
            if reject.annotator is None:
                nameless += 1
                continue
            skip_counts[reject.annotator.id] = skip_counts.get(reject.annotator.id, 0) + 1
            if reject.annotator.email:
                emails.setdefault(reject.annotator.id, reject.annotator.email)
        notes.append(f"skips: {sum(skip_counts.values()):,} skipped annotations counted from the rejects file"
                     + (f", {nameless:,} more that name no annotator" if nameless else ""))
    sentences = sorted({s for s, _ in records})  # '<article>:<start>-<end>': never all digits
    annotators = sorted({a for _, a in records}, key=natural_key)
    row, col = {a: i for i, a in enumerate(annotators)}, {s: j for j, s in enumerate(sentences)}
    article_of = {s: ann.article_id for (s, _), ann in records.items()}
    articles = np.array([article_of[s] for s in sentences], dtype=object)
    names = ["claim", *(scheme.stance_control(t) for t in targets)]
    labels_of = {n: CLAIM_LABELS if n == "claim" else STANCE_LABELS for n in names}
    codes = {name: np.full((len(annotators), len(sentences)), -1, dtype=np.int64) for name in names}
    spans: dict[str, dict[str, list[Span3]]] = {s: {} for s in sentences}
    for (s, a), ann in records.items():
        i, j = row[a], col[s]
        codes["claim"][i, j] = CLAIM_LABELS.index(ann.claim)
        for t in targets:
            codes[scheme.stance_control(t)][i, j] = STANCE_LABELS.index(ann.stance[t])
        spans[s][a] = [(span.start, span.end, span.label) for span in ann.spans]

    boot = Bootstrap(method="percentile; articles resampled with replacement, each with all its sentences and questions",
                     n_boot=n_boot, level=level, random_state=random_state, min_articles=MIN_ARTICLES)
    clusters = _clusters_with_pairs(codes["claim"], articles)
    resampled = None
    if n_boot > 0 and clusters >= MIN_ARTICLES:
        resampled = bootstrap_alphas([codes[n] for n in names], articles.astype(str), n_boot=n_boot,
                                     random_state=random_state)
    questions = [_question(n, labels_of[n], codes[n], articles,
                           None if resampled is None else resampled[:, q], level) for q, n in enumerate(names)]
    pooled = _pooled(names, codes, articles, None if resampled is None else resampled[:, -1], questions, level)
    gold_codes = None if gold is None else _gold_codes(gold, scheme, names, sentences, notes)
    per_annotator = _per_annotator(records, annotators, names, codes, gold_codes, skip_counts, emails, sentences,
                                   dawid_skene, labels_of)
    if len(annotators) < 2:
        notes.append(f"{len(annotators)} annotator(s): agreement needs two or more")
    if dawid_skene:
        notes.append("Dawid-Skene: each annotator's confusion matrix per question, fitted by EM over that question's "
                     "answers (annotate.gold.dawid_skene); with few annotators or units it is a rough estimate")
    return AgreementReport(
        format=FORMAT, scheme=scheme.id, annotations=len(records), sentences=len(sentences),
        articles=len(set(articles.tolist())), annotators=annotators, emails=dict(sorted(emails.items())),
        bootstrap=boot, questions=questions, pooled=pooled, per_annotator=per_annotator,
        gold=gold_source if gold is not None else None, rejects=rejects_source if skips is not None else None,
        dawid_skene=dawid_skene, spans=_spans(spans, annotators), notes=notes)


def read_rejects(path: str | os.PathLike[str]) -> Iterator[RejectedAnnotation]:
    """The lines of a rejects file of ``stance read`` (JSON lines), validated one by one."""
    return read_model_lines(path, RejectedAnnotation, what="rejects file",
                            fix="give the rejects file `stance read` wrote (--rejects, or OUTPUT.rejects.jsonl)",
                            written_by="rejects files are written by `stance read`")


# --- Markdown and the plot ---------------------------------------------------------------------


def _fmt(x: float | None, digits: int = 3) -> str:  # pragma: no mutate block
    return "—" if x is None else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:  # pragma: no mutate block
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def annotator_name(report: AgreementReport, annotator: str) -> str:  # pragma: no mutate block
    """The annotator's email where known, else ``annotator <id>``."""
    email = report.emails.get(annotator)
    return email if email else f"annotator {annotator}"


def _ci_cell(ci: Interval) -> str:  # pragma: no mutate block
    return ci.describe().replace(" to ", " – ")


def report_markdown(report: AgreementReport, *, image: str | None = None) -> str:  # pragma: no mutate block
    """The report as Markdown: alpha per question first, then pooled, per annotator, Cohen's kappa, spans, notes."""
    b = report.bootstrap
    names = {a: annotator_name(report, a) for a in report.annotators}
    out = [f"# Agreement ({report.scheme})", "",
           f"{report.annotations} annotations of {report.sentences} sentences from {report.articles} articles by "
           f"{len(report.annotators)} annotators ({', '.join(names.values()) or 'none'}). Alpha is Krippendorff's "
           f"alpha (nominal), with a {b.level:.0%} bootstrap interval ({b.method}; {b.n_boot} resamples, seed "
           f"{b.random_state}; an interval needs {b.min_articles} articles). Units with one label are counted and "
           "left out of every statistic but Fleiss' chance agreement.", ""]
    out += _table(
        ["question", "alpha", f"alpha {b.level:.0%} interval", "units", "2+ labels", "1 label", "articles",
         "observed", "Fleiss kappa"],
        [[q.question, _fmt(q.alpha), _ci_cell(q.alpha_ci), str(q.units), str(q.units_multi), str(q.units_single),
          str(q.articles), _fmt(q.observed_agreement), _fmt(q.fleiss_kappa)] for q in report.questions]
        + [[f"*pooled* ({len(report.pooled.questions)} questions)", _fmt(report.pooled.alpha),
            _ci_cell(report.pooled.alpha_ci), str(report.pooled.units), str(report.pooled.units_multi), "",
            str(report.pooled.articles), _fmt(report.pooled.observed_agreement), ""]])
    p = report.pooled
    out += ["*Pooled* is not a separate measurement: it is the per-question alphas' mean, each weighted by its "
            "share of the expected disagreement (n_q D_e,q: " + ", ".join(f"{q} {w:.2f}" for q, w in p.weights.items())
            + "), so it always lies between the lowest and the highest per-question alpha. Chance agreement is "
            "taken within each question, whose labels never meet another question's in one unit.", ""]
    if image:
        out += [f"![alpha per question and agreement per annotator]({image})", ""]
    out += ["## Per annotator", ""]
    gold = report.gold is not None
    header = ["annotator", "labels", "skips", "median lead time (s)", "with the others' majority"]
    header += ["with gold"] if gold else []
    rows = []
    for a in report.per_annotator:
        cells = [annotator_name(report, a.annotator), str(a.labels), "—" if a.skips is None else str(a.skips),
                 _fmt(a.median_lead_time, 1), f"{_fmt(a.majority_agreement)} ({a.majority_units})"]
        if gold:
            cells.append(f"{_fmt(a.gold_agreement)} ({a.gold_units})")
        rows.append(cells)
    out += _table(header, rows)
    out += ["Agreement cells: share of agreement (units compared). The others' majority counts the units where "
            "the other annotators have a strict majority." + (f" Gold: `{report.gold}`." if gold else "")
            + (f" Skips from `{report.rejects}`." if report.rejects else " Skips: give `--rejects` (the rejects "
               "file of `stance read`) to count them."), ""]
    out += ["### Per question", ""]
    out += _table(["annotator"] + [q.question for q in report.questions], [
        [annotator_name(report, a.annotator)] + [
            f"{_fmt(q.majority_agreement)} ({q.majority_units})"
            + (f"; gold {_fmt(q.gold_agreement)} ({q.gold_units})" if gold else "") for q in a.questions]
        for a in report.per_annotator])
    if report.dawid_skene:
        out += ["### Dawid-Skene confusion matrices", "",
                "Each annotator's estimated probability of answering a label (columns) when the truth is a label "
                "(rows).", ""]
        for a in report.per_annotator:
            for q in a.questions:
                if q.dawid_skene is None:
                    continue
                ds = q.dawid_skene
                out += [f"**{annotator_name(report, a.annotator)}, {q.question}**", ""]
                out += _table(["truth \\ answer", *ds.labels],
                              [[label, *(f"{x:.2f}" for x in r)] for label, r in zip(ds.labels, ds.matrix)])
    out += ["## Cohen's kappa per annotator pair", "", "Each cell: kappa (units both labelled).", ""]
    for q in report.questions:
        out += [f"### {q.question}", ""]
        out += _table([""] + list(names.values()), [
            [names[a]] + ["" if i == j else f"{_fmt(q.cohen_kappa[i][j])} ({q.cohen_units[i][j]})"
                          for j in range(len(report.annotators))]
            for i, a in enumerate(report.annotators)])
    sp = report.spans
    out += ["## Spans", "", f"Pairwise F1 over {sp.units_multi} sentences with two or more annotators "
            f"({sp.units_single} with one are left out): exact (same start, end and label) "
            "and overlap (overlapping, same label).", ""]
    out += _table(["pair", "sentences", "spans", "exact F1", "overlap F1"],
                  [[f"{names.get(p.annotators[0], p.annotators[0])} – {names.get(p.annotators[1], p.annotators[1])}",
                    str(p.units), f"{p.spans[0]} / {p.spans[1]}", _fmt(p.exact_f1), _fmt(p.overlap_f1)]
                   for p in sp.pairs]
                  + [["**all pairs**", "", "", _fmt(sp.exact_f1), _fmt(sp.overlap_f1)]])
    notes = (report.notes + [f"{q.question}: {n}" for q in report.questions for n in q.notes]
             + [f"pooled: {n}" for n in report.pooled.notes] + [f"spans: {n}" for n in sp.notes])
    out += ["## Notes", "", *(f"- {n}" for n in notes)]
    return "\n".join(out) + "\n"


def plot_agreement(report: AgreementReport) -> bytes:  # pragma: no mutate block
    """PNG: alpha per question (and pooled) with its interval; each annotator's agreement with the
    others' majority (and with gold, where given)."""
    from matplotlib.figure import Figure  # the Agg canvas, no display, no global state

    qs = [*report.questions]
    fig = Figure(figsize=(max(8.0, 1.2 * (len(qs) + 1) + 1.0 * len(report.per_annotator) + 3), 4.2),
                 layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[len(qs) + 1, max(len(report.per_annotator), 1) + 1])
    items = [(q.question, q.alpha, q.alpha_ci) for q in qs] + [("pooled", report.pooled.alpha, report.pooled.alpha_ci)]
    for x, (name, alpha, ci) in enumerate(items):
        if alpha is None:
            left.annotate("undefined", (x, 0), ha="center", fontsize=7, color="grey")
            continue
        colour = "tab:blue" if name != "pooled" else "black"
        if ci.status == "interval":
            left.errorbar([x], [alpha], yerr=[[alpha - ci.low], [ci.high - alpha]], fmt="o", color=colour, capsize=4)
        else:
            left.plot([x], [alpha], "o", color=colour, markerfacecolor="white")
            left.annotate(ci.describe().replace(": ", ":\n"), (x, alpha), xytext=(0, -22), textcoords="offset points",
                          ha="center", fontsize=6, color="grey")
    left.axhline(0, color="grey", linewidth=0.6)
    left.axhline(0.667, color="tab:orange", linewidth=0.6, linestyle="--")
    left.axhline(0.8, color="tab:green", linewidth=0.6, linestyle="--")
    left.set_xticks(range(len(items)), [i[0] for i in items], rotation=20, ha="right", fontsize=8)
    left.set_ylim(min([-0.2, *(i[1] for i in items if i[1] is not None)]) - 0.05, 1.05)
    left.set_ylabel("Krippendorff's alpha")
    left.set_title(f"alpha with {report.bootstrap.level:.0%} intervals (filled: an interval; hollow: none)\n"
                   "dashed: 0.667 and 0.8, Krippendorff's thresholds", fontsize=8)
    people = report.per_annotator
    xs = np.arange(len(people))
    has_gold = report.gold is not None
    width = 0.38 if has_gold else 0.6
    majority = [a.majority_agreement if a.majority_agreement is not None else 0.0 for a in people]
    right.bar(xs - (width / 2 if has_gold else 0), majority, width, label="with the others' majority", color="tab:blue")
    if has_gold:
        right.bar(xs + width / 2, [a.gold_agreement or 0.0 for a in people], width, label="with gold", color="tab:green")
    for x, a in zip(xs, people):
        if a.majority_agreement is None:
            right.annotate("none", (x, 0.02), ha="center", fontsize=7, color="grey")
    right.set_xticks(xs, [annotator_name(report, a.annotator) for a in people], rotation=20, ha="right", fontsize=8)
    right.set_ylim(0, 1.05)
    right.set_ylabel("share of labels agreeing")
    right.set_title("per annotator, all questions", fontsize=8)
    right.legend(fontsize=7, loc="lower right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def report_json(report: AgreementReport) -> str:  # pragma: no mutate block
    """The report as the JSON text ``stance agree -o`` writes."""
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"

