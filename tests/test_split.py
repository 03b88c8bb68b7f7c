"""Splits by article: whole articles, stratified, reproducible, and a clear error when data is short."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.errors import AnnotateError
from annotate.split import SplitCounts, SplitError, describe, split_by_article, split_counts

LABELS = ["FAVOR", "AGAINST", "NONE"]


def row(article: str, n: int, claim: str | None = "CLAIM", stance: dict | None = None) -> dict:
    return {"sentence_id": f"{article}:{n}", "article_id": article, "text": f"sentence {n} of {article}",
            "claim": claim, "stance": stance if stance is not None else {"gna": "NONE"}}


rows_st = st.lists(
    st.builds(row, article=st.sampled_from([f"a{i}" for i in range(12)]), n=st.integers(0, 10_000),
              claim=st.sampled_from(["CLAIM", "NO_CLAIM", None]),
              stance=st.dictionaries(st.sampled_from(["gna", "lna"]), st.sampled_from(LABELS))),
    min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(rows=rows_st, seed=st.integers(0, 2**32 - 1), dev=st.sampled_from([0.0, 0.1, 0.2]),
       test=st.sampled_from([0.1, 0.2, 0.3]))
def test_every_article_whole_in_one_split_and_every_row_in_exactly_one(rows, seed, dev, test):
    asked = 2 + (dev > 0)
    if len({r["article_id"] for r in rows}) < asked:
        with pytest.raises(SplitError, match="too few for"):
            split_by_article(rows, dev=dev, test=test, seed=seed)
        return
    splits = split_by_article(rows, dev=dev, test=test, seed=seed)
    assert list(splits) == ["train", "dev", "test"]
    where = {}
    for name, part in splits.items():
        for r in part:
            assert where.setdefault(r["article_id"], name) == name  # an article never in two splits
    assert sorted(map(repr, (r for part in splits.values() for r in part))) == sorted(map(repr, rows))
    for name in ("train", "test") + (("dev",) if dev else ()):
        assert splits[name], f"{name} is empty"  # every asked split gets at least one article
    if not dev:
        assert splits["dev"] == []
    # Reproducible, and independent of the order the rows come in.
    assert split_by_article(rows, dev=dev, test=test, seed=seed) == splits
    again = split_by_article(list(reversed(rows)), dev=dev, test=test, seed=seed)
    assert {n: sorted(map(repr, p)) for n, p in again.items()} == {n: sorted(map(repr, p)) for n, p in splits.items()}


def test_rows_keep_their_order_inside_a_split():
    rows = [row(f"a{i % 5}", i) for i in range(50)]
    for part in split_by_article(rows, dev=0.2, test=0.2, seed=3).values():
        assert [r["sentence_id"] for r in part] == [r["sentence_id"] for r in rows if r in part]


def test_shares_are_met_as_far_as_articles_allow():
    rows = [row(f"a{a}", n) for a in range(100) for n in range(5)]  # 100 articles of 5 sentences
    sizes = {name: len(part) for name, part in split_by_article(rows, dev=0.1, test=0.2, seed=0).items()}
    assert sizes == {"train": 350, "dev": 50, "test": 100}


def test_stratifies_a_rare_label_across_the_splits():
    # 40 articles of 4 sentences; 10 of them carry the only AGAINST labels (2 each, 20 in all).
    rows = []
    for a in range(40):
        for n in range(4):
            label = "AGAINST" if a % 4 == 0 and n < 2 else "NONE"
            rows.append(row(f"a{a:02d}", n, stance={"gna": label}))
    for seed in range(5):
        splits = split_by_article(rows, dev=0.25, test=0.25, seed=seed)
        against = {name: sum(r["stance"]["gna"] == "AGAINST" for r in part) for name, part in splits.items()}
        assert against == {"train": 10, "dev": 4, "test": 6} or against == {"train": 10, "dev": 6, "test": 4}, against


def test_different_seeds_give_different_splits():
    rows = [row(f"a{a}", n) for a in range(30) for n in range(3)]
    tests = {tuple(sorted({r["article_id"] for r in split_by_article(rows, dev=0.0, test=0.3, seed=s)["test"]}))
             for s in range(5)}
    assert len(tests) > 1


def test_too_little_data_is_an_error_with_a_fix():
    rows = [row("000_2e743664b03188b8", n) for n in range(12)] + [row("004_4c9b530dd287076b", n) for n in range(9)]
    with pytest.raises(SplitError) as caught:
        split_by_article(rows, dev=0.1, test=0.2)
    error = caught.value
    assert isinstance(error, AnnotateError)
    assert error.message == ("21 rows from 2 articles: too few for 3 splits (train, dev, test), since every "
                             "article stays whole in one split; label more articles, or ask for fewer splits "
                             "(--dev 0 leaves out dev)")
    splits = split_by_article(rows, dev=0.0, test=0.2)  # two splits from two articles work
    assert len(splits["train"]) + len(splits["test"]) == 21 and splits["train"] and splits["test"]
    with pytest.raises(SplitError, match="0 rows from 0 articles"):
        split_by_article([], dev=0.0, test=0.2)


@pytest.mark.parametrize("dev, test", [(-0.1, 0.2), (0.5, 0.5), (0.1, 1.0)])
def test_shares_out_of_range(dev, test):
    with pytest.raises(SplitError, match="must each be in \\[0, 1\\) and add up to less than 1"):
        split_by_article([row("a", 1), row("b", 2), row("c", 3)], dev=dev, test=test)


def test_row_without_article_id():
    with pytest.raises(SplitError, match="row 2: row without an article_id"):
        split_by_article([row("a", 1), {"text": "x"}], dev=0, test=0.5)


def test_counts_and_description():
    rows = [row("a", 1, "CLAIM", {"gna": "FAVOR"}), row("a", 2, None, {"gna": "NONE", "lna": "AGAINST"}),
            row("b", 3, "NO_CLAIM", {})]
    counts = split_counts({"train": rows[:2], "dev": [], "test": rows[2:]})
    assert counts[0] == SplitCounts(split="train", articles=1, rows=2, labels={
        "claim": {"CLAIM": 1}, "stance_gna": {"FAVOR": 1, "NONE": 1}, "stance_lna": {"AGAINST": 1}})
    assert describe(counts) == [
        "train: 2 rows from 1 article; claim CLAIM 1; stance_gna FAVOR 1, NONE 1; stance_lna AGAINST 1",
        "dev: 0 rows from 0 articles",
        "test: 1 row from 1 article; claim NO_CLAIM 1",
    ]
    assert Counter(c.rows for c in counts) == Counter({2: 1, 0: 1, 1: 1})
