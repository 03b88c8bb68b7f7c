"""What the baseline reads in a text: named feature sets that cross-validation chooses between.

A feature set is a name in :data:`FEATURE_SETS`; :func:`text_features` turns a tuple of names
into one scikit-learn transformer (a ``FeatureUnion``), so the baseline can try several tuples
on the same folds and keep the best. Today's sets:

``ngrams``
    TF-IDF word 1-3 grams and character 2-5 grams inside word boundaries (``char_wb``), the
    features of the strongest SemEval-2016 Task 6 system.
``hashtags``
    Not a block of its own: the word n-grams and the lexicon read each hashtag also as the
    words it joins (``#HandOverTheServer`` as ``#HandOverTheServer hand over the server``),
    split by ``wordsegment``'s unigram and bigram counts.
``lexicon``
    Ten sentiment figures from the VADER lexicon (``vaderSentiment``): VADER's compound,
    positive, negative and neutral scores, and the count, valence sum and extreme of the
    lexicon's positive and negative words in the text.

Lexicons and counts come only from wheels on PyPI that ship them (:data:`RESOURCES`); nothing
is downloaded at run time. A new set (for example one that reads where the target is
mentioned) is one more entry in :data:`FEATURE_SETS` and one more branch in
:func:`text_features`.

:class:`TargetAugmenter` turns text features into target-aware ones: the text's features shared
by all targets and a copy for the row's own target.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted


@dataclass(frozen=True)
class Resource:
    """A lexicon or word list that a feature set reads, and the PyPI wheel that ships it."""

    package: str
    licence: str
    what: str


@dataclass(frozen=True)
class FeatureSet:
    """One named feature set: what it reads, and the resources it needs."""

    name: str
    description: str
    resources: tuple[Resource, ...] = ()


WORDSEGMENT = Resource(
    package="wordsegment", licence="Apache-2.0",
    what="English unigram and bigram counts (the 333,000 most common words and 250,000 most common pairs of "
         "Peter Norvig's counts from the Google Web Trillion Word Corpus, Brants and Franz 2006)")
VADER = Resource(
    package="vaderSentiment", licence="MIT",
    what="the VADER sentiment lexicon (about 7,500 words, emoticons and slang rated for social media; "
         "Hutto and Gilbert 2014)")
RESOURCES: tuple[Resource, ...] = (WORDSEGMENT, VADER)

FEATURE_SETS: dict[str, FeatureSet] = {s.name: s for s in (
    FeatureSet("ngrams", "TF-IDF word n-grams and character n-grams inside word boundaries (char_wb), sublinear tf, "
                         "lowercased"),
    FeatureSet("hashtags", "the word n-grams and the lexicon also read each hashtag as the words it joins "
                           "(#HandOverTheServer: hand over the server)", (WORDSEGMENT,)),
    FeatureSet("lexicon", "ten sentiment figures from the VADER lexicon: compound, positive, negative and neutral "
                          "scores, and the count, valence sum and extreme of positive and negative lexicon words",
               (VADER,)),
)}
# What the baseline tries by default: today's n-grams, and everything.
DEFAULT_FEATURE_SETS: tuple[tuple[str, ...], ...] = (("ngrams",), ("ngrams", "hashtags", "lexicon"))
LEXICON_WEIGHT = 0.3  # the lexicon block's scale against the unit-length TF-IDF blocks (cross-validated: 0.2-1.0)


def check_feature_sets(names: Sequence[str]) -> tuple[str, ...]:
    """The names as a tuple in :data:`FEATURE_SETS` order.

    Raises
    ------
    ValueError
        An unknown name, none at all, or ``hashtags`` with nothing that reads words.
    """
    if isinstance(names, str):
        raise ValueError(f"feature sets are a tuple of names, not the string {names!r}: write ({names!r},)")
    unknown = [n for n in names if n not in FEATURE_SETS]
    if unknown:
        raise ValueError(f"unknown feature set {unknown[0]!r}; known: {', '.join(FEATURE_SETS)}")
    if not names:
        raise ValueError(f"no feature set given; known: {', '.join(FEATURE_SETS)}")
    if set(names) == {"hashtags"}:
        raise ValueError("'hashtags' changes how 'ngrams' and 'lexicon' read a text: give one of them too")
    return tuple(n for n in FEATURE_SETS if n in names)


def resources_of(names: Sequence[str]) -> list[Resource]:
    """The resources the feature sets ``names`` read, each once."""
    out: list[Resource] = []
    for name in check_feature_sets(names):
        out += [r for r in FEATURE_SETS[name].resources if r not in out]
    return out


# --- the blocks --------------------------------------------------------------------------------


class CompactTfidfVectorizer(TfidfVectorizer):
    """``TfidfVectorizer`` whose fitted vocabulary is kept as one JSON string when saved.

    skops writes a dict entry by entry (four JSON fields per n-gram), which made a model of 21
    sentences 21 MB; the terms in index order as one string take a few hundred KB. Fitting,
    transforming and parameters are ``TfidfVectorizer``'s.
    """

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: the estimator's own __dict__ must keep its vocabulary
        vocabulary = state.pop("vocabulary_", None)
        if vocabulary is not None:
            terms = [""] * len(vocabulary)
            for term, index in vocabulary.items():
                terms[index] = term
            state["vocabulary_terms_"] = json.dumps(terms, ensure_ascii=False)
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        terms = state.pop("vocabulary_terms_", None)
        if terms is not None:
            state["vocabulary_"] = {term: index for index, term in enumerate(json.loads(terms))}
        super().__setstate__(state)


_HASHTAG = re.compile(r"#(\w+)")


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    from wordsegment import Segmenter  # its counts load in about a second: only when a hashtag is read

    segmenter = Segmenter()
    segmenter.load()
    return segmenter


_WORDS_OF_TAG: dict[str, str] = {}  # hashtag -> its words: segmenting is the slow part, and tags repeat
_MAX_REMEMBERED = 200_000


def hashtag_words(tag: str) -> str:
    """The words a hashtag's text joins, lowercased: ``hashtag_words("HandOverTheServer") == "hand over the server"``."""
    words = _WORDS_OF_TAG.get(tag)
    if words is None:
        words = " ".join(_segmenter().segment(tag))
        if len(_WORDS_OF_TAG) >= _MAX_REMEMBERED:
            _WORDS_OF_TAG.clear()
        _WORDS_OF_TAG[tag] = words
    return words


def hashtags_of(texts: Iterable[str]) -> dict[str, str]:
    """Every hashtag of ``texts`` with its words (segmented here, once): for :func:`remember_hashtags` elsewhere."""
    return {tag: hashtag_words(tag) for text in texts for tag in _HASHTAG.findall(str(text))}


def remember_hashtags(words_of_tag: Mapping[str, str]) -> None:
    """Take hashtags already segmented (by :func:`hashtags_of`, in another process) as known."""
    if len(_WORDS_OF_TAG) + len(words_of_tag) > _MAX_REMEMBERED:
        _WORDS_OF_TAG.clear()
    _WORDS_OF_TAG.update(words_of_tag)


def split_hashtags(text: str) -> str:
    """``text`` with the words of each hashtag after it: ``"#NoMore now"`` -> ``"#NoMore no more now"``."""
    def with_words(match: re.Match) -> str:
        words = hashtag_words(match.group(1))
        return f"{match.group(0)} {words}" if words else match.group(0)

    return _HASHTAG.sub(with_words, text)


class HashtagWords(TransformerMixin, BaseEstimator):
    """Texts in, the same texts out with each hashtag followed by its words (:func:`split_hashtags`)."""

    def fit(self, X: Any, y: Any = None) -> HashtagWords:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> list[str]:
        check_is_fitted(self)
        return [split_hashtags(str(text)) for text in X]


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


_LEXICON_TOKEN = re.compile(r"[#@]?\w[\w']*|[:;=][-']?[()dDpP]")
LEXICON_FIGURES = ("compound", "positive", "negative", "neutral", "positive words", "negative words",
                   "positive valence", "negative valence", "highest valence", "lowest valence")


def lexicon_figures(text: str) -> list[float]:
    """The ten figures of :data:`LEXICON_FIGURES` for one text, each scaled to about [-1, 1].

    VADER's own scores (``polarity_scores``: compound in [-1, 1], and the positive, negative and
    neutral shares), then over the text's words found in the lexicon (valences -4 to +4): the
    number of positive and of negative words (/ 3), the sums of their valences (/ 6), and the
    highest and lowest valence (/ 4).
    """
    analyser = _vader()
    scores = analyser.polarity_scores(text)
    lexicon = analyser.lexicon
    valences = [lexicon[w] for w in (t.lower().lstrip("#") for t in _LEXICON_TOKEN.findall(text)) if w in lexicon]
    positive = [v for v in valences if v > 0]
    negative = [v for v in valences if v < 0]
    return [scores["compound"], scores["pos"], scores["neg"], scores["neu"], len(positive) / 3, len(negative) / 3,
            sum(positive) / 6, sum(negative) / 6, max(valences, default=0.0) / 4, min(valences, default=0.0) / 4]


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """Texts in, the ten VADER figures of :func:`lexicon_figures` times ``weight`` out (sparse).

    Parameters
    ----------
    weight : float, default=LEXICON_WEIGHT
        Scale of the block beside the TF-IDF blocks (whose rows have unit length).
    """

    def __init__(self, weight: float = LEXICON_WEIGHT) -> None:
        self.weight = weight

    def fit(self, X: Any, y: Any = None) -> LexiconFeatures:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> sp.csr_matrix:
        check_is_fitted(self)
        figures = np.array([lexicon_figures(str(text)) for text in X], dtype=np.float64).reshape(-1, 10)
        return sp.csr_matrix(self.weight * figures)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"vader {name}" for name in LEXICON_FIGURES], dtype=object)


def text_features(sets: Sequence[str] = ("ngrams",), *, word_ngrams: tuple[int, int] = (1, 3),
                  char_ngrams: tuple[int, int] = (2, 5)) -> FeatureUnion:
    """The transformer of the feature sets ``sets`` (names of :data:`FEATURE_SETS`): texts in, a sparse matrix out.

    Parameters
    ----------
    sets : sequence of str
        Feature set names, e.g. ``("ngrams", "hashtags", "lexicon")``.
    word_ngrams, char_ngrams : tuple of int
        The n-gram ranges of the ``ngrams`` set.
    """
    names = check_feature_sets(sets)

    def reading(step: Any) -> Any:
        return Pipeline([("hashtags", HashtagWords()), ("read", step)]) if "hashtags" in names else step

    blocks: list[tuple[str, Any]] = []
    if "ngrams" in names:
        blocks.append(("word", reading(CompactTfidfVectorizer(analyzer="word", ngram_range=tuple(word_ngrams),
                                                              sublinear_tf=True))))
        blocks.append(("char", CompactTfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngrams),
                                                      sublinear_tf=True)))
    if "lexicon" in names:
        blocks.append(("lexicon", reading(LexiconFeatures())))
    return FeatureUnion(blocks)


# --- targets ------------------------------------------------------------------------------------


class TargetAugmenter(TransformerMixin, BaseEstimator):
    """Text features shared by all targets plus a copy for the row's own target.

    ``X`` has two columns, target id and text. The output is ``[F, F * (target == t1), ...,
    F * (target == tk)]`` where ``F`` is ``features`` on the text: a linear model on it learns
    weights shared by all targets and, on top, each target's own (Daumé III 2007, "Frustratingly
    easy domain adaptation"); :class:`~annotate.baseline.TargetSVM` also reads a row's target
    from the copy that holds its features. A target not seen in ``fit`` gets the shared block only.

    Parameters
    ----------
    features : transformer, default=None
        Text features; :func:`text_features` (``ngrams``) when None.
    targets : tuple of str, default=()
        The targets that get a copy; those in the training data when empty.
    """

    def __init__(self, features: Any = None, targets: tuple[str, ...] = ()) -> None:
        self.features = features
        self.targets = targets

    def fit(self, X: Any, y: Any = None) -> TargetAugmenter:
        X = np.asarray(X, dtype=object)
        self.features_ = clone(self.features if self.features is not None else text_features()).fit(list(X[:, 1]))
        self.targets_ = tuple(self.targets) or tuple(sorted({str(t) for t in X[:, 0]}))
        self.n_features_in_ = 2
        return self

    def transform(self, X: Any) -> sp.csr_matrix:
        check_is_fitted(self)
        X = np.asarray(X, dtype=object)
        shared = sp.csr_matrix(self.features_.transform(list(X[:, 1])))
        blocks = [shared]
        for target in self.targets_:
            blocks.append(sp.diags((X[:, 0] == target).astype(np.float64)) @ shared)
        return sp.hstack(blocks, format="csr")
