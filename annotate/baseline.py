"""The baseline: scikit-learn pipelines for claim / no claim and stance toward each target.

``stance train`` calls :func:`train`, ``stance predict`` :func:`predictions_for`; models are
written by :func:`save_model` and read back by :func:`load_model` (skops, never pickle).

The questions are those of the labeling config: ``claim`` and ``stance_<target id>``. Every
question is a text classifier over TF-IDF word 1-3 grams and character 2-5 grams (``char_wb``),
the features of the strongest SemEval-2016 Task 6 system (a linear SVM per target, F_avg
68.98). Stance is learnt either by one model per target (*per-target*) or by one model for all
targets whose features are the text's, shared, plus a copy of them for the row's own target
(*target-aware*; Daumé III 2007, "Frustratingly easy domain adaptation"): a target learns from
the others through the shared copy and keeps its own words through its copy.

Everything is chosen by grouped cross-validation on the training rows alone (folds never split
an article): the stance mode, the SVM's ``C`` and ``class_weight``, by the pooled out-of-fold
F_avg for stance and the macro F1 for claim. The chosen configuration is refitted on all rows
and its probabilities calibrated by temperature scaling on the same grouped folds
(``CalibratedClassifierCV(ensemble=False)``); temperature scaling divides the SVM's scores by
one number, so the labels it predicts are the SVM's and the probabilities become usable scores.

Small data falls back, and says so in ``notes_`` (and the model card): fewer than two articles
means no cross-validation (the default configuration is taken); a class missing from the
training part of a fold means no grouped calibration (a logistic regression gives the
probabilities instead); a question with a single label gets a constant model.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import PredefinedSplit, StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from .errors import InputError, ModelError
from .evaluate import confusion_matrix, f_avg, macro_f1
from .labeling import CLAIM_CONTROL
from .scheme import CLAIM_LABELS, KNOWN_VERSIONS, SCHEME_VERSION, STANCE_LABELS, Scheme

MODEL_FORMAT = "stance-model/v1"
StanceMode = Literal["per-target", "target-aware"]
_STANCE = "stance_"
_TARGET_AWARE_KEY = "stance"  # pipelines_ key of the one target-aware stance model


# --- estimators ------------------------------------------------------------------------------


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


def text_features(*, word_ngrams: tuple[int, int] = (1, 3), char_ngrams: tuple[int, int] = (2, 5)) -> FeatureUnion:
    """TF-IDF word n-grams and character n-grams inside word boundaries, sublinear tf, lowercased."""
    return FeatureUnion([
        ("word", CompactTfidfVectorizer(analyzer="word", ngram_range=word_ngrams, sublinear_tf=True)),
        ("char", CompactTfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, sublinear_tf=True)),
    ])


class TargetAugmenter(TransformerMixin, BaseEstimator):
    """Text features shared by all targets plus a copy for the row's own target.

    ``X`` has two columns, target id and text. The output is ``[F, F * (target == t1), ...,
    F * (target == tk)]`` where ``F`` is ``features`` on the text: a linear model on it learns
    weights shared by all targets and, on top, each target's own. A target not seen in ``fit``
    gets the shared block only.

    Parameters
    ----------
    features : transformer, default=None
        Text features; :func:`text_features` when None.
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


def _svm(C: float, class_weight: str | None, random_state: int) -> LinearSVC:
    return LinearSVC(C=C, class_weight=class_weight, random_state=random_state, max_iter=5000)


def _pairs(texts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    X = np.empty((len(texts), 2), dtype=object)
    X[:, 0], X[:, 1] = list(targets), list(texts)
    return X


class StanceBaseline(BaseEstimator):
    """One calibrated text classifier per question: ``claim`` and ``stance_<target id>``.

    ``fit`` takes gold rows (dicts with ``text``, ``article_id``, ``claim`` and ``stance``); a
    null or missing label leaves that question of that row out of training.

    Parameters
    ----------
    scheme : str
        The label scheme version id of the rows.
    targets : tuple of str
        The scheme's target ids; those of the rows when empty.
    stance_mode : {"auto", "per-target", "target-aware"}
        "auto" picks the one with the better grouped cross-validated F_avg.
    C : tuple of float
        The SVM regularisation values cross-validation chooses from.
    class_weight : tuple of {None, "balanced"}
        The class weightings cross-validation chooses from.
    n_splits : int
        Folds of the grouped cross-validation (fewer when there are fewer articles).
    calibration : {"temperature", "sigmoid", "isotonic"}
        How ``CalibratedClassifierCV`` turns SVM scores into probabilities.
    word_ngrams, char_ngrams : tuple of int
        The n-gram ranges of :func:`text_features`.
    n_jobs : int
        Folds cross-validated in parallel (joblib).
    random_state : int
        Seeds the folds and the SVMs.

    Attributes
    ----------
    questions_ : tuple of str
        The questions the model answers (those with labels in the training rows).
    classes_ : dict of str to tuple of str
        Per question, the labels in the column order of :meth:`predict_proba`.
    pipelines_ : dict of str to Pipeline
        ``claim`` and ``stance_<target>`` (per-target), or ``claim`` and ``stance`` (target-aware).
    stance_mode_ : str or None
    kinds_ : dict of str to str
        Per pipeline: ``calibrated linear SVM``, ``logistic regression`` or ``constant``.
    selection_ : dict
        The cross-validation: folds, every candidate's score, what was chosen (JSON-ready).
    cv_predictions_ : dict
        Per question, the out-of-fold predictions of the chosen configuration.
    label_counts_ : dict of str to dict of str to int
    data_sha256_ : str
        sha256 of the training rows, one canonical JSON line each (sorted keys).
    n_rows_, n_articles_ : int
        Training rows and their articles.
    trained_at_ : str
        ISO 8601 UTC time of ``fit``.
    notes_ : list of str
        Fallbacks taken and anything a reader of the metrics should know.
    """

    def __init__(
        self,
        *,
        scheme: str = SCHEME_VERSION,
        targets: tuple[str, ...] = (),
        stance_mode: Literal["auto", "per-target", "target-aware"] = "auto",
        C: tuple[float, ...] = (0.1, 0.3, 1.0),
        class_weight: tuple[str | None, ...] = (None, "balanced"),
        n_splits: int = 5,
        calibration: Literal["temperature", "sigmoid", "isotonic"] = "temperature",
        word_ngrams: tuple[int, int] = (1, 3),
        char_ngrams: tuple[int, int] = (2, 5),
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.scheme = scheme
        self.targets = targets
        self.stance_mode = stance_mode
        self.C = C
        self.class_weight = class_weight
        self.n_splits = n_splits
        self.calibration = calibration
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- fitting --

    def fit(self, X: Iterable[Mapping[str, Any]], y: None = None) -> StanceBaseline:
        """Choose and fit every question's model on gold rows ``X``; ``y`` is unused (labels are in the rows)."""
        if self.stance_mode not in ("auto", "per-target", "target-aware"):
            raise ValueError(f"stance_mode must be 'auto', 'per-target' or 'target-aware', not {self.stance_mode!r}")
        if not self.C or not self.class_weight:
            raise ValueError("C and class_weight must each give at least one value to choose from")
        rows = [_plain(r) for r in X]
        targets = tuple(self.targets) or tuple(sorted({t for r in rows for t in (r.get("stance") or {})}))
        check_rows(rows, scheme=self.scheme, targets=targets)
        self.targets_ = targets
        self.trained_at_ = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        self.data_sha256_ = rows_sha256(rows)
        self.n_rows_ = len(rows)
        self.n_articles_ = len({str(r["article_id"]) for r in rows})
        self.notes_: list[str] = []
        claim = _Examples.claim(rows)
        stance = _Examples.stance(rows, targets)
        self.label_counts_ = {CLAIM_CONTROL: dict(sorted(Counter(claim.labels.tolist()).items()))}
        for t in targets:
            counted = Counter(stance.labels[stance.targets == t].tolist())
            if counted:
                self.label_counts_[_STANCE + t] = dict(sorted(counted.items()))
        if not len(claim.labels) and not len(stance.labels):
            raise InputError("no row has a claim or stance label: nothing to train on",
                             fix="train on adjudicated gold rows (`stance adjudicate`) with decided questions")
        if not len(claim.labels):
            del self.label_counts_[CLAIM_CONTROL]
            self.notes_.append("claim: no row has a claim label: no claim model")
        missing = [t for t in targets if _STANCE + t not in self.label_counts_]
        if missing:
            self.notes_.append(f"no row has a stance label for {', '.join(missing)}: no stance model for "
                               f"{'it' if len(missing) == 1 else 'them'}")

        grid = [(float(c), w) for w in self.class_weight for c in self.C]
        claim_folds = self._folds(claim, "claim")
        stance_folds = self._folds(stance, "stance")
        modes: list[StanceMode] = (["per-target", "target-aware"] if self.stance_mode == "auto"
                                   else [self.stance_mode])
        jobs = []
        # One configuration: nothing to choose, so no selection run (the folds still calibrate).
        select = len(grid) > 1 or len(modes) > 1
        if not select:
            self.notes_.append("one configuration given: no cross-validated selection, and no cross-validated scores")
        elif claim_folds is not None:
            jobs += [("claim", claim, claim_folds, f) for f in np.unique(claim_folds)]
        if stance_folds is not None and select:
            jobs += [(mode, stance, stance_folds, f) for mode in modes for f in np.unique(stance_folds)]
        results = _run(jobs, grid=grid, params=self._feature_params(), n_jobs=self.n_jobs)

        self.selection_: dict[str, Any] = {"grouped_by": "article_id", "candidates_per_model": len(grid)}
        self.cv_predictions_: dict[str, dict[str, list[str]]] = {}
        self.pipelines_: dict[str, Pipeline] = {}
        self.kinds_: dict[str, str] = {}
        if len(claim.labels):
            best = self._choose("claim", claim, claim_folds, ["claim"], results, grid, select)
            self._fit_final(CLAIM_CONTROL, claim, claim_folds, best)
        if len(stance.labels):
            best = self._choose("stance", stance, stance_folds, modes, results, grid, select)
            self.stance_mode_: StanceMode | None = best[0]
            if best[0] == "target-aware":
                self._fit_final(_TARGET_AWARE_KEY, stance, stance_folds, best)
            else:
                for t in targets:
                    mask = stance.targets == t
                    if mask.any():
                        self._fit_final(_STANCE + t, stance.subset(mask),
                                        None if stance_folds is None else stance_folds[mask], best)
        else:
            self.stance_mode_ = None
        self.questions_ = tuple(q for q in [CLAIM_CONTROL, *(_STANCE + t for t in targets)] if q in self.label_counts_)
        self.classes_ = {q: tuple(str(c) for c in self._pipeline(q)[1].classes_) for q in self.questions_}
        return self

    def _feature_params(self) -> dict:
        return {"word_ngrams": tuple(self.word_ngrams), "char_ngrams": tuple(self.char_ngrams),
                "random_state": self.random_state}

    def _folds(self, ex: _Examples, what: str) -> np.ndarray | None:
        """Fold number of every example: stratified on the label, never splitting an article."""
        if not len(ex.labels):
            return None
        n_groups = len(np.unique(ex.groups))
        k = min(self.n_splits, n_groups)
        if k < 2:
            self.notes_.append(f"{what}: {n_groups} article: no cross-validation; the first C "
                               f"({self.C[0]}) and class_weight ({self.class_weight[0]}) are used, untested")
            return None
        strata = ex.labels if what == "claim" else np.array([f"{t}\x00{y}" for t, y in zip(ex.targets, ex.labels)])
        folds = np.empty(len(ex.labels), dtype=np.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # rare labels: said in the notes below
            splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=self.random_state)
            for f, (_, test) in enumerate(splitter.split(np.zeros(len(ex.labels)), strata, ex.groups)):
                folds[test] = f
        rare = [str(label).replace("\x00", " ") for label, n in sorted(Counter(strata.tolist()).items()) if n < k]
        if rare:
            self.notes_.append(f"{what}: fewer examples than the {k} folds of {', '.join(rare)}: some training "
                               "folds lack them, so the cross-validated scores are noisy")
        if k < self.n_splits:
            self.notes_.append(f"{what}: {n_groups} articles: {k}-fold cross-validation instead of {self.n_splits}")
        return folds

    def _choose(self, what: str, ex: _Examples, folds: np.ndarray | None, modes: list[str],
                results: dict, grid: list, select: bool) -> tuple:
        metric = "macro F1" if what == "claim" else "F_avg"
        labels = CLAIM_LABELS if what == "claim" else STANCE_LABELS
        record: dict[str, Any] = {"metric": metric, "folds": 0 if folds is None else int(len(np.unique(folds))),
                                  "examples": int(len(ex.labels)), "candidates": []}
        if folds is None or not select:
            mode = modes[0] if len(modes) == 1 or what == "claim" else "per-target"
            best = (mode, *grid[0])
            record.update(chosen=_candidate(best, None),
                          note="no cross-validation: too few articles" if folds is None
                          else "one configuration given: nothing to choose")
            self.selection_[what] = record
            return best
        scored = []
        for mode in modes:
            for c, w in grid:
                predicted = np.empty(len(ex.labels), dtype=object)
                for f in np.unique(folds):
                    predicted[folds == f] = results[(mode, int(f))][(c, w)]
                conf = confusion_matrix(ex.labels, predicted, labels)
                score = float(macro_f1(conf) if what == "claim" else f_avg(conf, labels))
                scored.append(((mode, c, w), score, predicted))
                record["candidates"].append(_candidate((mode, c, w), score))
        # Highest score; on a tie the earlier candidate (smaller C, no class weights, per-target).
        best, score, predicted = max(scored, key=lambda s: s[1])
        record["chosen"] = _candidate(best, score)
        if what == "stance" and len(modes) > 1:
            record["best_per_mode"] = {m: max(s for (mm, *_), s, _ in scored if mm == m) for m in modes}
        record["note"] = ("scores are out-of-fold predictions of grouped cross-validation on the training rows; "
                          "the chosen score is optimistic (chosen on the same folds)")
        self.selection_[what] = record
        if what == "claim":
            self.cv_predictions_[CLAIM_CONTROL] = _oof(ex.labels, predicted, ex.groups)
        else:
            for t in self.targets_:
                mask = ex.targets == t
                if mask.any():
                    self.cv_predictions_[_STANCE + t] = _oof(ex.labels[mask], predicted[mask], ex.groups[mask])
        return best

    def _fit_final(self, key: str, ex: _Examples, folds: np.ndarray | None, best: tuple) -> None:
        mode, c, w = best
        classes = sorted(set(ex.labels.tolist()))
        if len(classes) == 1:
            classifier: Any = DummyClassifier(strategy="prior")
            kind = "constant"
            self.notes_.append(f"{key}: every training label is {classes[0]}: a constant model (probability 1)")
        elif folds is not None and _calibratable(ex.labels, folds):
            _, test_fold = np.unique(folds, return_inverse=True)
            classifier = CalibratedClassifierCV(_svm(c, w, self.random_state), method=self.calibration,
                                                cv=PredefinedSplit(test_fold), ensemble=False)
            kind = "calibrated linear SVM"
        else:
            classifier = LogisticRegression(C=c, class_weight=w, random_state=self.random_state, max_iter=2000)
            kind = "logistic regression"
            self.notes_.append(f"{key}: a label is missing from the training part of a fold (or there is no "
                               "cross-validation), so the SVM cannot be calibrated on grouped folds: a logistic "
                               f"regression (C={c}, class_weight={w}) gives the labels and probabilities")
        params = self._feature_params()
        features: Any = text_features(word_ngrams=params["word_ngrams"], char_ngrams=params["char_ngrams"])
        if mode == "target-aware":
            features = TargetAugmenter(features=features, targets=self.targets_)
        pipeline = Pipeline([("features", features), ("classify", classifier)])
        X = _pairs(ex.texts, ex.targets) if mode == "target-aware" else list(ex.texts)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            pipeline.fit(X, ex.labels)
        if any(issubclass(x.category, ConvergenceWarning) for x in caught):
            self.notes_.append(f"{key}: the solver did not fully converge (ConvergenceWarning)")
        self.pipelines_[key] = pipeline
        self.kinds_[key] = kind

    # -- predicting --

    def _pipeline(self, question: str) -> tuple[str, Pipeline]:
        check_is_fitted(self)
        if question not in self.questions_:
            raise ModelError(f"the model has no question {question!r}",
                             fix=f"known questions: {', '.join(self.questions_)}")
        key = _TARGET_AWARE_KEY if question.startswith(_STANCE) and self.stance_mode_ == "target-aware" else question
        return key, self.pipelines_[key]

    def _X(self, texts: Sequence[str], question: str, key: str) -> Any:
        texts = [texts] if isinstance(texts, str) else list(texts)
        return _pairs(texts, [question[len(_STANCE):]] * len(texts)) if key == _TARGET_AWARE_KEY else texts

    def predict_proba(self, texts: Sequence[str], question: str) -> np.ndarray:
        """Calibrated probabilities of ``question``'s labels for each text.

        Returns
        -------
        ndarray of shape (n_texts, n_labels)
            Columns in the order of ``classes_[question]``.
        """
        key, pipeline = self._pipeline(question)
        return pipeline.predict_proba(self._X(texts, question, key))

    def predict(self, texts: Sequence[str], question: str) -> np.ndarray:
        """The most probable label of ``question`` for each text."""
        proba = self.predict_proba(texts, question)
        return np.asarray(self.classes_[question], dtype=object)[proba.argmax(axis=1)]


class _Examples:
    """Training examples of one kind (claim, or (sentence, target) pairs for stance)."""

    def __init__(self, texts: list[str], labels: list[str], groups: list[str], targets: list[str]) -> None:
        self.texts = np.asarray(texts, dtype=object)
        self.labels = np.asarray(labels, dtype=object)
        self.groups = np.asarray(groups, dtype=object)
        self.targets = np.asarray(targets, dtype=object)

    @classmethod
    def claim(cls, rows: list[dict]) -> _Examples:
        kept = [r for r in rows if r.get(CLAIM_CONTROL) is not None]
        return cls([r["text"] for r in kept], [r[CLAIM_CONTROL] for r in kept],
                   [str(r["article_id"]) for r in kept], [""] * len(kept))

    @classmethod
    def stance(cls, rows: list[dict], targets: Sequence[str]) -> _Examples:
        pairs = [(r, t) for r in rows for t in targets if (r.get("stance") or {}).get(t) is not None]
        return cls([r["text"] for r, _ in pairs], [r["stance"][t] for r, t in pairs],
                   [str(r["article_id"]) for r, _ in pairs], [t for _, t in pairs])

    def subset(self, mask: np.ndarray) -> _Examples:
        return _Examples(self.texts[mask].tolist(), self.labels[mask].tolist(), self.groups[mask].tolist(),
                         self.targets[mask].tolist())


def _candidate(best: tuple, score: float | None) -> dict:
    mode, c, w = best
    return {"mode": mode, "C": c, "class_weight": w, "score": score}


def _oof(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray) -> dict[str, list[str]]:
    return {"y_true": [str(x) for x in y_true], "y_pred": [str(x) for x in y_pred], "groups": [str(g) for g in groups]}


def _calibratable(labels: np.ndarray, folds: np.ndarray) -> bool:
    """Every label in the training part of every fold (what grouped calibration needs)."""
    everything = set(labels.tolist())
    distinct = np.unique(folds)
    return len(distinct) >= 2 and all(set(labels[folds != f].tolist()) == everything for f in distinct)


def _run(jobs: list, *, grid: list, params: dict, n_jobs: int) -> dict:
    """Out-of-fold predictions of every candidate, per (mode, fold)."""
    if n_jobs == 1 or len(jobs) < 2:
        out = [_fold(*job, grid=grid, params=params) for job in jobs]
    else:
        from joblib import Parallel, delayed

        out = Parallel(n_jobs=n_jobs)(delayed(_fold)(*job, grid=grid, params=params) for job in jobs)
    return {(job[0], int(job[3])): result for job, result in zip(jobs, out)}


def _fold(mode: str, ex: _Examples, folds: np.ndarray, fold: int, *, grid: list, params: dict) -> dict:
    """Predictions of every (C, class_weight) for the examples of ``fold``, trained on the others.

    The features are fitted once per fold and shared by the candidates: the SVM is the cheap part.
    """
    train, test = folds != fold, folds == fold
    predicted = {cand: np.empty(int(test.sum()), dtype=object) for cand in grid}
    features = text_features(word_ngrams=params["word_ngrams"], char_ngrams=params["char_ngrams"])
    parts: list[tuple[np.ndarray, np.ndarray, Any]] = []  # (train mask, test mask, transformer)
    if mode == "per-target":
        for t in sorted(set(ex.targets.tolist())):
            parts.append((train & (ex.targets == t), test & (ex.targets == t), features))
    elif mode == "target-aware":
        parts.append((train, test, TargetAugmenter(features=features)))
    else:
        parts.append((train, test, features))
    for tr, te, transformer in parts:
        if not te.any():
            continue
        where = te[test]
        labels = sorted(set(ex.labels[tr].tolist()))
        if len(labels) < 2:  # nothing to learn in this fold: its one label (or the most frequent overall)
            fill = labels[0] if labels else Counter(ex.labels.tolist()).most_common(1)[0][0]
            for cand in grid:
                predicted[cand][where] = fill
            continue
        if mode == "target-aware":
            A = transformer.fit_transform(_pairs(ex.texts[tr], ex.targets[tr]))
            B = transformer.transform(_pairs(ex.texts[te], ex.targets[te]))
        else:
            transformer = clone(transformer)
            A = transformer.fit_transform(list(ex.texts[tr]))
            B = transformer.transform(list(ex.texts[te]))
        for c, w in grid:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                svm = _svm(c, w, params["random_state"]).fit(A, ex.labels[tr])
            predicted[(c, w)][where] = svm.predict(B)
    return predicted


def _plain(row: Any) -> dict:
    return row.model_dump() if hasattr(row, "model_dump") else dict(row)


def rows_sha256(rows: Iterable[Mapping[str, Any]]) -> str:
    """sha256 of rows as canonical JSON lines (sorted keys, UTF-8), whatever file they came from."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(_plain(row), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def check_rows(rows: Sequence[Mapping[str, Any]], *, scheme: str, targets: Sequence[str]) -> None:
    """Check gold rows before training or evaluation.

    Raises
    ------
    InputError
        Naming the row (its sentence id, or its place) and the fix: a missing text or article id,
        another scheme, an unknown target or an unknown label.
    """
    known = set(targets)
    for number, row in enumerate(rows, 1):
        where = f"row {number}" + (f" (sentence {row['sentence_id']})" if isinstance(row, Mapping)
                                   and row.get("sentence_id") else "")
        if not isinstance(row, Mapping):
            raise InputError("not a gold row (a JSON object)", where=where, fix="train on `stance adjudicate` output")
        for key in ("text", "article_id"):
            if not isinstance(row.get(key), str):
                raise InputError(f"no {key!r} string", where=where,
                                 fix="gold rows from `stance adjudicate` carry text and article_id")
        if row.get("scheme", scheme) != scheme:
            raise InputError(f"labelled with scheme {row.get('scheme')!r}, not {scheme!r}", where=where,
                             fix=f"use rows and a model of one scheme (known: {', '.join(KNOWN_VERSIONS)})")
        if row.get(CLAIM_CONTROL) not in (None, *CLAIM_LABELS):
            raise InputError(f"unknown claim label {row.get(CLAIM_CONTROL)!r}", where=where,
                             fix=f"claim is one of {', '.join(CLAIM_LABELS)} or null")
        stance = row.get("stance") or {}
        if not isinstance(stance, Mapping):
            raise InputError("stance is not an object of target id -> label", where=where,
                             fix="gold rows from `stance adjudicate` carry stance as {target id: label}")
        for target, label in stance.items():
            if target not in known:
                raise InputError(f"unknown target {target!r}", where=where,
                                 fix=f"the scheme's targets are {', '.join(targets)}; pass the scheme the rows "
                                 "were labelled with")
            if label not in (None, *STANCE_LABELS):
                raise InputError(f"unknown stance label {label!r} for {target}", where=where,
                                 fix=f"stance labels are {', '.join(STANCE_LABELS)} or null")


def train(rows: Iterable[Mapping[str, Any]], scheme: Scheme, *, random_state: int = 0, **params: Any) -> StanceBaseline:
    """Fit a :class:`StanceBaseline` for ``scheme`` on gold rows; ``params`` as its parameters."""
    return StanceBaseline(scheme=scheme.scheme, targets=scheme.target_ids, random_state=random_state,
                          **params).fit(rows)
