"""Mentions of the scheme's targets: aliases on word boundaries, patterns, offsets that hold."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.mentions import MentionFinder, alias_regex, sentence_mentions
from annotate.scheme import load_scheme, parse_scheme

SEEDS = load_scheme()


def scheme_with(*targets: dict):
    data = SEEDS.model_dump(mode="json")
    data["targets"] = [{"name": t["id"].title(), "description": "x", **t} for t in targets]
    return parse_scheme(data)


def found(finder: MentionFinder, text: str) -> list[tuple[str, str]]:
    return [(m.target, m.text) for m in finder.find(text)]


def test_the_seeds_aliases_find_their_targets():
    finder = MentionFinder(SEEDS)
    text = ("the UN-backed Government of National Accord (GNA) and the Libyan National Army (LNA) led by "
            "Khalifa Haftar, while Turkey sent troops")
    assert found(finder, text) == [("gna", "Government of National Accord"), ("gna", "GNA"),
                                   ("haftar_lna", "Libyan National Army"), ("haftar_lna", "LNA"),
                                   ("haftar_lna", "Khalifa Haftar"), ("turkey_military", "Turkey")]


@pytest.mark.parametrize("text, expected", [
    ("Haftar's forces", "Haftar"),                     # a possessive: the apostrophe ends the word
    ("Haftar’s forces", "Haftar"),                     # a curly apostrophe too
    ("“Haftar” said", "Haftar"),                       # curly quotes around it
    ("HAFTAR and", "HAFTAR"),                          # case-insensitive
    ("(LNA)", "LNA"),
    ("LNA-backed", "LNA"),                             # a dash is not a word character
])
def test_possessives_quotes_dashes_and_case(text, expected):
    assert [m.text for m in MentionFinder(SEEDS).find(text)] == [expected]


@pytest.mark.parametrize("text", ["GNAT", "Haftarists", "Turkeys", "unLNA", "LNA2", "_GNA"])
def test_no_mention_inside_a_longer_word(text):
    assert MentionFinder(SEEDS).find(text) == []


def test_apostrophes_dashes_and_spaces_inside_an_alias_match_their_kinds():
    finder = MentionFinder(scheme_with({"id": "un", "aliases": ["UN-backed government", "Haftar's LNA"]}))
    for text in ("UN-backed government", "UN–backed government", "UN\u2011backed  government",
                 "un-backed\ngovernment", "Haftar’s LNA", "Haftar`s LNA"):
        assert [m.text for m in finder.find(text)] == [text], text
    assert finder.find("UN backed government") == [] and finder.find("UN--backed government") == []


def test_overlapping_aliases_the_longest_wins():
    finder = MentionFinder(scheme_with({"id": "a", "aliases": ["Libyan National"]},
                                       {"id": "b", "aliases": ["National Army of Libya", "Army"]}))
    # the longer mention starts inside the earlier one; then "Army" inside it is not a mention of its own
    assert found(finder, "the Libyan National Army of Libya") == [("b", "National Army of Libya")]
    assert found(finder, "the Libyan National Guard and the Army") == [("a", "Libyan National"), ("b", "Army")]


def test_patterns_are_case_sensitive_regular_expressions():
    finder = MentionFinder(scheme_with({"id": "usa", "patterns": [r"\bUS\b", r"(?i)\bwashington\b"]},
                                       {"id": "isis", "aliases": ["Islamic State"], "patterns": [r"\bIS\b"]}))
    assert found(finder, "the US said; let us see; WASHINGTON agreed") == [("usa", "US"), ("usa", "WASHINGTON")]
    assert found(finder, "IS fighters, the Islamic State; this is it") == [("isis", "IS"), ("isis", "Islamic State")]
    # a leading \b is checked after a fast literal search: THIS and ISIS hold no mention of IS
    assert found(finder, "THIS ISIS, IS_X, _IS; (IS)") == [("isis", "IS")]


def test_text_whose_lower_case_changes_length_is_still_searched():
    finder = MentionFinder(scheme_with({"id": "ist", "aliases": ["Istanbul"]}))
    text = "İzmir and ISTANBUL"  # 'İ'.lower() is two characters
    assert len(text.lower()) != len(text)
    assert found(finder, text) == [("ist", "ISTANBUL")]


def test_mentions_go_to_their_sentence_with_sentence_offsets():
    text = "Haftar spoke. It rained. The GNA replied to Haftar. Hafta"
    spans = [(0, 13), (14, 24), (25, 51), (52, 57)]
    per = sentence_mentions(MentionFinder(SEEDS).find(text), spans)
    assert {i: [(m.target, m.start, m.end, m.text) for m in p] for i, p in per.items()} == {
        0: [("haftar_lna", 0, 6, "Haftar")], 2: [("gna", 4, 7, "GNA"), ("haftar_lna", 19, 25, "Haftar")]}
    for i, mentions in per.items():
        start = spans[i][0]
        assert all(text[start + m.start:start + m.end] == m.text for m in mentions)


ALIASES = ["Haftar", "Khalifa Haftar", "LNA", "Libyan National Army", "GNA", "UN-backed government", "Turkey",
           "Erdoğan", "Haftar's LNA", "National Army of Libya"]
PIECES = ALIASES + ["haftar", "TURKEY", "’s", "'s", " ", "  ", "\n", "-", "–", ".", ",", "(", ")", "“", "”",
                    "x", "ab", "İ", "ß", "army", "national", "libyan", "_", "1"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_offsets_hold_and_every_search_path_agrees(pieces):
    scheme = scheme_with({"id": "a", "aliases": ALIASES[:4]}, {"id": "b", "aliases": ALIASES[4:]})
    text = "".join(pieces)
    finder = MentionFinder(scheme)
    mentions = finder.find(text)
    if len(text.lower()) == len(text):  # str.find per first word, the trie expression, case-folding: alike
        assert mentions == finder._find_with(text, "heads") == finder._find_with(text, "trie")
        assert mentions == finder._find_with(text, "folded")
    previous_end = 0
    for m in mentions:
        assert text[m.start:m.end] == m.text and m.start >= previous_end  # in order, none overlapping
        previous_end = m.end
        aliases = [a for t in scheme.targets if t.id == m.target for a in t.aliases]
        assert any(re.fullmatch(alias_regex(a), m.text, re.IGNORECASE) for a in aliases)


WORDS = ["al", "alpha", "beta", "bet", "gamma", "gam", "delta", "de", "army", "front", "’s", "-", "x"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS[:-3]), min_size=1, max_size=3), min_size=30, max_size=60, unique_by=tuple),
       st.lists(st.sampled_from(WORDS + [" ", "  ", ".", "A", "ALPHA"]), max_size=60))
def test_many_aliases_sharing_first_words_are_found_as_by_the_trie(aliases, pieces):
    """Dozens of aliases (more first words than a scan per word would take): the automaton over
    their first words finds what the independent trie expression finds, offsets and all."""
    phrases = sorted({" ".join(a) for a in aliases})
    half = len(phrases) // 2
    scheme = scheme_with({"id": "a", "aliases": phrases[:half]}, {"id": "b", "aliases": phrases[half:]})
    finder = MentionFinder(scheme)
    text = " ".join(pieces)
    assert finder.find(text) == finder._find_with(text, "trie") == finder._find_with(text, "folded")


def test_an_alias_without_a_first_word_is_found_by_the_trie():
    scheme = scheme_with({"id": "a", "aliases": ["-Ring", "Haftar"]})
    finder = MentionFinder(scheme)
    assert found(finder, "The -ring met Haftar.") == [("a", "-ring"), ("a", "Haftar")]
