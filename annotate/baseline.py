"""The baseline: scikit-learn pipelines for claim / no claim and stance toward each target.

``stance train`` calls :func:`train`, ``stance predict`` :func:`predictions_for`; models are
written by :func:`save_model` and read back by :func:`load_model` (skops, never pickle).

The questions are those of the labeling config: ``claim`` and ``stance_<target id>``. Every
question is a linear SVM over features of the text, chosen among named feature sets
(:mod:`annotate.features`): TF-IDF word 1-3 grams and character 2-5 grams (``char_wb``, the
features of the strongest SemEval-2016 Task 6 system, F_avg 68.98), hashtags read as the words
they join, sentiment figures from the VADER lexicon, and for the claim alone the cues of a
check-worthy claim (figures by their kind, names by their capitals). Stance is one model for all targets
whose features are the text's, shared, plus a copy of them for the row's own target
(Daumé III 2007, "Frustratingly easy domain adaptation"), read in one of three ways
(:class:`TargetSVM`): *target-aware*, one SVM over the shared features and the copies (a target
learns from the others through the shared copy and keeps its own words through its copy);
*per-target*, one SVM per target over the shared features of that target's rows; or
*ensemble*, the sum of the two's scores.

Stance reads where each row's target is mentioned (the rows' ``mentions``, from the tasks):
the ``mentions``, ``window``, ``clause`` and ``vectors`` feature sets mark the target's mentions,
read the words around them and in their clause and pool word vectors on each side (a sentence
that names two targets is two texts), and a row whose sentence does not name its target is
answered either by the one model or with the label such training rows mostly have
(``unmentioned``). Predicting takes texts or
rows (gold rows, the data of tasks): a text alone names no target.

Everything is chosen by grouped cross-validation on the training rows alone (folds never split
an article): the feature sets, the treatment of rows whose target is not mentioned, the stance
mode, the SVM's ``C`` and ``class_weight``, by the pooled out-of-fold F_avg (or macro F1,
``stance_metric``) for stance and the macro F1 (or the F1 of CLAIM, ``claim_metric``) for claim.
The chosen configuration is
refitted on all rows and its probabilities calibrated by temperature scaling on the same grouped
folds (``CalibratedClassifierCV(ensemble=False)``); temperature scaling divides the SVM's scores
by one number, so the labels it predicts are the SVM's and the probabilities become usable scores.

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
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import PredefinedSplit, StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from .errors import InputError, ModelError
from .files import Progress
from .features import (DEFAULT_FEATURE_SETS, CompactTfidfVectorizer, FoldFeatures, Mentions, TargetAugmenter,
                       check_feature_sets, for_stance, hashtags_of, is_mentioned, mention_spans, reads_mentions,
                       remember_hashtags, target_copies, text_features, without_mentions)
from .metrics import confusion_matrix, f_avg, macro_f1
from .labeling import CLAIM_CONTROL
from .scheme import CLAIM_LABELS, STANCE_LABELS, Scheme

__all__ = ["MODEL_FORMAT", "CompactTfidfVectorizer", "StanceBaseline", "TargetAugmenter", "TargetSVM",
           "check_rows", "rows_sha256", "text_features", "train"]

MODEL_FORMAT = "stance-model/v2"
StanceMode = Literal["per-target", "target-aware", "ensemble"]
STANCE_MODES: tuple[str, ...] = ("per-target", "target-aware", "ensemble")
Unmentioned = Literal["model", "none"]
UNMENTIONED: tuple[str, ...] = ("model", "none")
CLAIM_METRICS: tuple[str, ...] = ("macro F1", "F1 of CLAIM")
_STANCE = "stance_"
SVM_TOL = 1e-2  # the linear SVMs' stopping tolerance (LinearSVC's tol)
_TARGET_AWARE_KEY = "stance"  # pipelines_ key of the one stance model (every mode reads TargetAugmenter's output)


def _score(conf: np.ndarray, metric: str, labels: Sequence[str]) -> float:
    """The out-of-fold ``metric`` (F_avg, macro F1 or F1 of CLAIM) of a confusion matrix over ``labels``."""
    if metric == "F_avg":
        return float(f_avg(conf, labels))
    if metric == "F1 of CLAIM":
        return float(macro_f1(conf, [list(labels).index("CLAIM")]))
    return float(macro_f1(conf))


# --- estimators ------------------------------------------------------------------------------


def _svm(C: float, class_weight: str | None, random_state: int) -> LinearSVC:
    # tol 1e-2, not scikit-learn's 1e-4 (LIBLINEAR's own default for this solver is 1e-1): on SemEval-2016 30% less
    # CPU than 1e-3 for the same choice (out-of-fold F_avg within 0.07 for every candidate) and the same test labels
    return LinearSVC(C=C, class_weight=class_weight, tol=SVM_TOL, random_state=random_state, max_iter=5000)


def _pairs(texts: Sequence[str], targets: Sequence[str], mentions: Sequence[Mentions] | None = None) -> np.ndarray:
    """(target, text, mentions) rows for :class:`TargetAugmenter`; no mentions when ``mentions`` is None."""
    X = np.empty((len(texts), 3), dtype=object)
    X[:, 0], X[:, 1] = list(targets), list(texts)
    X[:, 2] = list(mentions) if mentions is not None else [()] * len(texts)
    return X


def _items(texts: Any) -> tuple[list[str], list[Mentions]]:
    """Texts and their mentions from a text, texts, or rows (gold rows, task data: ``text`` and ``mentions``)."""
    if isinstance(texts, (str, Mapping)) or hasattr(texts, "model_dump"):
        texts = [texts]
    out, spans = [], []
    for item in texts:
        if isinstance(item, str):
            out.append(item)
            spans.append(())
            continue
        row = _plain(item)
        if not isinstance(row.get("text"), str):
            raise InputError("a row to predict has no 'text' string", where=f"row {len(out) + 1}",
                             fix="predict texts, or rows with text and mentions (gold rows, the data of tasks)")
        try:
            spans.append(mention_spans(row.get("mentions")))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"mentions are not a list of {{target, start, end}}: {row.get('mentions')!r}"[:200],
                             where=f"row {len(out) + 1}", fix="give the mentions as `stance tasks` writes them") from None
        out.append(row["text"])
    return out, spans


class TargetSVM(ClassifierMixin, BaseEstimator):
    """Linear SVMs over the output of :class:`~annotate.features.TargetAugmenter`.

    ``X`` is ``[F, F * (target == t1), ..., F * (target == tk)]``: ``k + 1`` blocks of equal
    width, a row's features in the shared block and in its own target's copy. ``mode`` says
    which SVMs score the rows:

    ``target-aware``
        One SVM over all blocks: weights shared by the targets plus each target's own.
    ``per-target``
        One SVM per target over the shared block of that target's rows (a target whose rows
        have one label gets that label, a target without rows scores 0). A row's target is the
        copy that holds its features; a row with no features at all scores 0.
    ``ensemble``
        Both, their scores summed.

    Parameters
    ----------
    mode : {"target-aware", "per-target", "ensemble"}
    n_targets : int
        ``k``, the number of target copies in ``X``.
    C : float
    class_weight : {None, "balanced"}
        As ``LinearSVC``'s; "balanced" weighs each per-target SVM by its own rows' labels.
    random_state : int

    Attributes
    ----------
    classes_ : ndarray of str
    shared_ : LinearSVC or None
        The target-aware SVM.
    per_target_ : list of LinearSVC or None
        The per-target SVMs, in target order (None: the target had fewer than two labels).
    constant_ : list of int
        Per target, the index in ``classes_`` of its one training label (-1: none, or several).
    """

    def __init__(self, mode: StanceMode = "target-aware", n_targets: int = 1, C: float = 0.3,
                 class_weight: str | None = "balanced", random_state: int = 0) -> None:
        self.mode = mode
        self.n_targets = n_targets
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state

    def _width(self, X: sp.csr_matrix) -> int:
        blocks = self.n_targets + 1
        if X.shape[1] % blocks:
            raise ValueError(f"X has {X.shape[1]} columns, not a multiple of n_targets + 1 = {blocks}: "
                             "TargetSVM reads TargetAugmenter's output")
        return X.shape[1] // blocks

    def _row_targets(self, X: sp.csr_matrix, width: int) -> np.ndarray:
        """Each row's target index (the copy holding its features), -1 for a row with none."""
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        block = X.indices // width
        found = np.full(X.shape[0], -1, dtype=np.int64)
        copy = block > 0
        found[rows[copy]] = block[copy] - 1
        return found

    def fit(self, X: Any, y: Any) -> TargetSVM:
        if self.mode not in STANCE_MODES:
            raise ValueError(f"mode must be one of {', '.join(STANCE_MODES)}, not {self.mode!r}")
        X = sp.csr_matrix(X)
        y = np.asarray(y)
        width = self._width(X)
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        self.shared_ = None
        self.per_target_: list[LinearSVC | None] = []
        self.constant_: list[int] = []
        if self.mode in ("target-aware", "ensemble"):
            self.shared_ = _svm(self.C, self.class_weight, self.random_state).fit(X, y)
        if self.mode in ("per-target", "ensemble"):
            found = self._row_targets(X, width)
            for t in range(self.n_targets):
                mine = found == t
                labels = np.unique(y[mine])
                fitted = len(labels) > 1
                self.per_target_.append(_svm(self.C, self.class_weight, self.random_state)
                                        .fit(X[mine][:, :width], y[mine]) if fitted else None)
                self.constant_.append(int(np.searchsorted(self.classes_, labels[0])) if len(labels) == 1 else -1)
        return self

    def _scores(self, model: LinearSVC | None, X: sp.csr_matrix, constant: int = -1) -> np.ndarray:
        """Scores of shape (n, n_classes) in ``classes_`` order from one SVM (or a constant label)."""
        out = np.zeros((X.shape[0], len(self.classes_)))
        if constant >= 0:  # one label in training: +1 for it, -1 for the others
            out[:] = -1.0
            out[:, constant] = 1.0
            return out
        if model is None:
            return out
        decision = model.decision_function(X)
        columns = np.searchsorted(self.classes_, model.classes_)
        if decision.ndim == 1:  # two labels: LinearSVC's one score, positive for its second label
            out[:] = -(np.abs(decision) + 1.0)[:, None]  # a label it never saw is below both
            out[:, columns[0]], out[:, columns[1]] = -decision, decision
        else:
            out[:] = decision.min(axis=1, keepdims=True) - 1.0
            out[:, columns] = decision
        return out

    def member_scores(self, X: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The target-aware and the per-target scores, each of shape (n, n_classes) or None."""
        check_is_fitted(self)
        X = sp.csr_matrix(X)
        width = self._width(X)
        shared = None if self.shared_ is None else self._scores(self.shared_, X)
        per_target = None
        if self.per_target_:
            per_target = np.zeros((X.shape[0], len(self.classes_)))
            found = self._row_targets(X, width)
            for t, (model, constant) in enumerate(zip(self.per_target_, self.constant_)):
                mine = found == t
                if mine.any():
                    per_target[mine] = self._scores(model, X[mine][:, :width], constant)
        return shared, per_target

    def _all_scores(self, X: Any) -> np.ndarray:
        shared, per_target = self.member_scores(X)
        return sum(s for s in (shared, per_target) if s is not None)

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores of shape (n, n_classes); (n,) with two classes, positive for ``classes_[1]``."""
        scores = self._all_scores(X)
        return (scores[:, 1] - scores[:, 0]) / 2 if len(self.classes_) == 2 else scores

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self._all_scores(X).argmax(axis=1)]


class StanceBaseline(BaseEstimator):
    """One calibrated text classifier per question: ``claim`` and ``stance_<target id>``.

    ``fit`` takes gold rows (dicts with ``text``, ``article_id``, ``claim`` and ``stance``, and
    ``mentions``: where the sentence names each target); a null or missing label leaves that
    question of that row out of training. The predicting methods take texts, or rows (gold rows,
    task data) whose ``mentions`` the stance model reads; a text alone mentions no target.

    Parameters
    ----------
    scheme : str or None
        The label scheme id of the rows (e.g. ``libya-actors/v1``); None accepts the rows' own.
    targets : tuple of str
        The scheme's target ids; those of the rows when empty.
    stance_mode : {"auto", "per-target", "target-aware", "ensemble"}
        How :class:`TargetSVM` reads the targets; "auto" tries all three.
    feature_sets : tuple of tuple of str
        The feature set combinations cross-validation chooses from (names of
        :data:`annotate.features.FEATURE_SETS`). The claim reads each without the sets that
        read mentions; stance reads each without the claim's ``cues`` and tries the sets that
        read mentions only when some training row mentions its target.
    unmentioned : tuple of {"model", "none"}
        How stance treats a row whose target is not mentioned in its sentence, chosen by
        cross-validation: ``model``, the one model for every row (the feature sets say whether
        the target is mentioned); ``none``, the label the training rows that do not mention
        their target mostly have (NONE, in news), with their label shares as probabilities.
        Tried only when some training rows mention their target and some do not.
    stance_metric : {"F_avg", "macro F1"}
        What stance candidates are chosen by: SemEval-2016's F_avg, or macro F1 over the three
        labels (NewsMTSC's F1m).
    claim_metric : {"macro F1", "F1 of CLAIM"}
        What claim candidates are chosen by: macro F1 over CLAIM and NO_CLAIM, or the F1 of the
        CLAIM class alone (the claim-detection figure, ClaimBuster's F1 of CFS).
    C : tuple of float
        The SVM regularisation values cross-validation chooses from.
    class_weight : tuple of {None, "balanced"}
        The class weightings cross-validation chooses from.
    n_splits : int
        Folds of the grouped cross-validation (fewer when there are fewer articles).
    calibration : {"temperature", "sigmoid", "isotonic"}
        How ``CalibratedClassifierCV`` turns SVM scores into probabilities.
    word_ngrams, char_ngrams : tuple of int
        The n-gram ranges of the ``ngrams`` feature set.
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
        ``claim`` and ``stance`` (one pipeline for every target).
    stance_mode_ : str or None
    features_ : dict of str to tuple of str
        ``claim`` and ``stance``: the chosen feature sets.
    unmentioned_ : str or None
        The chosen treatment of rows whose target is not mentioned ("model" or "none").
    unmentioned_labels_ : dict of str to list of float
        With ``none``: per target, the label shares (in ``classes_`` order) given to its rows
        that do not mention it.
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
        scheme: str | None = None,
        targets: tuple[str, ...] = (),
        stance_mode: Literal["auto", "per-target", "target-aware", "ensemble"] = "auto",
        feature_sets: tuple[tuple[str, ...], ...] = DEFAULT_FEATURE_SETS,
        unmentioned: tuple[Unmentioned, ...] = UNMENTIONED,
        stance_metric: Literal["F_avg", "macro F1"] = "F_avg",
        claim_metric: Literal["macro F1", "F1 of CLAIM"] = "macro F1",
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
        self.feature_sets = feature_sets
        self.unmentioned = unmentioned
        self.stance_metric = stance_metric
        self.claim_metric = claim_metric
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
        if self.stance_mode not in ("auto", *STANCE_MODES):
            raise ValueError(f"stance_mode must be 'auto', {', '.join(repr(m) for m in STANCE_MODES)}, "
                             f"not {self.stance_mode!r}")
        if not self.C or not self.class_weight:
            raise ValueError("C and class_weight must each give at least one value to choose from")
        if not self.feature_sets or isinstance(self.feature_sets[0], str):
            raise ValueError("feature_sets is a tuple of feature set tuples to choose from, e.g. "
                             "(('ngrams',), ('ngrams', 'lexicon'))")
        if not self.unmentioned or set(self.unmentioned) - set(UNMENTIONED):
            raise ValueError(f"unmentioned is a tuple of {', '.join(repr(u) for u in UNMENTIONED)} to choose from, "
                             f"not {self.unmentioned!r}")
        if self.stance_metric not in ("F_avg", "macro F1"):
            raise ValueError(f"stance_metric must be 'F_avg' or 'macro F1', not {self.stance_metric!r}")
        if self.claim_metric not in CLAIM_METRICS:
            raise ValueError(f"claim_metric must be 'macro F1' or 'F1 of CLAIM', not {self.claim_metric!r}")
        sets = list(dict.fromkeys(check_feature_sets(s) for s in self.feature_sets))
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
        modes: list[str] = list(STANCE_MODES) if self.stance_mode == "auto" else [self.stance_mode]
        labelled = [t for t in targets if _STANCE + t in self.label_counts_]
        if self.stance_mode == "auto" and len(labelled) == 1:
            # One target: the target-aware SVM reads its features twice (the shared block and the one copy), which is
            # the per-target SVM with twice the C, and the ensemble sums the two: one mode is enough.
            modes = ["per-target"]
            self.notes_.append(f"stance: one target with labels ({labelled[0]}): the three stance modes are one linear "
                               "SVM up to its C, so per-target only")
        claim_sets, stance_sets, policies = self._choices(sets, stance)
        claim_folds = self._folds(claim, "claim")
        stance_folds = self._folds(stance, "stance")
        jobs = []
        # One configuration: nothing to choose, so no selection run (the folds still calibrate).
        select = {"claim": len(grid) * len(claim_sets) > 1,
                  "stance": len(grid) * len(stance_sets) * len(modes) * len(policies) > 1}
        if not select["stance"]:
            self.notes_.append("one configuration given: no cross-validated selection, and no cross-validated scores")
        for what, ex, folds, kinds in (("claim", claim, claim_folds, claim_sets),
                                       ("stance", stance, stance_folds, stance_sets)):
            if folds is not None and select[what]:
                jobs += [(what, s, ex, folds, int(f)) for s in kinds for f in np.unique(folds)]
        results = _run(jobs, grid=grid, modes=modes, targets=targets, params=self._feature_params(),
                       n_jobs=self.n_jobs)

        self.selection_: dict[str, Any] = {"grouped_by": "article_id",
                                           "candidates_per_model": len(grid) * len(sets)}
        self.cv_predictions_: dict[str, dict[str, list[str]]] = {}
        self.pipelines_: dict[str, Pipeline] = {}
        self.kinds_: dict[str, str] = {}
        self.features_: dict[str, tuple[str, ...]] = {}
        self.unmentioned_: str | None = None
        self.unmentioned_labels_: dict[str, list[float]] = {}
        # On a terminal, the refits of the chosen configurations (each calibrated on the folds) show as they end.
        refits = Progress("chosen models refitted and calibrated", total=int(len(claim.labels) > 0)
                          + int(len(stance.labels) > 0), every=0.0)
        with refits:
            if len(claim.labels):
                best = self._choose("claim", claim, claim_folds, claim_sets, ["claim"], [None], results, grid,
                                    select["claim"])
                self._fit_final(CLAIM_CONTROL, claim, claim_folds, best)
                refits.advance()
            self.stance_mode_: StanceMode | None = None
            if len(stance.labels):
                best = self._choose("stance", stance, stance_folds, stance_sets, modes, policies, results, grid,
                                    select["stance"])
                self.stance_mode_ = best[1]
                self._fit_final(_TARGET_AWARE_KEY, stance, stance_folds, best)
                refits.advance()
                self.unmentioned_ = best[4]
                if best[4] == "none":
                    self.unmentioned_labels_ = _unmentioned_shares(stance,
                                                                   self.pipelines_[_TARGET_AWARE_KEY].classes_)
        self.questions_ = tuple(q for q in [CLAIM_CONTROL, *(_STANCE + t for t in targets)] if q in self.label_counts_)
        self.classes_ = {q: tuple(str(c) for c in self._pipeline(q)[1].classes_) for q in self.questions_}
        return self

    def _choices(self, sets: list[tuple[str, ...]], stance: _Examples) -> tuple[list, list, list]:
        """The feature sets claim and stance try, and the treatments of rows whose target is not mentioned."""
        claim_sets = list(dict.fromkeys(without_mentions(s) for s in sets if without_mentions(s)))
        claim_sets = claim_sets or [("ngrams",)]
        stance_sets = list(dict.fromkeys(for_stance(s) for s in sets))  # stance never reads the claim's cues
        mentioned = int(stance.mentioned.sum())
        if not mentioned and any(reads_mentions(s) for s in stance_sets):
            # Each set that reads mentions is tried without them (the vectors, the contextual block read the whole
            # text then), once: ngrams+hashtags+lexicon+mentions+window is ngrams+hashtags+lexicon.
            reading = [s for s in stance_sets if reads_mentions(s)]
            stance_sets = list(dict.fromkeys(without_mentions(s) for s in stance_sets if without_mentions(s)))
            if len(stance.labels):
                self.notes_.append("stance: no training row mentions its target, so the feature sets that read "
                                   "mentions are tried without them (" + ", ".join("+".join(s) for s in reading)
                                   + ")")
        policies: list[str | None] = ["model"]
        if 0 < mentioned < len(stance.labels):
            policies = [u for u in UNMENTIONED if u in self.unmentioned]
        elif "model" not in self.unmentioned and len(stance.labels):
            self.notes_.append(f"stance: unmentioned={self.unmentioned!r} needs training rows that mention their "
                               "target and rows that do not: one model for every row")
        return claim_sets, stance_sets, policies

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

    def _choose(self, what: str, ex: _Examples, folds: np.ndarray | None, sets: list[tuple[str, ...]],
                modes: list[str], policies: list[str | None], results: dict, grid: list, select: bool) -> tuple:
        """The best (feature sets, mode, C, class_weight, unmentioned) by out-of-fold score, in ``selection_``."""
        metric = self.claim_metric if what == "claim" else self.stance_metric
        labels = CLAIM_LABELS if what == "claim" else STANCE_LABELS
        record: dict[str, Any] = {"metric": metric, "folds": 0 if folds is None else int(len(np.unique(folds))),
                                  "examples": int(len(ex.labels)), "candidates": []}
        if folds is None or not select:
            best = (sets[0], modes[0], *grid[0], policies[0])
            record.update(chosen=_candidate(best, None),
                          note="no cross-validation: too few articles" if folds is None
                          else "one configuration given: nothing to choose")
            self.selection_[what] = record
            return best
        fill = _unmentioned_fill(ex, folds) if "none" in policies else None
        scored = []
        for s in sets:
            for mode in modes:
                for c, w in grid:
                    predicted = np.empty(len(ex.labels), dtype=object)
                    for f in np.unique(folds):
                        predicted[folds == f] = results[(what, s, int(f))][(mode, c, w)]
                    for policy in policies:
                        out = np.where(ex.mentioned, predicted, fill) if policy == "none" else predicted
                        conf = confusion_matrix(ex.labels, out, labels)
                        score = _score(conf, metric, labels)
                        scored.append(((s, mode, c, w, policy), score, out))
                        record["candidates"].append(_candidate((s, mode, c, w, policy), score))
        # Highest score; on a tie the earlier candidate (fewer feature sets, per-target, smaller C, no class
        # weights, one model for every row).
        best, score, predicted = max(scored, key=lambda x: x[1])
        record["chosen"] = _candidate(best, score)
        if len(modes) > 1:
            record["best_per_mode"] = {m: max(sc for (_, mm, *_), sc, _ in scored if mm == m) for m in modes}
        if len(sets) > 1:
            record["best_per_features"] = {"+".join(s): max(sc for (ss, *_), sc, _ in scored if ss == s) for s in sets}
        if len(policies) > 1:
            record["best_per_unmentioned"] = {u: max(sc for (*_, uu), sc, _ in scored if uu == u) for u in policies}
            record["unmentioned_rows"] = int((~ex.mentioned).sum())
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
        sets, mode, c, w, _ = best
        classes = sorted(set(ex.labels.tolist()))
        stance = key == _TARGET_AWARE_KEY
        if len(classes) == 1:
            classifier: Any = DummyClassifier(strategy="prior")
            kind = "constant"
            self.notes_.append(f"{key}: every training label is {classes[0]}: a constant model (probability 1)")
        elif folds is not None and _calibratable(ex.labels, folds):
            _, test_fold = np.unique(folds, return_inverse=True)
            svm: Any = (TargetSVM(mode=mode, n_targets=len(self.targets_), C=c, class_weight=w,
                                  random_state=self.random_state) if stance else _svm(c, w, self.random_state))
            classifier = CalibratedClassifierCV(svm, method=self.calibration, cv=PredefinedSplit(test_fold),
                                                ensemble=False, n_jobs=self.n_jobs)
            kind = "calibrated linear SVM"
        else:
            classifier = LogisticRegression(C=c, class_weight=w, random_state=self.random_state, max_iter=2000)
            kind = "logistic regression"
            self.notes_.append(f"{key}: a label is missing from the training part of a fold (or there is no "
                               "cross-validation), so the SVM cannot be calibrated on grouped folds: a logistic "
                               f"regression (C={c}, class_weight={w}) over "
                               f"{'all targets' if stance else 'the features'} gives the labels and probabilities")
        params = self._feature_params()
        features: Any = text_features(sets, word_ngrams=params["word_ngrams"], char_ngrams=params["char_ngrams"])
        if stance:
            features = TargetAugmenter(features=features, targets=self.targets_, mentions=reads_mentions(sets))
        pipeline = Pipeline([("features", features), ("classify", classifier)])
        X = _pairs(ex.texts, ex.targets, ex.mentions) if stance else list(ex.texts)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            pipeline.fit(X, ex.labels)
        if any(issubclass(x.category, ConvergenceWarning) for x in caught):
            self.notes_.append(f"{key}: the solver did not fully converge (ConvergenceWarning)")
        self.pipelines_[key] = pipeline
        self.kinds_[key] = kind
        self.features_[key] = tuple(sets)

    # -- predicting --

    def _pipeline(self, question: str) -> tuple[str, Pipeline]:
        check_is_fitted(self)
        if question not in self.questions_:
            raise ModelError(f"the model has no question {question!r}",
                             fix=f"known questions: {', '.join(self.questions_)}")
        key = _TARGET_AWARE_KEY if question.startswith(_STANCE) else question
        return key, self.pipelines_[key]

    def _X(self, texts: list[str], mentions: list[Mentions], question: str, key: str) -> Any:
        if key != _TARGET_AWARE_KEY:
            return texts
        return _pairs(texts, [question[len(_STANCE):]] * len(texts), mentions)

    def _unmentioned(self, proba: np.ndarray, mentions: list[Mentions], question: str) -> np.ndarray:
        """``proba`` with the ``none`` treatment's label shares for the rows that do not mention the target."""
        target = question[len(_STANCE):]
        shares = getattr(self, "unmentioned_labels_", {}).get(target) if question.startswith(_STANCE) else None
        if shares is None:
            return proba
        absent = np.array([not is_mentioned(m, target) for m in mentions], dtype=bool)
        if absent.any():
            proba = proba.copy()
            proba[absent] = shares
        return proba

    def predict_proba(self, texts: Any, question: str) -> np.ndarray:
        """Calibrated probabilities of ``question``'s labels for each text.

        Parameters
        ----------
        texts : str, sequence of str, or sequence of rows
            Rows are mappings (gold rows, task data) with ``text`` and ``mentions``; the stance
            model reads where each row names the question's target. A text alone names none.

        Returns
        -------
        ndarray of shape (n_texts, n_labels)
            Columns in the order of ``classes_[question]``.
        """
        key, pipeline = self._pipeline(question)
        plain, mentions = _items(texts)
        proba = pipeline.predict_proba(self._X(plain, mentions, question, key))
        return self._unmentioned(proba, mentions, question)

    def predict(self, texts: Any, question: str) -> np.ndarray:
        """The most probable label of ``question`` for each text (or row, as :meth:`predict_proba`)."""
        proba = self.predict_proba(texts, question)
        return np.asarray(self.classes_[question], dtype=object)[proba.argmax(axis=1)]

    def predict_proba_all(self, texts: Any) -> dict[str, np.ndarray]:
        """Every question's probabilities for each text (or row, as :meth:`predict_proba`), features computed once.

        The numbers of ``{q: self.predict_proba(texts, q) for q in self.questions_}``, but the
        texts are tokenised once for all the questions' TF-IDF vectorizers rather than once per
        question (:mod:`annotate.batchpredict`); a stance model that reads mentions reads each
        distinct marked text once (a text that names no target is marked alike for every target).
        """
        from .batchpredict import shared_features

        check_is_fitted(self)
        plain, mentions = _items(texts)
        plan = []
        for question in self.questions_:
            key, pipeline = self._pipeline(question)
            plan.append((question, pipeline, question[len(_STANCE):] if key == _TARGET_AWARE_KEY else None))
        shared = shared_features(self, plan)
        out = shared.predict_proba(plain, mentions)
        # A stance question that batchpredict asks the usual way was asked with the texts alone: ask again with rows.
        apart = [q for q, uid, *_ in shared.plan if uid is None and q.startswith(_STANCE)]
        rows = [{"text": t, "mentions": [{"target": g, "start": a, "end": b} for g, a, b in m]}
                for t, m in zip(plain, mentions)] if apart else []
        out.update({q: self.predict_proba(rows, q) for q in apart})
        return {q: out[q] if q in apart else self._unmentioned(out[q], mentions, q) for q in self.questions_}


class _Examples:
    """Training examples of one kind (claim, or (sentence, target) pairs for stance)."""

    def __init__(self, texts: list[str], labels: list[str], groups: list[str], targets: list[str],
                 mentions: list[Mentions] | None = None) -> None:
        self.texts = np.asarray(texts, dtype=object)
        self.labels = np.asarray(labels, dtype=object)
        self.groups = np.asarray(groups, dtype=object)
        self.targets = np.asarray(targets, dtype=object)
        self.mentions = np.empty(len(texts), dtype=object)  # one tuple of (target, start, end) per example
        for i, found in enumerate(mentions if mentions is not None else [()] * len(texts)):
            self.mentions[i] = found
        self.mentioned = np.array([is_mentioned(m, t) for m, t in zip(self.mentions, self.targets)], dtype=bool)

    @classmethod
    def claim(cls, rows: list[dict]) -> _Examples:
        kept = [r for r in rows if r.get(CLAIM_CONTROL) is not None]
        return cls([r["text"] for r in kept], [r[CLAIM_CONTROL] for r in kept],
                   [str(r["article_id"]) for r in kept], [""] * len(kept))

    @classmethod
    def stance(cls, rows: list[dict], targets: Sequence[str]) -> _Examples:
        pairs = [(r, t) for r in rows for t in targets if (r.get("stance") or {}).get(t) is not None]
        spans = {id(r): mention_spans(r.get("mentions")) for r, _ in pairs}
        return cls([r["text"] for r, _ in pairs], [r["stance"][t] for r, t in pairs],
                   [str(r["article_id"]) for r, _ in pairs], [t for _, t in pairs], [spans[id(r)] for r, _ in pairs])


def _candidate(best: tuple, score: float | None) -> dict:
    sets, mode, c, w, unmentioned = best
    return {"features": list(sets), "mode": mode, "C": c, "class_weight": w, "unmentioned": unmentioned,
            "score": score}


def _majority_labels(labels: np.ndarray) -> str:
    """The most frequent label; on a tie NONE, then the earlier in STANCE_LABELS."""
    counted = Counter(labels.tolist())
    return max(("NONE", *STANCE_LABELS), key=lambda label: counted.get(label, 0)) if counted else "NONE"


def _unmentioned_fill(ex: _Examples, folds: np.ndarray) -> np.ndarray:
    """Per row, the label the ``none`` treatment gives it in its fold: the most frequent label of the
    training part's rows of its target that do not mention it (NONE when there are none)."""
    fill = np.empty(len(ex.labels), dtype=object)
    fill[:] = "NONE"
    for f in np.unique(folds):
        for t in np.unique(ex.targets):
            here = (folds == f) & (ex.targets == t) & ~ex.mentioned
            if here.any():
                fill[here] = _majority_labels(ex.labels[(folds != f) & (ex.targets == t) & ~ex.mentioned])
    return fill


def _unmentioned_shares(ex: _Examples, classes: Sequence[str]) -> dict[str, list[float]]:
    """Per target, the label shares (in ``classes`` order, add-one smoothed) of its rows that do not mention it."""
    out = {}
    for t in np.unique(ex.targets):
        counted = Counter(ex.labels[(ex.targets == t) & ~ex.mentioned].tolist())
        counts = np.array([counted.get(c, 0) + 1.0 for c in classes])
        out[str(t)] = (counts / counts.sum()).tolist()
    return out


def _oof(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray) -> dict[str, list[str]]:
    return {"y_true": [str(x) for x in y_true], "y_pred": [str(x) for x in y_pred], "groups": [str(g) for g in groups]}


def _calibratable(labels: np.ndarray, folds: np.ndarray) -> bool:
    """Every label in the training part of every fold (what grouped calibration needs)."""
    everything = set(labels.tolist())
    distinct = np.unique(folds)
    return len(distinct) >= 2 and all(set(labels[folds != f].tolist()) == everything for f in distinct)


def _run(jobs: list, *, grid: list, modes: list[str], targets: tuple[str, ...], params: dict, n_jobs: int) -> dict:
    """Out-of-fold predictions of every candidate, per (claim or stance, feature sets, fold)."""
    kwargs = {"grid": grid, "modes": modes, "targets": targets, "params": params}
    if n_jobs != 1 and any("hashtags" in job[1] for job in jobs):
        # Segment each hashtag once, here, rather than once in every worker process.
        examples = {id(job[2]): job[2] for job in jobs}.values()
        kwargs["hashtags"] = hashtags_of(text for ex in examples for text in ex.texts)
    prepared = _prepare(jobs, targets, params)
    if n_jobs == 1 or len(jobs) < 2:
        done: Iterable[dict] = (_fold(*job, prepared[job[:2]], **kwargs) for job in jobs)
    else:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_fold)(*job, prepared[job[:2]], **kwargs)
                                                               for job in jobs)
    out = []
    # On a terminal, how far the cross-validation is (a fold of one feature set: every candidate of it).
    with Progress("cross-validated folds", total=len(jobs), every=1.0) as progress:
        for result in done:
            out.append(result)
            progress.advance()
    return {(job[0], job[1], int(job[4])): result for job, result in zip(jobs, out)}


def _prepare(jobs: list, targets: tuple[str, ...], params: dict) -> dict:
    """Per (claim or stance, feature sets), the :class:`FoldFeatures` of every example, each text read once
    (and a block that several feature sets share read once for all of them)."""
    prepared: dict = {}
    caches: dict = {}
    for what, sets, ex, *_ in jobs:
        if (what, sets) in prepared:
            continue
        features: Any = text_features(sets, word_ngrams=params["word_ngrams"], char_ngrams=params["char_ngrams"])
        texts = list(ex.texts)
        if what != "claim":  # the texts as TargetAugmenter reads them (the target's mentions marked, or not)
            texts = TargetAugmenter(features=features, targets=targets, mentions=reads_mentions(sets)).texts(
                _pairs(ex.texts, ex.targets, ex.mentions))
        cache = caches.setdefault((what, reads_mentions(sets)), {})
        prepared[(what, sets)] = FoldFeatures(features, texts, cache=cache)
    return prepared


def _fold(what: str, sets: tuple[str, ...], ex: _Examples, folds: np.ndarray, fold: int, prepared: FoldFeatures, *,
          grid: list, modes: list[str], targets: tuple[str, ...], params: dict,
          hashtags: Mapping[str, str] | None = None) -> dict:
    """Predictions of every (mode, C, class_weight) for the examples of ``fold``, trained on the others.

    The features (``prepared``: those of ``sets`` for every example, each text read once for all
    folds) are fitted once per fold and shared by the candidates, and one :class:`TargetSVM` per
    (C, class_weight) gives every mode (the ensemble is the sum of the other two's scores).
    """
    if hashtags:
        remember_hashtags(hashtags)
    train, test = folds != fold, folds == fold
    modes = ["claim"] if what == "claim" else modes
    predicted = {(m, *cand): np.empty(int(test.sum()), dtype=object) for m in modes for cand in grid}
    labels = sorted(set(ex.labels[train].tolist()))
    if len(labels) < 2:  # nothing to learn in this fold: its one label (or the most frequent overall)
        fill = labels[0] if labels else Counter(ex.labels.tolist()).most_common(1)[0][0]
        for key in predicted:
            predicted[key][:] = fill
        return predicted
    A, B = prepared.split(train, test)
    if what != "claim":  # TargetAugmenter's output: the shared block and each target's copy
        A, B = target_copies(A, ex.targets[train], targets), target_copies(B, ex.targets[test], targets)
    both = "ensemble" in modes or {"per-target", "target-aware"} <= set(modes)
    for c, w in grid:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if what == "claim":
                predicted[("claim", c, w)][:] = _svm(c, w, params["random_state"]).fit(A, ex.labels[train]).predict(B)
                continue
            svm = TargetSVM(mode="ensemble" if both else modes[0], n_targets=len(targets), C=c, class_weight=w,
                            random_state=params["random_state"]).fit(A, ex.labels[train])
        shared, per_target = svm.member_scores(B)
        scores = {"target-aware": shared, "per-target": per_target,
                  "ensemble": None if shared is None or per_target is None else shared + per_target}
        for m in modes:
            predicted[(m, c, w)][:] = svm.classes_[scores[m].argmax(axis=1)]
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


def check_rows(rows: Sequence[Mapping[str, Any]], *, scheme: str | None, targets: Sequence[str]) -> None:
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
        if scheme is not None and row.get("scheme", scheme) != scheme:
            raise InputError(f"labelled with scheme {row.get('scheme')!r}, not {scheme!r}", where=where,
                             fix="train and evaluate on rows of the model's scheme, or pass the scheme the rows "
                             "were labelled with")
        if row.get(CLAIM_CONTROL) not in (None, *CLAIM_LABELS):
            raise InputError(f"unknown claim label {row.get(CLAIM_CONTROL)!r}", where=where,
                             fix=f"claim is one of {', '.join(CLAIM_LABELS)} or null")
        _check_mentions(row, where)
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


def _check_mentions(row: Mapping[str, Any], where: str) -> None:
    """A row's ``mentions``: a list of {target, start, end[, text]} inside its text (any target id: another
    target's mention is read as such)."""
    mentions = row.get("mentions") or []
    fix = ("mentions are a list of {target, start, end, text} with offsets into the sentence, as `stance tasks` "
           "writes them")
    if not isinstance(mentions, list):
        raise InputError("mentions is not a list", where=where, fix=fix)
    text = row["text"]
    for number, m in enumerate(mentions, 1):
        ok = (isinstance(m, Mapping) and isinstance(m.get("target"), str) and type(m.get("start")) is int
              and type(m.get("end")) is int and 0 <= m["start"] < m["end"] <= len(text))
        if not ok:
            raise InputError(f"mention {number} is not a target with offsets inside the text ({m!r})", where=where,
                             fix=fix)
        if "text" in m and text[m["start"]:m["end"]] != m["text"]:
            raise InputError(f"mention {number}: {m['text']!r} is not the text's {text[m['start']:m['end']]!r} at "
                             f"{m['start']}-{m['end']}", where=where, fix=fix)


def train(rows: Iterable[Mapping[str, Any]], scheme: Scheme, *, random_state: int = 0, **params: Any) -> StanceBaseline:
    """Fit a :class:`StanceBaseline` for ``scheme`` on gold rows; ``params`` as its parameters."""
    return StanceBaseline(scheme=scheme.id, targets=scheme.target_ids, random_state=random_state,
                          **params).fit(rows)
