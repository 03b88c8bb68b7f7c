"""What to label next: a batch of tasks that name the targets, balanced and spread, plus some that name none.

``stance sample`` reads a ``stance tasks`` file twice, streaming, and keeps only a bounded pool
of candidates in memory (a few times the batch size per target), so its peak memory does not
grow with the file:

1. Every task gets a key from a hash of the seed and its sentence id (so the choice does not
   depend on the file's order and is the same on every run with the same seed). Per target,
   the tasks naming it with the smallest keys are kept as candidates; so are the tasks that
   name no target. Tasks the project already has (``--project``) are never candidates.
2. With ``--model``, the candidates are scored by the margin ``stance predict`` uses (the
   smallest top-two probability margin over the questions) and the least sure come first;
   without it, the key order (random) is the order.
3. The batch is filled target by target, always for the target with the fewest chosen so far
   (a task naming two targets counts for both), taking that target's next candidate whose
   article holds fewer than ``ceil(n / articles)`` of the batch (the spread), or, when the
   target has none left within the spread, fewer than a tenth of the batch (no article fills
   it); then ``--unmentioned`` of the batch from the tasks that name no target (NONE must still
   be learnt, and recall measured). Whatever one pool cannot fill, the other fills; only a
   batch that cannot be filled otherwise drops the caps, and says so.
4. The chosen tasks are written, in the order of the file, as an import file for ``stance push``.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .errors import InputError
from .files import write_json_list
from .scheme import Scheme

POOL_FACTOR = 4  # candidates kept per target: this many times the batch size
MAX_ARTICLE_SHARE = 0.1  # no article holds more of a batch than this (or the spread, when larger)
DEFAULT_UNMENTIONED = 0.2


@dataclass
class SampleCounts:
    """What ``stance sample`` read and chose; per target, tasks naming it in the file and in the batch."""

    tasks: int = 0
    articles: int = 0
    in_project: int = 0
    unmentioned: int = 0
    mentioning: Counter = field(default_factory=Counter)
    chosen: int = 0
    chosen_unmentioned: int = 0
    chosen_mentioning: Counter = field(default_factory=Counter)
    chosen_articles: int = 0
    largest_article_share: float = 0.0
    cap: int = 0
    max_per_article: int = 0
    cap_relaxed: bool = False
    scored_by: str | None = None


def task_key(seed: int, sentence_id: str) -> int:
    """A task's place in the random order of ``seed``: 64 bits of a hash, the same on every machine."""
    digest = hashlib.blake2b(f"{seed}\x00{sentence_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _tasks(path: str | os.PathLike[str], scheme: Scheme) -> Iterator[dict]:
    from .studio import read_tasks

    return read_tasks(path, scheme)


def sample_tasks(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    scheme: Scheme,
    *,
    n: int,
    seed: int = 0,
    unmentioned: float = DEFAULT_UNMENTIONED,
    exclude: set[str] | frozenset[str] = frozenset(),
    score: Callable[[list[dict]], Sequence[float]] | None = None,
    scored_by: str | None = None,
    on_task: Callable[[int], None] | None = None,
) -> SampleCounts:
    """Choose ``n`` tasks of the tasks file ``path`` to label next and write them to ``output``.

    Parameters
    ----------
    path : path
        A ``stance tasks`` import file (its tasks carry ``targets_mentioned``).
    output : path
        Where the chosen tasks go (an import file, the tasks as they were).
    scheme : Scheme
        The scheme of the tasks.
    n : int
        The batch size; fewer when the file has fewer candidates.
    seed : int
        The random order's seed.
    unmentioned : float
        Share of the batch from tasks that name no target, 0 to 1.
    exclude : set of str
        Sentence ids never to choose (those the project has).
    score : callable, optional
        Maps candidate tasks to uncertainty scores (lower is less sure); least sure first.
    scored_by : str, optional
        What scored them, for the counts.
    on_task : callable, optional
        Called with 1 for each task read in the first pass.
    """
    if n < 1:
        raise InputError(f"-n must be 1 or more, not {n}", fix="say how many tasks to choose, e.g. -n 500")
    if not 0 <= unmentioned <= 1:
        raise InputError(f"--unmentioned must be between 0 and 1, not {unmentioned}",
                         fix="give a share, e.g. --unmentioned 0.2")
    counts = SampleCounts(scored_by=scored_by)
    pool = POOL_FACTOR * n
    heaps: dict[str | None, list[tuple[int, str]]] = {t: [] for t in scheme.target_ids}
    heaps[None] = []  # the tasks that name no target
    articles: set[str] = set()
    for task in _tasks(path, scheme):
        counts.tasks += 1
        if on_task is not None:
            on_task(1)
        data = task["data"]
        articles.add(data["article_id"])
        sentence_id = data["sentence_id"]
        if sentence_id in exclude:
            counts.in_project += 1
            continue
        named = data.get("targets_mentioned") or []
        counts.mentioning.update(named)
        if not named:
            counts.unmentioned += 1
        key = -task_key(seed, sentence_id)  # max-heap of the smallest keys
        for target in named or [None]:
            heap = heaps.get(target)
            if heap is None:
                raise InputError(f"task names target {target!r}, which scheme {scheme.id!r} lacks",
                                 path=path, where=f"sentence {sentence_id}", fix="make the tasks with this scheme")
            if len(heap) < pool:
                heapq.heappush(heap, (key, sentence_id))
            elif key > heap[0][0]:
                heapq.heapreplace(heap, (key, sentence_id))
    counts.articles = len(articles)
    del articles

    wanted = {sid for heap in heaps.values() for _, sid in heap}
    candidates: dict[str, dict] = {}
    for task in _tasks(path, scheme):
        sid = task["data"]["sentence_id"]
        if sid in wanted:
            candidates[sid] = task
    order = _order(candidates, seed, score)
    ranked = {target: sorted((sid for _, sid in heap), key=order.__getitem__) for target, heap in heaps.items()}
    chosen = _choose(ranked, candidates, scheme.target_ids, n=n, unmentioned=unmentioned, counts=counts)

    chosen_set = set(chosen)

    def in_file_order() -> Iterator[dict]:
        for task in _tasks(path, scheme):
            if task["data"]["sentence_id"] in chosen_set:
                yield task
    write_json_list(in_file_order(), output)
    per_article = Counter(candidates[sid]["data"]["article_id"] for sid in chosen)
    counts.chosen = len(chosen)
    counts.chosen_articles = len(per_article)
    counts.largest_article_share = max(per_article.values()) / len(chosen) if chosen else 0.0
    for sid in chosen:
        named = candidates[sid]["data"].get("targets_mentioned") or []
        counts.chosen_mentioning.update(named)
        counts.chosen_unmentioned += not named
    return counts


def _order(candidates: Mapping[str, dict], seed: int,
           score: Callable[[list[dict]], Sequence[float]] | None) -> dict[str, tuple]:
    """Each candidate's rank key: (uncertainty score, random key) with a model, else the random key."""
    ids = sorted(candidates)
    if score is None:
        return {sid: (task_key(seed, sid),) for sid in ids}
    scores = score([candidates[sid] for sid in ids])
    return {sid: (float(s), task_key(seed, sid)) for sid, s in zip(ids, scores)}


def _choose(ranked: Mapping[str | None, list[str]], candidates: Mapping[str, dict], targets: Sequence[str], *,
            n: int, unmentioned: float, counts: SampleCounts) -> list[str]:
    """Fill the batch: targets balanced (fewest chosen first), articles capped, then the unmentioned share.

    Two caps per article: the spread (``ceil(n / articles)``), which a target's next task keeps
    to while it can, and the most any article may hold (``max(spread, ceil(n * MAX_ARTICLE_SHARE))``),
    which a target whose tasks crowd into few articles may go up to, so that rare targets are not
    starved by the spread. Only when the batch cannot be filled otherwise are the caps dropped.
    """
    article = {sid: task["data"]["article_id"] for sid, task in candidates.items()}
    all_articles = {article[sid] for queue in ranked.values() for sid in queue}
    counts.cap = spread = max(1, math.ceil(n / max(1, len(all_articles))))
    counts.max_per_article = most = max(spread, math.ceil(n * MAX_ARTICLE_SHARE))
    mentioning_available = len({sid for target in targets for sid in ranked[target]})
    want_unmentioned = min(len(ranked[None]), round(n * unmentioned))
    want_mentioning = min(mentioning_available, n - want_unmentioned)
    want_unmentioned = min(len(ranked[None]), n - want_mentioning)  # the other pool fills the gap

    chosen: list[str] = []
    taken: set[str] = set()
    per_article: Counter = Counter()
    credit: Counter = Counter({t: 0 for t in targets})

    def next_from(target: str | None, cap: float) -> str | None:
        for sid in ranked[target]:
            if sid not in taken and per_article[article[sid]] < cap:
                return sid
        return None

    def best_of(target: str | None, cap: float) -> str | None:
        """The target's next candidate within the spread, else within ``cap``."""
        return next_from(target, min(spread, cap)) or next_from(target, cap)

    def take(sid: str) -> None:
        chosen.append(sid)
        taken.add(sid)
        per_article[article[sid]] += 1
        credit.update(candidates[sid]["data"].get("targets_mentioned") or [])

    got = {"mentioning": 0, "unmentioned": 0}
    for cap in (most, math.inf):
        before = len(chosen)
        while got["mentioning"] < want_mentioning:
            options = {t: best_of(t, cap) for t in targets}
            open_targets = [t for t in targets if options[t] is not None]
            if not open_targets:
                break
            take(options[min(open_targets, key=lambda t: (credit[t], targets.index(t)))])
            got["mentioning"] += 1
        while got["unmentioned"] < want_unmentioned:
            sid = best_of(None, cap)
            if sid is None:
                break
            take(sid)
            got["unmentioned"] += 1
        if cap == math.inf:
            counts.cap_relaxed = len(chosen) > before
        if got["mentioning"] >= want_mentioning and got["unmentioned"] >= want_unmentioned:
            break
    return chosen
