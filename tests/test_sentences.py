"""Sentence spans: exact offsets on any text, stable ids, and the pinned splitter."""

from __future__ import annotations

import re
from importlib.metadata import requires
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from annotate.corpus import iter_articles
import sentencex

from annotate.sentences import _SPACES, SPLITTER, _trimmed, sentence_id, sentence_spans, split_sentences

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

# Text built from the pieces that break offsets: emoji (outside the BMP), CRLF, NBSP and
# other non-ASCII spaces, tabs, straight and curly quotes, abbreviations, accents.
PIECES = st.sampled_from([
    "a", "b", "The", "U", "S", "Dr", " ", "  ", ".", "!", "?", "...", "\r\n", "\n", "\n\n", "\t",
    "\u00a0", "\u2009", "\u3000", "😀", "🇱🇾", "“", "”", "‘", "’", '"', "'", "é", "Mr.", "U.S.",
    "1.5", "(", ")", "—", "\u2028",
])
TEXTS = st.lists(PIECES, max_size=60).map("".join) | st.text(max_size=80)


def check_spans(text: str) -> None:
    spans = sentence_spans(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        assert not text[previous_end:start].strip(), "text between sentences was dropped"
        previous_end = end
    assert not text[previous_end:].strip(), "text after the last sentence was dropped"


@settings(max_examples=400, deadline=None)
@given(TEXTS)
@example("The U\u00a0. S. talks.")  # sentencex 1.0.32 panics on this without our workaround
@example("A\u2009. B")
@example("")
def test_offsets_are_exact_on_any_text(text):
    check_spans(text)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
@example("A\r\nB. C.\u2028D")
@example("x\u00a0. Y")
def test_spans_are_the_splitters_own_offsets_trimmed(text):
    # sentence_spans reads the sentences' texts (sentencex.segment) and adds up their lengths;
    # the splitter's own offsets (get_sentence_boundaries), trimmed, are the oracle.
    shadow = _SPACES.sub(" ", text)
    own = [(b["start_index"], b["end_index"]) for b in sentencex.get_sentence_boundaries("en", shadow)]
    assert sentence_spans(text) == _trimmed(text, own)


def test_where_the_pieces_do_not_add_up_to_the_text_the_splitters_offsets_are_read(monkeypatch):
    # sentencex.segment drops a paragraph break now and then (11 of FNC-1's 1,683 articles, after
    # long quotations); sentence_spans then reads get_sentence_boundaries. Here the pieces lose
    # every white-space-only piece, so the fallback must give the offsets all the same.
    import annotate.sentences as sentences

    real = sentencex.segment
    monkeypatch.setattr(sentences.sentencex, "segment",
                        lambda language, text: [p for p in real(language, text) if p.strip()])
    text = "It was late.\n\n'He left,' she said.\n\nThen it rained. Hard."
    assert "".join(sentences.sentencex.segment("en", text)) != text
    own = [(b["start_index"], b["end_index"]) for b in sentencex.get_sentence_boundaries("en", text)]
    assert sentence_spans(text) == _trimmed(text, own)
    assert [text[s:e] for s, e in sentence_spans(text)] == ["It was late.", "'He left,' she said.",
                                                            "Then it rained.", "Hard."]


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=20).filter(str.strip), st.lists(PIECES, max_size=40).map("".join))
def test_sentence_text_is_the_article_slice(article_id, text):
    for sentence in split_sentences(article_id, text):
        assert text[sentence.start:sentence.end] == sentence.text
        assert sentence.id == sentence_id(article_id, sentence.start, sentence.end)


def test_seed_sentences():
    first, second = iter_articles([SEEDS])
    sentences = split_sentences(first.id, first.text)
    assert len(sentences) == 9
    assert sentences[0].text.startswith("CAIRO, Dec. 28-- Egyptian President")
    assert sentences[-1].text == ("On Dec. 11, al-Sisi announced that a comprehensive solution in "
                                  "Libya will take place in the coming months.")
    sentences = split_sentences(second.id, second.text)
    assert len(sentences) == 12
    assert sentences[6].text == ("The Libyan National Army announced the detection of five Turkish "
                                 "ships outside Libyan territorial waters, off the coast of the city "
                                 "of Sirte.")
    assert sentences[8].text.startswith("Brig. Khaled El-Mahgoub said")  # "Brig." does not end it


def test_the_splitter_is_pinned_exactly():
    pins = [r for r in requires("stance-annotate") or [] if r.startswith("sentencex")]
    assert pins == ["sentencex==1.0.32"]
    assert SPLITTER == "sentencex 1.0.32"
    assert re.fullmatch(r"sentencex \d+\.\d+\.\d+", SPLITTER)
