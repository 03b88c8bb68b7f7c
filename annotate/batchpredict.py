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
  idf, its norm: ``TfidfTransformer.transform``'s steps); character n-grams are cut once per
  distinct word, word n-grams looked up as integer codes of their tokens a whole batch at once
  (the same counts as the analyser's, tested);
- a block without fitted state of its own (a lexicon's figures, the hashtag splitter) is
  computed once for all pipelines that hold an equal one;
- the stance questions of one target-aware pipeline share its text features, and each gets
  them placed in its target's copy as :class:`~annotate.features.TargetAugmenter` places them;
- a stance pipeline that reads mentions reads each text marked for each target
  (:func:`~annotate.features.mark_mentions`), but most texts name no target, and such a text
  marked for one target is the same as marked for any other: the features are computed once
  per distinct marked text, so a batch of which a few percent name a target costs little more
  than one reading of it, not one per target.

The numbers are those of the pipelines' own ``predict_proba`` (tested to 1e-12); a pipeline of
another shape is asked the usual way.
"""

from __future__ import annotations

import weakref
from array import array
from collections.abc import Sequence
from itertools import repeat
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
        self.kind = tuple((k, _hashable(v)) for k, v in params.items())  # analyses of one kind cut alike
        self.union: dict[str, int] = {}
        self.vectorizer = CountVectorizer(**params)  # unfitted: only its analyser's pieces are used
        self.analyze = self.vectorizer.build_analyzer()  # the vectorizers' own analyser
        self._words: dict[str, int] = {}  # char_wb: word -> its number in the three arrays below
        self._columns, self._starts, self._lengths = array("q"), array("q"), array("q")  # its columns: where, how many
        self._tables: _WordTables | None = None  # word: the union's n-grams as codes of token ids

    def add(self, vectorizer: TfidfVectorizer) -> np.ndarray:
        """Join the vectorizer's vocabulary; the union column of each of its columns."""
        self._words.clear()
        self._tables = None
        vocabulary = vectorizer.vocabulary_
        take = np.empty(len(vocabulary), dtype=np.int64)
        union = self.union
        for term, column in vocabulary.items():
            take[column] = union.setdefault(term, len(union))
        return take

    def counts(self, texts: list[str], tokenized: dict[tuple, tuple[list[str], list[list[str]]]] | None = None
               ) -> sp.csr_matrix:
        """Term counts of each text over the union vocabulary, as ``CountVectorizer.transform`` gives them.

        Character n-grams inside word boundaries are looked up once per distinct word
        (:meth:`_char_wb_columns`), word n-grams as codes of token ids (:class:`_WordTables`);
        an analyser of another kind is run as it is and its terms looked up with ``map``.
        ``tokenized`` (kind of analysis -> texts and their tokens) keeps the word tokens of one
        batch for another analysis of the same kind: a text that is the same (such as the
        text without a hashtag, which the hashtag splitter gives back as it is) is not cut again.
        """
        if _char_wb_fast(self.params):
            indices, indptr = self._char_wb_columns(texts)
        elif _word_fast(self.params) and self._word_tables().usable:
            return self._word_tables().counts(texts, len(self.union), tokenized, self.kind)
        else:
            get, analyze = self.union.get, self.analyze
            indices, indptr = array("q"), array("q", [0])
            for text in texts:
                indices.extend([j for j in map(get, analyze(text)) if j is not None])
                indptr.append(len(indices))
        indices = np.frombuffer(indices, dtype=np.int64) if len(indices) else np.zeros(0, np.int64)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(np.frombuffer(indptr, dtype=np.int64)))
        return _count_matrix(rows, indices, (len(texts), len(self.union)))

    def _word_tables(self) -> _WordTables:
        if self._tables is None:
            self._tables = _WordTables(self.union, self.vectorizer)
        return self._tables

    def _char_wb_columns(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The union columns of each text's ``char_wb`` n-grams, in CSR order (indices, indptr).

        scikit-learn's ``_char_wb_ngrams`` normalises the whitespace, splits the text into
        words and cuts each word on its own: a text's n-grams are its words' n-grams one after
        the other. Words repeat (about 47,000 distinct among FNC-1's 620,000), so each word is
        cut by that same function once and its columns kept (up to :data:`MAX_WORDS` words),
        one after the other in one array; a batch's columns are then gathered from it at once.
        """
        vectorizer = self.vectorizer
        decode, preprocess, ngrams = vectorizer.decode, vectorizer.build_preprocessor(), vectorizer._char_wb_ngrams
        white = vectorizer._white_spaces
        if len(self._words) >= MAX_WORDS:
            self._words.clear()
        words, get = self._words, self.union.get
        if not words:
            self._columns, self._starts, self._lengths = array("q"), array("q"), array("q")
        store, starts, lengths = self._columns, self._starts, self._lengths
        flat: list[str] = []
        ends = [0]
        for text in texts:
            flat += white.sub(" ", preprocess(decode(text))).split()
            ends.append(len(flat))
        ids = list(map(words.get, flat))
        for k, word_id in enumerate(ids):
            if word_id is None:
                word = flat[k]
                word_id = words.get(word)
                if word_id is None:  # a new word: its columns go after the others'
                    word_id = words[word] = len(words)
                    columns = [j for j in map(get, ngrams(word)) if j is not None]
                    starts.append(len(store))
                    lengths.append(len(columns))
                    store.extend(columns)
                ids[k] = word_id
        at = np.asarray(ids, dtype=np.int64)
        width = np.frombuffer(lengths, dtype=np.int64)[at] if len(at) else np.zeros(0, np.int64)
        first = np.frombuffer(starts, dtype=np.int64)[at] if len(at) else np.zeros(0, np.int64)
        done = np.concatenate([np.zeros(1, np.int64), np.cumsum(width)])
        # the k-th word's columns are store[first[k]:first[k] + width[k]], placed at done[k]:done[k + 1]
        place = np.arange(done[-1], dtype=np.int64) - np.repeat(done[:-1] - first, width)
        indices = np.frombuffer(store, dtype=np.int64)[place] if len(store) else np.zeros(0, np.int64)
        return indices, done[np.asarray(ends, dtype=np.int64)]


MAX_WORDS = 100_000  # words whose char_wb columns are kept: memory stays bounded (a few tens of MB)
_WORD_PATTERNS = (r"(?u)\b\w\w+\b", r"\S+")  # token patterns whose tokens never hold a space


def _char_wb_fast(params: dict[str, Any]) -> bool:
    return (params["analyzer"] == "char_wb" and params["input"] == "content"
            and hasattr(CountVectorizer, "_white_spaces") and hasattr(CountVectorizer, "_char_wb_ngrams"))


def _word_fast(params: dict[str, Any]) -> bool:
    return (params["analyzer"] == "word" and params["input"] == "content" and params["tokenizer"] is None
            and params["stop_words"] is None and params["token_pattern"] in _WORD_PATTERNS)


class _WordTables:
    """The word n-grams of a union vocabulary as integer codes of their tokens, for counting whole batches.

    With tokens that never hold a space, an n-gram of the text (its tokens joined by spaces) is
    a term of the vocabulary exactly when its tokens are the term's space-separated parts, in
    order. Each distinct part gets an id; an n-gram is then the code ``((t1 * K) + t2) * K + ...``
    of its tokens' ids, looked up with ``searchsorted`` in the sorted codes of the vocabulary's
    n-grams of that length, for every position of a batch at once. A token that is no part of
    any term ends every n-gram through it.
    """

    def __init__(self, union: dict[str, int], vectorizer: CountVectorizer) -> None:
        self.decode, self.preprocess = vectorizer.decode, vectorizer.build_preprocessor()
        self.tokenize = vectorizer.build_tokenizer()
        low, high = vectorizer.ngram_range
        self.lengths = (1,) if high == 1 else tuple(range(low, high + 1))  # as _word_ngrams gives them
        # Every term's space-separated parts one after the other (joined by spaces and split again: the
        # same parts as each term's own split), each part's id its first place among the distinct parts.
        terms = list(union)
        parts = " ".join(terms).split(" ") if terms else []
        self.tokens: dict[str, int] = {p: i for i, p in enumerate(dict.fromkeys(parts))}
        ids = np.fromiter(map(self.tokens.__getitem__, parts), dtype=np.int64, count=len(parts))
        sizes = np.fromiter(map(str.count, terms, repeat(" ")), dtype=np.int64, count=len(terms)) + 1
        starts = np.cumsum(sizes) - sizes  # where each term's parts begin in ``ids``
        term_columns = np.fromiter(union.values(), dtype=np.int64, count=len(terms))
        self.K = max(len(self.tokens), 1)
        self.usable = self.K ** max(self.lengths) < 2 ** 62  # the codes fit in int64; else the plain way
        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in self.lengths:
            mine = np.flatnonzero(sizes == n)
            codes = np.zeros(len(mine), dtype=np.int64)
            for k in range(n):
                codes = codes * self.K + ids[starts[mine] + k]
            order = np.argsort(codes, kind="stable")
            self.tables[n] = (codes[order], term_columns[mine][order])

    def counts(self, texts: list[str], width: int, tokenized: dict | None = None, kind: tuple = ()) -> sp.csr_matrix:
        decode, preprocess, tokenize, get = self.decode, self.preprocess, self.tokenize, self.tokens.get
        prior = tokenized.get(kind) if tokenized is not None else None
        before, cut = prior if prior is not None and len(prior[0]) == len(texts) else ([None] * len(texts), None)
        flat: list[int] = []
        ends = []
        token_lists = []
        for i, text in enumerate(texts):
            tokens = cut[i] if before[i] is text else tokenize(preprocess(decode(text)))  # type: ignore[index]
            token_lists.append(tokens)
            flat.extend(map(get, tokens, repeat(-1)))
            flat.append(-1)  # no n-gram runs across two texts
            ends.append(len(flat))
        if tokenized is not None:
            tokenized[kind] = (texts, token_lists)
        ids = np.asarray(flat, dtype=np.int64)
        row = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(np.asarray([0, *ends], dtype=np.int64)))
        rows, cols = [], []
        for n, (codes, columns) in self.tables.items():
            m = len(ids) - n + 1
            if m <= 0 or not len(codes):
                continue
            known = ids[:m] >= 0
            code = ids[:m].copy()
            for k in range(1, n):
                part = ids[k:m + k]
                known &= part >= 0
                code = code * self.K + part
            at = np.flatnonzero(known)
            code = code[at]
            place = np.minimum(np.searchsorted(codes, code), len(codes) - 1)
            hit = codes[place] == code
            rows.append(row[at[hit]])
            cols.append(columns[place[hit]])
        r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        return _count_matrix(r, c, (len(texts), width))


def _count_matrix(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """How often each (row, column) occurs, as a CSR matrix in canonical form: what ``sum_duplicates`` makes of ones.

    One sort of the pairs' codes ``row * width + column`` for the whole batch (numpy's sort
    is much faster than scipy's sort of each row's indices); each run of equal codes is one
    entry, its length the count.
    """
    n, width = shape
    codes = np.sort(rows * max(width, 1) + columns)
    first = np.empty(len(codes), dtype=bool)
    first[:1] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    at = np.flatnonzero(first)
    data = np.diff(np.append(at, len(codes))).astype(np.float64)
    codes = codes[at]
    row = codes // max(width, 1)
    X = sp.csr_matrix((data, codes - row * width, np.searchsorted(row, np.arange(n + 1))), shape=shape)
    X.has_canonical_format = True  # sorted within each row, no duplicates
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
        self.marking: dict[int, list[str]] = {}  # id(FeatureUnion) read with mentions marked -> the targets asked
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
            if augmenter is not None and augmenter.mentions:
                targets = self.marking.setdefault(id(union), [])
                targets += [target] if target not in targets else []

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

    def predict_proba(self, texts: Sequence[str], mentions: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
        """Question -> probabilities of shape (n_texts, n_labels), columns as ``model.classes_[question]``.

        ``mentions`` (one :data:`~annotate.features.Mentions` per text; none when None) are read
        by the pipelines that mark them.
        """
        texts = list(texts)
        if not texts:
            return {q: np.zeros((0, len(self.classes[q]))) for q, *_ in self.plan}
        features = {(uid, None): f for uid, f in self._features(texts, [u for u in self.unions
                                                                        if u not in self.marking]).items()}
        if self.marking:
            from .features import mark_mentions

            spans = [tuple(m or ()) for m in mentions] if mentions is not None else [()] * len(texts)
            for uid, targets in self.marking.items():
                distinct: dict[str, int] = {}  # a marked text -> its row in the features computed once
                rows = {t: np.fromiter((distinct.setdefault(mark_mentions(text, m, t), len(distinct))
                                        for text, m in zip(texts, spans)), dtype=np.intp, count=len(texts))
                        for t in targets}
                marked = self._features(list(distinct), [uid])[uid]
                for t in targets:
                    features[(uid, t)] = marked[rows[t]]
        out = {}
        for question, uid, classifier, targets, target in self.plan:
            if uid is None:
                out[question] = self._model().predict_proba(texts, question)
                continue
            shared = features[(uid, target if uid in self.marking else None)]
            if targets is not None:  # as TargetAugmenter: [shared, shared * (target == t) for each t]
                shared = sp.csr_matrix(shared)
                empty = sp.csr_matrix(shared.shape, dtype=shared.dtype)
                X = sp.hstack([shared, *(shared if t == target else empty for t in targets)], format="csr")
            else:
                X = shared
            out[question] = classifier.predict_proba(X)
        return out

    def _features(self, texts: list[str], uids: Sequence[int]) -> dict[int, Any]:
        """The features of ``texts`` by each union of ``uids``: every analysis and stateless block run once."""
        read: dict[tuple, list] = {(): texts}  # preprocessing chain -> the texts it gives

        def through(pre: tuple) -> list:
            if pre not in read:
                read[pre] = self.steps[pre[-1]].transform(through(pre[:-1]))
            return read[pre]

        tokenized: dict[tuple, tuple[list[str], list[list[str]]]] = {}
        analyses = {id(b[2]): b[2] for uid in uids for b in self.unions[uid] if b[0] == "tfidf"}
        counts = {key: a.counts(through(a.pre), tokenized) for key, a in analyses.items()}
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
        for uid in uids:
            parts = [block(b) for b in self.unions[uid]]
            features[uid] = (sp.hstack(parts).tocsr() if any(sp.issparse(p) for p in parts)
                             else np.hstack(parts))  # as FeatureUnion does
        return features


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def shared_features(model: Any, plan: Sequence[tuple[str, Pipeline, str | None]]) -> SharedFeatures:
    """The :class:`SharedFeatures` of a model, made once per fitted model (the vocabulary union costs)."""
    pipelines = tuple(id(p) for _, p, _ in plan)
    found = _CACHE.get(model)
    if found is None or found[0] != pipelines:
        found = (pipelines, SharedFeatures(model, plan))
        _CACHE[model] = found
    return found[1]
