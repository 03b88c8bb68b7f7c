"""Label Studio tasks: one per sentence, streamed into an import file.

The import file is a JSON list of ``{"data": {...}}`` objects, one task per line, so that
it can be written (and read) one task at a time whatever the corpus size.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from .corpus import Article
from .files import atomic_write, dumps, in_order
from .labeling import (MENTION_CONTROL, MENTIONS_MODEL, SENTENCE, config_fields, labeling_config, utf16_units,
                       where_to_look)
from .mentions import Mention, MentionFinder, MentionRecord, mentioned, sentence_mentions
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


def article_lines(
    article_id: str, text: str, date: str, title: str, scheme: Scheme, *, context: int = 1,
    language: str = "en", finder: MentionFinder | None = None,
    where: Callable[[tuple, tuple, tuple], str] | None = None,
) -> Iterator[tuple[str, list[str], list[str]]]:
    """The tasks of one article as JSON lines, one per sentence, in reading order.

    Yields each task's line with the targets named in its sentence and those named only in its
    context sentences. ``context`` sentences before and after are cut from the article text as
    they stand there (line breaks kept), so an annotator sees the sentence in its place. Every
    task carries the mentions of the scheme's targets in its sentence (offsets into the
    sentence), the targets named there and those named only around it; a task with mentions
    carries them as a pre-annotation that highlights them.

    A line is what :func:`annotate.files.dumps` makes of the task (compact, keys in the order
    of :class:`TaskData`), assembled from pieces: each sentence's text is escaped once (with
    the escaping ``json`` itself uses), also where it is a neighbour's context, and the parts
    every task of the article shares once per article.
    """
    spans = sentence_spans(text, language=language)
    if not spans:
        return
    finder = finder if finder is not None else MentionFinder(scheme)
    where = where if where is not None else where_maker(scheme)
    per_sentence = sentence_mentions(finder.find(text), spans) if finder.active else {}
    named = {j: {m.target for m in found} for j, found in per_sentence.items()}
    # The targets named in each sentence's context: spread from the few sentences that name one.
    around: dict[int, set[str]] = {}
    for j, targets in named.items():
        for k in range(max(0, j - context), min(len(spans), j + context + 1)):
            if k != j:
                around[k] = around[k] | targets if k in around else targets
    order = scheme.target_ids
    last = len(spans) - 1
    sentences = [text[start:end] for start, end in spans]
    quoted = [_quote(s) for s in sentences]
    if context == 1:  # the context of a sentence is its neighbour, already escaped
        befores, afters = [_EMPTY, *quoted[:-1]], [*quoted[1:], _EMPTY]
    elif context == 0:
        befores = afters = [_EMPTY] * len(spans)
    else:
        befores = [_quote(text[spans[max(0, i - context)][0]:spans[i - 1][1]]) if i else _EMPTY
                   for i in range(len(spans))]
        afters = [_quote(text[spans[i + 1][0]:spans[min(last, i + context)][1]]) if i < last else _EMPTY
                  for i in range(len(spans))]
    article = _quote(article_id)
    sentence_id = article[:-1] + ":"  # the id's closing quote comes after the offsets
    shared = f'"date":{_quote(date)},"title":{_quote(title)},"context_before":'
    tail = f',"scheme":{_quote(scheme.id)},"splitter":{_quote(f"{SPLITTER} ({language})")},'
    model = _quote(f"{MENTIONS_MODEL}@{scheme.id}")
    quiet = ('"mentions":[],"targets_mentioned":[],"targets_in_context":[],"where_to_look":'
             + _quote(where((), (), ())) + "}}")
    for i, (start, end) in enumerate(spans):
        found, near = per_sentence.get(i), around.get(i)
        if found or near:
            here = mentioned(found, order) if found else _NO_TARGETS
            in_context = [t for t in order if t in near and t not in named.get(i, _NONE)] if near else _NO_TARGETS
            shown = where(tuple((m.target, m.text) for m in found or ()), tuple(here), tuple(in_context))
            if found:
                listed, prediction = _mention_json(found, sentences[i], model)
                close = f',"predictions":[{prediction}]}}'
            else:
                listed, close = "[]", "}"
            rest = (f'"mentions":{listed},"targets_mentioned":{_ids(tuple(here))},'
                    f'"targets_in_context":{_ids(tuple(in_context))},"where_to_look":{_quote(shown)}}}{close}')
        else:  # most sentences: no target named in or around them
            here, in_context, rest = _NO_TARGETS, _NO_TARGETS, quiet
        yield (f'{{"data":{{"text":{quoted[i]},"article_id":{article},"sentence_id":{sentence_id}{start}-{end}",'
               f'"start":{start},"end":{end},{shared}{befores[i]},"context_after":{afters[i]}{tail}{rest}',
               here, in_context)


_NONE: frozenset[str] = frozenset()
_NO_TARGETS: list[str] = []
_quote = json.encoder.encode_basestring  # the C escaping json.dumps(ensure_ascii=False) uses for strings
_EMPTY = _quote("")


_REGION = f'"from_name":{_quote(MENTION_CONTROL)},"to_name":{_quote(SENTENCE)},"type":"labels","readonly":true'


def _mention_json(found: Sequence[Mention], sentence: str, model: str) -> tuple[str, str]:
    """A task's ``mentions`` as JSON, and its mentions' pre-annotation (:func:`annotate.labeling.mentions_prediction`)
    as JSON: what :func:`annotate.files.dumps` makes of them, from pieces."""
    units = utf16_units(sentence)
    listed, regions = [], []
    for m in found:
        target, text = _quote(m.target), _quote(m.text)
        listed.append(f'{{"target":{target},"start":{m.start},"end":{m.end},"text":{text}}}')
        regions.append(f'{{"id":"mention-{m.start}-{m.end}",{_REGION},"value":{{"start":{units(m.start)},'
                       f'"end":{units(m.end)},"text":{text},"labels":[{target}]}}}}')
    return f'[{",".join(listed)}]', f'{{"model_version":{model},"score":1.0,"result":[{",".join(regions)}]}}'


@lru_cache(maxsize=1024)
def _ids(ids: tuple[str, ...]) -> str:
    """A list of target ids as JSON."""
    return dumps(list(ids))


def where_maker(scheme: Scheme) -> Callable[[tuple, tuple, tuple], str]:
    """The tasks' ``where_to_look`` HTML from (named (target, text) pairs, targets named, targets in
    context); most tasks share one of a few, so each is made once."""
    @lru_cache(maxsize=4096)
    def where(named: tuple[tuple[str, str], ...], here: tuple[str, ...], in_context: tuple[str, ...]) -> str:
        return where_to_look(scheme, [{"target": t, "text": w} for t, w in named], here, in_context)
    return where


CHUNK = 64  # articles per piece of work for a worker process

# What a worker needs of an article (an Article is a pydantic model: slow to pickle).
Piece = tuple[str, str, str, str]  # id, text, date (YYYY-MM-DD or ''), title (or '')


def _piece(article: Article) -> Piece:
    return article.id, article.text, article.date.isoformat() if article.date else "", article.title or ""


class _Maker:
    """Makes the task lines of articles: one per process, its finder compiled once."""

    def __init__(self, scheme: Scheme, context: int, language: str) -> None:
        self.scheme, self.context, self.language = scheme, context, language
        self.finder, self.where = MentionFinder(scheme), where_maker(scheme)
        missing = config_fields(labeling_config(scheme)) - TaskData.model_fields.keys()
        if missing:  # a guard on the lines themselves: every field the config names is in each task
            raise AssertionError(f"tasks lack config fields {sorted(missing)}")

    def make(self, pieces: Sequence[Piece]) -> tuple[bytes, int, Counter, Counter, int]:
        """The articles' task lines joined as the file holds them (``",\\n"`` between) in UTF-8,
        how many, and the mention counts."""
        lines: list[str] = []
        mentioning: Counter = Counter()
        in_context: Counter = Counter()
        with_mentions = 0
        for article_id, text, date, title in pieces:
            for line, here, around in article_lines(article_id, text, date, title, self.scheme,
                                                     context=self.context, language=self.language,
                                                     finder=self.finder, where=self.where):
                if here:  # most tasks name none: Counter.update is not free
                    mentioning.update(here)
                    with_mentions += 1
                if around:
                    in_context.update(around)
                lines.append(line)
        return ",\n".join(lines).encode("utf-8"), len(lines), mentioning, in_context, with_mentions


_WORKER: _Maker | None = None


def _start_worker(scheme_json: str, context: int, language: str) -> None:
    global _WORKER
    _WORKER = _Maker(Scheme.model_validate_json(scheme_json), context, language)


def _work(pieces: list[Piece]) -> tuple[bytes, int, Counter, Counter, int]:
    assert _WORKER is not None
    return _WORKER.make(pieces)


def _chunks(pieces: Iterable[Piece], size: int) -> Iterator[list[Piece]]:
    chunk: list[Piece] = []
    for piece in pieces:
        chunk.append(piece)
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

    def counted(articles: Iterable[Article]) -> Iterator[Piece]:
        for article in articles:
            counts.articles += 1
            counts.characters += len(article.text)
            yield _piece(article)

    def take(result: tuple[bytes, int, Counter, Counter, int]) -> bytes:
        lines, n, named, around, with_mentions = result
        mentioning.update(named)
        in_context.update(around)
        counts.with_mentions += with_mentions
        counts.sentences += n
        if on_task is not None:
            on_task(n)  # the tasks of these articles are made
        return lines

    def blocks() -> Iterator[bytes]:
        chunks = _chunks(counted(articles), CHUNK)
        if jobs <= 1:
            maker = _Maker(scheme, context, language)
            for chunk in chunks:
                yield take(maker.make(chunk))
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                                 initializer=_start_worker,
                                 initargs=(scheme.model_dump_json(), context, language)) as pool:
            for result in in_order(pool, _work, ((chunk,) for chunk in chunks), ahead=2 * jobs - 1):
                yield take(result)

    with atomic_write(path, binary=True) as out:
        out.write(b"[")
        first = True
        for block in blocks():
            if not block:  # articles without a sentence
                continue
            out.write(b"\n" if first else b",\n")
            out.write(block)
            first = False
        out.write(b"\n]\n")
    counts.mentioning = {t: mentioning[t] for t in scheme.target_ids if mentioning[t]}
    counts.in_context = {t: in_context[t] for t in scheme.target_ids if in_context[t]}
    return counts
