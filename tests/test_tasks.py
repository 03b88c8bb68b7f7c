"""Label Studio tasks: one per sentence, exact offsets, stable ids, every config field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from annotate.corpus import iter_articles
from annotate.labeling import config_fields, labeling_config, mentions_prediction
from annotate.scheme import load_scheme
from annotate.tasks import write_tasks

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SCHEME = load_scheme()


def make_tasks(inputs, path: Path, **kwargs) -> list[dict]:
    write_tasks(iter_articles(inputs), path, load_scheme(), **kwargs)
    return json.loads(path.read_text(encoding="utf-8"))


def test_seed_tasks_hold_every_field_and_exact_offsets(tmp_path):
    tasks = make_tasks([SEEDS], tmp_path / "t.json")
    articles = {a.id: a for a in iter_articles([SEEDS])}
    assert len(tasks) == 21
    fields = config_fields(labeling_config(load_scheme()))
    for task in tasks:
        data = task["data"]
        assert list(task) == (["data", "predictions"] if data["mentions"] else ["data"])
        assert fields <= data.keys()
        assert articles[data["article_id"]].text[data["start"]:data["end"]] == data["text"]
        assert data["sentence_id"] == f"{data['article_id']}:{data['start']}-{data['end']}"
        assert data["scheme"] == "libya-seeds/v1"
        assert data["splitter"] == "sentencex 1.0.32 (en)"
    assert len({t["data"]["sentence_id"] for t in tasks}) == len(tasks)
    # No task holds the trailing credit.
    assert not any("Xinhau" in t["data"]["text"] for t in tasks)


def test_context_is_the_neighbouring_sentences(tmp_path):
    tasks = [t["data"] for t in make_tasks([SEEDS], tmp_path / "t.json")]
    first = [t for t in tasks if t["article_id"] == "004_4c9b530dd287076b"]
    assert first[0]["context_before"] == ""
    assert first[0]["context_after"] == first[1]["text"]
    assert first[1]["context_before"] == first[0]["text"]
    assert first[-1]["context_after"] == ""
    wide = [t["data"] for t in make_tasks([SEEDS], tmp_path / "w.json", context=2)]
    wide = [t for t in wide if t["article_id"] == "004_4c9b530dd287076b"]
    article = next(a for a in iter_articles([SEEDS]) if a.id == "004_4c9b530dd287076b")
    assert wide[2]["context_before"] == article.text[first[0]["start"]:first[1]["end"]]
    assert "\n\n" in wide[2]["context_before"]


def test_rerun_is_byte_identical(tmp_path):
    write_tasks(iter_articles([SEEDS]), tmp_path / "a.json", load_scheme())
    write_tasks(iter_articles([SEEDS]), tmp_path / "b.json", load_scheme())
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_adding_or_removing_an_article_moves_no_other_id(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus, ignore=shutil.ignore_patterns("*.json", "*.md", "labels"))
    before = make_tasks([corpus], tmp_path / "before.json")
    (corpus / "001_new.txt").write_text(" date 2020-01-05 A new article. It sits between them.")
    middle = make_tasks([corpus], tmp_path / "middle.json")
    (corpus / "000_2e743664b03188b8.txt").unlink()
    after = make_tasks([corpus], tmp_path / "after.json")

    def by_article(tasks):
        out: dict[str, list] = {}
        for t in tasks:
            out.setdefault(t["data"]["article_id"], []).append(t)
        return out

    before, middle, after = by_article(before), by_article(middle), by_article(after)
    assert middle["000_2e743664b03188b8"] == before["000_2e743664b03188b8"]
    assert middle["004_4c9b530dd287076b"] == before["004_4c9b530dd287076b"]
    assert after["004_4c9b530dd287076b"] == before["004_4c9b530dd287076b"]
    assert after["001_new"] == middle["001_new"]
    assert [t["data"]["sentence_id"] for t in middle["001_new"]] == ["001_new:0-14", "001_new:15-36"]


def test_file_is_a_json_list_with_one_task_per_line(tmp_path):
    make_tasks([SEEDS], tmp_path / "t.json")
    lines = (tmp_path / "t.json").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    assert all(line.startswith('{"data":') for line in lines[1:-1])
    assert len(lines) == 21 + 2


def seed_task(tasks: list[dict], starts_with: str) -> dict:
    return next(t for t in tasks if t["data"]["text"].startswith(starts_with))


def test_every_task_carries_its_mentions_with_sentence_offsets(tmp_path):
    tasks = make_tasks([SEEDS], tmp_path / "t.json")
    for task in tasks:
        data = task["data"]
        for m in data["mentions"]:
            assert data["text"][m["start"]:m["end"]] == m["text"]
        assert data["targets_mentioned"] == [t for t in SCHEME.target_ids if t in {m["target"] for m in data["mentions"]}]
        assert not set(data["targets_in_context"]) & set(data["targets_mentioned"])
    sisi = seed_task(tasks, "Sisi's discussions with Putin")["data"]
    assert [(m["target"], m["text"]) for m in sisi["mentions"]] == [
        ("turkey_military", "Turkish"), ("turkey_military", "Erdogan"), ("turkey_military", "Turkey"),
        ("gna", "UN-backed Libyan government")]
    assert sisi["targets_mentioned"] == ["gna", "turkey_military"]
    assert sisi["targets_in_context"] == []
    possessive = seed_task(tasks, "He said that Haftar’s visit")["data"]
    assert [m["text"] for m in possessive["mentions"] if m["target"] == "haftar_lna"] == ["Haftar"]
    # the sentence before "Libya has been locked ..." names no target; its neighbour names two
    before = seed_task(tasks, "The spokesman added that Sisi")["data"]
    assert before["mentions"] == [] and before["targets_in_context"] == ["haftar_lna", "gna"]


def test_mentions_are_pre_annotated_as_read_only_regions_and_questions_move_first(tmp_path):
    tasks = make_tasks([SEEDS], tmp_path / "t.json")
    task = seed_task(tasks, "Sisi's discussions with Putin")
    [prediction] = task["predictions"]
    assert prediction["model_version"] == "stance-mentions@libya-seeds/v1"
    regions = [(r["from_name"], r["readonly"], r["value"]["labels"], r["value"]["text"]) for r in prediction["result"]]
    assert regions[0] == ("mention", True, ["turkey_military"], "Turkish") and len(regions) == 4
    where = task["data"]["where_to_look"]
    assert ".stance-q-gna { order: -1; }" in where and ".stance-q-turkey_military { order: -1; }" in where
    assert ".stance-q-haftar_lna" not in where
    assert "The UN-backed Government of National Accord (GNA) (“UN-backed Libyan government”)" in where
    quiet = seed_task(tasks, "Egypt is concerned")
    assert "predictions" not in quiet and "order" not in quiet["data"]["where_to_look"]


def test_counts_of_tasks_naming_each_target(tmp_path):
    counts = write_tasks(iter_articles([SEEDS]), tmp_path / "t.json", SCHEME)
    tasks = json.loads((tmp_path / "t.json").read_text())
    for target in SCHEME.target_ids:
        assert counts.mentioning[target] == sum(target in t["data"]["targets_mentioned"] for t in tasks)
        assert counts.in_context[target] == sum(target in t["data"]["targets_in_context"] for t in tasks)
    assert counts.with_mentions == sum(bool(t["data"]["mentions"]) for t in tasks) == 10
    assert counts.mentioning == {"haftar_lna": 8, "gna": 3, "turkey_military": 6}


def test_a_scheme_without_aliases_finds_no_mention(tmp_path):
    old = load_scheme(REPO / "tests" / "fixtures" / "scheme-stance-claim-v1.json")
    write_tasks(iter_articles([SEEDS]), tmp_path / "t.json", old)
    tasks = json.loads((tmp_path / "t.json").read_text())
    assert all(t["data"]["mentions"] == [] and t["data"]["scheme"] == "stance-claim/v1" for t in tasks)


def test_worker_processes_write_the_same_bytes(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(
        json.dumps({"id": f"a{i:03d}", "text": f"Haftar met the GNA in Tripoli on day {i}. Turkey said nothing. "
                    f"The weather was fine. Erdogan spoke {i} times."}) + "\n" for i in range(150)))
    one = write_tasks(iter_articles([corpus]), tmp_path / "one.json", SCHEME, jobs=1)
    two = write_tasks(iter_articles([corpus]), tmp_path / "two.json", SCHEME, jobs=2)
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()
    assert one == two and one.articles == 150 and one.sentences == 600
    assert one.mentioning == {"haftar_lna": 150, "gna": 150, "turkey_military": 300}


def test_each_line_is_the_canonical_json_of_its_task_whatever_the_characters(tmp_path):
    """The lines are assembled from escaped pieces: each must be exactly what ``dumps`` makes of the
    task it holds (keys in TaskData's order), for quotes, backslashes, control characters, line and
    paragraph separators, characters outside the BMP, in the text, the id, the title; any context."""
    from annotate.files import dumps
    from annotate.tasks import Task, TaskData

    odd = ['He said "Haftar\\\'s men" left.', "Tab\there, bell \x07 and NUL-free \x1f end.",
           "Line\u2028sep and para\u2029sep: the GNA.", "Emoji 😀 before Erdogan’s plan.",
           "Back\\slash \\u0041 not an escape.", "Del \x7f and é ü ß in Tripoli."]
    corpus = tmp_path / "odd.jsonl"
    corpus.write_text("".join(json.dumps({
        "id": f'a"{i}\\x', "title": f'T "{i}"\n\\', "date": "2020-01-0" + str(i + 1),
        "text": " ".join(odd[i:] + odd[:i])}) + "\n" for i in range(len(odd))), encoding="utf-8")
    fields = list(TaskData.model_fields)
    for context in (0, 1, 2, 3):
        path = tmp_path / f"c{context}.json"
        write_tasks(iter_articles([corpus]), path, SCHEME, context=context, jobs=1)
        lines = path.read_text(encoding="utf-8").split("\n")[1:-2]
        assert len(lines) >= 6 * len(odd)
        articles = {a.id: a.text for a in iter_articles([corpus])}
        for line in lines:
            line = line.removesuffix(",")
            task = json.loads(line)
            assert line == dumps(task)
            assert list(task["data"]) == fields
            Task.model_validate(task)
            data = task["data"]
            assert articles[data["article_id"]][data["start"]:data["end"]] == data["text"]
            # The highlights are the mentions' regions, offsets in UTF-16 units after the emoji.
            assert task.get("predictions", []) == ([mentions_prediction(data["mentions"], data["text"], SCHEME)]
                                           if data["mentions"] else [])
            wide = data["text"].find("😀")
            for m, region in zip(data["mentions"], (task.get("predictions") or [{"result": []}])[0]["result"]):
                shift = 1 if 0 <= wide < m["start"] else 0
                assert (region["value"]["start"], region["value"]["end"]) == (m["start"] + shift, m["end"] + shift)
                assert data["text"][m["start"]:m["end"]] == m["text"] == region["value"]["text"]
        assert any("😀" in d["text"][:m["start"]] for d in (json.loads(x.removesuffix(","))["data"] for x in lines)
                   for m in d["mentions"]), "no mention after a character outside the BMP"
        named = [json.loads(line.removesuffix(","))["data"] for line in lines]
        assert any(d["mentions"] for d in named)
        assert any(d["targets_in_context"] for d in named) == (context > 0)
        if context == 0:
            assert all(d["context_before"] == d["context_after"] == "" for d in named)
