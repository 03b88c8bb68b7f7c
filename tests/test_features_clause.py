"""The ``clause`` feature set, the target's own mentions marked first, and its blocks read once for every fold."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from annotate.features import (FoldFeatures, MentionClause, OtherTargets, TargetAugmenter, check_feature_sets,
                               clause_words, mark_mentions, reads_mentions, target_copies, text_features,
                               without_mentions)

TEXT = "Analysts praised Merkel for her calm, but Trump was mocked after he said Merkel lied."


def at(word: str, after: int = 0) -> tuple[int, int]:
    start = TEXT.index(word, after)
    return start, start + len(word)


def mentions() -> tuple:
    """Merkel (twice, and "her") and Trump (and "he") in TEXT, at their offsets."""
    last = TEXT.rindex("Merkel")
    return (("merkel", *at("Merkel")), ("merkel", *at("her")), ("merkel", last, last + 6), ("trump", *at("Trump")),
            ("trump", *at("he", TEXT.index("after"))))


def test_a_clause_is_the_words_between_the_cuts_around_the_target():
    merkel = mark_mentions(TEXT, mentions(), "merkel")
    trump = mark_mentions(TEXT, mentions(), "trump")
    # Merkel: her first clause (up to the comma) and the last one, after "said"; never Trump's "was mocked".
    assert clause_words(merkel) == "analysts praised merkel for her calm merkel lied ."
    # Trump: "Trump was mocked" (cut at "after") and "he" (cut at "after" and "said"), the target's marks left out.
    assert clause_words(trump) == "trump was mocked he"
    assert MentionClause().fit([]).transform([merkel, trump]) == [clause_words(merkel), clause_words(trump)]


def test_a_clause_is_never_cut_inside_a_mention_and_keeps_the_other_targets_marks():
    text = "Critics said Smith and Wesson, who sued Jones, lost"
    found = (("sw", 13, 29), ("jones", 40, 45))  # "Smith and Wesson": "and" inside the mention is no cut
    assert clause_words(mark_mentions(text, found, "sw")) == "smith and wesson"
    assert clause_words(mark_mentions(text, found, "jones")) == "sued jones"
    assert clause_words(mark_mentions("Critics said he lied to Pelosi.", (("he", 13, 15), ("p", 24, 30)), "he")) == (
        "he lied to zothz pelosi zothendz .")
    assert clause_words(mark_mentions("No one is named here", (), "he")) == ""


def test_the_offsets_decide_which_words_are_the_clause():
    text = "Smith won, Smith lost"
    first, second = mark_mentions(text, (("s", 0, 5),), "s"), mark_mentions(text, (("s", 11, 16),), "s")
    assert clause_words(first) == "smith won"
    assert clause_words(second) == "smith lost"


def test_the_targets_own_mention_is_marked_where_another_target_shares_its_words():
    text = "It was a morning for Mr. Trump on his medium"
    at = text.index("his")
    found = (("trump", 21, 30), ("trump", at, at + 3), ("his", at, at + 3))  # the data gives "his" to both
    assert mark_mentions(text, found, "his") == ("It was a morning for  zothz Mr. Trump zothendz  on  ztgtz his "
                                                 "ztgtendz  medium")
    assert mark_mentions(text, found, "trump") == ("It was a morning for  ztgtz Mr. Trump ztgtendz  on  ztgtz his "
                                                   "ztgtendz  medium")


def test_other_targets_is_one_figure_where_another_target_is_marked():
    texts = [mark_mentions(TEXT, mentions(), "merkel"), mark_mentions("Merkel spoke", (("merkel", 0, 6),), "merkel")]
    out = OtherTargets(weight=0.5).fit([]).transform(texts)
    assert out.shape == (2, 1)
    assert out.toarray().ravel().tolist() == [0.5, 0.0]


def test_the_clause_set_builds_its_blocks_and_needs_mentions():
    texts = [mark_mentions(TEXT, mentions(), "merkel"), mark_mentions(TEXT, mentions(), "trump")]
    union = text_features(("ngrams", "lexicon", "mentions", "clause")).fit(texts)
    assert [n for n, _ in union.transformer_list] == ["word", "char", "lexicon", "clause", "clause lexicon", "others"]
    words = dict(union.transformer_list)["clause"].steps[-1][1].vocabulary_
    assert {"praised merkel", "was mocked", "merkel lied"} <= set(words)
    out = union.transform(texts).toarray()
    lexicon = out[:, -11:-1]  # the clause's VADER figures: Merkel's clause praises, Trump's mocks
    assert lexicon[0, 0] > 0 > lexicon[1, 0]
    assert [n for n, _ in text_features(("ngrams", "mentions", "clause")).transformer_list] == [
        "word", "char", "clause", "others"]
    with pytest.raises(ValueError, match="'clause' reads the words around the mentions"):
        check_feature_sets(("ngrams", "clause"))
    assert reads_mentions(("ngrams", "mentions", "clause"))
    assert without_mentions(("ngrams", "mentions", "clause", "vectors")) == ("ngrams", "vectors")


def test_fold_features_give_the_clause_sets_the_unions_own_matrices_and_read_shared_blocks_once():
    texts = [mark_mentions(TEXT, mentions(), t) for t in ("merkel", "trump")] * 3 + ["Plain words #NoMore here"]
    train = np.array([True, True, False, True, True, False, True])
    cache: dict = {}
    for sets in (("ngrams", "hashtags", "lexicon", "mentions", "window"),
                 ("ngrams", "hashtags", "lexicon", "mentions", "window", "clause")):
        A, B = FoldFeatures(text_features(sets), texts, cache=cache).split(train, ~train)
        union = text_features(sets)
        expected_A = union.fit_transform([t for t, k in zip(texts, train) if k])
        expected_B = union.transform([t for t, k in zip(texts, train) if not k])
        assert A.shape == expected_A.shape and B.shape == expected_B.shape
        assert abs(A - expected_A).max() < 1e-12 and abs(B - expected_B).max() < 1e-12
    # The second set held the first's blocks: only the clause's three were read for it.
    assert len(cache) == len(text_features(sets).transformer_list)


def test_augmenter_fit_transform_is_fit_then_transform():
    X = np.empty((2, 3), dtype=object)
    X[:, 0], X[:, 1] = ["merkel", "trump"], [TEXT, TEXT]
    X[0, 2] = X[1, 2] = mentions()
    make = lambda: TargetAugmenter(features=text_features(("ngrams", "mentions", "clause")),  # noqa: E731
                                   targets=("merkel", "trump"), mentions=True)
    once = make().fit_transform(X)
    twice = make().fit(X).transform(X)
    assert once.shape == twice.shape and abs(once - twice).max() < 1e-12
    shared = sp.csr_matrix(np.array([[1.0, 2.0], [3.0, 0.0]]))
    assert target_copies(shared, np.array(["a", "b"]), ("a", "b")).toarray().tolist() == [
        [1.0, 2.0, 1.0, 2.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0, 3.0, 0.0]]
