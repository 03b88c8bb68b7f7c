"""stance predict's worker processes: how many by default, when, and the hashtags segmented once in the parent."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from annotate import features, predict
from annotate.baseline import StanceBaseline
from annotate.predict import default_jobs, write_predictions
from annotate.scheme import load_scheme

from test_baseline import make_rows

SCHEME = load_scheme()
FORK = "fork" in multiprocessing.get_all_start_methods()


@pytest.fixture(scope="module")
def hashtag_model() -> StanceBaseline:
    return StanceBaseline(scheme=SCHEME.id, targets=SCHEME.target_ids, feature_sets=(("ngrams", "hashtags", "lexicon"),),
                          n_splits=3, C=(0.3,), class_weight=(None,)).fit(make_rows(articles=6, per_article=5, seed=8))


def tasks_with_hashtags(n: int) -> list[dict]:
    rows = make_rows(articles=8, per_article=5, seed=9)
    return [{"data": {"text": rows[k % len(rows)]["text"] + (" #StopTheWarNow" if k % 3 == 0 else f" #Tag{k % 7}"),
                      "sentence_id": f"s{k}", "article_id": rows[k % len(rows)]["article_id"], "scheme": SCHEME.id}}
            for k in range(n)]


@pytest.mark.parametrize("cpus, expected", [({0}, 1), ({0, 1}, 2), (set(range(8)), 2)])
def test_the_default_is_the_usable_cpus_at_most_two(monkeypatch, cpus, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus, raising=False)
    assert default_jobs() == expected


def test_tasks_and_train_default_to_the_usable_cpus_not_the_machines(monkeypatch):
    from annotate import cli, defaults

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 5, 7}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert defaults.usable_cpus() == 3
    parser = cli.build_parser()
    assert parser.parse_args(["tasks", "seeds", "-o", "t.json"]).jobs == 3
    assert parser.parse_args(["train", "gold.jsonl", "-o", "m"]).jobs == 3
    monkeypatch.delattr(os, "sched_getaffinity")  # not Linux: the machine's count
    assert defaults.usable_cpus() == 64


def test_one_batch_is_predicted_here_and_more_in_workers_by_default(hashtag_model, monkeypatch):
    monkeypatch.setattr(predict, "default_jobs", lambda: 2)
    batch = [{"data": {"text": "x"}}]
    here = list(predict._in_order(lambda b, first: os.getpid(), [(batch, 1)], None, hashtag_model))
    assert here == [os.getpid()]
    pids = list(predict._in_order(lambda b, first: os.getpid(), [(batch, 1), (batch, 2), (batch, 3)], None,
                                  hashtag_model))
    assert len(pids) == 3 and (os.getpid() not in pids) == FORK
    assert list(predict._in_order(lambda b, first: os.getpid(), [(batch, 1), (batch, 2)], 1, hashtag_model)) == [
        os.getpid()] * 2  # asked for one: here


def test_a_worker_takes_the_hashtags_the_parent_segmented(monkeypatch):
    monkeypatch.setattr(predict, "_FORKED", lambda batch, first: features.split_hashtags(batch[0]))
    monkeypatch.setattr(features, "_segmenter", lambda: pytest.fail("the worker segmented a hashtag itself"))
    assert predict._forked(["#Qzxvb now"], 1, {"Qzxvb": "q z x v b"}) == "#Qzxvb q z x v b now"
    features._WORDS_OF_TAG.pop("Qzxvb")


def test_which_models_read_hashtags(hashtag_model):
    assert predict._reads_hashtags(hashtag_model)
    plain = StanceBaseline(scheme=SCHEME.id, targets=SCHEME.target_ids, feature_sets=(("ngrams", "lexicon"),),
                           n_splits=3, C=(0.3,), class_weight=(None,)).fit(make_rows(articles=6, per_article=5, seed=8))
    assert not predict._reads_hashtags(plain)
    aware = StanceBaseline(scheme=SCHEME.id, targets=SCHEME.target_ids, stance_mode="target-aware",
                           feature_sets=(("ngrams", "hashtags"),), n_splits=3, C=(0.3,),
                           class_weight=(None,)).fit(make_rows(articles=6, per_article=5, seed=8))
    assert predict._reads_hashtags(aware)  # in the features a TargetAugmenter fitted


def test_the_default_writes_the_file_one_process_writes(hashtag_model, tmp_path, monkeypatch):
    monkeypatch.setattr(predict, "default_jobs", lambda: 2)
    tasks = tasks_with_hashtags(90)
    write_predictions(hashtag_model, iter(tasks), tmp_path / "one.json", SCHEME, model_version="m@1", batch_size=20,
                      jobs=1)
    features._WORDS_OF_TAG.clear()  # the parent segments them again, for the workers
    write_predictions(hashtag_model, iter(tasks), tmp_path / "auto.json", SCHEME, model_version="m@1", batch_size=20,
                      jobs=None)
    assert (tmp_path / "auto.json").read_bytes() == (tmp_path / "one.json").read_bytes()
    assert "StopTheWarNow" in features._WORDS_OF_TAG


def test_the_command_line_takes_one_job_or_more():
    from annotate.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["predict", "m", "t.json", "-o", "p.json"]).jobs is None
    assert parser.parse_args(["predict", "m", "t.json", "-o", "p.json", "--jobs", "3"]).jobs == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["predict", "m", "t.json", "-o", "p.json", "--jobs", "0"])
