"""split, train, evaluate and predict from the command line, and predictions in a real Label Studio."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from annotate import server, studio
from annotate.files import write_jsonl
from annotate.gold import adjudicate
from annotate.labels import Annotation, Annotator
from annotate.predict import UNCERTAINTY_SAMPLING, PredictedTask
from annotate.scheme import load_scheme
from helpers import run

from test_baseline import make_rows

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SCHEMAS = REPO / "schemas"
SCHEME = load_scheme()


def gold_file(path: Path, rows: list[dict]) -> Path:
    """Rows of ``make_rows`` as a gold file, adjudicated from one annotator's annotations of them."""
    annotations = [Annotation(sentence_id=r["sentence_id"], article_id=r["article_id"], text=r["text"],
                              annotator=Annotator(id="1"), stance=r["stance"], claim=r["claim"], annotation_id=i,
                              task_id=i, scheme=r["scheme"]) for i, r in enumerate(rows, 1)]
    gold, conflicts, _ = adjudicate(annotations, SCHEME, method="majority")
    assert not conflicts
    write_jsonl(gold, path)
    return path


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{name}.schema.json").read_text()))


def test_split_train_evaluate_predict_from_the_command_line(tmp_path, capsys):
    gold = gold_file(tmp_path / "gold.jsonl", make_rows(articles=12, per_article=5, seed=3))
    code, out, err = run(capsys, "split", gold, "-o", tmp_path / "splits", "--dev", "0.2", "--test", "0.2")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["train", "dev", "test"]
    assert lines[-1] == (f"wrote train.jsonl, dev.jsonl, test.jsonl (60 rows, every article whole in one split, "
                         f"seed 0) to {tmp_path / 'splits'}")
    parts = {name: [json.loads(x) for x in (tmp_path / "splits" / f"{name}.jsonl").read_text().splitlines()]
             for name in ("train", "dev", "test")}
    assert sum(len(p) for p in parts.values()) == 60
    articles = {name: {r["article_id"] for r in p} for name, p in parts.items()}
    assert not (articles["train"] & articles["test"]) and not (articles["train"] & articles["dev"])
    for name, part in parts.items():
        assert lines[("train", "dev", "test").index(name)].startswith(
            f"{name}: {len(part)} rows from {len(articles[name])} articles; claim ")

    model = tmp_path / "models" / "tiny"
    code, out, err = run(capsys, "train", tmp_path / "splits" / "train.jsonl", "-o", model, "--dev",
                         tmp_path / "splits" / "dev.jsonl", "--folds", "3", "--bootstrap", "50")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"trained on {len(parts['train'])} rows from {len(articles['train'])} articles " \
                                  "for scheme stance-claim/v1"
    card = json.loads((model / "card.json").read_text())
    validator("model-card").validate(card)
    assert set(card["metrics"]) == {"cross-validation", "held-out"}
    validator("evaluation").validate(json.loads((model / "metrics.json").read_text()))

    code, out, err = run(capsys, "evaluate", model, tmp_path / "splits" / "test.jsonl", "-o", tmp_path / "report",
                         "--bootstrap", "50")
    assert (code, err) == (0, "")
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    validator("evaluation").validate(report)
    assert out.splitlines()[1].split() == ["question", "rows", "F_avg", "(95%", "interval)", "macro", "F1", "(95%",
                                           "interval)"]
    pooled = next(line for line in out.splitlines() if line.startswith("stance "))
    assert f"{report['stance']['f_avg']:.3f}" in pooled
    for name in ("report.md", "confusion.png", "scores.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    assert (tmp_path / "report" / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert run(capsys, "tasks", SEEDS, "-o", tmp_path / "tasks.json")[0] == 0
    code, out, err = run(capsys, "predict", model, tmp_path / "tasks.json", "-o", tmp_path / "predictions.json")
    assert (code, err) == (0, "")
    predicted = json.loads((tmp_path / "predictions.json").read_text())
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    validator("predictions").validate(predicted)
    assert sorted(t["data"]["sentence_id"] for t in predicted) == sorted(t["data"]["sentence_id"] for t in tasks)
    scores = [t["predictions"][0]["score"] for t in predicted]
    assert scores == sorted(scores)
    version = f"tiny@{card['model_sha256'][:12]}"
    assert {t["predictions"][0]["model_version"] for t in predicted} == {version}
    assert out.splitlines()[0].startswith(f"predicted {len(tasks)} tasks with model version {version!r}, "
                                          "most uncertain first")
    assert all(PredictedTask.model_validate(t) for t in predicted)


def test_split_with_too_few_articles_says_what_to_do(tmp_path, capsys):
    gold = gold_file(tmp_path / "gold.jsonl", make_rows(articles=2, per_article=3))
    code, out, err = run(capsys, "split", gold, "-o", tmp_path / "splits")
    assert (code, out) == (1, "")
    assert err == (f"error: {gold}: 6 rows from 2 articles: too few for 3 splits (train, dev, test), since every "
                   "article stays whole in one split; label more articles, or ask for fewer splits (--dev 0 "
                   "leaves out dev)\n")
    assert not (tmp_path / "splits").exists()


def test_a_model_for_another_scheme_or_a_missing_model_is_one_line(tmp_path, capsys):
    code, out, err = run(capsys, "evaluate", tmp_path / "nowhere", tmp_path / "gold.jsonl", "-o", tmp_path / "r")
    assert (code, out) == (1, "")
    assert err == (f"error: {tmp_path / 'nowhere'}: no card.json: not a model folder; give a folder written by "
                   "`stance train` (models/NAME)\n")
    code, out, err = run(capsys, "predict", tmp_path, tmp_path / "t.json", "-o", tmp_path / "p.json", "--push")
    assert (code, err) == (1, "error: --push needs --project NAME; name the project the tasks were pushed to\n")


@pytest.mark.integration
def test_predictions_become_pre_annotations_most_uncertain_first(studio_server, tmp_path, capsys, team_server_unset):
    d = studio_server.data_dir
    model = tmp_path / "model"
    gold = gold_file(tmp_path / "gold.jsonl", make_rows(articles=6, per_article=5, seed=8))
    assert run(capsys, "train", gold, "-o", model, "--folds", "3", "--bootstrap", "20")[0] == 0
    tasks = tmp_path / "tasks.json"
    assert run(capsys, "tasks", SEEDS, "-o", tasks)[0] == 0
    n_tasks = len(json.loads(tasks.read_text()))

    code, out, err = run(capsys, "predict", model, tasks, "-o", tmp_path / "p.json", "--push", "--project",
                         "predicted", "--data-dir", d)
    assert code == 4
    assert err.startswith("error: no project titled 'predicted' at ")

    assert run(capsys, "push", tasks, "--project", "predicted", "--data-dir", d)[0] == 0
    code, out, err = run(capsys, "predict", model, tasks, "-o", tmp_path / "p.json", "--push", "--project",
                         "predicted", "--data-dir", d)
    assert (code, err) == (0, "")
    assert f": {n_tasks} predictions sent as pre-annotations, 0 tasks had one of this version already" in out
    predicted = json.loads((tmp_path / "p.json").read_text())
    version = predicted[0]["predictions"][0]["model_version"]

    conn = studio.Connection(studio_server.url, studio_server.token, local=True)
    ls = studio.client(conn)
    project = studio.find_project(ls, conn, "predicted")
    assert project.model_version == version and project.sampling == UNCERTAINTY_SAMPLING
    on_server = {}
    for task in ls.tasks.list(project=project.id, fields="all"):
        predictions = [ls.predictions.get(p) if isinstance(p, int) else p for p in task.predictions]
        on_server[task.data["sentence_id"]] = [(p.model_version, p.score, p.result) for p in predictions]
    for task in predicted:
        expected = task["predictions"][0]
        assert on_server[task["data"]["sentence_id"]] == [(version, pytest.approx(expected["score"]),
                                                           expected["result"])]
    # Label Studio gives an annotator the most uncertain task first.
    nxt = server.api_request(studio_server.url, studio_server.token, f"/api/projects/{project.id}/next")
    lowest = min(t["predictions"][0]["score"] for t in predicted)
    assert nxt["data"]["sentence_id"] in {t["data"]["sentence_id"] for t in predicted
                                          if t["predictions"][0]["score"] == lowest}
    # Pushing again adds nothing.
    code, out, err = run(capsys, "predict", model, tasks, "-o", tmp_path / "p.json", "--push", "--project",
                         "predicted", "--data-dir", d)
    assert (code, err) == (0, "")
    assert f": 0 predictions sent as pre-annotations, {n_tasks} tasks had one of this version already" in out
    assert sum(len(ls.predictions.list(task=t.id)) for t in ls.tasks.list(project=project.id)) == n_tasks


def test_one_article_each_side_says_what_the_model_and_the_report_lack(tmp_path, capsys):
    gold = gold_file(tmp_path / "gold.jsonl", make_rows(articles=2, per_article=6, seed=1))
    assert run(capsys, "split", gold, "-o", tmp_path / "splits", "--dev", "0", "--test", "0.5")[0] == 0
    model = tmp_path / "one"
    code, out, err = run(capsys, "train", tmp_path / "splits" / "train.jsonl", "-o", model, "--bootstrap", "20")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[1] == "claim: 6 examples, no cross-validation: C=0.1, class_weight=None"
    assert lines[2].startswith("stance: 18 examples, no cross-validation: per-target, C=0.1, ")

    code, out, err = run(capsys, "evaluate", model, tmp_path / "splits" / "test.jsonl", "-o", tmp_path / "report",
                         "--bootstrap", "20")
    assert (code, err) == (0, "")
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    questions = [q["question"] for q in report["questions"]] + ["stance"]
    # One note line for all the questions that share it, not one per question.
    assert (f"note: {', '.join(questions)}: 1 article: no bootstrap interval (resampling one article gives back "
            "the same rows)") in out.splitlines()
    assert all(q["f_avg_ci"] is None for q in report["questions"] if q["f_avg"] is not None)
