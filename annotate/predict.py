"""Predictions of a baseline as Label Studio pre-annotations, most uncertain first.

``stance predict`` calls :func:`predictions_for` on the tasks of ``stance tasks``, checks every
prediction against the scheme (:func:`check_prediction`), writes a Label Studio import file
with the predictions attached, and with ``--push`` sends them to the tasks of an existing
project (:func:`push_predictions`) and turns on its uncertainty sampling, so that annotators
are given the tasks the model is least sure of first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.utils.validation import check_is_fitted

from .baseline import StanceBaseline
from .errors import InputError, StudioError
from .labeling import SENTENCE, choice_questions
from .scheme import Scheme
from .studio import BATCH_SIZE, DEFAULT_TIMEOUT, Connection, call, check_config, client, require_project, task_ids
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


class Prediction(_Strict):
    """A Label Studio prediction: a pre-annotation of one task."""

    model_version: str = Field(description="<model name>@<first 12 hex digits of the model file's sha256>")
    score: float = Field(ge=0, le=1, description="the smallest top-two probability margin over the questions; "
                         "lower is less sure")
    result: list[PredictedChoice]


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


def predictions_for(model: StanceBaseline, tasks: Iterable[Mapping[str, Any]], *,
                    model_version: str | None = None) -> list[dict]:
    """Label Studio tasks with the model's prediction attached, most uncertain first.

    Each task (import format, ``{"data": {"text": ..., "sentence_id": ..., ...}}``) comes back as
    a copy with ``predictions: [{"model_version", "score", "result"}]``; ``result`` holds one
    choices item per question the model answers (``claim``, ``stance_<target id>``), each with
    its probability as ``score``.

    Uncertainty: a question's margin is p(best label) - p(second best) (margin sampling); a
    task's ``score`` is the smallest margin over its questions, so one doubtful question makes
    the task doubtful. Tasks are sorted by ``score`` ascending (ties keep their input order):
    the first are those whose labels would teach the model most.

    Raises
    ------
    InputError
        A task without ``data.text``, or for another scheme.
    """
    check_is_fitted(model)
    tasks = list(tasks)
    texts = []
    for number, task in enumerate(tasks, 1):
        data = task.get("data") if isinstance(task, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
            raise InputError("not a Label Studio task with data.text", where=f"task {number}",
                             fix="predict on a `stance tasks` import file")
        if data.get("scheme", model.scheme) != model.scheme:
            raise InputError(f"task is for scheme {data.get('scheme')!r}, the model for {model.scheme!r}",
                             where=f"task {number} (sentence {data.get('sentence_id')})",
                             fix="predict with a model trained on the tasks' scheme")
        texts.append(data["text"])
    version = model_version or f"stance-baseline {model.trained_at_}"
    results: list[list[dict]] = [[] for _ in tasks]
    score = np.ones(len(tasks))
    for question in model.questions_:
        if not tasks:
            break
        proba = model.predict_proba(texts, question)
        classes = model.classes_[question]
        score = np.minimum(score, margins(proba))
        best = proba.argmax(axis=1)
        for i, j in enumerate(best):
            results[i].append({"from_name": question, "to_name": SENTENCE, "type": "choices",
                               "value": {"choices": [classes[j]]}, "score": round(float(proba[i, j]), 6)})
    out = [{**task, "predictions": [{"model_version": version, "score": round(float(s), 6), "result": r}]}
           for task, s, r in zip(tasks, score, results)]
    order = sorted(range(len(out)), key=lambda i: (round(float(score[i]), 6), i))
    return [out[i] for i in order]


def check_prediction(prediction: Mapping[str, Any], scheme: Scheme) -> str | None:
    """What makes a prediction unfit for the scheme's labeling config, or None.

    Label Studio stores any result without a check (LABEL_STUDIO.md, section 2), so ours are
    checked here: every item a choice of a control of the config, with one of its labels, at
    most one answer per control, and a score in [0, 1].
    """
    allowed = choice_questions(scheme)
    score = prediction.get("score")
    if not isinstance(score, (int, float)) or not 0 <= score <= 1:
        return f"score {score!r} is not in [0, 1]"
    seen = set()
    for item in prediction.get("result") or []:
        name = item.get("from_name")
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


def check_predictions(tasks: Iterable[Mapping[str, Any]], scheme: Scheme) -> None:
    """Raise :class:`InputError` at the first task whose prediction the scheme does not allow."""
    for number, task in enumerate(tasks, 1):
        for prediction in task.get("predictions") or []:
            problem = check_prediction(prediction, scheme)
            if problem is not None:
                raise InputError(f"prediction not valid for scheme {scheme.scheme!r}: {problem}",
                                 where=f"task {number} (sentence {task['data'].get('sentence_id')})",
                                 fix="predict with a model trained for this scheme (see its card.json)")


@dataclass
class PredictionCounts:
    """What a push of predictions did."""

    project_id: int
    project_url: str
    read: int = 0
    not_in_project: int = 0  # no task with that sentence_id: push the tasks first
    already: int = 0  # the task has a prediction of this model version
    created: int = 0


def push_predictions(
    tasks: Iterable[Mapping[str, Any]],
    title: str,
    scheme: Scheme,
    *,
    conn: Connection,
    model_version: str,
    batch_size: int = BATCH_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
    on_batch: Callable[[int], None] | None = None,
) -> PredictionCounts:
    """Attach each task's prediction to the project's task of the same ``sentence_id``.

    The project must exist and have the scheme's config. A task that already holds a
    prediction of ``model_version`` is left alone, so pushing again adds nothing, and an
    interrupted push resumes. Afterwards the project's model version is ``model_version``
    and its sampling is uncertainty sampling: Label Studio shows these predictions as
    pre-annotations and gives annotators the lowest-scoring (most uncertain) task first.
    """
    ls = client(conn, timeout=timeout)
    project = require_project(ls, conn, title)
    check_config(conn, project, scheme)
    counts = PredictionCounts(project_id=project.id, project_url=f"{conn.url}/projects/{project.id}")
    ids = task_ids(ls, conn, project.id)

    def predicted() -> set[int]:
        listed = ls.predictions.list(project=project.id)
        return {p.task for p in listed if p.model_version == model_version}

    done = call(conn, f"listing the predictions of project {project.id}", predicted)
    batch: list[dict] = []

    def send() -> None:
        nonlocal batch
        pending = batch

        def post() -> None:
            if pending:
                ls.projects.import_predictions(project.id, request=pending)

        def drop_landed() -> None:
            nonlocal pending
            landed = predicted()
            pending = [p for p in pending if p["task"] not in landed]

        call(conn, f"importing {len(batch):,} predictions", post, before_retry=drop_landed)
        counts.created += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
        batch = []

    for task in tasks:
        counts.read += 1
        task_id = ids.get(task["data"]["sentence_id"])
        if task_id is None:
            counts.not_in_project += 1
            continue
        if task_id in done:
            counts.already += 1
            continue
        for prediction in task.get("predictions") or []:
            if prediction["model_version"] == model_version:
                batch.append({"task": task_id, "model_version": model_version, "score": prediction["score"],
                              "result": prediction["result"]})
        if len(batch) >= batch_size:
            send()
    if batch:
        send()
    if counts.read and counts.not_in_project == counts.read:
        raise StudioError(f"none of the {counts.read:,} tasks is in project {title!r} (matched on sentence_id)",
                          fix=f"push the tasks first: `stance push TASKS --project {title!r}`")
    call(conn, f"setting the model version of project {title!r}", lambda: ls.projects.update(
        project.id, model_version=model_version, sampling=UNCERTAINTY_SAMPLING, show_collab_predictions=True))
    return counts
