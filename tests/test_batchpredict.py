"""The term counts of annotate.batchpredict against those of scikit-learn's own analysers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from annotate import batchpredict
from annotate.batchpredict import _ANALYSIS, _Analysis, _char_wb_fast, _word_fast

TRAIN = ["The minister said the talks failed.", "Talks resumed in Geneva; the U.N. envoy said so!",
         "Ça va? Éric didn't  say\tthat…", "#HandOverTheServer now, said Haftar's aides", "a b c d e f g"]
TRICKY = ["", " ", "a", "THE MINISTER SAID", "the talks\u2028failed\xa0again\u3000and\x1cagain", "talks\n\n\tsaid",
          "Éric ça va", "minister-said talks.failed", "x" * 300, "#HandOverTheServer", "said said said the the",
          "talks failed talks failed talks failed", "\u00e9 e\u0301", "ǅ ß ﬁ İ"]
KINDS = [
    dict(analyzer="char_wb", ngram_range=(2, 5)),
    dict(analyzer="char_wb", ngram_range=(1, 3), lowercase=False),
    dict(analyzer="char_wb", ngram_range=(3, 3), strip_accents="unicode"),
    dict(analyzer="word", ngram_range=(1, 3)),
    dict(analyzer="word", ngram_range=(2, 3), strip_accents="ascii"),
    dict(analyzer="word", ngram_range=(1, 1), lowercase=False),
    dict(analyzer="word", ngram_range=(1, 2), token_pattern=r"\S+"),
    dict(analyzer="char", ngram_range=(2, 4)),  # no fast way: counted through the analyser
]


def analysis(kind: dict, *fits: list[str]) -> _Analysis:
    """An _Analysis over the union of the vocabularies of vectorizers of ``kind`` fitted on ``fits``."""
    vectorizers = [TfidfVectorizer(**kind).fit(texts) for texts in fits]
    params = {k: vectorizers[0].get_params()[k] for k in _ANALYSIS}
    found = _Analysis((), params)
    for v in vectorizers:
        found.add(v)
    return found


def by_analyser(found: _Analysis, texts: list[str]) -> sp.csr_matrix:
    """The counts as CountVectorizer.transform makes them: the analyser's terms, looked up one by one."""
    rows = np.zeros((len(texts), len(found.union)))
    for i, text in enumerate(texts):
        for term in found.analyze(text):
            if term in found.union:
                rows[i, found.union[term]] += 1
    return sp.csr_matrix(rows)


def same(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return a.shape == b.shape and (a != b).nnz == 0 and a.has_canonical_format


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: f"{k['analyzer']}{k['ngram_range']}{len(k)}")
def test_counts_are_those_of_the_vectorizers_own_analyser(kind, monkeypatch):
    found = analysis(kind, TRAIN, TRAIN[:2] + ["the envoy failed again and again"])
    texts = TRAIN + TRICKY
    assert same(found.counts(texts), by_analyser(found, texts))
    assert same(found.counts(texts), by_analyser(found, texts))  # the second time from the words remembered
    monkeypatch.setattr(batchpredict, "MAX_WORDS", 3)  # forgetting the words changes nothing
    assert same(found.counts(texts[::-1]), by_analyser(found, texts[::-1]))
    assert found.counts([]).shape == (0, len(found.union))


def test_the_fast_ways_are_taken_where_they_are_exact():
    params = {k: TfidfVectorizer().get_params()[k] for k in _ANALYSIS}
    assert _word_fast(params) and not _char_wb_fast(params)
    assert not _word_fast({**params, "token_pattern": r"[\w ]+"})  # tokens may hold a space: "a b" is ambiguous
    assert not _word_fast({**params, "stop_words": "english"})
    assert not _word_fast({**params, "tokenizer": str.split})
    assert _char_wb_fast({**params, "analyzer": "char_wb"})
    assert not _char_wb_fast({**params, "analyzer": "char"})
    found = analysis(dict(analyzer="word", ngram_range=(1, 3)), TRAIN)
    found.counts(["the talks"])
    assert found._tables is not None and found._tables.usable  # the codes of three tokens fit in 64 bits


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab cé\t\n#'-.Ä\u2028ǅ"), max_size=40), max_size=6))
def test_counts_of_any_text_are_the_analysers(texts):
    for kind in KINDS[:4] + KINDS[6:7]:
        found = analysis(kind, ["ab ba cab abc é", "a b ab ba a b c"])
        assert same(found.counts(texts), by_analyser(found, texts))


def test_two_word_analyses_of_one_kind_cut_a_text_that_is_the_same_once():
    kind = dict(analyzer="word", ngram_range=(1, 3))
    first, second = analysis(kind, TRAIN), analysis(kind, TRAIN[2:] + ["failed again and again"])
    texts = TRAIN + TRICKY
    other = [t if i % 2 else t + " again" for i, t in enumerate(texts)]  # every other text another string
    tokenized: dict = {}
    assert same(first.counts(texts, tokenized), by_analyser(first, texts))
    cut = []
    tables = second._word_tables()
    tokenize = tables.tokenize
    tables.tokenize = lambda text: cut.append(text) or tokenize(text)
    assert same(second.counts(other, tokenized), by_analyser(second, other))
    assert len(cut) == len([i for i in range(len(texts)) if i % 2 == 0])  # only the texts that changed
    assert tokenized[second.kind][0] is other  # and the next analysis of the kind compares with these
