#!/usr/bin/env python3
"""Measure ``stance tasks`` end to end against the sentence splitter alone.

``stance tasks`` runs as a subprocess (the ``stance`` script beside this Python) on the
FNC-1 CSV (``--id-column "Body ID" --text-column articleBody``) and on a temporary copy
of it repeated ``--repeat`` times (ids made unique as ``"{rep}-{Body ID}"``). For each
input it prints the size, the wall time (best of ``--runs``), MB/s and sentences/s (tasks
counted as the lines of the output file that start with ``{"data"``, checked against the
count the command prints) and the peak resident memory of the child process
(``ru_maxrss`` from ``os.wait4``, the largest over the runs).

Beside it, in the same run: the fixed start-up cost (``stance --version``), and the
splitter alone in this process on the same texts, best of 3: raw sentencex (the
reference of the goal) and ``annotate.sentences.sentence_spans`` (sentencex as the
project calls it).

Each input runs twice: with a scheme whose targets have aliases and patterns (``--scheme``,
default ``benchmarks/data/fnc1-actors.json``: five actors that recur in FNC-1), so every
task carries its mentions, and with the same scheme stripped of its aliases and patterns
(no mention is looked for), side by side.

Goals checked: end-to-end MB/s with mentions at least 10 (issue 12), end-to-end MB/s /
splitter MB/s at least 0.5 (on the repeated corpus, where start-up weighs least), and peak
memory of the repeated run / the single run about 1 (at most 1.2: memory must not grow with
the corpus).

MB is 10^6 bytes of article text in UTF-8 (the ``articleBody`` column), for every figure,
so that the ratios compare like with like.

Run (``make bench`` does)::

    .venv/bin/python benchmarks/bench_tasks.py --corpus DATA/fnc1/train_bodies.csv [--repeat 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sentencex

from annotate.sentences import SPLITTER, sentence_spans

ID_COLUMN, TEXT_COLUMN = "Body ID", "articleBody"
MB = 1e6
RATIO_GOAL = 0.5  # end-to-end MB/s over splitter MB/s, at least
MENTIONS_GOAL = 10.0  # end-to-end MB/s with mentions, at least
DEFAULT_SCHEME = Path(__file__).resolve().parent / "data" / "fnc1-actors.json"
MEMORY_GOAL = 1.2  # peak memory of the repeated corpus over the single one, at most


@dataclass
class Child:
    """One finished ``stance`` subprocess."""

    seconds: float
    max_rss_kib: int
    stdout: str


def run_child(argv: list[str], workdir: Path) -> Child:
    """Run ``argv``, wait for it with ``os.wait4`` and return its time and peak memory."""
    out_path = workdir / "child.stdout"
    with out_path.open("wb") as out, (workdir / "child.stderr").open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # Popen did not reap it
    if child.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({child.returncode}):\n"
                 + (workdir / "child.stderr").read_text(errors="replace"))
    return Child(seconds, usage.ru_maxrss, out_path.read_text())  # ru_maxrss: KiB on Linux


def read_rows(path: Path) -> list[tuple[str, str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row[ID_COLUMN], row[TEXT_COLUMN]) for row in csv.DictReader(handle)]


def write_repeated(rows: list[tuple[str, str]], times: int, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([ID_COLUMN, TEXT_COLUMN])
        for rep in range(times):
            writer.writerows((f"{rep}-{id_}", text) for id_, text in rows)


def count_tasks(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.startswith(b'{"data"'))


def time_in_process(split, texts: list[str], runs: int = 3) -> float:
    """Best wall time of ``split`` over ``texts``."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for text in texts:
            split(text)
        best = min(best, time.perf_counter() - start)
    return best


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Time `stance tasks` end to end on a corpus and on it repeated, and "
        "compare with the sentence splitter alone (throughput and peak memory).",
    )
    parser.add_argument("--corpus", type=Path, required=True, metavar="CSV",
                        help="FNC-1 style CSV with 'Body ID' and 'articleBody': train_bodies.csv of FNC-1 (see the README's data sets)")
    parser.add_argument("--repeat", type=int, default=10,
                        help="copies of the corpus in the large input (default: 10)")
    parser.add_argument("--scheme", type=Path, default=DEFAULT_SCHEME,
                        help=f"scheme whose aliases find the mentions (default: {DEFAULT_SCHEME.name})")
    parser.add_argument("--runs", type=int, default=3,
                        help="end-to-end runs per input; the fastest counts (default: 3)")
    args = parser.parse_args()
    if not args.corpus.is_file():
        parser.error(f"no corpus at {args.corpus}")
    if args.repeat < 2 or args.runs < 1:
        parser.error("--repeat must be 2 or more and --runs 1 or more")
    stance = Path(sys.executable).with_name("stance")
    if not stance.exists():
        parser.error(f"no stance script at {stance} (run `make install`)")

    rows = read_rows(args.corpus)
    texts = [text for _, text in rows]
    text_mb = sum(len(t.encode("utf-8")) for t in texts) / MB

    print("stance tasks end to end, against the splitter alone")
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    print(f"corpus:  {args.corpus} ({len(rows):,} articles, {text_mb:.2f} MB of text)")
    print(f"stance:  {stance}, splitter {SPLITTER}; best of {args.runs} runs, peak memory the "
          f"largest")
    print()

    # The splitter alone, in this process, on the same texts.
    raw_seconds = time_in_process(lambda t: sentencex.get_sentence_boundaries("en", t), texts)
    wrapped_seconds = time_in_process(sentence_spans, texts)
    splitter_mbps = text_mb / raw_seconds

    startup = min(run_child([str(stance), "--version"], Path(tempfile.gettempdir())).seconds
                  for _ in range(3))

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-tasks-") as tmp:
        workdir = Path(tmp)
        repeated = workdir / f"fnc1-x{args.repeat}.csv"
        write_repeated(rows, args.repeat, repeated)
        scheme = json.loads(args.scheme.read_text(encoding="utf-8"))
        plain = workdir / "no-aliases.json"
        plain.write_text(json.dumps({**scheme, "targets": [
            {k: v for k, v in t.items() if k not in ("aliases", "patterns")} for t in scheme["targets"]]}))
        runs = [(f"{label} {kind}", path, mb, scheme_path)
                for label, path, mb in [("1x", args.corpus, text_mb), (f"{args.repeat}x", repeated, text_mb * args.repeat)]
                for kind, scheme_path in (("mentions", args.scheme), ("none", plain))]
        for label, path, mb, scheme_path in runs:
            output = workdir / "tasks.json"
            argv = [str(stance), "tasks", str(path), "--id-column", ID_COLUMN,
                    "--text-column", TEXT_COLUMN, "--scheme", str(scheme_path), "-o", str(output)]
            children = [run_child(argv, workdir) for _ in range(args.runs)]
            tasks = count_tasks(output)
            printed = re.search(r"wrote ([\d,]+) tasks", children[-1].stdout)
            if printed is None or int(printed.group(1).replace(",", "")) != tasks:
                sys.exit(f"task count mismatch: file has {tasks}, stance printed "
                         f"{printed.group(1) if printed else 'nothing'}")
            results.append((label, path.stat().st_size / MB, mb, tasks,
                            min(c.seconds for c in children),
                            max(c.max_rss_kib for c in children), output.stat().st_size / MB))

    header = ["", *(r[0] for r in results)]
    table_rows = [
        ["input CSV MB", *(f"{r[1]:.2f}" for r in results)],
        ["article text MB", *(f"{r[2]:.2f}" for r in results)],
        ["tasks (sentences)", *(f"{r[3]:,}" for r in results)],
        ["output MB", *(f"{r[6]:.1f}" for r in results)],
        ["seconds", *(f"{r[4]:.3f}" for r in results)],
        ["MB/s", *(f"{r[2] / r[4]:.2f}" for r in results)],
        ["sentences/s", *(f"{r[3] / r[4]:,.0f}" for r in results)],
        ["MB/s without start-up", *(f"{r[2] / (r[4] - startup):.2f}" for r in results)],
        ["peak memory MiB", *(f"{r[5] / 1024:.1f}" for r in results)],
        ["end-to-end / splitter MB/s", *(f"{(r[2] / r[4]) / splitter_mbps:.3f}" for r in results)],
    ]
    print(table(table_rows, header))
    print()
    print(f"splitter alone, in process, best of 3 on the 1x texts:")
    print(f"  sentencex.get_sentence_boundaries   {raw_seconds:.3f} s  {splitter_mbps:6.2f} MB/s")
    print(f"  annotate.sentences.sentence_spans   {wrapped_seconds:.3f} s  "
          f"{text_mb / wrapped_seconds:6.2f} MB/s")
    print(f"start-up of `stance --version` (best of 3): {startup:.3f} s")
    print()

    small, small_plain, large, large_plain = results
    ratio = (large[2] / large[4]) / splitter_mbps
    memory = large[5] / small[5]
    with_mentions = large[2] / large[4]
    print(f"goal with mentions >= {MENTIONS_GOAL:.0f} MB/s ({large[0]}): {with_mentions:.1f} MB/s, "
          f"{with_mentions / (large_plain[2] / large_plain[4]):.2f} of the run without aliases -> "
          f"{'MET' if with_mentions >= MENTIONS_GOAL else 'MISSED'}")
    print(f"goal end-to-end/splitter >= {RATIO_GOAL} ({large[0]}): {ratio:.3f} -> "
          f"{'MET' if ratio >= RATIO_GOAL else 'MISSED'}")
    print(f"goal peak memory {large[0]}/1x about 1 (<= {MEMORY_GOAL}): {memory:.2f} -> "
          f"{'MET' if memory <= MEMORY_GOAL else 'MISSED'}")
    print(f"Summary: stance tasks runs at {large[2] / large[4]:.1f} MB/s on {large[2]:.0f} MB "
          f"({ratio:.2f} of the splitter's {splitter_mbps:.0f} MB/s), peak memory "
          f"{small[5] / 1024:.0f} -> {large[5] / 1024:.0f} MiB for {args.repeat}x the input.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
