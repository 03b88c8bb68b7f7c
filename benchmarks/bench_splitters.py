#!/usr/bin/env python3
"""Compare the two candidate sentence splitters, sentencex and pySBD, on a real corpus.

Both splitters run in the same process on the same texts (the article bodies of the
FNC-1 CSV by default), each called as the project would call it:

* sentencex: ``sentencex.get_sentence_boundaries("en", text)`` (raw, without the
  work-around of ``annotate/sentences.py``);
* pySBD: ``pysbd.Segmenter(language="en", clean=False, char_span=True).segment(text)``.

Measured for each splitter:

* throughput over the whole corpus, in MB/s (10^6 bytes of UTF-8 text) and sentences/s;
  sentencex takes the best of ``--runs`` runs, pySBD (about 100 times slower) one run;
* articles that break the offset invariant ``text[start:end] == sentence`` (both sides
  stripped of surrounding white space), articles whose spans leave non-white-space text
  out or overlap, and articles on which the splitter raises (a Rust panic of sentencex
  is pyo3's ``PanicException``, a ``BaseException``);
* scaling: one long text made of ``--long`` articles joined by blank lines, in seconds
  per MB, against the same articles split one by one;
* accuracy on the 48 English "Golden Rules" cases of pySBD / Pragmatic Segmenter
  (``benchmarks/data/golden_rules_en.json``, MIT, source noted in the file).

A sentence is counted when its text is not blank (sentencex also reports paragraph
breaks as boundaries; those are not sentences).

Run (``make bench`` does)::

    .venv/bin/python benchmarks/bench_splitters.py --corpus DATA/fnc1/train_bodies.csv

pySBD is the optional ``bench`` extra: ``.venv/bin/python -m pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import pysbd
import sentencex

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "data" / "golden_rules_en.json"
MB = 1e6
# sentencex 1.0.32 panics on a capital letter, a non-ASCII space and a full stop.
PANIC_PROBE = "He lives in the U\u00a0. S. now."

# A split: the text -> [(start, end, sentence text)], offsets in Python characters.
Spans = list[tuple[int, int, str]]


def read_texts(path: Path) -> list[str]:
    """The ``articleBody`` column of the FNC-1 CSV, as read by the csv module."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["articleBody"] for row in csv.DictReader(handle)]


@dataclass
class Splitter:
    """A splitter under test: the raw call (timed) and its conversion to spans (not timed)."""

    name: str
    call: Callable[[str], object]
    to_spans: Callable[[object], Spans]


def make_splitters() -> list[Splitter]:
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return [
        Splitter(
            f"sentencex {version('sentencex')}",
            lambda text: sentencex.get_sentence_boundaries("en", text),
            lambda out: [(b["start_index"], b["end_index"], b["text"]) for b in out],
        ),
        Splitter(
            f"pysbd {version('pysbd')}",
            segmenter.segment,
            lambda out: [(s.start, s.end, s.sent) for s in out],
        ),
    ]


@dataclass
class Run:
    """One pass of a splitter over a list of texts."""

    seconds: float
    outputs: list[object | None]  # None where the splitter raised
    errors: list[tuple[int, str]] = field(default_factory=list)  # (text index, exception)


def run_once(splitter: Splitter, texts: list[str]) -> Run:
    outputs: list[object | None] = []
    errors: list[tuple[int, str]] = []
    call = splitter.call
    start = time.perf_counter()
    for i, text in enumerate(texts):
        try:
            outputs.append(call(text))
        except BaseException as exc:  # a Rust panic is a BaseException
            if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
                raise
            outputs.append(None)
            errors.append((i, f"{type(exc).__name__}: {str(exc)[:80]}"))
    return Run(time.perf_counter() - start, outputs, errors)


def best_of(splitter: Splitter, texts: list[str], runs: int) -> Run:
    return min((run_once(splitter, texts) for _ in range(runs)), key=lambda r: r.seconds)


@dataclass
class Check:
    """What the spans of one splitter do to the invariants, counted in articles."""

    sentences: int = 0
    offsets_wrong: int = 0  # text[start:end].strip() != sentence.strip()
    text_lost: int = 0  # non-white-space text outside every span
    overlapping: int = 0  # a span starts before the previous one ends
    examples: list[str] = field(default_factory=list)


def check_spans(texts: list[str], spans_of: Iterator[Spans | None]) -> Check:
    check = Check()
    for index, (text, spans) in enumerate(zip(texts, spans_of)):
        if spans is None:
            continue
        wrong = lost = overlap = False
        previous_end = 0
        for start, end, sentence in spans:
            if sentence.strip():
                check.sentences += 1
            if text[start:end].strip() != sentence.strip():
                wrong = True
            if start < previous_end:
                overlap = True
            elif text[previous_end:start].strip():
                lost = True
            previous_end = max(previous_end, end)
        if text[previous_end:].strip():
            lost = True
        check.offsets_wrong += wrong
        check.text_lost += lost
        check.overlapping += overlap
        if (wrong or lost or overlap) and len(check.examples) < 3:
            what = ", ".join(n for n, bad in (("offsets", wrong), ("lost text", lost),
                                              ("overlap", overlap)) if bad)
            check.examples.append(f"article #{index} ({what})")
    return check


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (a Rust panic prints its backtrace there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def golden_score(splitter: Splitter) -> tuple[int, int, list[str]]:
    """Golden Rules cases passed, total, and the first texts that fail."""
    cases = json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]
    passed, failed = 0, []
    for case in cases:
        try:
            spans = splitter.to_spans(splitter.call(case["text"]))
            got = [s.strip() for _, _, s in spans if s.strip()]
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
                raise
            got = None
        if got == case["expected"]:
            passed += 1
        else:
            failed.append(case["text"])
    return passed, len(cases), failed


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
    )
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Compare sentencex and pySBD on a news corpus: throughput, offset "
        "invariant, failures, scaling on a long text and Golden Rules accuracy.",
    )
    parser.add_argument("--corpus", type=Path, required=True, metavar="CSV",
                        help="FNC-1 style CSV with an articleBody column: train_bodies.csv of FNC-1 (see the README's data sets)")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs of sentencex; the best counts (default: 3; pySBD runs once)")
    parser.add_argument("--long", type=int, default=50, metavar="N",
                        help="articles joined into the long text of the scaling test (default: 50)")
    args = parser.parse_args()
    if not args.corpus.is_file():
        parser.error(f"no corpus at {args.corpus}")

    texts = read_texts(args.corpus)
    corpus_mb = sum(len(t.encode("utf-8")) for t in texts) / MB
    long_parts = texts[: args.long]
    long_text = "\n\n".join(long_parts)
    long_mb = len(long_text.encode("utf-8")) / MB
    parts_mb = sum(len(t.encode("utf-8")) for t in long_parts) / MB

    print("Sentence splitters on a real corpus")
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    print(f"corpus:  {args.corpus}")
    print(f"         {len(texts):,} articles, {corpus_mb:.2f} MB of UTF-8 text "
          f"({sum(not t.isascii() for t in texts):,} with non-ASCII characters)")
    print(f"long:    the first {len(long_parts)} articles joined by blank lines, {long_mb:.3f} MB")
    print()

    results = []
    for splitter in make_splitters():
        runs = args.runs if splitter.name.startswith("sentencex") else 1
        corpus = best_of(splitter, texts, runs)
        check = check_spans(
            texts, (None if out is None else splitter.to_spans(out) for out in corpus.outputs)
        )
        parts = best_of(splitter, long_parts, runs)
        whole = best_of(splitter, [long_text], runs)
        whole_check = check_spans(
            [long_text], (None if out is None else splitter.to_spans(out) for out in whole.outputs)
        )
        with quiet_stderr():
            probe = run_once(splitter, [PANIC_PROBE])
        passed, total, failed = golden_score(splitter)
        results.append((splitter, runs, corpus, check, parts, whole, whole_check, probe,
                        passed, total, failed))

    header = ["", *(r[0].name for r in results)]
    rows = [
        ["runs timed (best counts)", *(str(r[1]) for r in results)],
        ["corpus seconds", *(f"{r[2].seconds:.3f}" for r in results)],
        ["throughput MB/s", *(f"{corpus_mb / r[2].seconds:.2f}" for r in results)],
        ["sentences", *(f"{r[3].sentences:,}" for r in results)],
        ["sentences/s", *(f"{r[3].sentences / r[2].seconds:,.0f}" for r in results)],
        ["articles: offsets wrong", *(str(r[3].offsets_wrong) for r in results)],
        ["articles: text lost", *(str(r[3].text_lost) for r in results)],
        ["articles: spans overlap", *(str(r[3].overlapping) for r in results)],
        ["articles: splitter raised", *(str(len(r[2].errors)) for r in results)],
        ["raises on 'U\\u00a0. S.'", *("yes" if r[7].errors else "no" for r in results)],
        [f"s/MB, {args.long} articles one by one", *(f"{r[4].seconds / parts_mb:.4f}" for r in results)],
        [f"s/MB, {args.long} articles as one text", *(f"{r[5].seconds / long_mb:.4f}" for r in results)],
        ["long / one by one", *(f"{(r[5].seconds / long_mb) / (r[4].seconds / parts_mb):.2f}x"
                                for r in results)],
        ["long text: invariant holds", *("no" if r[6].offsets_wrong or r[6].text_lost or r[6].overlapping
                                         or r[5].errors else "yes" for r in results)],
        ["Golden Rules passed", *(f"{r[8]}/{r[9]}" for r in results)],
    ]
    print(table(rows, header))

    for splitter, _, corpus, check, *_rest, failed in results:
        notes = [f"raised on article #{i}: {e}" for i, e in corpus.errors[:3]] + check.examples
        if notes:
            print(f"\n{splitter.name}: " + "; ".join(notes))
        if failed:
            shown = "; ".join(repr(t if len(t) <= 60 else t[:57] + "...") for t in failed[:6])
            more = f" (and {len(failed) - 6} more)" if len(failed) > 6 else ""
            print(f"\n{splitter.name} fails Golden Rules: {shown}{more}")

    print()
    print("Notes: MB = 10^6 bytes of UTF-8 text. Timings cover the library call only. pySBD's "
          "spans are found by searching each sentence in the text again, so its offsets cannot "
          "be wrong by construction, but a sentence it cannot find is dropped ('text lost'). "
          "'raises' counts the raw library; annotate/sentences.py maps non-ASCII spaces to "
          "ASCII before calling sentencex.")
    sx, sb = results[0], results[1]
    speedup = (sb[2].seconds / sx[2].seconds)
    print(
        f"Summary: {sx[0].name} is {speedup:.0f}x faster than {sb[0].name} "
        f"({corpus_mb / sx[2].seconds:.1f} vs {corpus_mb / sb[2].seconds:.2f} MB/s), "
        f"offset errors {sx[3].offsets_wrong} vs {sb[3].offsets_wrong}, "
        f"lost text {sx[3].text_lost} vs {sb[3].text_lost}, "
        f"raises {len(sx[2].errors)} vs {len(sb[2].errors)} articles, "
        f"long-text slowdown {(sx[5].seconds / long_mb) / (sx[4].seconds / parts_mb):.1f}x vs "
        f"{(sb[5].seconds / long_mb) / (sb[4].seconds / parts_mb):.1f}x, "
        f"Golden Rules {sx[8]}/{sx[9]} vs {sb[8]}/{sb[9]}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
