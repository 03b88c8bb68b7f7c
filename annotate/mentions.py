"""Where the scheme's targets are mentioned in a text: its aliases and patterns, found with offsets.

An alias is a phrase matched case-insensitively on word boundaries: any apostrophe in it matches
any apostrophe (``'`` ``’`` ``‘`` ``ʼ``), any dash any dash (``-`` ``‐`` ``‑`` ``–`` ``—``), and any
run of spaces any run of white space, so ``Haftar's`` and ``Haftar’s`` both hold a mention of
``Haftar``. A pattern is a regular expression matched as written. Where mentions overlap, the
longest wins (then the earliest), so ``Libyan National Army`` is one mention, not also ``Army``.

Offsets are Python code points; ``text[start:end] == mention.text`` always holds.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ahocorasick_rs import AhoCorasick
from pydantic import BaseModel, ConfigDict, Field

from .scheme import Scheme

_APOSTROPHES = "'\u2019\u2018\u02bc`\u00b4"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_APOSTROPHE_CLASS = "[" + re.escape(_APOSTROPHES) + "]"
_DASH_CLASS = "[" + re.escape(_DASHES) + "]"


class MentionRecord(BaseModel):
    """Where a target is named in the sentence: ``sentence[start:end] == text``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = Field(description="the target id")
    start: int = Field(ge=0, description="offset in the sentence (Python code points)")
    end: int = Field(ge=1, description="end offset in the sentence (exclusive)")
    text: str = Field(min_length=1, description="the words that name the target: sentence[start:end]")


@dataclass(frozen=True, slots=True)
class Mention:
    """One mention of a target: ``text[start:end]`` of the text it was found in."""

    target: str
    start: int
    end: int
    text: str

    def as_json(self) -> dict:
        return {"target": self.target, "start": self.start, "end": self.end, "text": self.text}


def alias_regex(alias: str) -> str:
    """The regular expression (without flags) that finds ``alias`` on word boundaries.

    >>> re.findall(alias_regex("Haftar's LNA"), "Haftar’s  LNA")
    ['Haftar’s  LNA']
    """
    return r"(?<!\w)" + "".join(_tokens(alias)) + r"(?!\w)"


class MentionFinder:
    """Finds the mentions of a scheme's targets; compiled once, used on many texts.

    Aliases are found in the lower-cased text (the same length as the text for all but a few
    scripts; for those, the text itself is searched case-insensitively): the aliases' first
    words are found in one pass by an Aho-Corasick automaton (``ahocorasick_rs``; one pass
    however many targets and aliases), and each place one occurs is checked with the expression
    of each alias that starts with it (boundaries, apostrophes, dashes, spaces). An alias that
    starts with an apostrophe or a dash has no first word: those are looked for with one
    expression shaped as a trie of the aliases, which is also the independent search the tests
    compare the automaton with. Every candidate at every position is kept, so a longer mention
    that starts inside another is seen; overlaps are then settled longest first.

    Parameters
    ----------
    scheme : Scheme
        Its targets' ``aliases`` and ``patterns``. A target with neither is never mentioned.
    """

    def __init__(self, scheme: Scheme) -> None:
        aliases = [(alias.lower(), target.id) for target in scheme.targets for alias in target.aliases]
        aliases.sort(key=lambda pair: -len(pair[0]))  # at one position, the longest first
        self._alias_targets = [target for _, target in aliases]
        self._alias_res = [re.compile(alias_regex(alias)) for alias, _ in aliases]
        heads: dict[str, list[int]] = {}
        for i, (alias, _) in enumerate(aliases):
            heads.setdefault(_head(alias), []).append(i)
        # With a first word each, the automaton finds every alias's candidates; else the trie expression.
        self._heads = None if "" in heads else [(head, indices) for head, indices in heads.items()]
        self._automaton = AhoCorasick([head for head, _ in self._heads]) if self._heads else None
        self._trie = re.compile(r"(?<!\w)" + _trie([_tokens(alias) for alias, _ in aliases])) if aliases else None
        self._folded = (re.compile("|".join(f"(?P<a{i}>{alias_regex(a)})" for i, (a, _) in enumerate(aliases)),
                                   re.IGNORECASE) if aliases else None)
        self._patterns = [(*_pattern(p), target.id) for target in scheme.targets for p in target.patterns]
        self.targets = scheme.target_ids

    @property
    def active(self) -> bool:
        """Whether any target has an alias or a pattern."""
        return self._trie is not None or bool(self._patterns)

    def find(self, text: str) -> list[Mention]:
        """The mentions in ``text``, in text order, none overlapping another."""
        if self._trie is None:
            return self._find_with(text, None)
        low = text.lower()
        if len(low) != len(text):
            return self._find_with(text, "folded")
        return self._find_with(text, "heads" if self._heads is not None else "trie", low)

    def _find_with(self, text: str, method: str | None, low: str | None = None) -> list[Mention]:
        found: list[tuple[int, int, str]] = []
        if method == "heads":
            found.extend(self._find_heads(text.lower() if low is None else low))
        elif method == "trie":
            found.extend(self._find_trie(text.lower() if low is None else low))
        elif method == "folded":
            found.extend(self._find_folded(text))
        for regex, bounded, target in self._patterns:
            if bounded:  # r"\bX..." searched as "X...", the boundary before it checked here (a literal is fast)
                found.extend((m.start(), m.end(), target) for m in regex.finditer(text)
                             if m.end() > m.start() and not (m.start() and _WORD.match(text, m.start() - 1)))
            else:
                found.extend((m.start(), m.end(), target) for m in regex.finditer(text) if m.end() > m.start())
        if len(found) > 1:
            found = _longest_first(found)
        return [Mention(target, start, end, text[start:end]) for start, end, target in found]

    def _find_heads(self, low: str) -> Iterator[tuple[int, int, str]]:
        targets, res, heads = self._alias_targets, self._alias_res, self._heads
        for h, i, _ in self._automaton.find_matches_as_indexes(low, overlapping=True):
            for k in heads[h][1]:  # longest first: the first that matches is the longest here
                match = res[k].match(low, i)
                if match:
                    yield i, match.end(), targets[k]
                    break

    def _find_trie(self, low: str) -> Iterator[tuple[int, int, str]]:
        targets, res = self._alias_targets, self._alias_res
        position = 0
        while True:
            match = self._trie.search(low, position)
            if match is None:
                return
            i = match.start()
            for k in range(len(res)):  # the trie says an alias starts here; the longest that matches wins
                found = res[k].match(low, i)
                if found:
                    yield i, found.end(), targets[k]
                    break
            position = i + 1

    def _find_folded(self, text: str) -> Iterator[tuple[int, int, str]]:
        targets = self._alias_targets
        position = 0
        while True:
            match = self._folded.search(text, position)
            if match is None:
                return
            group = match.lastgroup
            yield match.start(), match.end(), targets[int(group[1:])]
            position = match.start() + 1


_WORD = re.compile(r"\w")
_BOUNDED = re.compile(r"\\b(?=[A-Za-z0-9])")


def _pattern(pattern: str) -> tuple[re.Pattern, bool]:
    """A pattern compiled for search: ``\bWord...`` without its leading ``\b`` (checked by the caller).

    Python's regular expressions find a pattern fast when it starts with a literal, and slowly
    when it starts with ``\b``; before a letter or digit, ``\b`` only says that no word
    character comes before, which is cheap to check afterwards.
    """
    if _BOUNDED.match(pattern) and "|" not in pattern:
        return re.compile(pattern[2:]), True
    return re.compile(pattern), False


def _head(alias: str) -> str:
    """An alias's first word up to its first apostrophe, dash or space: the literal ``str.find`` looks for."""
    return re.split("[\\s" + re.escape(_APOSTROPHES + _DASHES) + "]", alias, maxsplit=1)[0]


def _tokens(alias: str) -> list[str]:
    """The alias as expression pieces, one per character (classes for apostrophes, dashes, spaces)."""
    pieces: list[str] = []
    for i, word in enumerate(alias.split()):
        if i:
            pieces.append(r"\s+")
        for char in word:
            pieces.append(_APOSTROPHE_CLASS if char in _APOSTROPHES else _DASH_CLASS if char in _DASHES
                          else re.escape(char))
    return pieces


def _trie(aliases: list[list[str]]) -> str:
    """One expression that matches where any alias starts, its alternatives shared as a trie."""
    end = ""
    root: dict = {}
    for pieces in aliases:
        node = root
        for piece in pieces:
            node = node.setdefault(piece, {})
        node[end] = {}

    def emit(node: dict) -> str:
        alternatives = [piece + emit(child) for piece, child in sorted(node.items()) if piece != end]
        if end in node:
            return "(?:" + "|".join([*alternatives, r"(?!\w)"]) + ")"
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return emit(root)


def _longest_first(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping mentions, the longest taken first (then the earliest), in text order."""
    kept: list[tuple[int, int, str]] = []
    starts: list[int] = []
    for start, end, target in sorted(set(found), key=lambda m: (m[0] - m[1], m[0], m[2])):
        i = bisect_right(starts, start)
        if i and kept[i - 1][1] > start:
            continue  # overlaps the kept mention before it
        if i < len(kept) and kept[i][0] < end:
            continue  # overlaps the kept mention after it
        kept.insert(i, (start, end, target))
        starts.insert(i, start)
    return kept


def sentence_mentions(mentions: Sequence[Mention], spans: Sequence[tuple[int, int]]) -> dict[int, list[Mention]]:
    """The article's mentions by sentence: the index of each span that holds one, and its mentions
    with offsets into that sentence (spans without a mention are left out).

    A mention that crosses a sentence boundary belongs to neither sentence.
    """
    starts = [start for start, _ in spans]
    per: dict[int, list[Mention]] = {}
    for mention in mentions:
        i = bisect_right(starts, mention.start) - 1
        if i < 0:
            continue
        start, end = spans[i]
        if mention.end <= end:
            per.setdefault(i, []).append(Mention(mention.target, mention.start - start, mention.end - start,
                                                 mention.text))
    return per


def mentioned(mentions: Sequence[Mention], order: Sequence[str]) -> list[str]:
    """The targets of ``mentions``, each once, in the scheme's ``order``."""
    present = {m.target for m in mentions}
    return [t for t in order if t in present]
