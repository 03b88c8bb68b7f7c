"""stance sample: tasks naming the targets, balanced and spread over articles, plus a share naming none."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from annotate.corpus import Article
from annotate.errors import InputError
from annotate.sample import sample_tasks
from annotate.scheme import parse_scheme, load_scheme
from annotate.tasks import write_tasks

from helpers import run

SEEDS_SCHEME = load_scheme()


def corpus_scheme():
    data = SEEDS_SCHEME.model_dump(mode="json")
    data["id"] = "sample-test/v1"
    data["targets"] = [
        {"id": "acme", "name": "Acme Corp", "description": "the company", "aliases": ["Acme"]},
        {"id": "zorn", "name": "Mayor Zorn", "description": "the mayor", "aliases": ["Zorn"]},
        {"id": "rare", "name": "The Rare Party", "description": "a small party", "aliases": ["Rare Party"]},
    ]
    return parse_scheme(data)


SCHEME = corpus_scheme()


def make_corpus(path: Path, *, articles: int = 40, seed: int = 1) -> Path:
    """Articles of ten sentences; Acme named often (and crowded into article 0), Zorn less, the Rare Party twice."""
    rng = random.Random(seed)
    out = []
    for a in range(articles):
        sentences = []
        for s in range(10):
            words = rng.choice(["The weather was mild", "Markets opened late", "A bridge was closed",
                                "Schools reopened on Monday"])
            if a == 0 or rng.random() < 0.15:
                words = f"Acme said the plan {s} works"
            elif rng.random() < 0.08:
                words = f"Zorn rejected the plan {s}"
            if (a, s) in ((3, 4), (17, 2)):
                words = f"The Rare Party spoke {s}"
            sentences.append(f"{words} in article {a}.")
        out.append(Article(id=f"art{a:03d}", text=" ".join(sentences), sha256="0" * 64,
                           origin={"file": "test", "line": a + 1}))
    write_tasks(out, path, SCHEME)
    return path


def read(path: Path) -> list[dict]:
    return [t["data"] for t in json.loads(path.read_text())]


def test_the_batch_balances_targets_spreads_articles_and_keeps_a_share_naming_none(tmp_path):
    tasks = make_corpus(tmp_path / "tasks.json")
    counts = sample_tasks(tasks, tmp_path / "batch.json", SCHEME, n=50, seed=0)
    batch = read(tmp_path / "batch.json")
    assert len(batch) == counts.chosen == 50
    named = Counter(t for d in batch for t in d["targets_mentioned"])
    assert named["rare"] == 2  # every task naming the rare target is taken
    assert abs(named["acme"] - named["zorn"]) <= 2 or named["zorn"] == counts.mentioning["zorn"]
    assert sum(not d["targets_mentioned"] for d in batch) == counts.chosen_unmentioned == 10  # 20% of 50
    per_article = Counter(d["article_id"] for d in batch)
    assert counts.cap == 2 and counts.max_per_article == 5  # ceil(50 / 40), and a tenth of the batch
    assert max(per_article.values()) <= 5 and per_article["art000"] <= 2  # article 0 (all Acme) cannot fill it
    assert sum(v > 2 for v in per_article.values()) <= 2  # beyond the spread only where a rare target is
    assert not counts.cap_relaxed
    assert counts.tasks == 400 and counts.articles == 40
    assert counts.mentioning == Counter(t for d in read(tasks) for t in d["targets_mentioned"])


def test_the_same_seed_the_same_batch_whatever_the_file_order(tmp_path):
    tasks = make_corpus(tmp_path / "tasks.json")
    lines = tasks.read_text().splitlines()
    body = lines[1:-1]
    random.Random(5).shuffle(body)
    shuffled = tmp_path / "shuffled.json"
    shuffled.write_text("\n".join(["[", *(b.rstrip(",") + "," for b in body[:-1]), body[-1].rstrip(","), "]"]) + "\n")
    ids = {}
    for name, path, seed in (("a", tasks, 7), ("b", tasks, 7), ("c", shuffled, 7), ("d", tasks, 8)):
        sample_tasks(path, tmp_path / f"{name}.json", SCHEME, n=30, seed=seed)
        ids[name] = {d["sentence_id"] for d in read(tmp_path / f"{name}.json")}
    assert ids["a"] == ids["b"] == ids["c"]
    assert ids["a"] != ids["d"]


def test_tasks_the_project_has_are_never_chosen_and_a_small_file_gives_what_it_has(tmp_path):
    tasks = make_corpus(tmp_path / "tasks.json", articles=5)
    first = sample_tasks(tasks, tmp_path / "b1.json", SCHEME, n=20, seed=0)
    had = {d["sentence_id"] for d in read(tmp_path / "b1.json")}
    second = sample_tasks(tasks, tmp_path / "b2.json", SCHEME, n=20, seed=0, exclude=had)
    again = {d["sentence_id"] for d in read(tmp_path / "b2.json")}
    assert not had & again and second.in_project == 20 == first.chosen
    everything = sample_tasks(tasks, tmp_path / "all.json", SCHEME, n=1000, seed=0)
    assert everything.chosen == 50  # all of it, the cap relaxed to fill what can be filled
    assert everything.cap_relaxed is False or everything.chosen == 50


def test_with_a_score_the_least_sure_candidates_come_first(tmp_path):
    tasks = make_corpus(tmp_path / "tasks.json")
    data = read(tasks)
    other = {d["article_id"] for d in data if d["targets_mentioned"] not in ([], ["acme"])}
    by_article = {d["article_id"]: d["sentence_id"] for d in data
                  if d["targets_mentioned"] == ["acme"] and d["article_id"] not in other}
    unsure = set(sorted(by_article.values())[-5:])  # five articles' (the cap is one per article here)

    def score(batch: list[dict]) -> list[float]:  # the five chosen ones are the least sure
        return [0.01 if t["data"]["sentence_id"] in unsure else 0.9 for t in batch]
    sample_tasks(tasks, tmp_path / "b.json", SCHEME, n=20, seed=0, unmentioned=0, score=score, scored_by="m")
    chosen = {d["sentence_id"] for d in read(tmp_path / "b.json")}
    assert unsure <= chosen


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "-n must be 1 or more, not 0"),
    ({"n": 5, "unmentioned": 1.5}, "--unmentioned must be between 0 and 1, not 1.5"),
])
def test_bad_options(tmp_path, kwargs, message):
    tasks = make_corpus(tmp_path / "tasks.json", articles=2)
    with pytest.raises(InputError, match=message):
        sample_tasks(tasks, tmp_path / "b.json", SCHEME, **kwargs)


def test_the_command_prints_per_target_counts_and_needs_no_scheme(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STANCE_SCHEMES", str(tmp_path / "store"))
    repo = Path(__file__).resolve().parents[1]
    code, out, err = run(capsys, "tasks", str(repo / "seeds"), "-o", str(tmp_path / "tasks.json"))
    assert code == 0 and "libya-seeds/v1 (the seeds' scheme" in out
    code, out, err = run(capsys, "sample", str(tmp_path / "tasks.json"), "-n", "13", "-o", str(tmp_path / "b.json"))
    assert code == 0, err
    assert out.splitlines() == [
        "read 21 tasks of 2 articles",
        "target           tasks naming it  chosen",
        "haftar_lna                     8       8",
        "gna                            3       3",
        "turkey_military                6       6",
        "any target                    10      10",
        "no target                     11       3",
        "(a task that names several targets counts in the row of each; 'any target' counts it once)",
        "chose 13 tasks (in a random order of the seed) from 2 articles, at most 7 per article; the largest "
        "article holds 54% of the batch",
        f"wrote 13 tasks to {tmp_path / 'b.json'} (seed 0); push them with `stance push {tmp_path / 'b.json'} "
        "--project NAME`",
    ]
