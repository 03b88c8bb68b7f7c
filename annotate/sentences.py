"""Sentences with exact character offsets and ids that never shift.

The splitter is sentencex (a maintained Rust splitter with character offsets), pinned to
one exact version in ``pyproject.toml``: sentence ids are built from sentence spans, and
another version may move the spans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version

import sentencex

from .errors import SplitterError

SPLITTER_NAME = "sentencex"
SPLITTER_VERSION = version(SPLITTER_NAME)
SPLITTER = f"{SPLITTER_NAME} {SPLITTER_VERSION}"

# sentencex 1.0.32 panics ("end byte index ... is not a char boundary") on a capital
# letter, a non-ASCII space and a full stop ("U\u00a0. S."). Every non-ASCII space is
# one character, so the splitter reads a copy with each of them replaced by an ASCII
# space: character offsets are the same in both texts, and sentences are cut from the
# original text.
_SPACES = re.compile("[" + "".join(chr(c) for c in range(0x80, 0x3001) if chr(c).isspace()) + "]")


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of an article: ``article_text[start:end] == text``."""

    id: str
    start: int
    end: int
    text: str


def sentence_id(article_id: str, start: int, end: int) -> str:
    """The stable id of the sentence at ``[start, end)`` of an article.

    >>> sentence_id("004_4c9b530dd287076b", 0, 140)
    '004_4c9b530dd287076b:0-140'
    """
    return f"{article_id}:{start}-{end}"


def sentence_spans(text: str, *, language: str = "en") -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, without surrounding white space.

    Spans are in order, do not overlap, and never start or end with white space;
    text between them is white space or a paragraph break.

    Raises
    ------
    SplitterError
        If the splitter fails on the text.
    """
    shadow = _SPACES.sub(" ", text) if not text.isascii() and _SPACES.search(text) else text
    try:
        pieces = sentencex.segment(language, shadow)
        # The sentences' texts, in order: where they add up to the text (nearly always), the
        # spans are their running lengths; else the splitter's own offsets are read.
        bounds = None if "".join(pieces) == shadow else sentencex.get_sentence_boundaries(language, shadow)
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException(BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise
        raise SplitterError(
            f"{SPLITTER} failed on a text of {len(text)} characters ({str(exc)[:120]})",
            fix="report the text to the project; remove the article to go on",
        ) from None
    if bounds is not None:
        return _trimmed(text, ((b["start_index"], b["end_index"]) for b in bounds))
    spans = []
    offset = 0
    for piece in pieces:  # str.strip and str.isspace agree on what white space is
        left = piece.lstrip()
        start = offset + len(piece) - len(left)
        end = start + len(left.rstrip())
        offset += len(piece)
        if start < end:
            spans.append((start, end))
    return spans


def _trimmed(text: str, bounds: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``bounds`` without the white space at either end, empty ones dropped."""
    spans = []
    for start, end in bounds:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


def split_sentences(article_id: str, text: str, *, language: str = "en") -> list[Sentence]:
    """The sentences of one article, each with its stable id and exact offsets."""
    return [
        Sentence(sentence_id(article_id, start, end), start, end, text[start:end])
        for start, end in sentence_spans(text, language=language)
    ]
