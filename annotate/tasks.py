"""Label Studio tasks: one per sentence, streamed into an import file.

The import file is a JSON list of ``{"data": {...}}`` objects, one task per line, so that
it can be written (and read) one task at a time whatever the corpus size.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from .corpus import Article
from .files import atomic_write, dumps
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
    any_named = any(named)
    quiet = where((), (), ())
    order = scheme.target_ids
    for i, (start, end) in enumerate(spans):
        before = text[spans[max(0, i - context)][0] : spans[i - 1][1]] if i and context else ""
        after = text[spans[i + 1][0] : spans[min(last, i + context)][1]] if i < last and context else ""
        found = per_sentence[i]
        around = (_NONE.union(*named[max(0, i - context):i], *named[i + 1:i + 1 + context]) if any_named
                  else _NONE)
        if found or around:
            mentions = [m.as_json() for m in found]
            here = mentioned(found, order) if found else []
            in_context = [t for t in order if t in around and t not in named[i]] if around else []
            shown = where(tuple((m.target, m.text) for m in found), tuple(here), tuple(in_context))
        else:  # most sentences: no target named in or around them
            mentions, here, in_context, shown = [], [], [], quiet
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
                "where_to_look": shown,
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


CHUNK = 32  # articles per piece of work for a worker process


class _Maker:
    """Makes the encoded task lines of articles: one per process, its finder compiled once."""

    def __init__(self, scheme: Scheme, context: int, language: str) -> None:
        self.scheme, self.context, self.language = scheme, context, language
        self.finder, self.where = MentionFinder(scheme), where_maker(scheme)
        self.fields = config_fields(labeling_config(scheme))

    def make(self, articles: Sequence[Article]) -> tuple[list[str], list[int], Counter, Counter, int]:
        """The JSON lines of the articles' tasks, tasks per article, and the mention counts."""
        lines: list[str] = []
        per_article: list[int] = []
        mentioning: Counter = Counter()
        in_context: Counter = Counter()
        with_mentions = 0
        for article in articles:
            n = 0
            for task in article_tasks(article, self.scheme, context=self.context, language=self.language,
                                      finder=self.finder, where=self.where):
                data = task["data"]
                if n == 0:
                    missing = self.fields - data.keys()
                    if missing:  # a guard on the generator itself
                        raise AssertionError(f"tasks lack config fields {sorted(missing)}")
                if data["targets_mentioned"]:  # most tasks name none: Counter.update is not free
                    mentioning.update(data["targets_mentioned"])
                    with_mentions += 1
                if data["targets_in_context"]:
                    in_context.update(data["targets_in_context"])
                lines.append(dumps(task))
                n += 1
            per_article.append(n)
        return lines, per_article, mentioning, in_context, with_mentions


_WORKER: _Maker | None = None


def _start_worker(scheme_json: str, context: int, language: str) -> None:
    global _WORKER
    _WORKER = _Maker(Scheme.model_validate_json(scheme_json), context, language)


def _work(articles: list[Article]) -> tuple[list[str], list[int], Counter, Counter, int]:
    assert _WORKER is not None
    return _WORKER.make(articles)


def _chunks(articles: Iterable[Article], size: int) -> Iterator[list[Article]]:
    chunk: list[Article] = []
    for article in articles:
        chunk.append(article)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_tasks(
    articles: Iterable[Article],
    path: str | os.PathLike[str],
    scheme: Scheme,
    *,
    context: int = 1,
    language: str = "en",
    jobs: int = 1,
    on_task: Callable[[int], None] | None = None,
) -> TaskCounts:
    """Write the Label Studio import file for ``articles``, one task per line, atomically.

    With ``jobs`` above 1, that many worker processes split the articles and find their
    mentions, a few dozen articles at a time, while this process reads the articles and writes
    the lines in their order: the file is byte for byte the one ``jobs=1`` writes, and memory
    stays flat (at most ``2 * jobs`` pieces of work are in flight).
    """
    counts = TaskCounts()
    mentioning: Counter = Counter()
    in_context: Counter = Counter()

    def counted(articles: Iterable[Article]) -> Iterator[Article]:
        for article in articles:
            counts.articles += 1
            counts.characters += len(article.text)
            yield article

    def take(result: tuple[list[str], list[int], Counter, Counter, int]) -> list[str]:
        lines, per_article, named, around, with_mentions = result
        mentioning.update(named)
        in_context.update(around)
        counts.with_mentions += with_mentions
        counts.sentences += len(lines)
        if on_task is not None:
            on_task(len(lines))  # the tasks of these articles are made
        return lines

    def lines() -> Iterator[str]:
        chunks = _chunks(counted(articles), CHUNK)
        if jobs <= 1:
            maker = _Maker(scheme, context, language)
            for chunk in chunks:
                yield from take(maker.make(chunk))
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                                 initializer=_start_worker,
                                 initargs=(scheme.model_dump_json(), context, language)) as pool:
            pending: deque = deque()
            for chunk in chunks:
                pending.append(pool.submit(_work, chunk))
                if len(pending) >= 2 * jobs:
                    yield from take(pending.popleft().result())
            while pending:
                yield from take(pending.popleft().result())

    with atomic_write(path) as out:
        out.write("[")
        first = True
        for line in lines():
            out.write("\n" if first else ",\n")
            out.write(line)
            first = False
        out.write("\n]\n")
    counts.mentioning = {t: mentioning[t] for t in scheme.target_ids if mentioning[t]}
    counts.in_context = {t: in_context[t] for t in scheme.target_ids if in_context[t]}
    return counts
