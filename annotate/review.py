"""Review of conflicts in Label Studio: each annotator's answer shown, a reviewer decides.

Label Studio Community has no reviewer workflow (it is Enterprise-only), so the conflicts of
:func:`annotate.gold.adjudicate` become the tasks of a review project of their own: one task
per sentence with a question in conflict, whose title names those questions, with every
annotator's answer attached as a prediction named after the annotator (``annotator <email> (id
N)``, or ``annotator id N`` where Label Studio gave no email). The reviewer opens a
prediction, keeps or corrects it and submits. :func:`apply_resolutions` reads the review
project's export back: the reviewer's answers to the questions that were in conflict become
gold, with the reviewer recorded in the provenance. Questions the method decided stay as they
were (a prediction the reviewer starts from carries one annotator's answers to them too).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .gold import Gold, person, resolve
from .labels import Annotation, RejectedAnnotation, read_exports, utf16_offsets
from .preload import label_result
from .labeling import mention_regions, where_to_look
from .scheme import Scheme
from .studio import Connection, PushCounts, push_tasks, read_tasks

REVIEW_MODEL_PREFIX = "annotator "


def _sentence_span(sentence_id: str) -> tuple[int, int]:
    """``start, end`` from an id ``<article id>:<start>-<end>``."""
    span = sentence_id.rsplit(":", 1)[1]
    start, end = span.split("-")
    return int(start), int(end)


def review_tasks(gold: Iterable[Gold], annotations: Iterable[Annotation], scheme: Scheme, *,
                 tasks: str | os.PathLike[str] | None = None) -> list[dict]:
    """One Label Studio task per sentence with an open question, the annotators' answers as predictions.

    ``tasks`` (the ``stance tasks`` file the sentences came from) adds their date, title and
    context; without it the reviewer sees the sentence alone.
    """
    by_sentence: dict[str, list[Annotation]] = {}
    for annotation in annotations:
        by_sentence.setdefault(annotation.sentence_id, []).append(annotation)
    wanted = {row.sentence_id: row for row in gold if row.open_questions()}
    original = {}
    if tasks is not None:
        original = {t["data"]["sentence_id"]: t["data"] for t in read_tasks(tasks, scheme)
                    if t["data"]["sentence_id"] in wanted}
    made = []
    for sentence_id, row in wanted.items():
        start, end = _sentence_span(sentence_id)
        data = original.get(sentence_id) or {
            "text": row.text, "article_id": row.article_id, "sentence_id": sentence_id, "start": start,
            "end": end, "date": "", "title": "", "context_before": "", "context_after": "",
            "scheme": row.scheme, "splitter": "", "mentions": [m.model_dump() for m in row.mentions],
            "targets_mentioned": [t for t in scheme.target_ids if t in {m.target for m in row.mentions}],
            "targets_in_context": []}
        if "where_to_look" not in data:
            named = [t for t in scheme.target_ids if t in {m["target"] for m in data["mentions"]}]
            data = {**data, "where_to_look": where_to_look(scheme, data["mentions"], named,
                                                           data.get("targets_in_context", []))}
        open_ = row.open_questions()
        data = {**data, "title": f"Review: {', '.join(open_)}" + (f" | {data['title']}" if data["title"] else "")}
        predictions = []
        for annotation in by_sentence.get(sentence_id, []):
            label = annotation.model_dump()
            for span in label["spans"]:  # Label Studio keeps the browser's UTF-16 offsets
                span["start"], span["end"] = utf16_offsets(row.text, span["start"], span["end"])
            who = person(annotation.annotator.id, annotation.annotator.email)
            predictions.append({"model_version": REVIEW_MODEL_PREFIX + who, "score": 1.0,
                                "result": label_result(label, scheme) + mention_regions(data.get("mentions", []), row.text)})
        made.append({"data": data, "predictions": predictions})
    return made


def push_review(gold: list[Gold], annotations: list[Annotation], title: str, scheme: Scheme, *,
                conn: Connection, tasks: str | os.PathLike[str] | None = None,
                on_batch: Callable[[int], None] | None = None) -> PushCounts:
    """Create (or add to) the review project ``title``: safe to run again, like ``stance push``."""
    return push_tasks(review_tasks(gold, annotations, scheme, tasks=tasks), title, scheme, conn=conn,
                      overlap=1, on_batch=on_batch)


@dataclass
class ResolutionCounts:
    """What a review export resolved; ``reviews == used + unused``."""

    reviews: int = 0  # accepted reviewer annotations
    used: int = 0  # the latest review of a sentence with an open question
    unused: int = 0  # an older review of the same sentence, or a sentence with nothing open
    resolved: int = 0  # questions
    still_open: int = 0  # questions
    not_taken: list[RejectedAnnotation] = field(default_factory=list)  # rejected, skipped, superseded


def apply_resolutions(gold: list[Gold], exports: Iterable[str | os.PathLike[str]], scheme: Scheme
                      ) -> tuple[list[Gold], ResolutionCounts]:
    """The gold rows with the reviewers' answers to their open questions.

    The export is read like any other (``stance read``): a review that is not valid is not
    taken (and reported). Where two reviewers answered one sentence, the later review wins.
    """
    counts = ResolutionCounts()
    reviews, read_counts = read_exports(exports, scheme, on_reject=counts.not_taken.append)
    latest: dict[str, Annotation] = {}
    for review in reviews:
        counts.reviews += 1
        earlier = latest.get(review.sentence_id)
        if earlier is None or (review.updated_at or "", review.annotation_id) > (earlier.updated_at or "",
                                                                                  earlier.annotation_id):
            latest[review.sentence_id] = review
    out = []
    for row in gold:
        review = latest.get(row.sentence_id)
        open_ = row.open_questions()
        if review is not None and open_:
            reviewer = review.annotator.email or review.annotator.id
            for question in open_:
                answer = review.claim if question == "claim" else review.stance[question[len("stance_"):]]
                row = resolve(row, question, answer, reviewer=reviewer, reviewer_id=review.annotator.id)
                counts.resolved += 1
        counts.still_open += len(row.open_questions())
        out.append(row)
    used = {row.sentence_id for row in gold if row.open_questions()} & latest.keys()
    counts.used = sum(1 for sid in latest if sid in used)
    counts.unused = counts.reviews - counts.used
    return out, counts

