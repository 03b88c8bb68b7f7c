"""Train, dev and test splits that keep every article whole: the numbers behind ``stance split``.

Sentences of one article share its topic, its sources and its wording, so a test sentence
whose article is also in training would be scored too kindly. :func:`split_by_article` puts
every article, with all its sentences, into exactly one split, and stratifies as far as whole
articles allow: articles are placed one at a time, largest first, each into the split where it
brings the label counts (of every question: claim, stance per target) and the row count
nearest to the asked shares. Article order is drawn from ``seed`` over the sorted article ids,
so the same rows and seed give the same splits whatever order the rows come in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .errors import SplitError
from .labeling import CLAIM_CONTROL

SPLITS = ("train", "dev", "test")


def _plain(row: Any) -> dict:
    return row.model_dump() if hasattr(row, "model_dump") else dict(row)


def row_labels(row: Mapping[str, Any]) -> list[str]:
    """The labels of one gold row as ``question:label`` strings (null labels left out).

    >>> row_labels({"claim": "CLAIM", "stance": {"gna": "FAVOR", "turkey": None}})
    ['claim:CLAIM', 'stance_gna:FAVOR']
    """
    out = [f"{CLAIM_CONTROL}:{row[CLAIM_CONTROL]}"] if row.get(CLAIM_CONTROL) is not None else []
    out += [f"stance_{t}:{label}" for t, label in (row.get("stance") or {}).items() if label is not None]
    return out


def split_by_article(
    rows: Iterable[Mapping[str, Any]],
    *,
    dev: float = 0.1,
    test: float = 0.2,
    seed: int = 0,
) -> dict[str, list[dict]]:
    """Split gold rows into ``train``, ``dev`` and ``test``, every article whole in one of them.

    Parameters
    ----------
    rows : iterable of dict
        Gold rows with ``article_id`` (and labels: ``claim``, ``stance``, as ``stance adjudicate``
        writes them); pydantic models are accepted too.
    dev, test : float
        The shares of rows asked for dev and test, each in [0, 1), together under 1; ``dev=0``
        asks for no dev split (its list is then empty).
    seed : int
        Seeds the order in which articles are placed.

    Returns
    -------
    dict of str to list of dict
        ``{"train": [...], "dev": [...], "test": [...]}``; inside a split, rows keep their input order.

    Raises
    ------
    SplitError
        Shares out of range, or fewer articles than splits asked for (each asked split gets at
        least one article; train needs one too), with what to do.
    """
    if not (0 <= dev < 1 and 0 <= test < 1 and dev + test < 1):
        raise SplitError(f"dev {dev} and test {test} must each be in [0, 1) and add up to less than 1",
                         fix="e.g. --dev 0.1 --test 0.2")
    rows = [_plain(r) for r in rows]
    for number, row in enumerate(rows, 1):
        if not isinstance(row.get("article_id"), str) or not row["article_id"]:
            raise SplitError("row without an article_id", where=f"row {number}",
                             fix="split gold rows written by `stance adjudicate`")
    shares = {"train": 1 - dev - test, "dev": dev, "test": test}
    asked = [name for name in SPLITS if shares[name] > 0]
    articles = sorted({r["article_id"] for r in rows})
    if len(articles) < len(asked):
        raise SplitError(
            f"{len(rows)} rows from {len(articles)} article{'s' * (len(articles) != 1)}: too few for "
            f"{len(asked)} splits ({', '.join(asked)}), since every article stays whole in one split",
            fix="label more articles, or ask for fewer splits (--dev 0 leaves out dev)")

    by_article: dict[str, list[int]] = {a: [] for a in articles}
    for i, row in enumerate(rows):
        by_article[row["article_id"]].append(i)
    keys = sorted({label for r in rows for label in row_labels(r)})
    index = {k: j for j, k in enumerate(keys)}
    # Per article: its rows, then its count of every question:label.
    counts = np.zeros((len(articles), 1 + len(keys)))
    for a, name in enumerate(articles):
        counts[a, 0] = len(by_article[name])
        for i in by_article[name]:
            for label in row_labels(rows[i]):
                counts[a, 1 + index[label]] += 1
    totals = counts.sum(axis=0)
    want = np.array([shares[name] for name in asked])[:, None] * totals[None, :]  # (splits, 1 + keys)
    scale = np.where(totals > 0, totals, 1.0)

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(articles))
    order = order[np.argsort(-counts[order, 0], kind="stable")]  # largest first; ties in the seeded order
    have = np.zeros_like(want)
    n_articles = np.zeros(len(asked), dtype=int)
    placed = np.empty(len(articles), dtype=int)
    for step, a in enumerate(order):
        empty = [s for s in range(len(asked)) if n_articles[s] == 0]
        left = len(order) - step
        candidates = empty if len(empty) >= left else range(len(asked))
        best, best_cost = -1, np.inf
        for s in candidates:
            trial = have.copy()
            trial[s] += counts[a]
            # Squared shortfall and excess of every count, relative to its total; rows count as much
            # as all labels together so that sizes stay near the shares.
            gap = ((trial - want) / scale) ** 2
            cost = gap[:, 0].sum() * max(len(keys), 1) + gap[:, 1:].sum()
            if cost < best_cost - 1e-12:
                best, best_cost = s, cost
        placed[a] = best
        have[best] += counts[a]
        n_articles[best] += 1
    split_of = {articles[a]: asked[placed[a]] for a in range(len(articles))}
    out: dict[str, list[dict]] = {name: [] for name in SPLITS}
    for row in rows:
        out[split_of[row["article_id"]]].append(row)
    return out


class SplitCounts(BaseModel):
    """Size and label counts of one split."""

    model_config = ConfigDict(extra="forbid")

    split: str
    articles: int
    rows: int
    labels: dict[str, dict[str, int]] = Field(description="question -> label -> rows")


def split_counts(splits: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[SplitCounts]:
    """Articles, rows and label counts per question of every split, in the order given."""
    out = []
    for name, rows in splits.items():
        labels: dict[str, Counter] = {}
        for row in rows:
            for item in row_labels(row):
                question, label = item.rsplit(":", 1)
                labels.setdefault(question, Counter())[label] += 1
        ordered = sorted(labels, key=lambda q: (q != CLAIM_CONTROL, q))
        out.append(SplitCounts(split=name, articles=len({r["article_id"] for r in rows}), rows=len(rows),
                               labels={q: dict(sorted(labels[q].items())) for q in ordered}))
    return out


def describe(counts: Sequence[SplitCounts]) -> list[str]:
    """One line per split for the terminal: ``train: 16 rows from 2 articles; claim CLAIM 12, NO_CLAIM 4; ...``."""
    lines = []
    for c in counts:
        parts = [f"{q} " + ", ".join(f"{label} {n}" for label, n in labels.items()) for q, labels in c.labels.items()]
        lines.append(f"{c.split}: {c.rows} row{'s' * (c.rows != 1)} from {c.articles} article{'s' * (c.articles != 1)}"
                     + ("; " + "; ".join(parts) if parts else ""))
    return lines
