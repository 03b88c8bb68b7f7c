#!/usr/bin/env python3
"""Measure ``stance read`` on large Label Studio exports: speed, and memory that stays flat.

The exports are made from the real recorded export of the seeds
(``seeds/example-export-ls-1.23.2.json``: 21 tasks, two annotators each): its tasks are
repeated with new task and annotation ids (and sentence ids made unique) until the export
holds ``--tasks`` tasks, and a second export of a tenth of that. ``stance read`` runs on each
as a subprocess; the benchmark prints the wall time, tasks/s, annotations/s and the peak
resident memory of the child (``ru_maxrss``), beside ``json.load`` of the same file in a
child of its own (what a reader that is not streaming would hold at least).

Goal: the peak memory for the large export over the small one at most 1.2 (flat: the reader
streams, it does not hold the export).

Run::

    .venv/bin/python benchmarks/bench_read.py [--tasks 100000]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED_EXPORT = REPO / "seeds" / "example-export-ls-1.23.2.json"
MEMORY_GOAL = 1.2


def make_export(path: Path, n_tasks: int) -> int:
    """Write an export of ``n_tasks`` tasks built from the seeds' recorded export; return its annotations."""
    seeds = json.loads(SEED_EXPORT.read_text(encoding="utf-8"))
    annotations = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        for number in range(n_tasks):
            task = copy.deepcopy(seeds[number % len(seeds)])
            round_ = number // len(seeds)
            task["id"] = number + 1
            task["data"]["sentence_id"] = f"r{round_}-{task['data']['sentence_id']}"
            for annotation in task["annotations"]:
                annotations += 1
                annotation["id"] = annotations
                annotation["task"] = task["id"]
            out.write(("," if number else "") + "\n" + json.dumps(task))
        out.write("\n]\n")
    return annotations


def child(argv: list[str]) -> tuple[float, int]:
    """Run ``argv``; its wall time in seconds and peak resident memory in KiB."""
    began = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    if status:
        sys.exit(f"{' '.join(argv)} failed: {process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks in the large export (default 100000)")
    args = parser.parse_args()
    stance = str(Path(sys.executable).with_name("stance"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="stance-bench-read-") as tmp:
        for n_tasks in (args.tasks // 10, args.tasks):
            export = Path(tmp) / f"export-{n_tasks}.json"
            annotations = make_export(export, n_tasks)
            size = export.stat().st_size / 1e6
            seconds, rss = child([stance, "read", str(export), "-o", str(Path(tmp) / "a.jsonl"),
                                  "--rejects", str(Path(tmp) / "r.jsonl")])
            accepted = sum(1 for _ in open(Path(tmp) / "a.jsonl", encoding="utf-8"))
            assert accepted == annotations, (accepted, annotations)
            _, load_rss = child([sys.executable, "-c", f"import json; json.load(open({str(export)!r}))"])
            rows.append((n_tasks, annotations, size, seconds, rss, load_rss))
    print(f"{'tasks':>9} {'annotations':>12} {'MB':>8} {'seconds':>8} {'tasks/s':>9} {'annot./s':>9} "
          f"{'peak MiB':>9} {'json.load MiB':>14}")
    for n_tasks, annotations, size, seconds, rss, load_rss in rows:
        print(f"{n_tasks:>9,} {annotations:>12,} {size:>8.1f} {seconds:>8.1f} {n_tasks / seconds:>9,.0f} "
              f"{annotations / seconds:>9,.0f} {rss / 1024:>9.1f} {load_rss / 1024:>14.1f}")
    growth = rows[1][4] / rows[0][4]
    verdict = "MET" if growth <= MEMORY_GOAL else "MISSED"
    print(f"peak memory, {rows[1][0]:,} tasks over {rows[0][0]:,}: {growth:.2f}x "
          f"(goal at most {MEMORY_GOAL}x: {verdict}); json.load of the large export alone: "
          f"{rows[1][5] / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
