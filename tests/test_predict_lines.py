"""The check of each predicted task against the scheme: the same error, whether the answers were checked once or per task."""

from __future__ import annotations

import pytest

from annotate import predict
from annotate.errors import InputError
from annotate.labeling import MENTION_CONTROL, MENTIONS_MODEL
from annotate.predict import _Lines, _problem
from annotate.scheme import load_scheme

SCHEME = load_scheme()
TARGET = SCHEME.target_ids[0]


class Stub:
    """A predictor that answers every task alike: ``labels`` (question -> label), each task's score ``score``."""

    version = "m@1"

    def __init__(self, labels: dict[str, str], score: float = 0.4) -> None:
        self.questions = list(labels)
        self.classes = {q: [label] for q, label in labels.items()}
        self.labels, self.score = labels, score

    def scored(self, batch, first):
        return ([(q, [label] * len(batch), [0.9] * len(batch)) for q, label in self.labels.items()],
                [self.score] * len(batch))


def highlight(label: str) -> dict:
    return {"id": "m1", "from_name": MENTION_CONTROL, "to_name": "sentence", "type": "labels", "readonly": True,
            "value": {"start": 0, "end": 3, "text": "Thé", "labels": [label]}}


def task(*highlights: dict) -> dict:
    data = {"text": "Thé talks", "sentence_id": "s1", "article_id": "a", "scheme": SCHEME.id}
    return {"data": data, "predictions": [{"model_version": f"{MENTIONS_MODEL}@1", "result": list(highlights)}]}


GOOD = {"claim": "CLAIM", **{f"stance_{t}": "NONE" for t in SCHEME.target_ids}}
CASES = [
    (GOOD, 0.4, task(highlight(TARGET))),
    (GOOD, 0.4, task(highlight(TARGET), highlight("nobody"))),
    (GOOD, 1.5, task(highlight("nobody"))),
    ({**GOOD, "claim": "MAYBE"}, 0.4, task(highlight(TARGET))),
    ({**GOOD, "stance_elsewhere": "FAVOR"}, 0.4, task()),
    ({**GOOD, "claim": "MAYBE"}, -0.1, task()),
]


def outcome(lines: _Lines, case_task: dict) -> str | None:
    try:
        lines([case_task], 7)
    except InputError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("labels, score, case_task", CASES)
def test_the_check_finds_what_the_whole_predictions_check_finds(labels, score, case_task):
    lines = _Lines(Stub(labels, score), SCHEME)
    assert lines.answers_allowed == (labels == GOOD)
    whole = _problem({"score": score, "result": [{"from_name": q, "to_name": "sentence", "type": "choices",
                                                    "value": {"choices": [label]}} for q, label in labels.items()]
                      + case_task["predictions"][0]["result"]}, lines.allowed, lines.targets)
    found = outcome(lines, case_task)
    assert found == (None if whole is None else
                     f"task 7 (sentence s1): prediction not valid for scheme {SCHEME.id!r}: {whole}; "
                     "predict with a model trained for this scheme (see its card.json)"), found
    lines.answers_allowed = False  # checked per task, the whole prediction each time: the same
    assert outcome(lines, case_task) == found


def test_a_highlight_of_no_target_is_refused():
    assert "a mention highlight that is not a region of one target" in outcome(
        _Lines(Stub(GOOD), SCHEME), task(highlight("nobody")))
    assert predict._highlight_problem(highlight(TARGET), frozenset(SCHEME.target_ids)) is None
