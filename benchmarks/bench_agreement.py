#!/usr/bin/env python3
"""Time our nominal Krippendorff's alpha beside the ``krippendorff`` package, on the same data.

The data: ``--units`` units (default 200,000) by ``--annotators`` annotators (default 5), each
label one of ``--categories`` categories (default 3) drawn from a seeded generator, where
annotators follow a per-unit "true" label with probability 0.6 (so alpha is far from 0), and
``--missing`` (default 20%) of the labels removed at random (NaN). Both functions get the
same float array with NaN for missing, and the time counted is the whole call, conversion
of the input included; best of ``--runs`` (default 3), alternating the two.

Goals checked: the same value to 1e-9, and our time at most 1.5 times the package's.

Run (``make bench`` does)::

    .venv/bin/python benchmarks/bench_agreement.py [--units 200000] [--annotators 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from importlib.metadata import version

import krippendorff
import numpy as np

from annotate.coefficients import krippendorff_alpha_nominal

VALUE_GOAL = 1e-9  # absolute difference, at most
RATIO_GOAL = 1.5  # our seconds over the package's, at most


def make_data(units: int, annotators: int, categories: int, missing: float, seed: int) -> np.ndarray:
    """(annotators, units) float codes, NaN for missing."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, categories, units)
    noise = rng.integers(0, categories, (annotators, units))
    data = np.where(rng.random((annotators, units)) < 0.6, truth, noise).astype(np.float64)
    data[rng.random(data.shape) < missing] = np.nan
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description="Nominal alpha: ours beside the krippendorff package.")
    parser.add_argument("--units", type=int, default=200_000)
    parser.add_argument("--annotators", type=int, default=5)
    parser.add_argument("--categories", type=int, default=3)
    parser.add_argument("--missing", type=float, default=0.2, help="share of labels removed (default 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each; the fastest counts")
    args = parser.parse_args()
    if args.units < 1 or args.annotators < 2 or args.categories < 2 or not 0 <= args.missing < 1 or args.runs < 1:
        parser.error("need --units >= 1, --annotators >= 2, --categories >= 2, 0 <= --missing < 1, --runs >= 1")

    data = make_data(args.units, args.annotators, args.categories, args.missing, args.seed)
    contenders = {
        "annotate.coefficients.krippendorff_alpha_nominal": lambda: krippendorff_alpha_nominal(data),
        f"krippendorff {version('krippendorff')} alpha(nominal)":
            lambda: krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"),
    }
    values, seconds = {}, dict.fromkeys(contenders, float("inf"))
    for _ in range(args.runs):
        for name, run in contenders.items():
            start = time.perf_counter()
            values[name] = float(run())
            seconds[name] = min(seconds[name], time.perf_counter() - start)

    print("Krippendorff's alpha (nominal): ours beside the krippendorff package")
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.platform()}")
    print(f"data:    {args.units:,} units x {args.annotators} annotators, {args.categories} categories, "
          f"{np.isnan(data).mean():.1%} missing, seed {args.seed}; best of {args.runs} runs")
    print()
    width = max(map(len, contenders))
    for name in contenders:
        print(f"  {name:<{width}}  alpha {values[name]:.15f}  {seconds[name] * 1000:8.1f} ms")
    ours, theirs = contenders
    diff = abs(values[ours] - values[theirs])
    ratio = seconds[ours] / seconds[theirs]
    print()
    print(f"absolute difference: {diff:.3e}")
    print(f"time ratio ours / package: {ratio:.2f} ({1 / ratio:.2f}x the package's speed)")
    print(f"goal same value to {VALUE_GOAL:g}: {diff:.1e} -> {'MET' if diff <= VALUE_GOAL else 'MISSED'}")
    print(f"goal time ratio <= {RATIO_GOAL}: {ratio:.2f} -> {'MET' if ratio <= RATIO_GOAL else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
