"""What the benchmarks on public data share: a timed training run, a scheme of their own, the reports.

``semeval2016.py``, ``newsmtsc.py`` and ``claimbuster.py`` import it from beside them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from annotate.files import atomic_write
from annotate.scheme import Scheme, load_scheme

T = TypeVar("T")


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (joblib's workers are shut down first, so they count)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass(frozen=True)
class Timing:
    """How long a run took: wall seconds, CPU seconds (workers included), the load average while it ran."""

    seconds: float
    cpu: float
    load: float


def timed(run: Callable[[], T]) -> tuple[T, Timing]:
    """``run()``, and its wall time, CPU time and the mean 1-minute load average at its start and end."""
    load_before = os.getloadavg()[0]
    started, cpu_before = time.perf_counter(), cpu_seconds()
    result = run()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    return result, Timing(seconds, cpu, (load_before + os.getloadavg()[0]) / 2)


def timing_line(timing: Timing, selection: Mapping[str, Any], *, n_jobs: int, grouped: bool = True) -> str:
    """The line a benchmark prints about its training run and the cross-validation behind it."""
    return (f"training took {timing.seconds:.1f} s with n_jobs={n_jobs} on {os.cpu_count()} cores shared with other "
            f"work (1-minute load average {timing.load:.1f} while it ran), {timing.cpu:.1f} s of CPU in all: "
            f"{selection['folds']}-fold {'grouped ' if grouped else ''}cross-validation over {len(selection['candidates'])} configurations, "
            "then the chosen one refitted and calibrated")


def scheme_of(scheme_id: str, name: str, targets: list[dict]) -> Scheme:
    """The seeds' scheme (its labels and their definitions) with an id, a name and targets of a data set's own."""
    base = load_scheme().model_dump(mode="json")
    return Scheme.model_validate({**base, "id": scheme_id, "name": name, "targets": targets})


def chosen_and_reports(summary: Mapping[str, Any], caption: str) -> list[str]:
    """The end of a benchmark's report.md: its plot, how the model was chosen (``summary["cv"]``
    and ``summary["notes"]``) and a link to each test file's full report."""
    return ["", f"![{caption}](scores.png)", "", "## How it was chosen", "", summary["cv"], "",
            *[f"- {line}" for line in summary["notes"]], "",
            "Full reports (per class, confusion matrices): "
            + ", ".join(f"[`{n}/report.md`]({n}/report.md)" for n in summary["test"]) + "."]


def write_reports(summary: dict, out: Path, *, markdown: Callable[[dict], str],
                  plot: Callable[[Any, Path], None], results: Any) -> None:
    """``report.json``, ``report.md`` and ``scores.png`` of a benchmark into ``out``, and the line that says so."""
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "report.json") as handle:
        handle.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    with atomic_write(out / "report.md") as handle:
        handle.write(markdown(summary))
    plot(results, out / "scores.png")
    print(f"wrote {out / 'report.json'}, {out / 'report.md'}, {out / 'scores.png'} and a folder per test file")
