"""Label Studio tasks: one per sentence, streamed into an import file.

The import file is a JSON list of ``{"data": {...}}`` objects, one task per line, so that
it can be written (and read) one task at a time whatever the corpus size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from .corpus import Article
from .files import write_json_list
from .labeling import config_fields, labeling_config
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
    scheme: str = Field(description="the label scheme version id")
    splitter: str = Field(description="sentence splitter and version")


class Task(BaseModel):
    """One entry of a Label Studio import file."""

    model_config = ConfigDict(extra="forbid")

    data: TaskData


@dataclass
class TaskCounts:
    """What ``write_tasks`` read and wrote."""

    articles: int = 0
    sentences: int = 0
    rejected: int = 0
    characters: int = 0


def article_tasks(
    article: Article, scheme: Scheme, *, context: int = 1, language: str = "en"
) -> Iterator[dict]:
    """The tasks of one article, one per sentence, in reading order.

    ``context`` sentences before and after are cut from the article text as they stand
    there (line breaks kept), so an annotator sees the sentence in its place.
    """
    text = article.text
    spans = sentence_spans(text, language=language)
    date = article.date.isoformat() if article.date else ""
    title = article.title or ""
    splitter = f"{SPLITTER} ({language})"
    last = len(spans) - 1
    for i, (start, end) in enumerate(spans):
        before = text[spans[max(0, i - context)][0] : spans[i - 1][1]] if i and context else ""
        after = text[spans[i + 1][0] : spans[min(last, i + context)][1]] if i < last and context else ""
        yield {
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
                "scheme": scheme.scheme,
                "splitter": splitter,
            }
        }


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
    counts = TaskCounts()

    def generate() -> Iterator[dict]:
        for article in articles:
            counts.articles += 1
            counts.characters += len(article.text)
            n = 0
            for task in article_tasks(article, scheme, context=context, language=language):
                if n == 0 and counts.sentences == 0:
                    missing = fields - task["data"].keys()
                    if missing:  # a guard on the generator itself, checked once
                        raise AssertionError(f"tasks lack config fields {sorted(missing)}")
                yield task
                n += 1
            counts.sentences += n
            if on_task is not None:
                on_task(n)  # the tasks of one article are written

    write_json_list(generate(), path)
    return counts

