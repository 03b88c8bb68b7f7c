#!/usr/bin/env python3
"""Measure ``stance predict`` on FNC-1's sentences beside the bare scikit-learn ``predict_proba`` calls.

The five-target scheme ``benchmarks/data/fnc1-actors.json`` (actors FNC-1's news often names)
gives the tasks of every FNC-1 article body (``stance tasks`` on ``train_bodies.csv``), and a
tasks file ten times as long (the same tasks with unique sentence ids). A baseline (the
claim's pipeline and the stance's, per-target mode) is trained on 1,500 of those sentences with
labels made up from their words (the speed of prediction does not depend on the labels' truth;
the vocabulary is that of real news). By default the training rows carry no mentions, so the
stance model reads the sentence alone; with ``--mentions`` they carry their tasks' mentions and
the stance model reads annotate's richest feature set (the target's mentions marked, their
window and clause, the pooled vectors), as a scheme with aliases gets where cross-validation
chooses it: each sentence is then read marked for each target (once per distinct marked text).

Each measurement runs in a child process of its own, so its peak resident memory
(``ru_maxrss`` from ``wait4``) is its own; its CPU seconds (user and system, its own and its
workers') are counted over the same span as its seconds:

- **ours**: ``stance predict MODEL TASKS -o FILE`` in the child, timed from the call to the
  written file: loading the model, reading and checking the tasks, predicting in batches,
  writing most uncertain first. Its default number of worker processes is the usable CPUs, at
  most 2, on an input of more than one batch (the peak memory is then that of the largest
  process); and the same with ``--jobs 1`` (all in one process);
- **bare**: the model loaded and the texts read before the timer, then only each question's
  ``pipeline.predict_proba(texts)`` (what scikit-learn does when asked one question at a time).

Goals: ours 3,000 tasks/s or more, its time within 1.5 times the bare calls', its peak memory
at 10x at most 1.2 times that at 1x.

Run::

    .venv/bin/python benchmarks/bench_predict.py DATA/fnc1 [--repeat 10] [--mode per-target] [--mentions]
        [--skip-bare-large]

``--skip-bare-large`` leaves out the bare calls on the large input (about 11 of the 16 minutes of a
full run on 2 cores): the large input's time and memory ratios against them are then not printed.

where ``DATA/fnc1`` holds ``train_bodies.csv`` of the public FNC-1 repository (see the README's
data sets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASKS_PER_SECOND_GOAL = 3000
TIME_GOAL = 1.5
MEMORY_GOAL = 1.2
TRAIN_ROWS = 1500
SCHEME = REPO / "benchmarks" / "data" / "fnc1-actors.json"
MENTION_SETS = ("ngrams", "hashtags", "lexicon", "mentions", "window", "clause", "vectors")


def made_up_rows(tasks: list[dict], n: int, *, mentions: bool = False) -> list[dict]:
    """Gold-like rows of the first ``n`` tasks, labelled from their words (a target named: FAVOR or AGAINST).

    With ``mentions``, each row carries its task's mentions (where the scheme's aliases name a target)."""
    targets = [(t["id"], t.get("aliases") or [t["name"]]) for t in json.loads(SCHEME.read_text())["targets"]]
    rows = []
    for task in tasks[:n]:
        data = task["data"]
        text = data["text"]
        low = text.lower()
        parity = zlib.crc32(text.encode()) % 2
        stance = {tid: (("FAVOR", "AGAINST")[parity] if any(a.lower() in low for a in aliases) else "NONE")
                  for tid, aliases in targets}
        claim = "CLAIM" if any(w in low for w in (" said", "according to", "reported", "claim")) else "NO_CLAIM"
        rows.append({"sentence_id": data["sentence_id"], "article_id": data["article_id"], "text": text,
                     "scheme": data["scheme"], "claim": claim, "stance": stance, **({"mentions": data["mentions"]} if mentions else {})})
    return rows


def repeat_tasks(source: Path, path: Path, copies: int) -> int:
    """Write ``copies`` copies of a tasks file's tasks, sentence ids made unique; how many tasks."""
    lines = [line.rstrip(",\n") for line in source.read_text(encoding="utf-8").splitlines()
             if line.strip() not in ("[", "]", "")]
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        for copy in range(copies):
            for line in lines:
                task = json.loads(line)
                task["data"]["sentence_id"] = f"c{copy}-{task['data']['sentence_id']}"
                out.write(("," if n else "") + "\n" + json.dumps(task, ensure_ascii=False))
                n += 1
        out.write("\n]\n")
    return n


# --- the children: one measured run each -----------------------------------------------------

def child_main(argv: list[str]) -> None:
    """``--child KIND MODEL TASKS OUT``: one measured run; its seconds and tasks as JSON."""
    kind, model_dir, tasks_path, out_path = argv
    import numpy  # noqa: F401  (imports before the timer on both sides)
    import sklearn  # noqa: F401

    from annotate.cli import main
    from annotate.modelcard import load_model

    if kind in ("ours", "ours-jobs-1"):
        began, cpu = time.perf_counter(), cpu_seconds()
        code = main(["predict", model_dir, tasks_path, "-o", out_path, *(["--jobs", "1"] if kind != "ours" else [])])
        seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
        if code:
            raise SystemExit(f"stance predict exited {code}")
        with open(out_path, encoding="utf-8") as handle:
            done = sum(1 for line in handle if line.startswith("{") or line.startswith(",{"))
    elif kind == "bare":
        from annotate.features import mention_spans

        model = load_model(model_dir)
        data = [json.loads(line.rstrip(",\n"))["data"] for line in open(tasks_path, encoding="utf-8")
                if line.strip() not in ("[", "]", "")]
        texts = [d["text"] for d in data]
        mentions = [mention_spans(d.get("mentions")) for d in data]
        del data
        began, cpu = time.perf_counter(), cpu_seconds()
        for question in model.questions_:
            key, pipeline = model._pipeline(question)
            pipeline.predict_proba(model._X(texts, mentions, question, key))
        seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
        done = len(texts)
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    print(json.dumps({"seconds": seconds, "cpu": cpu, "done": done}))


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its children that have ended (the workers)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# Linux keeps a process's peak memory across fork and exec: a child of this process (which has
# trained the model) would report at least this one's peak. A small launcher runs each child as its own.
LAUNCHER = ("import json, os, subprocess, sys, time\n"
            "began = time.perf_counter()\n"
            "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
            "_, status, usage = os.wait4(child.pid, 0)  # the output is a line or two: the pipes cannot fill\n"
            "print(json.dumps({'status': status, 'wall': time.perf_counter() - began, 'kib': usage.ru_maxrss}))\n"
            "sys.stdout.write(child.stdout.read().decode())\n"
            "sys.stderr.write(child.stderr.read().decode())\n")


def measure(kind: str, model: Path, tasks: Path, out: Path) -> dict:
    """Run one child; its seconds, tasks, wall time and peak memory (MiB)."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, __file__, "--child", kind, str(model),
                           str(tasks), str(out)], capture_output=True, text=True, cwd=REPO)
    head, stdout = done.stdout.split("\n", 1)
    launched = json.loads(head)
    if done.returncode or launched["status"]:
        sys.exit(f"{kind} failed:\n{done.stderr}")
    return {**json.loads(stdout.strip().splitlines()[-1]), "wall": launched["wall"], "mib": launched["kib"] / 1024}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="folder with FNC-1's train_bodies.csv")
    parser.add_argument("--repeat", type=int, default=10, help="copies of the tasks in the large input (default 10)")
    parser.add_argument("--mode", choices=("per-target", "target-aware"), default="per-target",
                        help="the stance mode of the model (default per-target: one pipeline per target)")
    parser.add_argument("--mentions", action="store_true",
                        help="a stance model that reads where each target is mentioned (annotate's richest default "
                             "feature set: the mention marked, its window and clause, the pooled vectors), as a "
                             "scheme with aliases gets when cross-validation chooses them")
    parser.add_argument("--skip-bare-large", action="store_true",
                        help="leave out the bare calls on the large input (most of a full run's time); the large "
                             "input is then not compared with them")
    args = parser.parse_args()
    corpus = args.data_dir / "train_bodies.csv"
    if not corpus.is_file():
        parser.error(f"no {corpus}: give the folder of FNC-1's train_bodies.csv")
    sys.path.insert(0, str(REPO))
    import sklearn

    from annotate.baseline import train
    from annotate.features import PLAIN_FEATURE_SETS
    from annotate.modelcard import save_model
    from annotate.scheme import load_scheme

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"scikit-learn {sklearn.__version__}")
    with tempfile.TemporaryDirectory(prefix="stance-bench-predict-") as tmp:
        tmp = Path(tmp)
        stance = str(Path(sys.executable).with_name("stance"))
        began = time.perf_counter()
        subprocess.run([stance, "tasks", str(corpus), "--id-column", "Body ID", "--text-column", "articleBody",
                        "--scheme", str(SCHEME), "-o", str(tmp / "tasks-1x.json")],
                       check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        tasks = [json.loads(line.rstrip(",\n")) for line in (tmp / "tasks-1x.json").read_text().splitlines()
                 if line.strip() not in ("[", "]", "")]
        n = len(tasks)
        large = repeat_tasks(tmp / "tasks-1x.json", tmp / f"tasks-{args.repeat}x.json", args.repeat)
        print(f"tasks: {n:,} from {corpus} ({time.perf_counter() - began:.0f} s), {large:,} at {args.repeat}x")
        scheme = load_scheme(SCHEME)
        began = time.perf_counter()
        model = train(made_up_rows(tasks, TRAIN_ROWS, mentions=args.mentions), scheme, n_splits=3,
                      stance_mode=args.mode, C=(0.1,), class_weight=(None,),
                      # The plain default sets: a model with 'contextual' runs at the encoder's pace (README).
                      feature_sets=(MENTION_SETS,) if args.mentions else PLAIN_FEATURE_SETS)
        save_model(model, tmp / "model", scheme=scheme, n_boot=0)
        pipelines = len(model.pipelines_)
        print(f"model: {args.mode}, stance features {'+'.join(model.features_['stance'])}, "
              f"{len(model.questions_)} questions, {pipelines} pipelines, trained on "
              f"{TRAIN_ROWS:,} sentences in {time.perf_counter() - began:.0f} s")
        results = {}
        for scale, path in (("1x", tmp / "tasks-1x.json"), (f"{args.repeat}x", tmp / f"tasks-{args.repeat}x.json")):
            if scale == "1x" or not args.skip_bare_large:
                results[f"bare, {scale}"] = measure("bare", tmp / "model", path, tmp / "bare.json")
            results[f"ours, {scale}"] = measure("ours", tmp / "model", path, tmp / "ours.json")
            results[f"ours -j1, {scale}"] = measure("ours-jobs-1", tmp / "model", path, tmp / "ours-1.json")
            if (tmp / "ours.json").read_bytes() != (tmp / "ours-1.json").read_bytes():
                sys.exit(f"{scale}: --jobs 1 wrote another file than the default")
    from annotate.predict import default_jobs

    print(f"ours: the default number of worker processes, {default_jobs()} here; ours -j1: one process")
    print(f"{'':<17} {'tasks':>9} {'seconds':>8} {'CPU s':>7} {'tasks/s':>8} {'child wall s':>13} {'peak MiB':>9}")
    for name, r in results.items():
        print(f"{name:<17} {r['done']:>9,} {r['seconds']:>8.2f} {r['cpu']:>7.2f} {r['done'] / r['seconds']:>8,.0f} "
              f"{r['wall']:>13.2f} {r['mib']:>9.1f}")
    for name, r in results.items():
        expected = n if name.endswith(", 1x") else large
        assert r["done"] == expected, f"{name}: {r['done']} tasks, expected {expected}"
    big = f"{args.repeat}x"
    for scale in ("1x", big):
        for ours_name in (f"ours, {scale}", f"ours -j1, {scale}"):
            ours, bare = results[ours_name], results.get(f"bare, {scale}")
            rate = ours["done"] / ours["seconds"]
            line = (f"{ours_name}: {rate:,.0f} tasks/s (goal {TASKS_PER_SECOND_GOAL:,} or more on 2 cores: "
                    f"{'MET' if rate >= TASKS_PER_SECOND_GOAL else 'MISSED'})")
            if bare is None:
                print(f"{line}; the bare calls not run at {scale} (--skip-bare-large)")
                continue
            ratio = ours["seconds"] / bare["seconds"]
            print(f"{line}; {ratio:.2f}x the bare calls' time "
                  f"(goal at most {TIME_GOAL}x: {'MET' if ratio <= TIME_GOAL else 'MISSED'})")
    growth = results[f"ours, {big}"]["mib"] / results["ours, 1x"]["mib"]
    bare_growth = (f"{results[f'bare, {big}']['mib'] / results['bare, 1x']['mib']:.2f}x" if f"bare, {big}" in results
                   else f"not run at {big}")
    print(f"ours, peak memory at {big} over 1x: {growth:.2f}x (goal at most {MEMORY_GOAL}x: "
          f"{'MET' if growth <= MEMORY_GOAL else 'MISSED'}); the bare calls, holding every text: {bare_growth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
