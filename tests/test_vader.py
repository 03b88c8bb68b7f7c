"""FastVader: vaderSentiment's polarity_scores, float for float, on real and generated sentences."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from vaderSentiment import vaderSentiment as vs

from annotate import features
from annotate.vader import FastVader

REPO = Path(__file__).resolve().parents[1]
ORIGINAL = vs.SentimentIntensityAnalyzer()
FAST = FastVader(ORIGINAL)


def same(text: str) -> None:
    """FastVader's scores are vaderSentiment's: the same keys in the same order, the same floats (repr: -0.0 too)."""
    expected, got = ORIGINAL.polarity_scores(text), FAST.polarity_scores(text)
    assert [(k, repr(v)) for k, v in got.items()] == [(k, repr(v)) for k, v in expected.items()], text


# VADER's own demonstration and tricky sentences (vaderSentiment.py's __main__, 3.3.2), and a few more of its rules.
VADER_EXAMPLES = [
    "VADER is smart, handsome, and funny.", "VADER is smart, handsome, and funny!",
    "VADER is very smart, handsome, and funny.", "VADER is VERY SMART, handsome, and FUNNY.",
    "VADER is VERY SMART, handsome, and FUNNY!!!", "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.", "The book was good.", "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.", "Today SUX!",
    "Today only kinda sux! But I'll get by, lol", "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁", "Not bad at all", "Sentiment analysis has never been good.",
    "Sentiment analysis has never been this good!", "Most automated sentiment analysis tools are shit.",
    "With VADER, sentiment analysis is the shit!", "Other sentiment analysis tools can be quite bad.",
    "On the other hand, VADER is quite bad ass", "VADER is such a badass!", "Without a doubt, excellent idea.",
    "Roger Dodger is one of the most compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.", "Not such a badass after all.",
    "Without a doubt, an excellent idea.", "no good", "no no good", "good, no or nor bad", "never so good",
    "it was kind of the bomb to die for", "this yeah right beating heart", "not very least good but bad but ok",
    "", "   ", "!!!", "good?? bad????", "İstanbul is GREAT but ß is sad", "😁", "a 💘 b", "good💘",
]


@pytest.mark.parametrize("text", VADER_EXAMPLES)
def test_the_same_scores_as_vader_on_its_own_examples(text):
    same(text)


def test_the_same_scores_as_vader_on_the_seed_articles():
    lines = [line for path in sorted((REPO / "seeds").glob("*.txt"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) > 10
    for line in lines:
        same(line)


def test_the_same_scores_as_vader_on_sentences_of_its_lexicon_words():
    rng = random.Random(15)
    lexicon = sorted(ORIGINAL.lexicon)
    for _ in range(2000):
        words = rng.choices(lexicon, k=rng.randint(1, 25)) + rng.choices(SPECIAL, k=rng.randint(0, 6))
        rng.shuffle(words)
        same(" ".join(w.upper() if rng.random() < 0.15 else w for w in words))


# Words that some rule of VADER reads: negations, boosters, idioms, "no", "least", "but", caps, punctuation.
SPECIAL = sorted({*vs.NEGATE, *vs.BOOSTER_DICT, *" ".join([*vs.SPECIAL_CASES, *vs.SENTIMENT_LADEN_IDIOMS]).split(),
                  "no", "or", "nor", "least", "at", "very", "but", "BUT", "But", "never", "so", "this", "without",
                  "doubt", "kind", "of", "sort", "good", "GOOD", "bad", "BAD", "love", "hate", "!", "?", "!!", "??",
                  ":)", ":(", ":D", "(-:", "don't", "isn't", "N'T", "'good'", "good.", "...bad", "İ", "ß", "ǅ", "😁",
                  "💘", "no.", "NO", "Kind", "OF"})
WORDS = st.sampled_from(SPECIAL) | st.sampled_from(sorted(ORIGINAL.lexicon)) | st.text(max_size=6)
SEPARATORS = st.sampled_from([" ", "  ", "\t", "\n", " , ", "! ", "? ", "\u00a0", "\u2003"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(WORDS, SEPARATORS), max_size=30))
@example([("no", " "), ("kind", " "), ("of", " "), ("good", " ")])
@example([("BAD", " "), ("but", " "), ("very", " "), ("GOOD", "!")])
def test_the_same_scores_as_vader_on_generated_sentences(pieces):
    same("".join(word + separator for word, separator in pieces))


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=80))
def test_the_same_scores_as_vader_on_any_text(text):
    same(text)


def test_the_lexicon_feature_set_reads_vader_through_fastvader():
    analyser = features._vader()
    assert isinstance(analyser, FastVader) and analyser.lexicon is analyser.analyser.lexicon
    assert features.lexicon_figures("VADER is not smart, handsome, nor funny.")[0] == -0.7424


def test_fastvader_stands_in_for_the_analyser():
    assert FAST.emojis is ORIGINAL.emojis and FAST.lexicon is ORIGINAL.lexicon
    assert FAST.sentiment_valence.__self__ is ORIGINAL
    import copy

    assert copy.copy(FAST).polarity_scores("good") == ORIGINAL.polarity_scores("good")
