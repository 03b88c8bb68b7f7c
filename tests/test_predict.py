"""split, train, evaluate and predict from the command line, and predictions in a real Label Studio."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from annotate import server, studio
from annotate.files import write_jsonl
from annotate.gold import adjudicate
from annotate.labels import Annotation, Annotator
from annotate.baseline import StanceBaseline
from annotate.labeling import MENTION_CONTROL, MENTIONS_MODEL
from annotate.predict import UNCERTAINTY_SAMPLING, PredictedTask, predicted_batches, predictions_for, write_predictions
from annotate.studio import listed_tasks
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
                              task_id=i, scheme=SCHEME.id) for i, r in enumerate(rows, 1)]
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
                                  f"for scheme {SCHEME.id}"
    card = json.loads((model / "card.json").read_text())
    validator("model-card").validate(card)
    assert set(card["metrics"]) == {"cross-validation", "held-out"}
    # each score printed beside the majority-class model's (issue 14: every report, the terminal too)
    for source, metrics in card["metrics"].items():
        [line] = [line for line in out.splitlines() if line.startswith(f"{source}: ")]
        for q, m in metrics.items():
            if m["f_avg"] is not None:
                assert f"{q} F_avg {m['f_avg']:.3f} (majority {m['majority_f_avg']:.3f})" in line
            elif m["macro_f1"] is not None:
                assert f"{q} macro F1 {m['macro_f1']:.3f} (majority {m['majority_macro_f1']:.3f})" in line
            for warning in m["warnings"]:
                assert f"warning: {source}, {q}: {warning}" in out
    validator("evaluation").validate(json.loads((model / "metrics.json").read_text()))

    code, out, err = run(capsys, "evaluate", model, tmp_path / "splits" / "test.jsonl", "-o", tmp_path / "report",
                         "--bootstrap", "50")
    assert (code, err) == (0, "")
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    validator("evaluation").validate(report)
    header = out.splitlines()[1].split()
    assert header[:5] == ["question", "rows", "F_avg", "(95%", "interval)"] and "macro" in header
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
    version = card["version"]
    assert version.startswith("tiny@") and len(version) == len("tiny@") + 12
    assert {t["predictions"][0]["model_version"] for t in predicted} == {version}
    assert out.splitlines()[0].startswith(f"predicted {len(tasks)} tasks with model version {version!r}, "
                                          "most uncertain first")
    assert all(PredictedTask.model_validate(t) for t in predicted)
    # The mention highlights of the tasks come along, after the answers: once the project's model
    # version is this model's, Label Studio pre-fills this prediction alone.
    mentioned = {t["data"]["sentence_id"]: t["predictions"][0]["result"] for t in tasks if t.get("predictions")}
    assert mentioned
    for task in predicted:
        result = task["predictions"][0]["result"]
        assert [i["from_name"] for i in result[:len(result) - len(mentioned.get(task["data"]["sentence_id"], []))]] \
            == ["claim", *(f"stance_{t}" for t in SCHEME.target_ids)]
        assert [i for i in result if i["from_name"] == MENTION_CONTROL] == mentioned.get(task["data"]["sentence_id"], [])


@pytest.mark.parametrize("mode", ["per-target", "target-aware", "ensemble"])
@pytest.mark.parametrize("sets", [("ngrams",), ("ngrams", "hashtags", "lexicon"), ("ngrams", "contextual")])
def test_every_question_at_once_gives_the_numbers_of_one_question_at_a_time(mode, sets):
    rows = make_rows(articles=8, per_article=5, seed=4)
    model = StanceBaseline(targets=SCHEME.target_ids, stance_mode=mode, feature_sets=(sets,), n_splits=3, C=(0.3,),
                           class_weight=(None,)).fit(rows)
    texts = [r["text"] + (" #HandOverTheServer, good news" if i % 3 == 0 else "")
             for i, r in enumerate(make_rows(articles=20, per_article=5, seed=11))]
    at_once = model.predict_proba_all(texts)
    assert list(at_once) == list(model.questions_)
    for question in model.questions_:
        np.testing.assert_allclose(at_once[question], model.predict_proba(texts, question), rtol=0, atol=1e-12)
    # Every question came from the shared features (none was asked the usual way), and the texts
    # were cut into words once and into characters once for the claim's and the stance's pipelines.
    from annotate.batchpredict import _CACHE

    _, shared = _CACHE[model]
    assert all(union is not None for _, union, *_ in shared.plan)
    assert sorted(a.params["analyzer"] for a in shared.analyses.values()) == ["char_wb", "word"]


def test_predictions_stream_in_batches_and_the_file_comes_most_uncertain_first(tmp_path):
    rows = make_rows(articles=6, per_article=5, seed=8)
    model = StanceBaseline(scheme=SCHEME.id, targets=SCHEME.target_ids, n_splits=3, C=(0.3,),
                           class_weight=(None,)).fit(rows)
    tasks = [{"data": {"text": r["text"], "sentence_id": f"{r['sentence_id']}#{k}", "article_id": r["article_id"],
                       "scheme": SCHEME.id}} for k in range(5) for r in make_rows(articles=6, per_article=5, seed=9)]
    sizes = [len(batch) for batch in predicted_batches(model, iter(tasks), model_version="m@1", batch_size=40)]
    assert sizes == [40, 40, 40, 30]
    written = write_predictions(model, iter(tasks), tmp_path / "p.json", SCHEME, model_version="m@1", batch_size=40)
    in_file = json.loads((tmp_path / "p.json").read_text())
    assert in_file == predictions_for(model, tasks, model_version="m@1")
    assert (written.tasks, written.lowest, written.highest) == (
        150, in_file[0]["predictions"][0]["score"], in_file[-1]["predictions"][0]["score"])
    assert (tmp_path / "p.json").read_text().count("\n") == 152  # "[", one task a line, "]"
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # the spool is gone
    # Two worker processes write the same file.
    write_predictions(model, iter(tasks), tmp_path / "p2.json", SCHEME, model_version="m@1", batch_size=40, jobs=2)
    assert (tmp_path / "p2.json").read_bytes() == (tmp_path / "p.json").read_bytes()


def test_the_file_holds_each_predicted_task_as_dumps_writes_it_one_process_or_two(tmp_path):
    from annotate.errors import InputError
    from annotate.files import dumps

    rows = make_rows(articles=6, per_article=5, seed=8)
    model = StanceBaseline(scheme=SCHEME.id, targets=SCHEME.target_ids, n_splits=3, C=(0.3,),
                           class_weight=(None,)).fit(rows)
    target = SCHEME.target_ids[0]
    highlight = {"id": "m1", "from_name": MENTION_CONTROL, "to_name": "sentence", "type": "labels", "readonly": True,
                 "value": {"start": 0, "end": 3, "text": "Thé", "labels": [target]}}
    tasks = []
    for k, r in enumerate(make_rows(articles=6, per_article=5, seed=9) * 3):
        data = {"text": ("Thé \u2028 «quoted» \x01 " if k % 4 == 0 else "") + r["text"], "sentence_id": f"s{k}",
                "article_id": r["article_id"], "scheme": SCHEME.id}
        task = {"data": data}
        if k % 3 == 0:  # as `stance tasks` writes them: the mention highlights first, then other keys
            task = {"data": data, "predictions": [{"model_version": f"{MENTIONS_MODEL}@1", "result": [highlight]}]}
        elif k % 3 == 1:
            task = {"predictions": [], "data": data, "meta": {"n": 1.5e-07}}
        tasks.append(task)
    expected = predictions_for(model, tasks, model_version="m@1")
    assert any(t["predictions"][0]["result"][-1] == highlight for t in expected)
    text = "[\n" + ",\n".join(dumps(t) for t in expected) + "\n]\n"
    for jobs in (1, 2):
        write_predictions(model, iter(tasks), tmp_path / f"p{jobs}.json", SCHEME, model_version="m@1", batch_size=16,
                          jobs=jobs)
        assert (tmp_path / f"p{jobs}.json").read_text(encoding="utf-8") == text
    # A task that is not for the model's scheme, in the third batch: a worker's error is the same error.
    wrong = [*tasks[:40], {"data": {**tasks[40]["data"], "scheme": "other/v1"}}, *tasks[41:]]
    for jobs in (1, 2):
        with pytest.raises(InputError) as raised:
            write_predictions(model, iter(wrong), tmp_path / "w.json", SCHEME, model_version="m@1", batch_size=16,
                              jobs=jobs)
        assert str(raised.value).startswith("task 41 (sentence s40): task is for scheme 'other/v1'")
        assert not (tmp_path / "w.json").exists()


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


def predictions_on_server(studio_server, title: str) -> dict[str, list[tuple[str, float, list]]]:
    """sentence_id -> [(model_version, score, result)] of every prediction in the project, from its REST API."""
    conn = studio.Connection(studio_server.url, studio_server.token, local=True)
    with studio.api(conn, timeout=60) as rest:
        project = studio.require_project(rest, conn, title)
        sentence = {t: s for s, tasks in listed_tasks(rest, conn, project.id).items() for t, _ in tasks}
        found: dict[str, list] = {s: [] for s in sentence.values()}
        for p in rest.request("GET", "api/predictions/", params={"project": project.id}):
            if not p["model_version"].startswith(f"{MENTIONS_MODEL}@"):  # the highlights `stance push` sent
                found[sentence[p["task"]]].append((p["model_version"], p["score"], p["result"]))
    return found


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
    assert version == json.loads((model / "card.json").read_text())["version"]

    project = server.api_request(studio_server.url, studio_server.token, "/api/projects/?title=predicted")
    project = (project["results"] if isinstance(project, dict) else project)[0]
    assert project["model_version"] == version and project["sampling"] == UNCERTAINTY_SAMPLING
    on_server = predictions_on_server(studio_server, "predicted")
    for task in predicted:
        expected = task["predictions"][0]
        assert on_server[task["data"]["sentence_id"]] == [(version, pytest.approx(expected["score"]),
                                                           expected["result"])]
    # Label Studio gives an annotator the most uncertain task first.
    nxt = server.api_request(studio_server.url, studio_server.token, f"/api/projects/{project['id']}/next")
    lowest = min(t["predictions"][0]["score"] for t in predicted)
    assert nxt["data"]["sentence_id"] in {t["data"]["sentence_id"] for t in predicted
                                          if t["predictions"][0]["score"] == lowest}

    # Trained again on the same rows: another model file (skops names arrays by object id), the same
    # version, so pushing again adds nothing.
    sha = json.loads((model / "card.json").read_text())["model_sha256"]
    assert run(capsys, "train", gold, "-o", model, "--folds", "3", "--bootstrap", "20")[0] == 0
    card = json.loads((model / "card.json").read_text())
    assert card["model_sha256"] != sha and card["version"] == version
    code, out, err = run(capsys, "predict", model, tasks, "-o", tmp_path / "p.json", "--push", "--project",
                         "predicted", "--data-dir", d)
    assert (code, err) == (0, "")
    assert f"'{version}'" in out.splitlines()[0]
    assert f": 0 predictions sent as pre-annotations, {n_tasks} tasks had one of this version already" in out
    assert all(len(found) == 1 for found in predictions_on_server(studio_server, "predicted").values())

    # Another model's predictions stay when this model, trained on other rows, replaces its own.
    other = tmp_path / "other"
    assert run(capsys, "train", gold, "-o", other, "--folds", "2", "--bootstrap", "20")[0] == 0
    assert run(capsys, "predict", other, tasks, "-o", tmp_path / "o.json", "--push", "--project", "predicted",
               "--data-dir", d)[0] == 0
    newer = gold_file(tmp_path / "newer.jsonl", make_rows(articles=6, per_article=5, seed=9))
    assert run(capsys, "train", newer, "-o", model, "--folds", "3", "--bootstrap", "20")[0] == 0
    code, out, err = run(capsys, "predict", model, tasks, "-o", tmp_path / "p.json", "--push", "--project",
                         "predicted", "--replace", "--data-dir", d)
    assert (code, err) == (0, "")
    new_version = json.loads((model / "card.json").read_text())["version"]
    assert new_version != version and new_version.startswith("model@")
    assert f": {n_tasks} predictions sent as pre-annotations, 0 tasks had one of this version already" in out
    assert f"removed {n_tasks} predictions of older versions of 'model' ({version}); other models' stay" in out
    other_version = json.loads((other / "card.json").read_text())["version"]
    for found in predictions_on_server(studio_server, "predicted").values():
        assert sorted(v for v, _, _ in found) == sorted([new_version, other_version])


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
    assert len([line for line in out.splitlines() if line.startswith(f"note: {', '.join(questions)}: 1 article")]) == 1
    assert "note: gold labels by id 1" in out.splitlines()  # who labelled the gold rows (no email known here)
    assert all(q["f_avg_ci"]["low"] is None for q in report["questions"] if q["f_avg"] is not None)


def test_train_takes_the_candidates_from_the_command_line(tmp_path, capsys):
    gold = gold_file(tmp_path / "gold.jsonl", make_rows(articles=8, per_article=5, seed=2))
    model = tmp_path / "narrow"
    code, out, err = run(capsys, "train", gold, "-o", model, "--folds", "3", "--bootstrap", "20",
                         "--features", "ngrams", "--features", "lexicon+ngrams", "--C", "0.3", "--C", "0.3",
                         "--class-weight", "balanced")
    assert (code, err) == (0, "")
    card = json.loads((model / "card.json").read_text())
    assert card["parameters"]["feature_sets"] == [["ngrams"], ["ngrams", "lexicon"]]
    assert card["parameters"]["C"] == [0.3] and card["parameters"]["class_weight"] == ["balanced"]
    for what in ("claim", "stance"):
        tried = {(tuple(c["features"]), c["C"], c["class_weight"]) for c in card["selection"][what]["candidates"]}
        assert tried == {(("ngrams",), 0.3, "balanced"), (("ngrams", "lexicon"), 0.3, "balanced")}
    # A combination that cannot be, or an unknown set, is one line of usage error (exit 2), nothing written.
    for bad, says in (("window", "'window' reads the words around the mentions"), ("ngrams+emoji", "unknown feature set 'emoji'")):
        with pytest.raises(SystemExit) as exited:
            run(capsys, "train", gold, "-o", tmp_path / "bad", "--features", bad)
        assert exited.value.code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    with pytest.raises(SystemExit):
        run(capsys, "train", gold, "-o", tmp_path / "bad", "--C", "0")
    assert "give a number above 0" in capsys.readouterr().err


def test_train_chooses_by_the_metrics_asked_and_the_card_says_so(tmp_path, capsys):
    gold = gold_file(tmp_path / "gold.jsonl", make_rows(articles=6, per_article=5, seed=8))
    model = tmp_path / "model"
    code, out, err = run(capsys, "train", gold, "-o", model, "--folds", "3", "--bootstrap", "20", "--features",
                         "ngrams", "--C", "0.1", "--C", "1", "--claim-metric", "F1 of CLAIM", "--stance-metric",
                         "macro F1")
    assert code == 0, err
    card = json.loads((model / "card.json").read_text())
    assert (card["selection"]["claim"]["metric"], card["selection"]["stance"]["metric"]) == ("F1 of CLAIM", "macro F1")
    jsonschema.validate(card, json.loads((Path(__file__).parents[1] / "schemas" / "model-card.schema.json")
                                         .read_text()))
    readme = (model / "README.md").read_text()
    assert "F1 of CLAIM 0." in readme and "| macro F1 |" in readme
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "train", gold, "-o", tmp_path / "m2", "--claim-metric", "accuracy")
    assert exit_.value.code == 2 and "invalid choice: 'accuracy'" in capsys.readouterr().err
