"""Predictions of a baseline as Label Studio pre-annotations, most uncertain first.

``stance predict`` calls :func:`write_predictions` on the tasks of ``stance tasks``: it reads
them in batches, predicts every question of a batch at once (each sentence's text features
computed once, :meth:`~annotate.baseline.StanceBaseline.predict_proba_all`), checks every
prediction against the scheme (:func:`check_prediction`) and spools it to a temporary file;
then it writes the Label Studio import file most uncertain task first. Memory stays flat in
the number of tasks: what is kept per task is its score and where it lies in the spool.
With ``--push`` the predictions go to the tasks of an existing project
(:func:`push_predictions`), whose uncertainty sampling gives annotators the task the model is
least sure of first; ``--replace`` removes the predictions of the model's older versions.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
from array import array
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.utils.validation import check_is_fitted

from .baseline import StanceBaseline
from .defaults import usable_cpus
from .errors import InputError, StudioError
from .files import atomic_write, dumps, in_order
from .labeling import MENTION_CONTROL, MENTIONS_MODEL, SENTENCE, choice_questions
from .scheme import Scheme
from .studio import (BATCH_SIZE, DEFAULT_TIMEOUT, Connection, api, call, check_config, delete_model_version,
                     listed_tasks, model_versions, require_project, tasks_where)
from .tasks import Task

# Label Studio gives annotators the task whose prediction (of the project's model version) has
# the lowest score first under this sampling (projects/functions/next_task.py in 1.23.2).
UNCERTAINTY_SAMPLING = "Uncertainty sampling"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ChoiceValue(_Strict):
    choices: list[str] = Field(min_length=1, max_length=1, description="the predicted label")


class PredictedChoice(_Strict):
    """One answered question of a prediction, in the labeling config's names."""

    from_name: str = Field(description="the control: claim or stance_<target id>")
    to_name: Literal["sentence"]
    type: Literal["choices"]
    value: ChoiceValue
    score: float = Field(ge=0, le=1, description="the model's probability of this label")


class MentionValue(_Strict):
    start: int = Field(ge=0, description="offset in the sentence (UTF-16 code units, as the browser counts)")
    end: int = Field(ge=0)
    text: str
    labels: list[str] = Field(min_length=1, max_length=1, description="the target id")


class MentionRegion(_Strict):
    """A read-only highlight of a target's mention, kept from the task (``stance tasks``) so the page still shows it."""

    id: str
    from_name: Literal["mention"]
    to_name: Literal["sentence"]
    type: Literal["labels"]
    readonly: bool
    value: MentionValue


class Prediction(_Strict):
    """A Label Studio prediction: a pre-annotation of one task."""

    model_version: str = Field(description="<model name>@<12 hex digits>: a function of what was trained "
                               "(training rows, configuration, scheme, library versions; see the model's card.json)")
    score: float = Field(ge=0, le=1, description="the smallest top-two probability margin over the questions; "
                         "lower is less sure")
    result: list[PredictedChoice | MentionRegion] = Field(
        description="one answer per question, then the task's mention highlights (once the project's model version is "
        "this one, Label Studio pre-fills this prediction alone)")


class PredictedTask(Task):
    """One task of a `stance predict` file: the `stance tasks` task with the model's prediction."""

    predictions: list[Prediction] = Field(min_length=1, max_length=1)


def margins(proba: np.ndarray) -> np.ndarray:
    """Top-two margin of each row of probabilities: p(best label) - p(second best); 1 with one label.

    >>> margins(np.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])).round(2).tolist()
    [0.2, 0.0]
    """
    p = np.sort(np.asarray(proba, dtype=np.float64), axis=1)
    return p[:, -1] - (p[:, -2] if p.shape[1] > 1 else 0.0)


PREDICT_BATCH = 2000  # tasks predicted at once: memory stays flat, numpy and scipy work in bulk


def _texts(batch: list[Mapping[str, Any]], model: StanceBaseline, first: int) -> list[dict]:
    texts = []
    for number, task in enumerate(batch, first):
        data = task.get("data") if isinstance(task, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
            raise InputError("not a Label Studio task with data.text", where=f"task {number}",
                             fix="predict on a `stance tasks` import file")
        if data.get("scheme", model.scheme) != model.scheme:
            raise InputError(f"task is for scheme {data.get('scheme')!r}, the model for {model.scheme!r}",
                             where=f"task {number} (sentence {data.get('sentence_id')})",
                             fix="predict with a model trained on the tasks' scheme")
        texts.append({"text": data["text"], "mentions": data.get("mentions") or []})  # the model reads the mentions
    return texts


class _Predictor:
    """What turns a batch of tasks into predicted tasks: the model, its questions and labels, the version."""

    def __init__(self, model: StanceBaseline, model_version: str | None) -> None:
        check_is_fitted(model)
        self.model = model
        self.version = model_version or f"stance-baseline {model.trained_at_}"
        self.questions = list(model.questions_)
        self.classes = {q: list(model.classes_[q]) for q in self.questions}

    def scored(self, batch: list[Mapping[str, Any]], first: int) -> tuple[list[tuple[str, list[str], list[float]]],
                                                                          list[float]]:
        """Each question's best label and its probability for every task of ``batch``, and each task's score."""
        proba = self.model.predict_proba_all(_texts(batch, self.model, first))
        score = np.ones(len(batch))
        columns = []
        for q in self.questions:
            score = np.minimum(score, margins(proba[q]))
            best = proba[q].argmax(axis=1)
            labels = [self.classes[q][j] for j in best.tolist()]
            columns.append((q, labels, np.round(proba[q][np.arange(len(batch)), best], 6).tolist()))
        return columns, np.round(score, 6).tolist()

    def __call__(self, batch: list[Mapping[str, Any]], first: int) -> list[dict]:
        """The tasks of ``batch`` (the first of them task number ``first``) with their prediction."""
        columns, scores = self.scored(batch, first)
        out = []
        for i, task in enumerate(batch):
            result = [{"from_name": q, "to_name": SENTENCE, "type": "choices", "value": {"choices": [labels[i]]},
                       "score": p[i]} for q, labels, p in columns]
            result += _highlights(task)
            out.append({**task, "predictions": [{"model_version": self.version, "score": scores[i], "result": result}]})
        return out


def _highlights(task: Mapping[str, Any]) -> list:
    """The mention highlights of the task's ``stance-mentions@...`` pre-annotation, which the prediction keeps."""
    return [item for kept in task.get("predictions") or [] if isinstance(kept, Mapping)
            and str(kept.get("model_version", "")).startswith(f"{MENTIONS_MODEL}@")
            for item in kept.get("result") or [] if item.get("from_name") == MENTION_CONTROL]


def _batches(tasks: Iterable[Mapping[str, Any]], size: int) -> Iterator[tuple[list[Mapping[str, Any]], int]]:
    """``size`` tasks at a time, each batch with the number of its first task (from 1)."""
    batch: list[Mapping[str, Any]] = []
    done = 0
    for task in tasks:
        batch.append(task)
        if len(batch) == size:
            yield batch, done + 1
            done += len(batch)
            batch = []
    if batch:
        yield batch, done + 1


def predicted_batches(model: StanceBaseline, tasks: Iterable[Mapping[str, Any]], *, model_version: str | None = None,
                      batch_size: int = PREDICT_BATCH, jobs: int | None = 1) -> Iterator[list[dict]]:
    """The tasks with the model's prediction attached, in input order, ``batch_size`` at a time.

    Each task (import format, ``{"data": {"text": ..., "sentence_id": ..., ...}}``) comes back as
    a copy with ``predictions: [{"model_version", "score", "result"}]``; ``result`` holds one
    choices item per question the model answers (``claim``, ``stance_<target id>``), each with
    its probability as ``score``.

    Uncertainty: a question's margin is p(best label) - p(second best) (margin sampling); a
    task's ``score`` is the smallest margin over its questions, so one doubtful question makes
    the task doubtful.

    The task's mention highlights (its ``stance-mentions@...`` pre-annotation) follow the answers
    in ``result``: Label Studio pre-fills only the prediction of the project's model version, and
    ``stance predict --push`` makes that this model's.

    With ``jobs`` above 1 (where processes can be forked), that many worker processes predict
    the batches, a few batches ahead, while this one reads the tasks; the output is the same,
    in the same order. ``jobs=None`` chooses: :func:`default_jobs` when there is more than one
    batch, else this process alone.

    Raises
    ------
    InputError
        A task without ``data.text``, or for another scheme.
    """
    yield from _in_order(_Predictor(model, model_version), _batches(tasks, batch_size), jobs, model)


MAX_DEFAULT_JOBS = 2  # workers when none are asked for: what was measured (2 cores); each worker's memory grows


def default_jobs() -> int:
    """The worker processes ``jobs=None`` asks for on an input of more than one batch: the usable CPUs, at most 2."""
    return max(1, min(MAX_DEFAULT_JOBS, usable_cpus()))


def _reads_hashtags(model: StanceBaseline) -> bool:
    """Whether a pipeline of the model reads hashtags as words (a ``HashtagWords`` step)."""
    from .features import HashtagWords

    def steps(estimator: Any) -> Iterator[Any]:
        for value in estimator.get_params(deep=True).values():
            yield value
            features = getattr(value, "features_", None)  # a TargetAugmenter's fitted features
            if features is not None and hasattr(features, "get_params"):
                yield features
                yield from steps(features)

    return any(isinstance(step, HashtagWords) for pipeline in model.pipelines_.values() for step in steps(pipeline))


def _in_order(work: Callable[[list[Mapping[str, Any]], int], Any],
              batches: Iterable[tuple[list[Mapping[str, Any]], int]], jobs: int | None,
              model: StanceBaseline) -> Iterator[Any]:
    """``work(batch, first)`` of each batch, in order: here, or in ``jobs`` forked workers a few batches ahead.

    ``jobs=None``: :func:`default_jobs` workers when there is more than one batch, else here.
    The workers are forked after ``model`` has predicted a text, so its shared vocabularies, the
    word vectors and the lexicons are made once and shared, not made again in each worker. The
    hashtags of each batch are segmented here (where the splitter's counts then load, once, and
    only when a text has a hashtag) and sent with the batch.
    """
    global _FORKED
    batches = iter(batches)
    if jobs is None:
        head = list(islice(batches, 2))
        jobs = default_jobs() if len(head) > 1 else 1
        batches = chain(head, batches)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for batch, first in batches:
            yield work(batch, first)
        return
    from .features import hashtags_of

    model.predict_proba_all(["warm up"])
    tagged = _reads_hashtags(model)
    calls = ((batch, first, hashtags_of(_texts_of(batch)) if tagged else {}) for batch, first in batches)
    _FORKED = work
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        try:
            yield from in_order(pool, _forked, calls, ahead=2 * jobs)
        finally:
            _FORKED = None


def _texts_of(batch: list[Mapping[str, Any]]) -> Iterator[str]:
    """The texts of the batch's tasks (a task without one is :func:`_texts`' error, in the worker)."""
    for task in batch:
        data = task.get("data") if isinstance(task, Mapping) else None
        if isinstance(data, Mapping) and isinstance(data.get("text"), str):
            yield data["text"]


_FORKED: Callable[[list[Mapping[str, Any]], int], Any] | None = None  # what the forked workers do with a batch


def _forked(batch: list[Mapping[str, Any]], first: int, hashtags: Mapping[str, str]) -> Any:
    from . import contextual
    from .features import remember_hashtags

    assert _FORKED is not None
    remember_hashtags(hashtags)
    contextual.JOBS = 1  # a worker of several: the encoder runs in it, not in processes of its own
    return _FORKED(batch, first)


class _Lines:
    """A batch of tasks as the spooled lines of :func:`write_predictions`: predicted, checked, as JSON.

    A line is the JSON of :meth:`_Predictor.__call__`'s task, byte for byte (``dumps``: compact,
    keys in order), put together from pieces: each top-level value of the task as ``dumps``
    writes it, the answers from a piece per question and label made once, the scores as
    ``float.__repr__`` (what ``json`` writes for a finite float). Every prediction is checked
    against the scheme as it is.
    """

    def __init__(self, predictor: _Predictor, scheme: Scheme) -> None:
        self.predictor = predictor
        self.scheme_id = scheme.id
        self.allowed = choice_questions(scheme)
        self.targets = frozenset(scheme.target_ids)
        self.answers = {(q, label): ({"from_name": q, "to_name": SENTENCE, "type": "choices",
                                      "value": {"choices": [label]}},
                                     dumps({"from_name": q, "to_name": SENTENCE, "type": "choices",
                                            "value": {"choices": [label]}})[:-1] + ',"score":')
                        for q in predictor.questions for label in predictor.classes[q]}
        self.head = '[{"model_version":' + dumps(predictor.version) + ',"score":'
        # Every answer the model can give is allowed (checked here, once): a task's check is then its
        # score's and its kept highlights', what _problem finds on the whole prediction, in the same order.
        self.answers_allowed = bool(predictor.questions) and len(set(predictor.questions)) == len(predictor.questions) \
            and all(_problem({"score": 0.0, "result": [item]}, self.allowed, self.targets) is None
                    for item, _ in self.answers.values())

    def __call__(self, batch: list[Mapping[str, Any]], first: int) -> tuple[bytes, list[float], list[int]]:
        """The batch's lines joined, each task's score and each line's length in bytes."""
        columns, scores = self.predictor.scored(batch, first)
        answers, allowed, targets, head, score_of = self.answers, self.allowed, self.targets, self.head, float.__repr__
        lines, lengths = [], []
        for i, task in enumerate(batch):
            chosen = [answers[q, labels[i]] for q, labels, _ in columns]
            kept = _highlights(task)
            if self.answers_allowed:
                problem = _score_problem(scores[i])
                for item in kept if problem is None else ():
                    problem = _highlight_problem(item, targets)
                    if problem is not None:
                        break
            else:
                problem = _problem({"score": scores[i], "result": [item for item, _ in chosen] + kept}, allowed,
                                   targets)
            if problem is not None:
                raise InputError(f"prediction not valid for scheme {self.scheme_id!r}: {problem}",
                                 where=f"task {first + i} (sentence {task['data'].get('sentence_id')})",
                                 fix="predict with a model trained for this scheme (see its card.json)")
            result = [piece + score_of(p[i]) + "}" for (_, piece), (_, _, p) in zip(chosen, columns)]
            result += [dumps(item) for item in kept]
            prediction = head + score_of(scores[i]) + ',"result":[' + ",".join(result) + "]}]"
            fields = [dumps(k) + ":" + (prediction if k == "predictions" else dumps(v)) for k, v in task.items()]
            if "predictions" not in task:
                fields.append('"predictions":' + prediction)
            line = ("{" + ",".join(fields) + "}").encode()
            lines.append(line)
            lengths.append(len(line))
        return b"".join(lines), scores, lengths


def predictions_for(model: StanceBaseline, tasks: Iterable[Mapping[str, Any]], *,
                    model_version: str | None = None) -> list[dict]:
    """Label Studio tasks with the model's prediction attached (see :func:`predicted_batches`), most uncertain first.

    Tasks are sorted by ``score`` ascending (ties keep their input order): the first are those
    whose labels would teach the model most. Everything is held in memory: for files, use
    :func:`write_predictions`.
    """
    out = [task for batch in predicted_batches(model, tasks, model_version=model_version) for task in batch]
    order = sorted(range(len(out)), key=lambda i: (out[i]["predictions"][0]["score"], i))
    return [out[i] for i in order]


@dataclass
class PredictedFile:
    """What :func:`write_predictions` wrote."""

    tasks: int = 0
    lowest: float | None = None  # the first task's score (the most uncertain)
    highest: float | None = None


def write_predictions(
    model: StanceBaseline,
    tasks: Iterable[Mapping[str, Any]],
    path: str | os.PathLike[str],
    scheme: Scheme,
    *,
    model_version: str,
    batch_size: int = PREDICT_BATCH,
    jobs: int | None = 1,
    on_batch: Callable[[int], None] | None = None,
) -> PredictedFile:
    """Predict ``tasks`` and write them, most uncertain first, as a Label Studio import file.

    The tasks stream through in batches; each predicted task is checked against the scheme
    and spooled as one JSON line to a temporary file beside ``path``, keeping only its score
    and place. The file is then written in score order (ties in input order) and renamed over
    ``path``: a JSON list with one task per line, as ``stance tasks`` writes, so it streams too.
    With ``jobs`` above 1, that many forked worker processes predict, check and turn whole
    batches into their lines, a few batches ahead, while this one reads the tasks and spools
    the lines (the same file, byte for byte); ``jobs=None`` chooses as :func:`predicted_batches`.

    Raises
    ------
    InputError
        A task without text or of another scheme, or a prediction the scheme does not allow.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    scores, offsets, lengths = array("d"), array("q"), array("q")
    position = 0
    lines = _Lines(_Predictor(model, model_version), scheme)
    with tempfile.TemporaryFile(prefix=f".{target.name}.", suffix=".spool", dir=target.parent) as spool:
        for blob, batch_scores, batch_lengths in _in_order(lines, _batches(tasks, batch_size), jobs, model):
            spool.write(blob)
            for length in batch_lengths:
                offsets.append(position)
                position += length
            scores.extend(batch_scores)
            lengths.extend(batch_lengths)
            if on_batch is not None:
                on_batch(len(batch_lengths))
        spool.flush()
        order = np.argsort(np.frombuffer(scores, dtype=np.float64), kind="stable")
        fd = spool.fileno()
        with atomic_write(target, binary=True) as out:
            out.write(b"[")
            for k, i in enumerate(order.tolist()):
                out.write((b",\n" if k else b"\n") + os.pread(fd, lengths[i], offsets[i]))
            out.write(b"\n]\n")
    if not len(scores):
        return PredictedFile()
    return PredictedFile(tasks=len(scores), lowest=scores[int(order[0])], highest=scores[int(order[-1])])


def read_predictions(path: str | os.PathLike[str]) -> Iterator[dict]:
    """The tasks of a file written by :func:`write_predictions`, one line at a time."""
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such predictions file", path=path, fix="write one with `stance predict`") from None
    with handle:
        for number, line in enumerate(handle, 1):
            line = line.strip().removesuffix(",")
            if line in ("[", "]", ""):
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not a JSON task ({exc.msg})", path=path, where=f"line {number}",
                                 fix="a predictions file is written by `stance predict`, one task per line") from None


def _score_problem(score: Any) -> str | None:
    if not isinstance(score, (int, float)) or not 0 <= score <= 1:
        return f"score {score!r} is not in [0, 1]"
    return None


def _highlight_problem(item: Mapping[str, Any], targets: frozenset[str]) -> str | None:
    labels = (item.get("value") or {}).get("labels") or []
    if item.get("type") != "labels" or item.get("to_name") != SENTENCE or len(labels) != 1 or labels[0] not in targets:
        return f"a mention highlight that is not a region of one target on {SENTENCE!r}: {labels!r}"
    return None


def _problem(prediction: Mapping[str, Any], allowed: Mapping[str, tuple[str, ...]],
             targets: frozenset[str]) -> str | None:
    score = prediction.get("score")
    problem = _score_problem(score)
    if problem is not None:
        return problem
    seen = set()
    for item in prediction.get("result") or []:
        name = item.get("from_name")
        if name == MENTION_CONTROL:
            problem = _highlight_problem(item, targets)
            if problem is not None:
                return problem
            continue
        if name not in allowed:
            return f"unknown control {name!r} (known: {', '.join(allowed)})"
        if item.get("to_name") != SENTENCE or item.get("type") != "choices":
            return f"{name}: not a choice on {SENTENCE!r}"
        choices = (item.get("value") or {}).get("choices") or []
        if len(choices) != 1 or choices[0] not in allowed[name]:
            return f"{name}: unknown label {choices!r} (known: one of {', '.join(allowed[name])})"
        if name in seen:
            return f"two answers for control {name!r}"
        seen.add(name)
    if not seen:
        return "no answer at all"
    return None


def check_prediction(prediction: Mapping[str, Any], scheme: Scheme) -> str | None:
    """What makes a prediction unfit for the scheme's labeling config, or None.

    Label Studio stores any result without a check (LABEL_STUDIO.md, section 2), so ours are
    checked here: every item a choice of a control of the config, with one of its labels, at
    most one answer per control, and a score in [0, 1].
    """
    return _problem(prediction, choice_questions(scheme), frozenset(scheme.target_ids))


def check_predictions(tasks: Iterable[Mapping[str, Any]], scheme: Scheme) -> None:
    """Raise :class:`InputError` at the first task whose prediction the scheme does not allow."""
    allowed, targets = choice_questions(scheme), frozenset(scheme.target_ids)
    for number, task in enumerate(tasks, 1):
        for prediction in task.get("predictions") or []:
            problem = _problem(prediction, allowed, targets)
            if problem is not None:
                raise InputError(f"prediction not valid for scheme {scheme.id!r}: {problem}",
                                 where=f"task {number} (sentence {task['data'].get('sentence_id')})",
                                 fix="predict with a model trained for this scheme (see its card.json)")


@dataclass
class PredictionCounts:
    """What a push of predictions did; ``read == not_in_project + already + sent``."""

    project_id: int
    project_url: str
    read: int = 0
    not_in_project: int = 0  # no task with that sentence_id: push the tasks first
    already: int = 0  # the task has a prediction of this model version
    sent: int = 0  # tasks whose prediction was sent
    created: int = 0  # predictions Label Studio created (one per task of the sentence)
    replaced: dict[str, int] = field(default_factory=dict)  # older version of the model -> predictions removed


def model_name(model_version: str) -> str:
    """The model's name in a version ``<name>@<hash>``."""
    return model_version.rsplit("@", 1)[0]


def push_predictions(
    tasks: Iterable[Mapping[str, Any]],
    title: str,
    scheme: Scheme,
    *,
    conn: Connection,
    model_version: str,
    replace: bool = False,
    batch_size: int = BATCH_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
    on_batch: Callable[[int], None] | None = None,
) -> PredictionCounts:
    """Attach each task's prediction to the project's task of the same ``sentence_id``.

    The project must exist and have the scheme's config. A task that already holds a
    prediction of ``model_version`` is left alone, so pushing again adds nothing, and an
    interrupted push resumes. With ``replace``, the predictions of the model's other versions
    (``<same name>@...``) are removed afterwards; other models' stay. Afterwards the project's
    model version is ``model_version`` and its sampling is uncertainty sampling: Label Studio
    shows these predictions as pre-annotations and gives annotators the lowest-scoring (most
    uncertain) task first.
    """
    with api(conn, timeout=timeout) as rest:
        project = require_project(rest, conn, title)
        check_config(conn, project, scheme)
        pid = project.id
        counts = PredictionCounts(project_id=pid, project_url=f"{conn.url}/projects/{pid}")
        ids = {sentence: [task_id for task_id, _ in tasks] for sentence, tasks in listed_tasks(rest, conn, pid).items()}

        def predicted() -> set[int]:
            return tasks_where(rest, conn, pid, "predictions_model_versions", model_version,
                               f"listing the tasks with predictions of {model_version!r}")

        done = predicted()
        batch: list[dict] = []

        def send() -> None:
            nonlocal batch
            pending = batch

            def post() -> Any:
                return rest.request("POST", f"api/projects/{pid}/import/predictions", json=pending) if pending else {}

            def drop_landed() -> None:
                nonlocal pending
                landed = predicted()
                pending = [p for p in pending if p["task"] not in landed]

            reply = call(conn, f"importing {len(batch):,} predictions", post, before_retry=drop_landed)
            counts.created += int((reply or {}).get("created", len(pending)))
            if on_batch is not None:
                on_batch(len(batch))
            batch = []

        for task in tasks:
            counts.read += 1
            found = ids.get(task["data"]["sentence_id"])
            if not found:
                counts.not_in_project += 1
                continue
            missing = [t for t in found if t not in done]
            if not missing:
                counts.already += 1
                continue
            counts.sent += 1
            for prediction in task.get("predictions") or []:
                if prediction["model_version"] == model_version:
                    batch += [{"task": t, "model_version": model_version, "score": prediction["score"],
                               "result": prediction["result"]} for t in missing]
            if len(batch) >= batch_size:
                send()
        if batch:
            send()
        if counts.read and counts.not_in_project == counts.read:
            raise StudioError(f"none of the {counts.read:,} tasks is in project {title!r} (matched on sentence_id)",
                              fix=f"push the tasks first: `stance push TASKS --project {title!r}`")
        if replace:
            name = model_name(model_version)
            for version in sorted(model_versions(rest, conn, pid)):
                if version != model_version and "@" in version and model_name(version) == name:
                    counts.replaced[version] = delete_model_version(rest, conn, pid, version)
        call(conn, f"setting the model version of project {title!r}", lambda: rest.update_project(
            pid, model_version=model_version, sampling=UNCERTAINTY_SAMPLING, show_collab_predictions=True))
    return counts
