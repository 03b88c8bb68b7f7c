"""The feature sets: hashtags read as words, the VADER lexicon figures, choosing and building sets."""

from __future__ import annotations

from importlib.metadata import metadata
from pathlib import Path

import numpy as np
import pytest

from annotate import features
from annotate.features import (FEATURE_SETS, LEXICON_FIGURES, HashtagWords, LexiconFeatures, check_feature_sets,
                               hashtag_words, hashtags_of, lexicon_figures, remember_hashtags, resources_of,
                               split_hashtags, text_features)

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


# --- sets ---------------------------------------------------------------------------------------


def test_feature_sets_are_checked_and_put_in_order():
    assert check_feature_sets(["lexicon", "ngrams"]) == ("ngrams", "lexicon")
    with pytest.raises(ValueError, match="unknown feature set 'embeddings'; known: ngrams, hashtags, lexicon"):
        check_feature_sets(("ngrams", "embeddings"))
    with pytest.raises(ValueError, match="'hashtags' changes how 'ngrams' and 'lexicon' read a text"):
        check_feature_sets(("hashtags",))
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
    resources = resources_of(("ngrams", "hashtags", "lexicon"))
    assert [r.package for r in resources] == ["wordsegment", "vaderSentiment"]
    for resource in resources:
        declared = metadata(resource.package)["License"]
        assert resource.licence.replace("-", " ").split()[0] in declared.replace("-", " "), (resource, declared)
    assert resources_of(("ngrams",)) == []
    assert all(name == s.name for name, s in FEATURE_SETS.items())
