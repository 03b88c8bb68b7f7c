#!/usr/bin/env python3
"""Our Fleiss' kappa for unequal numbers of raters beside irrCAC's, on random tables with missing ratings.

irrCAC (Gwet's own package, Python port 0.4.4) pins scipy 1.12 and pandas < 3, so it cannot
live in the project's environment; this script runs in two steps, in two environments:

1. In a separate one with irrCAC (``python3 -m venv /tmp/irr && /tmp/irr/bin/pip install irrcac``),
   ``/tmp/irr/bin/python benchmarks/fleiss_irrcac.py --generate cases.json`` draws ``--cases``
   random rating tables (2-6 raters, 3-40 units, 2-4 categories, up to half the ratings missing)
   and stores irrCAC's ``CAC(...).fleiss()`` kappa for each; it does not import ``annotate``.
2. In ours, ``.venv/bin/python benchmarks/fleiss_irrcac.py --check cases.json`` computes
   ``annotate.coefficients.fleiss_kappa`` on the same tables and prints the largest difference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings


def generate(path: str, cases: int, seed: int) -> int:
    import numpy as np
    import pandas as pd
    from irrCAC.raw import CAC

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < cases:
        raters, units, k = int(rng.integers(2, 7)), int(rng.integers(3, 41)), int(rng.integers(2, 5))
        truth = rng.integers(0, k, size=units)
        data = np.where(rng.random((units, raters)) < rng.random(), truth[:, None],
                        rng.integers(0, k, size=(units, raters))).astype(float)
        data[rng.random(data.shape) < rng.uniform(0, 0.5)] = np.nan
        frame = pd.DataFrame(data)
        if (frame.notna().sum(axis=1) >= 2).sum() == 0:
            continue
        kappa = CAC(frame, digits=15).fleiss()["est"]["coefficient_value"]
        out.append({"ratings": [[None if math.isnan(x) else int(x) for x in row] for row in data],
                    "kappa": None if kappa is None or math.isnan(kappa) else float(kappa)})
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(out, handle)
    print(f"wrote {len(out)} tables with irrCAC's kappa to {path}")
    return 0


def check(path: str) -> int:
    import numpy as np

    from annotate.coefficients import fleiss_kappa, value_counts

    with open(path, encoding="utf-8") as handle:
        cases = json.load(handle)
    worst, both_undefined, disagree = 0.0, 0, 0
    for case in cases:
        ratings = np.array([[np.nan if x is None else x for x in row] for row in case["ratings"]], dtype=float)
        ours = fleiss_kappa(value_counts(ratings.T))
        theirs = case["kappa"]
        if theirs is None or math.isnan(ours):
            both_undefined += theirs is None and math.isnan(ours)
            disagree += (theirs is None) != math.isnan(ours)
            continue
        worst = max(worst, abs(ours - theirs))
    print(f"{len(cases)} tables: largest |ours - irrCAC| {worst:.1e}; undefined in both {both_undefined}, "
          f"in one only {disagree}")
    return 0 if worst < 1e-12 and not disagree else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--generate", metavar="FILE", help="run irrCAC and write the tables with its kappa")
    group.add_argument("--check", metavar="FILE", help="compare our kappa with the file's")
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    return generate(args.generate, args.cases, args.seed) if args.generate else check(args.check)


if __name__ == "__main__":
    sys.exit(main())
