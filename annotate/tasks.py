"""Label Studio tasks: one per sentence, streamed into an import file.

The import file is a JSON list of ``{"data": {...}}`` objects, one task per line, so that
it can be written (and read) one task at a time whatever the corpus size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from .corpus import Article
from .files import write_json_list
from .labeling import config_fields, labeling_config, mentions_prediction, where_to_look
from .mentions import MentionFinder, MentionRecord, mentioned, sentence_mentions
from .scheme import Scheme
from .sentences import SPLITTER, sentence_spans


class TaskData(BaseModel):
    """The ``data`` of one Label Studio task: one sentence of an article."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="the sentence")
    article_id: str
    sentence_id: str = Field(description="<article_id>:<start>-<end>; stable across runs")
    start: int = Field(ge=0, description="offset of the sentence in the article text")
    end: int = Field(ge=1, description="end offset: article.text[start:end] == text")
    date: str = Field(description="the article date, YYYY-MM-DD, or '' when unknown")
    title: str = Field(description="the article title, or ''")
    context_before: str = Field(description="the preceding sentence(s), or ''")
    context_after: str = Field(description="the following sentence(s), or ''")
    scheme: str = Field(description="the label scheme's id, e.g. libya-actors/v1")
    splitter: str = Field(description="sentence splitter and version")
    mentions: list[MentionRecord] = Field(
        default_factory=list, description="the targets named in the sentence, found by the scheme's aliases and patterns")
    targets_mentioned: list[str] = Field(default_factory=list, description="ids of the targets named in the sentence")
    targets_in_context: list[str] = Field(
        default_factory=list, description="ids of the targets named in the context sentences but not in the sentence")
    where_to_look: str = Field(default="", description="HTML shown to annotators: the targets named, their questions first")


class Task(BaseModel):
    """One entry of a Label Studio import file."""

    model_config = ConfigDict(extra="forbid")

    data: TaskData
    predictions: list[dict] = Field(
        default_factory=list, description="pre-annotations: the mention highlights, or a model's predictions")


@dataclass
class TaskCounts:
    """What ``write_tasks`` read and wrote; ``mentioning[t]`` counts the tasks that name target ``t``."""

    articles: int = 0
    sentences: int = 0
    rejected: int = 0
    characters: int = 0
    mentioning: dict[str, int] = field(default_factory=dict)
    in_context: dict[str, int] = field(default_factory=dict)
    with_mentions: int = 0


def article_tasks(
    article: Article, scheme: Scheme, *, context: int = 1, language: str = "en",
    finder: MentionFinder | None = None, where: Callable[[tuple, tuple, tuple], str] | None = None,
) -> Iterator[dict]:
    """The tasks of one article, one per sentence, in reading order.

    ``context`` sentences before and after are cut from the article text as they stand
    there (line breaks kept), so an annotator sees the sentence in its place. Every task
    carries the mentions of the scheme's targets in its sentence (offsets into the sentence),
    the targets named there and those named only in its context sentences; a task with
    mentions carries them as a pre-annotation that highlights them.
    """
    text = article.text
    spans = sentence_spans(text, language=language)
    date = article.date.isoformat() if article.date else ""
    title = article.title or ""
    splitter = f"{SPLITTER} ({language})"
    last = len(spans) - 1
    finder = finder if finder is not None else MentionFinder(scheme)
    where = where if where is not None else where_maker(scheme)
    per_sentence = sentence_mentions(finder.find(text), spans) if finder.active else [[] for _ in spans]
    named = [{m.target for m in found} if found else _NONE for found in per_sentence]
    order = scheme.target_ids
    for i, (start, end) in enumerate(spans):
        before = text[spans[max(0, i - context)][0] : spans[i - 1][1]] if i and context else ""
        after = text[spans[i + 1][0] : spans[min(last, i + context)][1]] if i < last and context else ""
        found = per_sentence[i]
        mentions = [m.as_json() for m in found]
        here = mentioned(found, order) if found else []
        around = _NONE.union(*named[max(0, i - context):i], *named[i + 1:i + 1 + context])
        in_context = [t for t in order if t in around and t not in named[i]] if around else []
        task = {
            "data": {
                "text": text[start:end],
                "article_id": article.id,
                "sentence_id": f"{article.id}:{start}-{end}",
                "start": start,
                "end": end,
                "date": date,
                "title": title,
                "context_before": before,
                "context_after": after,
                "scheme": scheme.id,
                "splitter": splitter,
                "mentions": mentions,
                "targets_mentioned": here,
                "targets_in_context": in_context,
                "where_to_look": where(tuple((m.target, m.text) for m in found), tuple(here), tuple(in_context)),
            }
        }
        if mentions:
            task["predictions"] = [mentions_prediction(mentions, task["data"]["text"], scheme)]
        yield task


_NONE: frozenset[str] = frozenset()


def where_maker(scheme: Scheme) -> Callable[[tuple, tuple, tuple], str]:
    """The tasks' ``where_to_look`` HTML from (named (target, text) pairs, targets named, targets in
    context); most tasks share one of a few, so each is made once."""
    @lru_cache(maxsize=4096)
    def where(named: tuple[tuple[str, str], ...], here: tuple[str, ...], in_context: tuple[str, ...]) -> str:
        return where_to_look(scheme, [{"target": t, "text": w} for t, w in named], here, in_context)
    return where


def write_tasks(
    articles: Iterable[Article],
    path: str | os.PathLike[str],
    scheme: Scheme,
    *,
    context: int = 1,
    language: str = "en",
    on_task: Callable[[int], None] | None = None,
) -> TaskCounts:
    """Write the Label Studio import file for ``articles``, one task per line, atomically."""
    fields = config_fields(labeling_config(scheme))
    finder, where = MentionFinder(scheme), where_maker(scheme)
    counts = TaskCounts()

    def generate() -> Iterator[dict]:
        for article in articles:
            counts.articles += 1
            counts.characters += len(article.text)
            n = 0
            for task in article_tasks(article, scheme, context=context, language=language, finder=finder,
                                      where=where):
                if n == 0 and counts.sentences == 0:
                    missing = fields - task["data"].keys()
                    if missing:  # a guard on the generator itself, checked once
                        raise AssertionError(f"tasks lack config fields {sorted(missing)}")
                data = task["data"]
                for t in data["targets_mentioned"]:
                    counts.mentioning[t] = counts.mentioning.get(t, 0) + 1
                for t in data["targets_in_context"]:
                    counts.in_context[t] = counts.in_context.get(t, 0) + 1
                counts.with_mentions += bool(data["targets_mentioned"])
                yield task
                n += 1
            counts.sentences += n
            if on_task is not None:
                on_task(n)  # the tasks of one article are written

    write_json_list(generate(), path)
    return counts

