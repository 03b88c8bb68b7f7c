"""Every question's probabilities for a batch of texts, each text's features computed once.

A :class:`~annotate.baseline.StanceBaseline` answers several questions (the claim, every
target's stance), each through a pipeline whose first step turns the text into features
(TF-IDF word and character n-grams, and the other blocks of :func:`annotate.features.text_features`).
Asked one question at a time, as scikit-learn's ``predict_proba`` is, every pipeline reads
every text again: with a claim and five targets, six times over, and the character n-grams
are most of the work. :class:`SharedFeatures` computes each text's features once:

- the texts are tokenised once per kind of analyser (same analyser, n-gram range, case
  folding, ... and the same text preprocessing, such as hashtag splitting) into counts over
  the union of the vocabularies of every vectorizer of that kind; each vectorizer then takes
  its own columns of those counts, weighted as it weights them (binary, sublinear tf, its
  idf, its norm: ``TfidfTransformer.transform``'s steps);
- a block without fitted state of its own (a lexicon's figures, the hashtag splitter) is
  computed once for all pipelines that hold an equal one;
- the stance questions of one target-aware pipeline share its text features, and each gets
  them placed in its target's copy as :class:`~annotate.features.TargetAugmenter` places them.

The numbers are those of the pipelines' own ``predict_proba`` (tested to 1e-12); a pipeline of
another shape is asked the usual way.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import normalize

# What decides how a vectorizer cuts a text into terms: vectorizers alike in these share one pass.
_ANALYSIS = ("input", "encoding", "decode_error", "strip_accents", "lowercase", "preprocessor", "tokenizer",
             "stop_words", "token_pattern", "ngram_range", "analyzer")
_STATELESS_FITTED = frozenset({"n_features_in_", "feature_names_in_"})


class Unsupported(Exception):
    """A pipeline step this module does not know how to share: that pipeline is asked the usual way."""


def _hashable(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(map(repr, value))))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value if isinstance(value, (str, int, float, bool, type(None))) else ("object", id(value))


def _stateless_key(step: Any) -> tuple | None:
    """A key equal for steps that compute the same function, when ``step`` keeps no fitted state; else None."""
    fitted = {k for k in vars(step) if k.endswith("_") and not k.startswith("_")}
    if not hasattr(step, "get_params") or not hasattr(step, "transform") or fitted - _STATELESS_FITTED:
        return None
    params = tuple(sorted((k, _hashable(v)) for k, v in step.get_params(deep=False).items()))
    return (type(step).__module__, type(step).__qualname__, params)


def _is_tfidf(step: Any) -> bool:
    return (isinstance(step, TfidfVectorizer) and type(step).transform is TfidfVectorizer.transform
            and hasattr(step, "vocabulary_"))


class _Analysis:
    """One pass of one analyser over (preprocessed) texts, counted over the union of several vocabularies."""

    def __init__(self, pre: tuple, params: dict[str, Any]) -> None:
        self.pre = pre
        self.params = params
        self.union: dict[str, int] = {}
        self.analyze = CountVectorizer(**params).build_analyzer()  # the vectorizers' own analyser

    def add(self, vectorizer: TfidfVectorizer) -> np.ndarray:
        """Join the vectorizer's vocabulary; the union column of each of its columns."""
        vocabulary = vectorizer.vocabulary_
        take = np.empty(len(vocabulary), dtype=np.int64)
        union = self.union
        for term, column in vocabulary.items():
            take[column] = union.setdefault(term, len(union))
        return take

    def counts(self, texts: list[str]) -> sp.csr_matrix:
        """Term counts of each text over the union vocabulary, as ``CountVectorizer.transform`` gives them.

        Each text's terms are looked up with ``map`` and the repeats summed by scipy, which is
        about three times faster than CountVectorizer's loop with a dict per text.
        """
        get, analyze = self.union.get, self.analyze
        indices: list[int] = []
        indptr = [0]
        for text in texts:
            indices.extend([j for j in map(get, analyze(text)) if j is not None])
            indptr.append(len(indices))
        X = sp.csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.int64),
                           np.asarray(indptr, dtype=np.int64)), shape=(len(texts), len(self.union)))
        X.sum_duplicates()
        return X


def _tfidf(counts: sp.csr_matrix, take: np.ndarray, vectorizer: TfidfVectorizer) -> sp.csr_matrix:
    """The vectorizer's own transform of the texts whose counts over a larger vocabulary are ``counts``."""
    X = counts[:, take].tocsr()  # a copy, in the vectorizer's column order
    if vectorizer.binary:
        X.data[:] = 1.0
    if vectorizer.sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    if vectorizer.use_idf:
        X.data *= vectorizer.idf_[X.indices]
    if vectorizer.norm is not None:
        X = normalize(X, norm=vectorizer.norm, copy=False)
    return X


class SharedFeatures:
    """The questions of a fitted model, predicted with each text's features computed once.

    Parameters
    ----------
    model : StanceBaseline
        Fitted; its pipelines are read, never changed.
    plan : sequence of (question, pipeline, target)
        Every question with its pipeline and, for a pipeline that starts with a
        ``TargetAugmenter``, the question's target (None otherwise).
    """

    def __init__(self, model: Any, plan: Sequence[tuple[str, Pipeline, str | None]]) -> None:
        from .features import TargetAugmenter

        self._model = weakref.ref(model)  # the cache below is keyed by the model: no strong reference to it
        self.classes = {q: tuple(model.classes_[q]) for q, _, _ in plan}
        self.analyses: dict[tuple, _Analysis] = {}
        self.steps: dict[tuple, Any] = {}  # stateless key -> one step of that kind
        self.unions: dict[int, list[tuple]] = {}  # id(FeatureUnion) -> its blocks, as computed here
        # question, id of its FeatureUnion (None: asked the usual way), classifier, augmenter targets, target
        self.plan: list[tuple[str, int | None, Any, tuple[str, ...] | None, str | None]] = []
        for question, pipeline, target in plan:
            first, classifier = pipeline.steps[0][1], pipeline.steps[-1][1]
            augmenter = first if isinstance(first, TargetAugmenter) and target is not None else None
            union = augmenter.features_ if augmenter is not None else first
            try:
                if len(pipeline.steps) != 2:
                    raise Unsupported("a pipeline of more than features and a classifier")
                if id(union) not in self.unions:
                    self.unions[id(union)] = self._blocks(union)
            except Unsupported:
                self.plan.append((question, None, None, None, None))
                continue
            self.plan.append((question, id(union), classifier,
                              None if augmenter is None else tuple(augmenter.targets_), target))

    def _blocks(self, union: Any) -> list[tuple]:
        """Each block of the union as ("tfidf", pre, analysis, take, vectorizer) or ("step", pre, key)."""
        if not isinstance(union, FeatureUnion) or union.transformer_weights:
            raise Unsupported("features that are not a plain FeatureUnion")
        blocks = []
        for _, block in union.transformer_list:
            chain = [step for _, step in block.steps] if isinstance(block, Pipeline) else [block]
            pre = []
            for step in chain[:-1]:
                key = _stateless_key(step)
                if key is None:
                    raise Unsupported(f"a preprocessing step with fitted state: {type(step).__name__}")
                self.steps.setdefault(key, step)
                pre.append(key)
            final = chain[-1]
            if _is_tfidf(final):
                params = {k: final.get_params()[k] for k in _ANALYSIS}
                key = (tuple(pre), tuple((k, _hashable(v)) for k, v in params.items()))
                analysis = self.analyses.setdefault(key, _Analysis(tuple(pre), params))
                blocks.append(("tfidf", tuple(pre), analysis, analysis.add(final), final))
                continue
            key = _stateless_key(final)
            if key is None:
                raise Unsupported(f"a feature block with fitted state: {type(final).__name__}")
            self.steps.setdefault(key, final)
            blocks.append(("step", tuple(pre), key))
        return blocks

    def predict_proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Question -> probabilities of shape (n_texts, n_labels), columns as ``model.classes_[question]``."""
        texts = list(texts)
        if not texts:
            return {q: np.zeros((0, len(self.classes[q]))) for q, *_ in self.plan}
        read: dict[tuple, list] = {(): texts}  # preprocessing chain -> the texts it gives

        def through(pre: tuple) -> list:
            if pre not in read:
                read[pre] = self.steps[pre[-1]].transform(through(pre[:-1]))
            return read[pre]

        counts = {id(a): a.counts(through(a.pre)) for a in self.analyses.values()}
        computed: dict[tuple, Any] = {}

        def block(b: tuple) -> Any:
            if b[0] == "tfidf":
                _, _, analysis, take, vectorizer = b
                return _tfidf(counts[id(analysis)], take, vectorizer)
            _, pre, key = b
            if (pre, key) not in computed:
                computed[(pre, key)] = self.steps[key].transform(through(pre))
            return computed[(pre, key)]

        features = {}
        for uid, blocks in self.unions.items():
            parts = [block(b) for b in blocks]
            features[uid] = (sp.hstack(parts).tocsr() if any(sp.issparse(p) for p in parts)
                             else np.hstack(parts))  # as FeatureUnion does
        out = {}
        for question, uid, classifier, targets, target in self.plan:
            if uid is None:
                out[question] = self._model().predict_proba(texts, question)
                continue
            shared = features[uid]
            if targets is not None:  # as TargetAugmenter: [shared, shared * (target == t) for each t]
                shared = sp.csr_matrix(shared)
                empty = sp.csr_matrix(shared.shape, dtype=shared.dtype)
                X = sp.hstack([shared, *(shared if t == target else empty for t in targets)], format="csr")
            else:
                X = shared
            out[question] = classifier.predict_proba(X)
        return out


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def shared_features(model: Any, plan: Sequence[tuple[str, Pipeline, str | None]]) -> SharedFeatures:
    """The :class:`SharedFeatures` of a model, made once per fitted model (the vocabulary union costs)."""
    pipelines = tuple(id(p) for _, p, _ in plan)
    found = _CACHE.get(model)
    if found is None or found[0] != pipelines:
        found = (pipelines, SharedFeatures(model, plan))
        _CACHE[model] = found
    return found[1]
