"""How long `stance push` and `stance pull` take from process start to their first request.

Each command runs as its own process against a small HTTP server in this script (127.0.0.1,
a free port) that notes when the first request arrives and answers it with Label Studio's
401 ("Invalid token."), so the command stops there. The time from just before the process
is spawned to that arrival is what a user waits before anything reaches the server: the
interpreter, the imports and the reading of the tasks file (push checks the whole file
before it creates anything). Beside it, in the same run: a bare interpreter, and
``from label_studio_sdk import LabelStudio`` alone, the import push and pull paid before.

    python benchmarks/bench_startup.py                 # the seeds' tasks, 7 runs each
    python benchmarks/bench_startup.py --tasks FILE --runs 11

Goal (issue 15): under 0.5 s before the first request.

The package's bytecode is written first (``compileall``), as a user's machine has it after the
first run: Python writes it on first import, unless ``PYTHONDONTWRITEBYTECODE`` is set (as on
some CI and sandbox machines, where every start would otherwise compile the package's 20-odd
modules again, about 0.1 s); and each command runs once, untimed, before its timed runs.
"""

from __future__ import annotations

import argparse
import compileall
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.5


class _FirstRequest(http.server.BaseHTTPRequestHandler):
    """Note the arrival of each request; answer as Label Studio does to a wrong key."""

    arrivals: list[float] = []

    def _answer(self) -> None:
        type(self).arrivals.append(time.perf_counter())
        body = json.dumps({"detail": "Invalid token."}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def time_to_first_request(argv: list[str], url: str, env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` to the first request reaching ``url``'s server."""
    _FirstRequest.arrivals.clear()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env | {"LABEL_STUDIO_URL": url}, capture_output=True, text=True, timeout=60)
    if not _FirstRequest.arrivals:
        raise SystemExit(f"{' '.join(argv)} made no request (exit {done.returncode}): {done.stderr.strip()}")
    return _FirstRequest.arrivals[0] - started


def process_time(argv: list[str], env: dict[str, str]) -> float:
    """Seconds a process takes from spawn to exit."""
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=Path, help="a tasks file to push (default: the seeds' tasks, written here)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each command; the median is shown (default: 7)")
    args = parser.parse_args()

    import annotate

    package = Path(annotate.__file__).resolve().parent
    compiled = compileall.compile_dir(str(package), quiet=1)
    print(f"bytecode of {package} written where missing ({'ok' if compiled else 'some files failed'}); "
          f"PYTHONDONTWRITEBYTECODE is {'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'not set'} here")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FirstRequest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    python = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO_")}
    env |= {"LABEL_STUDIO_API_KEY": "0123456789abcdef0123456789abcdef01234567"}
    with tempfile.TemporaryDirectory() as tmp:
        tasks = args.tasks
        if tasks is None:
            tasks = Path(tmp) / "seeds.json"
            subprocess.run([python, "-m", "annotate", "tasks", str(REPO / "seeds"), "-o", str(tasks)],
                           env=env, check=True, capture_output=True, cwd=REPO)
        n_tasks = sum(1 for line in tasks.read_text(encoding="utf-8").splitlines() if line.startswith("{"))
        commands = {
            f"stance push ({n_tasks:,} tasks)": [python, "-m", "annotate", "push", str(tasks), "--project", "bench"],
            "stance pull": [python, "-m", "annotate", "pull", "--project", "bench", "-o", str(Path(tmp) / "x.json")],
        }
        rows = []
        for name, argv in commands.items():
            time_to_first_request(argv, url, env)  # untimed: the files read into the OS's cache
            times = [time_to_first_request(argv, url, env) for _ in range(args.runs)]
            rows.append((name + ": start to first request", times))
        rows.append(("python -c pass", [process_time([python, "-c", "pass"], env) for _ in range(args.runs)]))
        sdk = [python, "-c", "from label_studio_sdk import LabelStudio"]
        try:
            rows.append(("python + `from label_studio_sdk import LabelStudio`",
                         [process_time(sdk, env) for _ in range(args.runs)]))
        except subprocess.CalledProcessError:
            print("label-studio-sdk is not installed: no SDK row")
    server.shutdown()

    print(f"median of {args.runs} runs, seconds (min-max); Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    width = max(len(name) for name, _ in rows)
    for name, times in rows:
        print(f"  {name:<{width}}  {statistics.median(times):6.3f}  ({min(times):.3f}-{max(times):.3f})")
    bare = statistics.median(rows[-2 if len(rows) > 3 else -1][1])
    sdk_row = rows[-1][1] if len(rows) > 3 else None
    for name, times in rows[:2]:
        verdict = "meets" if statistics.median(times) < GOAL else "misses"
        line = f"  {name.split(':')[0]}: {verdict} the {GOAL} s goal"
        if sdk_row is not None:
            line += (f"; the SDK import alone costs {statistics.median(sdk_row) - bare:.3f} s above a bare "
                     f"interpreter, the whole start {statistics.median(times) - bare:.3f} s")
        print(line)


if __name__ == "__main__":
    main()
