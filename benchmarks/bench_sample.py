#!/usr/bin/env python3
"""Peak memory and time of ``stance sample`` on a tasks file and on it repeated to 300,000+ tasks.

``stance tasks`` makes the tasks of a corpus (FNC-1's CSV by default, with the five-actor scheme
``benchmarks/data/fnc1-actors.json``); the file is then repeated ``--small`` and ``--repeat``
times with the sentence and article ids made unique (``"{rep}-{id}"``). The sampler keeps at most
``4 n`` candidates per target and as many naming none; the small file is large enough to fill
those pools, so what is compared is memory beyond them. ``stance sample -n N`` runs as a
subprocess on both files; beside it, the peer: reading the same file whole with ``json.load``
(what a sampler that holds every task would need at least). Peak memory is the child's
``ru_maxrss``.

Goal (issue 12): peak memory flat in the number of tasks: the repeated file's peak over the
single file's at most 1.2.

Run::

    .venv/bin/python benchmarks/bench_sample.py CORPUS.csv [--repeat 10] [-n 500]

FNC-1 (``train_bodies.csv``, 1,683 articles) is public: see the README's data section.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCHEME = Path(__file__).resolve().parent / "data" / "fnc1-actors.json"
GOAL = 1.2


def run_measured(argv: list[str]) -> tuple[float, int, str]:
    """Run ``argv`` with ``os.wait4`` so that its own peak memory is known."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"{' '.join(argv)} failed: {err.read().strip()}")
        out.seek(0)
        return seconds, usage.ru_maxrss, out.read()


def repeat(tasks: Path, times: int, output: Path) -> int:
    """Write ``tasks`` ``times`` over with unique ids, one task per line; return the task count."""
    n = 0  # streamed, so that this process stays small: a child's ru_maxrss counts its parent's at fork
    with output.open("w", encoding="utf-8") as out:
        out.write("[")
        for rep in range(times):
            for line in tasks.open(encoding="utf-8"):
                line = line.rstrip().rstrip(",")
                if not line.startswith("{"):
                    continue
                task = json.loads(line)
                data = task["data"]
                data["article_id"] = f"{rep}-{data['article_id']}"
                data["sentence_id"] = f"{rep}-{data['sentence_id']}"
                out.write(",\n" if n else "\n")
                out.write(json.dumps(task, ensure_ascii=False, separators=(",", ":")))
                n += 1
        out.write("\n]\n")
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="FNC-1's train_bodies.csv (columns 'Body ID', 'articleBody')")
    parser.add_argument("--scheme", type=Path, default=SCHEME, help=f"scheme with aliases (default: {SCHEME.name})")
    parser.add_argument("--small", type=int, default=3, help="copies in the small file (default: 3)")
    parser.add_argument("--repeat", type=int, default=11, help="copies in the large file (default: 11)")
    parser.add_argument("-n", type=int, default=500, help="batch size (default: 500)")
    args = parser.parse_args()
    if not args.corpus.is_file():
        parser.error(f"no corpus at {args.corpus}")
    stance = str(Path(sys.executable).with_name("stance"))
    with tempfile.TemporaryDirectory(prefix="bench-sample-") as tmp:
        work = Path(tmp)
        os.environ["STANCE_SCHEMES"] = str(work / "schemes")  # the bench's schemes stay in its folder
        corpus = work / "tasks.json"
        subprocess.run([stance, "tasks", str(args.corpus), "--id-column", "Body ID", "--text-column", "articleBody",
                        "--scheme", str(args.scheme), "-o", str(corpus)], check=True, capture_output=True)
        small, large = work / "tasks-small.json", work / "tasks-large.json"
        n_small = repeat(corpus, args.small, small)
        n_large = repeat(corpus, args.repeat, large)
        peer = ("import json, sys; tasks = json.load(open(sys.argv[1], encoding='utf-8')); "
                "print(len(tasks))")
        rows = []
        for label, path, n in ((f"{args.small}x", small, n_small), (f"{args.repeat}x", large, n_large)):
            seconds, rss, out = run_measured([stance, "sample", str(path), "-n", str(args.n), "-o", str(work / "b.json")])
            peer_seconds, peer_rss, _ = run_measured([sys.executable, "-c", peer, str(path)])
            chosen = out.strip().splitlines()[-1]
            rows.append((label, n, path.stat().st_size / 1e6, seconds, rss, peer_seconds, peer_rss, chosen))
    print(f"stance sample -n {args.n} on {args.corpus.name} tasks (scheme {args.scheme.name}), and json.load of the "
          "same file (the peer: every task in memory)")
    print(f"{'':6} {'tasks':>9} {'file MB':>8} {'sample s':>9} {'sample MiB':>11} {'json.load s':>12} "
          f"{'json.load MiB':>14}")
    for label, n, mb, s, rss, ps, prss, _ in rows:
        print(f"{label:6} {n:>9,} {mb:>8.1f} {s:>9.2f} {rss / 1024:>11.1f} {ps:>12.2f} {prss / 1024:>14.1f}")
    (_, _, _, _, rss_small, _, _, _), (_, n_large, _, _, rss_large, _, prss_large, _) = rows
    ratio = rss_large / rss_small
    print(f"goal: peak memory {rows[1][0]}/{rows[0][0]} at most {GOAL}: {ratio:.2f} -> {'MET' if ratio <= GOAL else 'MISSED'} "
          f"({n_large:,} tasks; json.load of the same file peaks at {prss_large / 1024:.0f} MiB, "
          f"{prss_large / rss_large:.1f}x stance sample)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
