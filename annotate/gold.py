"""Adjudication: annotations in, one gold row per sentence and one conflict per undecided question out.

The questions of a sentence are ``claim`` and ``stance_<target id>`` for every target of the
scheme. Each (sentence, question) ends in exactly one place: decided in the gold row, or in the
conflicts list (and so left ``null`` in the gold row until a reviewer resolves it).

Rules, in the order they are applied to one (sentence, question):

1. Fewer votes than ``min_annotators`` (default 1): a conflict, ``too few annotators``. With the
   default, one annotator's label is gold (support 1.0 under majority); ask for two with
   ``min_annotators=2`` when single labels must not pass unseen.
2. Two or more labels share the highest score (equal vote counts; posteriors within 1e-9 under
   Dawid-Skene): a conflict, ``tie``. No label is picked by its order.
3. The winning label's support (its share of the votes under majority, its posterior under
   Dawid-Skene) under ``min_agreement``: a conflict, ``under min-agreement``.

Every sentence gets a gold row, also when some or all of its questions are in conflict: the
decided questions are usable at once, and :func:`resolve` fills in the others. Spans are merged
by majority whatever the method: a span (same label, start and end) is *agreed* when a strict
majority of the sentence's annotators marked it (more than half, counting those who marked no
span), the sentence has ``min_annotators`` annotators and the span's share reaches
``min_agreement``; every other span is *disputed*, listed with who marked it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import AnnotateError, InputError, validation_problem
from .files import TooDeep, check_depth, open_input
from .labeling import CLAIM_CONTROL, choice_questions
from .labels import Annotation, ClaimLabel, SpanLabel, StanceLabel
from .mentions import MentionRecord
from .scheme import Scheme

FORMAT = "stance-gold/v1"
CONFLICT_FORMAT = "stance-conflict/v1"
Method = Literal["majority", "dawid-skene"]
Label = Literal["FAVOR", "AGAINST", "NONE", "CLAIM", "NO_CLAIM"]
ConflictKind = Literal["too few annotators", "tie", "under min-agreement"]
_EPS = 1e-10  # crowd-kit's clipping constant, kept so that posteriors match it
_TIE = 1e-9
_STANCE = "stance_"
_KIND_COUNT = {"too few annotators": "too_few_annotators", "tie": "ties", "under min-agreement": "under_agreement"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Vote(_Strict):
    """One annotator's label for one question."""

    annotator: str = Field(description="annotator id")
    email: str | None = Field(default=None, description="the annotator's email, where Label Studio gave it")
    label: Label


class GoldSpan(_Strict):
    """A span and who marked it (same label, start and end)."""

    label: SpanLabel
    start: int = Field(ge=0, description="offset in the sentence, Python code points")
    end: int = Field(ge=0, description="end offset in the sentence (exclusive)")
    article_start: int = Field(ge=0)
    article_end: int = Field(ge=0)
    text: str
    annotators: list[str] = Field(description="ids of the annotators who marked this span")
    support: float = Field(ge=0, le=1, description="their share of the sentence's annotators")


class QuestionProvenance(_Strict):
    """How one question of one sentence was decided, or why it is not (yet)."""

    votes: list[Vote]
    scores: dict[Label, float] = Field(
        description="each label of the question: its share of the votes (majority) or its posterior (Dawid-Skene)")
    method_label: Label | None = Field(description="the method's decision; null when it left a conflict")
    conflict: str | None = Field(description="why the method left a conflict (the conflict's reason), else null")
    label: Label | None = Field(description="the gold label: the method's, or the reviewer's; null while in conflict")
    support: float | None = Field(description="scores[label]: the method's support for the gold label")
    reviewer: str | None = Field(description="who resolved or overrode the question (their email where Label Studio "
                                 "gave it, else their id); null unless a reviewer did")
    reviewer_id: str | None = Field(default=None, description="the reviewer's stable id, when known")


class Provenance(_Strict):
    """Who labelled a sentence and how each of its questions was decided."""

    method: Method
    min_agreement: float = Field(ge=0, le=1)
    min_annotators: int = Field(ge=1)
    annotators: list[str] = Field(description="ids of every annotator of the sentence")
    emails: dict[str, str] = Field(default_factory=dict,
                                   description="annotator id -> email, for the annotators Label Studio named")
    questions: dict[str, QuestionProvenance] = Field(description="claim, then stance_<target id>: every question")


class Gold(_Strict):
    """One gold row per sentence (format ``stance-gold/v1``)."""

    format: Literal["stance-gold/v1"]
    scheme: str = Field(description="the label scheme's id, e.g. libya-actors/v1")
    sentence_id: str
    article_id: str
    text: str
    mentions: list[MentionRecord] = Field(
        default_factory=list, description="where the sentence names the scheme's targets (offsets into the sentence), "
        "from its task")
    claim: ClaimLabel | None = Field(description="null while the claim question is in conflict")
    stance: dict[str, StanceLabel] = Field(description="target id -> label, decided targets only")
    spans: list[GoldSpan] = Field(description="agreed spans: marked alike by a strict majority of the annotators")
    disputed_spans: list[GoldSpan] = Field(description="every other span, with who marked it")
    provenance: Provenance

    @model_validator(mode="after")
    def _labels_match_provenance(self) -> Gold:
        questions = self.provenance.questions
        claim = questions.get(CLAIM_CONTROL)
        stance = {q[len(_STANCE):]: p.label for q, p in questions.items() if q.startswith(_STANCE) and p.label}
        if claim is None or claim.label != self.claim or stance != self.stance:
            raise ValueError("claim and stance must be the labels of provenance.questions")
        return self

    def open_questions(self) -> list[str]:
        """The questions still in conflict."""
        return [q for q, p in self.provenance.questions.items() if p.label is None]


class Conflict(_Strict):
    """A (sentence, question) the method did not decide (format ``stance-conflict/v1``)."""

    format: Literal["stance-conflict/v1"]
    scheme: str
    sentence_id: str
    article_id: str
    text: str
    question: str = Field(description="claim or stance_<target id>")
    labels: list[Label] = Field(description="the labels the reviewer can choose from")
    votes: list[Vote]
    scores: dict[Label, float]
    method: Method
    kind: ConflictKind
    reason: str


@dataclass
class AdjudicationCounts:
    """What :func:`adjudicate` did.

    ``questions == decided + conflicts == sentences * questions per sentence``;
    ``conflicts == ties + under_agreement + too_few_annotators``; ``sentences == complete + partial``.
    """

    annotations: int = 0
    sentences: int = 0
    annotators: int = 0
    questions: int = 0
    decided: int = 0
    conflicts: int = 0
    ties: int = 0
    under_agreement: int = 0
    too_few_annotators: int = 0
    complete: int = 0
    partial: int = 0
    spans_agreed: int = 0
    spans_disputed: int = 0


# --- Dawid-Skene -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DawidSkeneResult:
    """A fitted Dawid-Skene model, in crowd-kit's terms.

    Attributes
    ----------
    tasks, workers, labels : ndarray
        The distinct values, sorted; they index the arrays below.
    probas : ndarray, shape (n_tasks, n_labels)
        Posterior of every label for every task.
    priors : ndarray, shape (n_labels,)
    errors : ndarray, shape (n_workers, n_labels, n_labels)
        ``errors[w, k, c]``: probability that worker ``w`` answers ``k`` when the truth is ``c``
        (zero for answers the worker never gave).
    loss_history : list of float
        The evidence lower bound per response after every iteration.
    """

    tasks: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    probas: np.ndarray
    priors: np.ndarray
    errors: np.ndarray
    loss_history: list[float] = field(default_factory=list)


def dawid_skene(tasks: ArrayLike, workers: ArrayLike, labels: ArrayLike, *, n_iter: int = 100,
                tol: float = 1e-5) -> DawidSkeneResult:
    """Dawid and Skene's (1979) EM over one question's responses, step for step as crowd-kit 1.4.

    As ``crowdkit.aggregation.DawidSkene(n_iter, tol).fit(df)`` on a frame of the three columns:
    the label set is the labels seen; the start is the majority vote's label shares; the loop
    runs at most ``n_iter`` times and stops when the evidence lower bound per response gains
    less than ``tol``; probabilities are clipped at 1e-10 where crowd-kit clips them.

    Parameters
    ----------
    tasks, workers, labels : array_like, shape (n_responses,)
        One row per response.
    """
    task_values, t = np.unique(np.asarray(tasks), return_inverse=True)
    worker_values, w = np.unique(np.asarray(workers), return_inverse=True)
    label_values, k = np.unique(np.asarray(labels), return_inverse=True)
    n_t, n_w, n_k = len(task_values), len(worker_values), len(label_values)
    if not n_t:
        return DawidSkeneResult(task_values, worker_values, label_values, np.zeros((0, 0)), np.zeros(0),
                                np.zeros((0, 0, 0)))
    probas = np.zeros((n_t, n_k))
    np.add.at(probas, (t, k), 1.0)
    probas /= probas.sum(axis=1, keepdims=True)
    answered = np.zeros((n_w, n_k), dtype=bool)
    answered[w, k] = True

    def m_step(probas: np.ndarray) -> np.ndarray:
        counts = np.zeros((n_w, n_k, n_k))
        np.add.at(counts, (w, k), probas[t])
        errors = np.where(answered[:, :, None], np.maximum(counts, _EPS), 0.0)
        return errors / errors.sum(axis=1, keepdims=True)

    def e_step(priors: np.ndarray, errors: np.ndarray) -> np.ndarray:
        log_lik = np.tile(np.log2(np.maximum(priors, _EPS)), (n_t, 1))
        np.add.at(log_lik, t, np.log2(errors[w, k]))
        scaled = np.exp2(log_lik - log_lik.max(axis=1, keepdims=True))
        return scaled / scaled.sum(axis=1, keepdims=True)

    priors = probas.mean(axis=0)
    errors = m_step(probas)
    loss, history = -np.inf, []
    for _ in range(n_iter):
        probas = e_step(priors, errors)
        priors = probas.mean(axis=0)
        errors = m_step(probas)
        log_priors = np.log(np.maximum(priors, _EPS))
        joint = float((probas[t] * (np.log(errors[w, k]) + log_priors)).sum())
        probas = np.maximum(probas, _EPS)
        new_loss = (joint - float((np.log(probas) * probas).sum())) / len(t)
        history.append(new_loss)
        if new_loss - loss < tol:
            break
        loss = new_loss
    return DawidSkeneResult(task_values, worker_values, label_values, probas, priors, errors, history)


# --- Adjudication ----------------------------------------------------------------------------


def natural_key(key: str) -> tuple[bool, int, str]:
    """Sort key of an annotator or article id: numbers by value first (2 before 10), then the rest as text."""
    return (not key.isdigit(), int(key) if key.isdigit() else 0, key)


def _sentence_key(sentence_id: str) -> tuple[str, int, int, str]:
    """Sort key of a sentence id: ``<article>:<start>-<end>`` by article, then offsets by value, then the id itself
    (so ids that differ only by leading zeros, ``a:01-5`` and ``a:1-5``, sort the same whatever the input order)."""
    found = re.search(r"^(.*):(\d+)-(\d+)$", sentence_id)
    return (found[1], int(found[2]), int(found[3]), sentence_id) if found else (sentence_id, -1, -1, sentence_id)


def _by_sentence(annotations: Iterable[Annotation], scheme: Scheme) -> dict[str, list[Annotation]]:
    """The annotations per sentence, each sentence's in annotator order; checked against the scheme."""
    grouped: dict[str, dict[str, Annotation]] = {}
    for ann in annotations:
        where = f"annotation {ann.annotation_id} (sentence {ann.sentence_id}, annotator {ann.annotator.id})"
        fix = "pass the scheme the annotations were made with (--scheme)"
        if ann.scheme != scheme.id:
            raise InputError(f"labelled with scheme {ann.scheme!r}, not {scheme.id!r}", where=where, fix=fix)
        if set(ann.stance) != set(scheme.target_ids):
            raise InputError(f"stance targets {sorted(ann.stance)} are not the scheme's "
                             f"{sorted(scheme.target_ids)}", where=where, fix=fix)
        sentence = grouped.setdefault(ann.sentence_id, {})
        if ann.annotator.id in sentence:
            raise InputError(f"a second answer of this annotator to this sentence (first: annotation "
                             f"{sentence[ann.annotator.id].annotation_id})", where=where,
                             fix="give each annotations file once; `stance read` keeps one answer per annotator")
        first = next(iter(sentence.values()), None)
        if first is not None and (first.text, first.article_id) != (ann.text, ann.article_id):
            raise InputError(f"sentence text or article differs from annotation {first.annotation_id}'s",
                             where=where, fix="read all exports with the same tasks file and scheme")
        sentence[ann.annotator.id] = ann
    return {s: [by[a] for a in sorted(by, key=natural_key)] for s, by in grouped.items()}


def _merge_spans(anns: Sequence[Annotation], *, min_agreement: float,
                 min_annotators: int) -> tuple[list[dict], list[dict]]:
    marked: dict[tuple[int, int, str], list[str]] = {}
    spans = {}
    for ann in anns:
        for span in ann.spans:
            key = (span.start, span.end, span.label)
            spans[key] = span
            if ann.annotator.id not in marked.setdefault(key, []):
                marked[key].append(ann.annotator.id)
    agreed, disputed = [], []
    for key in sorted(marked):
        ids, n = marked[key], len(anns)
        record = {**spans[key].model_dump(), "annotators": ids, "support": len(ids) / n}
        ok = 2 * len(ids) > n and n >= min_annotators and len(ids) / n >= min_agreement - 1e-12
        (agreed if ok else disputed).append(record)
    return agreed, disputed


def _scores(method: Method, name: str, labels: tuple[str, ...], sentences: list[str],
            by_sentence: dict[str, list[Annotation]]) -> dict[str, dict[str, float]]:
    """Sentence -> label -> share of the votes (majority) or posterior (Dawid-Skene)."""
    rows = [(s, a.annotator.id, _answer(a, name)) for s in sentences for a in by_sentence[s]]
    if not rows:
        return {}
    if method == "majority":
        votes: dict[str, list[str]] = {}
        for s, _, label in rows:
            votes.setdefault(s, []).append(label)
        return {s: {label: v.count(label) / len(v) for label in labels} for s, v in votes.items()}
    fitted = dawid_skene(*zip(*rows))
    seen = fitted.labels.tolist()
    return {s: {label: float(p[seen.index(label)]) if label in seen else 0.0 for label in labels}
            for s, p in zip(fitted.tasks.tolist(), fitted.probas)}


def _answer(ann: Annotation, question: str) -> str:
    return ann.claim if question == CLAIM_CONTROL else ann.stance[question[len(_STANCE):]]


def _decide(method: Method, scores: dict[str, float], votes: list[str], *, min_agreement: float,
            min_annotators: int) -> tuple[str | None, ConflictKind | None, str]:
    """The winning label, or the conflict's kind and reason."""
    top = max(scores.values())
    winners = [label for label, score in scores.items() if score >= top - _TIE]
    if len(votes) < min_annotators:
        n = len(votes)
        return None, "too few annotators", f"{n} annotator{'s' * (n != 1)}, under --min-annotators {min_annotators}"
    if len(winners) > 1:
        if method == "majority":
            said = ", ".join(f"{label} {votes.count(label)}" for label in winners)
            return None, "tie", f"tie: {said} of {len(votes)} votes"
        return None, "tie", "tie: posteriors " + ", ".join(f"{label} {scores[label]:.4g}" for label in winners)
    if top < min_agreement - 1e-12:
        what = "share" if method == "majority" else "posterior"
        return None, "under min-agreement", (f"support {top:.4g} ({what} of {winners[0]}) under "
                                             f"--min-agreement {min_agreement:g}")
    return winners[0], None, ""


def adjudicate(annotations: Iterable[Annotation], scheme: Scheme, *, method: Method, min_agreement: float = 0.0,
               min_annotators: int = 1) -> tuple[list[Gold], list[Conflict], AdjudicationCounts]:
    """One gold row per sentence and one conflict per undecided (sentence, question).

    Parameters
    ----------
    annotations : iterable of Annotation
        One record per (sentence, annotator), as ``stance read`` writes them.
    method : {"majority", "dawid-skene"}
        Dawid-Skene is fitted per question (the claim; each target's stance), each a separate
        model with its own confusion matrix per annotator, as one crowd-kit run per question.
    min_agreement : float
        The least support a label needs: its share of the votes, or its posterior.
    min_annotators : int
        The least number of annotators a question needs to be decided.

    Raises
    ------
    InputError
        An annotation of another scheme or with other targets, a second answer of one annotator
        to one sentence, or one sentence with two texts.
    """
    if method not in ("majority", "dawid-skene"):
        raise AnnotateError(f"unknown method {method!r}", fix="use majority or dawid-skene")
    if not (isinstance(min_agreement, int | float) and 0.0 <= min_agreement <= 1.0):
        raise AnnotateError(f"--min-agreement {min_agreement!r} is not in [0, 1]", fix="e.g. --min-agreement 0.6")
    if not (isinstance(min_annotators, int) and min_annotators >= 1):
        raise AnnotateError(f"--min-annotators {min_annotators!r} is not a whole number >= 1",
                            fix="e.g. --min-annotators 2")
    by_sentence = _by_sentence(annotations, scheme)
    sentences = sorted(by_sentence, key=_sentence_key)
    asked = choice_questions(scheme)
    scores = {q: _scores(method, q, labels, sentences, by_sentence) for q, labels in asked.items()}
    counts = AdjudicationCounts(
        annotations=sum(map(len, by_sentence.values())), sentences=len(sentences),
        annotators=len({a.annotator.id for anns in by_sentence.values() for a in anns}))
    gold: list[Gold] = []
    conflicts: list[Conflict] = []
    for s in sentences:  # plain dicts, validated once per record: many small models are slow
        anns, first = by_sentence[s], by_sentence[s][0]
        row = {"format": FORMAT, "scheme": scheme.id, "sentence_id": s, "article_id": first.article_id,
               "text": first.text, "mentions": [m.model_dump() for m in first.mentions]}
        decided: dict[str, dict] = {}
        for q, labels in asked.items():
            votes = [{"annotator": a.annotator.id, "email": a.annotator.email, "label": _answer(a, q)} for a in anns]
            label, kind, reason = _decide(method, scores[q][s], [v["label"] for v in votes],
                                          min_agreement=min_agreement, min_annotators=min_annotators)
            counts.questions += 1
            if kind is not None:
                counts.conflicts += 1
                setattr(counts, _KIND_COUNT[kind], getattr(counts, _KIND_COUNT[kind]) + 1)
                conflicts.append(Conflict.model_validate({
                    **{k: v for k, v in row.items() if k != "mentions"}, "format": CONFLICT_FORMAT, "question": q, "labels": list(labels), "votes": votes,
                    "scores": scores[q][s], "method": method, "kind": kind, "reason": reason}))
            else:
                counts.decided += 1
            decided[q] = {"votes": votes, "scores": scores[q][s], "method_label": label, "conflict": reason or None,
                          "label": label, "support": None if label is None else scores[q][s][label], "reviewer": None}
        spans, disputed = _merge_spans(anns, min_agreement=min_agreement, min_annotators=min_annotators)
        counts.spans_agreed += len(spans)
        counts.spans_disputed += len(disputed)
        open_ = any(p["label"] is None for p in decided.values())
        counts.partial += open_
        counts.complete += not open_
        gold.append(Gold.model_validate({
            **row, "claim": decided[CLAIM_CONTROL]["label"],
            "stance": {q[len(_STANCE):]: p["label"] for q, p in decided.items() if q.startswith(_STANCE) and p["label"]},
            "spans": spans, "disputed_spans": disputed,
            "provenance": {"method": method, "min_agreement": float(min_agreement), "min_annotators": min_annotators,
                           "annotators": [a.annotator.id for a in anns],
                           "emails": {a.annotator.id: a.annotator.email for a in anns if a.annotator.email},
                           "questions": decided}}))
    return gold, conflicts, counts


def resolve(gold: Gold, question: str, label: str, *, reviewer: str, reviewer_id: str | None = None) -> Gold:
    """The gold row with a reviewer's label for one question: a conflict resolved, or a label overridden.

    The votes and the method's scores stay; ``support`` becomes the method's support for the
    reviewer's label (0.0 when the method gave it none) and ``reviewer`` (their email, or id)
    and ``reviewer_id`` record who decided.
    """
    where = f"sentence {gold.sentence_id}"
    entry = gold.provenance.questions.get(question)
    if entry is None:
        raise AnnotateError(f"no question {question!r}", where=where,
                            fix="questions: " + ", ".join(gold.provenance.questions))
    labels = list(entry.scores)
    if label not in labels:
        raise AnnotateError(f"{label!r} is not a label of {question}", where=where, fix="one of " + ", ".join(labels))
    if not reviewer:
        raise AnnotateError("no reviewer named", where=where, fix="give the reviewer's id")
    resolved = entry.model_copy(update={"label": label, "support": entry.scores[label], "reviewer": reviewer,
                                        "reviewer_id": reviewer_id})
    asked = {**gold.provenance.questions, question: resolved}
    data = gold.model_dump()
    data["provenance"]["questions"] = {q: p.model_dump() for q, p in asked.items()}
    data["claim"] = asked[CLAIM_CONTROL].label
    data["stance"] = {q[len(_STANCE):]: p.label for q, p in asked.items() if q.startswith(_STANCE) and p.label}
    return Gold.model_validate(data)


def person(annotator_id: str, email: str | None) -> str:
    """How a person is shown to people: ``email (id N)`` where Label Studio named them, else ``id N``.

    >>> person("2", "amira.haddad@example.com"), person("3", None)
    ('amira.haddad@example.com (id 2)', 'id 3')
    """
    return f"{email} (id {annotator_id})" if email else f"id {annotator_id}"


def labelled_by(rows: Iterable[Gold | dict]) -> list[str]:
    """Everyone who labelled some gold row, as :func:`person` shows them: annotators, then reviewers."""
    annotators: dict[str, str | None] = {}
    reviewers: set[str] = set()
    for row in rows:
        provenance = row.provenance.model_dump() if isinstance(row, Gold) else (row.get("provenance") or {})
        emails = provenance.get("emails") or {}
        for annotator in provenance.get("annotators") or []:
            annotators[annotator] = annotators.get(annotator) or emails.get(annotator)
        for entry in (provenance.get("questions") or {}).values():
            if entry.get("reviewer"):
                shown = (person(entry["reviewer_id"], entry["reviewer"]) if entry.get("reviewer_id")
                         and entry["reviewer"] != entry["reviewer_id"] else entry["reviewer"])
                reviewers.add(shown)
    people = [person(a, e) for a, e in sorted(annotators.items(), key=lambda item: natural_key(item[0]))]
    return people + [f"{r} (reviewer)" for r in sorted(reviewers)]


# --- Reading ---------------------------------------------------------------------------------


def _read(path: str | os.PathLike[str], model: type[_Strict], version: str, what: str) -> Iterator:
    path = Path(path)
    with open_input(path, what=f"{what} file", fix="write one with `stance adjudicate`", binary=True) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                check_depth(line)
                version_found = json.loads(line).get("format")
            except TooDeep as exc:
                raise InputError(str(exc), path=path, where=f"line {number}",
                                 fix=f"{what} files are written by `stance adjudicate`, one flat record per line") from None
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                version_found = None
            if version_found != version:
                raise InputError(f"not a {what} record (format {version_found!r})", path=path, where=f"line {number}",
                                 fix=f"known formats: {version}; {what} files are written by `stance adjudicate`")
            try:
                yield model.model_validate_json(line)
            except ValidationError as exc:
                raise InputError(validation_problem(exc), path=path, where=f"line {number}",
                                 fix=f"{what} files are written by `stance adjudicate`") from None


def read_gold(path: str | os.PathLike[str]) -> Iterator[Gold]:
    """The rows of a gold file (JSON lines), validated line by line."""
    return _read(path, Gold, FORMAT, "gold")


def read_conflicts(path: str | os.PathLike[str]) -> Iterator[Conflict]:
    """The rows of a conflicts file (JSON lines), validated line by line."""
    return _read(path, Conflict, CONFLICT_FORMAT, "conflicts")
