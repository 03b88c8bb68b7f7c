#!/usr/bin/env python3
"""Measure ``stance push`` and ``stance pull`` on a local Label Studio beside the bare SDK calls.

A fresh Label Studio 1.23.2 (``stance studio start`` in a temporary data dir) receives
``--tasks`` tasks (default 10,000, the seeds' tasks repeated with unique sentence ids):

- **push**: our :func:`annotate.studio.push` (read and validate the file line by line, create the
  project, list what is there, import in batches of 1,000) beside one bare
  ``projects.import_tasks`` call with the whole list, already in memory, into a second project
  with the same labeling config;
- **pull**: our :func:`annotate.studio.pull` (snapshot, stream to a temporary file, rename,
  count what came) beside one bare snapshot export (``exports.create`` with the same options,
  then ``exports.download`` into a file) of the same project.

Each measurement runs in a child process of its own, so its peak resident memory
(``ru_maxrss`` from ``wait4``) is its own; the time is that of the call alone, measured in the
child (interpreter start and imports excluded on both sides), and the wall time of the whole
child is printed too. The server is warmed up first with a small import and export, and the
bare call runs before ours, so that any warm-up left favours the bare call.

- **load-labels**: ``stance studio load-labels`` of three label files, 1,400 labels of ``--labels``
  sentences (three annotators each; the seeds' labels), into the project of ``--tasks`` tasks
  (an annotation per request, eight at a time), and with ``--tasks FILE`` into a project that
  lacks the sentences (they come in with their labels, the bulk path), and with ``--replace-untouched``
  into a project of the same ``--tasks`` tasks nobody has touched (they are imported again with
  their labels and the old ones deleted). The users exist before.

Goals: our push and pull take at most 1.3 times the bare calls' time; memory flat in the task
count: the peak memory of our push and pull of ``--tasks`` over a tenth of them at most 1.2;
1,400 labels loaded in under 30 s.

Run::

    .venv/bin/python benchmarks/bench_studio.py [--tasks 10000] [--port P] [--data-dir DIR]

``--data-dir`` runs on (or starts) the server of that data dir and keeps it; by default a fresh
server in a temporary data dir is started and removed. ``--port`` chooses its port.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIME_GOAL = 1.3
MEMORY_GOAL = 1.2
LOAD_GOAL = 30.0  # seconds for LABELS labels
LABELS = 1400


# --- the children: one measured call each ----------------------------------------------------

def _connection(data_dir: str):
    from annotate import studio

    os.environ.pop(studio.URL_ENV, None)
    os.environ.pop(studio.API_KEY_ENV, None)
    return studio.connection(data_dir)


def child_main(argv: list[str]) -> None:
    """``--child KIND DATA_DIR PROJECT FILE``: run one measured call, print its seconds as JSON."""
    # Imports come before any timer, on every side: the SDK's client module loads lazily (pandas
    # with it, about 1 s), and the bare side loads it when it makes its client before its timer.
    from label_studio_sdk import LabelStudio  # noqa: F401

    from annotate import studio
    from annotate.labeling import labeling_config
    from annotate.scheme import load_scheme

    kind, data_dir, project, path = argv
    conn = _connection(data_dir)
    scheme = load_scheme()
    if kind == "push":
        began = time.perf_counter()
        counts = studio.push(path, project, scheme, conn=conn)
        seconds = time.perf_counter() - began
        done = counts.created
    elif kind == "bare-import":
        ls = studio.client(conn, timeout=600)
        created = ls.projects.create(title=project, label_config=labeling_config(scheme))
        with open(path, encoding="utf-8") as handle:
            tasks = json.load(handle)
        began = time.perf_counter()
        reply = ls.projects.import_tasks(created.id, request=tasks)
        seconds = time.perf_counter() - began
        done = reply.task_count
    elif kind == "pull":
        began = time.perf_counter()
        counts = studio.pull(project, path, conn=conn)
        seconds = time.perf_counter() - began
        done = counts.tasks
    elif kind == "bare-export":
        ls = studio.client(conn, timeout=600)
        found = studio.find_project(ls, conn, project)
        began = time.perf_counter()
        snapshot = ls.projects.exports.create(
            found.id, title="bare", serialization_options=studio.SERIALIZATION,
            task_filter_options={"only_with_annotations": False},
            annotation_filter_options=studio.ANNOTATION_FILTER)
        while snapshot.status != "completed":  # completed on return in Community
            time.sleep(0.1)
            snapshot = ls.projects.exports.get(found.id, export_pk=snapshot.id)
        with open(path, "wb") as out:
            for chunk in ls.projects.exports.download(found.id, snapshot.id, export_type="JSON"):
                out.write(chunk)
        seconds = time.perf_counter() - began
        ls.projects.exports.delete(found.id, snapshot.id)
        with open(path, encoding="utf-8") as handle:
            done = len(json.load(handle))
    elif kind == "load-labels":  # FILE: {"labels": [label files], "tasks": tasks file or null}
        from annotate.cli import main as stance_main

        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        argv = ["studio", "load-labels", *spec["labels"], "--project", project, "--data-dir", data_dir]
        if spec["tasks"]:
            argv += ["--tasks", spec["tasks"]]
        if spec.get("replace"):
            argv += ["--replace-untouched"]
        began = time.perf_counter()
        code = stance_main(argv)
        seconds = time.perf_counter() - began
        if code:
            raise SystemExit(f"load-labels exited {code}")
        done = sum(len(json.loads(Path(f).read_text())["labels"]) for f in spec["labels"])
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    print(json.dumps({"seconds": seconds, "done": done}))


# --- the parent ------------------------------------------------------------------------------

def make_tasks(seed_tasks: Path, path: Path, n_tasks: int, prefix: str) -> None:
    """Write a tasks file of ``n_tasks`` tasks: the seeds' tasks repeated with unique sentence ids."""
    seeds = json.loads(seed_tasks.read_text(encoding="utf-8"))
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        for number in range(n_tasks):
            task = json.loads(json.dumps(seeds[number % len(seeds)]))
            task["data"]["sentence_id"] = f"{prefix}{number // len(seeds)}-{task['data']['sentence_id']}"
            out.write(("," if number else "") + "\n" + json.dumps(task, ensure_ascii=False))
        out.write("\n]\n")


def make_label_files(seed_tasks: Path, tasks: Path, out: Path, n_labels: int) -> list[Path]:
    """Three label files, ``n_labels`` labels in all, of the first tasks of ``tasks`` (made by
    :func:`make_tasks` from ``seed_tasks``): each the seeds' label of the seed sentence it repeats."""
    seeds = [task["data"]["sentence_id"] for task in json.loads(seed_tasks.read_text(encoding="utf-8"))]
    seed_labels = [{label["sentence_id"]: label for label in json.loads(path.read_text())["labels"]}
                   for path in (REPO / "seeds" / "labels" / "annotator-1.json",
                                REPO / "seeds" / "labels" / "annotator-2.json")]
    sentences = [json.loads(line.rstrip(",\n"))["data"]["sentence_id"] for line in tasks.read_text().splitlines()
                 if line.strip() not in ("[", "]", "")]
    files = []
    for k, who in enumerate(("ana", "ben", "cai")):
        labels = []
        for number, sentence in enumerate(sentences[:n_labels // 3 + (k < n_labels % 3)]):
            seed = seed_labels[k % 2][seeds[number % len(seeds)]]
            labels.append({**seed, "sentence_id": sentence})
        path = out / f"labels-{who}.json"
        path.write_text(json.dumps({"annotator": {"email": f"{who}@example.com"}, "labels": labels}))
        files.append(path)
    return files


def measure(kind: str, data_dir: Path, project: str, path: Path) -> dict:
    """Run one child; its call's seconds, what it did, its wall time and peak memory (MiB)."""
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--child", kind, str(data_dir), project, str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    if status:
        sys.exit(f"{kind} failed:\n{err}")
    return {**json.loads(out.strip().splitlines()[-1]), "wall": wall, "mib": usage.ru_maxrss / 1024}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks pushed and pulled (default 10000)")
    parser.add_argument("--labels", type=int, default=LABELS, help=f"labels loaded (default {LABELS})")
    parser.add_argument("--port", type=int, help="the server's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--data-dir", type=Path,
                        help="the server's data dir, kept afterwards (default: a temporary one, removed)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from annotate import server

    n, small = args.tasks, max(args.tasks // 10, 1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"label-studio {server.LABEL_STUDIO_VERSION}")
    with tempfile.TemporaryDirectory(prefix="stance-bench-studio-") as tmp:
        tmp = Path(tmp)
        data_dir = (args.data_dir or tmp / "studio").expanduser().absolute()
        run = time.strftime("%Y%m%d%H%M%S")  # project titles of this run: a kept data dir holds earlier ones
        stance = str(Path(sys.executable).with_name("stance"))
        subprocess.run([stance, "tasks", str(REPO / "seeds"), "-o", str(tmp / "seeds.json")], check=True,
                       stdout=subprocess.DEVNULL)
        for name, count in (("warm", 200), ("large", n), ("small", small)):
            make_tasks(tmp / "seeds.json", tmp / f"{name}.json", count, prefix=f"{name}{run}-")
        make_tasks(tmp / "seeds.json", tmp / "one.json", 1, prefix=f"one{run}-")
        labels = make_label_files(tmp / "seeds.json", tmp / "large.json", tmp, args.labels)
        for spec, tasks in (("existing", None), ("bulk", str(tmp / "large.json")), ("replace", None)):
            (tmp / f"load-{spec}.json").write_text(json.dumps({"labels": [str(f) for f in labels], "tasks": tasks,
                                                               "replace": spec == "replace"}))
        began = time.perf_counter()
        running, already = server.start(data_dir, port=args.port, say=lambda message: None)
        print(f"server: {running.url}" + (" (running already)" if already else
                                          f" (started in {time.perf_counter() - began:.0f} s)"))
        try:
            measure("push", data_dir, f"warm-up {run}", tmp / "warm.json")
            measure("pull", data_dir, f"warm-up {run}", tmp / "warm-export.json")
            for label_file in labels:  # the people exist before the timer, as on a team server
                server.add_user(running, json.loads(label_file.read_text())["annotator"]["email"])
            measure("push", data_dir, f"bulk {run}", tmp / "one.json")
            measure("push", data_dir, f"replace {run}", tmp / "large.json")
            results = {
                "bare import": measure("bare-import", data_dir, f"bare {run}", tmp / "large.json"),
                "our push": measure("push", data_dir, f"ours {run}", tmp / "large.json"),
                "bare export": measure("bare-export", data_dir, f"ours {run}", tmp / "bare-export.json"),
                "our pull": measure("pull", data_dir, f"ours {run}", tmp / "our-export.json"),
                "our push, small": measure("push", data_dir, f"small {run}", tmp / "small.json"),
                "our pull, small": measure("pull", data_dir, f"small {run}", tmp / "small-export.json"),
                "load-labels": measure("load-labels", data_dir, f"ours {run}", tmp / "load-existing.json"),
                "load-labels, bulk": measure("load-labels", data_dir, f"bulk {run}", tmp / "load-bulk.json"),
                "load-labels, repl.": measure("load-labels", data_dir, f"replace {run}", tmp / "load-replace.json"),
            }
        finally:
            if not already:
                server.stop(data_dir)
    print(f"{'':<17} {'items':>7} {'seconds':>8} {'items/s':>8} {'child wall s':>13} {'peak MiB':>9}")
    for name, r in results.items():
        print(f"{name:<17} {r['done']:>7,} {r['seconds']:>8.2f} {r['done'] / r['seconds']:>8,.0f} "
              f"{r['wall']:>13.2f} {r['mib']:>9.1f}")
    for name, r in results.items():
        expected = args.labels if name.startswith("load") else small if name.endswith("small") else n
        assert r["done"] == expected, f"{name}: {r['done']} items, expected {expected}"
    for name in ("load-labels", "load-labels, bulk", "load-labels, repl."):
        seconds = results[name]["seconds"] * LABELS / args.labels
        verdict = "MET" if seconds < LOAD_GOAL else "MISSED"
        print(f"{name}: {results[name]['seconds']:.1f} s for {args.labels:,} labels (goal {LABELS:,} in under "
              f"{LOAD_GOAL:.0f} s: {verdict})")
    for ours, bare in (("our push", "bare import"), ("our pull", "bare export")):
        ratio = results[ours]["seconds"] / results[bare]["seconds"]
        verdict = "MET" if ratio <= TIME_GOAL else "MISSED"
        print(f"{ours} over {bare}: {ratio:.2f}x the time (goal at most {TIME_GOAL}x: {verdict})")
    for what in ("push", "pull"):
        growth = results[f"our {what}"]["mib"] / results[f"our {what}, small"]["mib"]
        verdict = "MET" if growth <= MEMORY_GOAL else "MISSED"
        print(f"our {what} peak memory, {n:,} tasks over {small:,}: {growth:.2f}x (goal at most {MEMORY_GOAL}x: "
              f"{verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
