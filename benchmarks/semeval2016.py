#!/usr/bin/env python3
"""The baseline on SemEval-2016 Task 6, Task A (stance in tweets), beside the published results.

Trains ``annotate.baseline`` (the same code as ``stance train``) on the official training data
(trial + training files, 2,914 tweets) and tests it on the official Task A test file, once;
prints F_avg = (F1(FAVOR) + F1(AGAINST)) / 2, F1(FAVOR) and F1(AGAINST), pooled over the five
targets (the official score) and per target, beside the published Task A results.

Every choice (the feature sets, the stance mode: per-target, target-aware or their ensemble, C,
class weights) is made by cross-validation on the training data alone, never on the test file;
``--ablation`` prints the cross-validated F_avg of each feature set combination (training data
only). The report (``report.json``, ``report.md``, PNGs) goes to ``benchmarks/results/semeval2016/``
unless ``--out`` says otherwise; its notes keep the chosen configuration, the cross-validated
figures, the training time and the machine's load while it trained. Tweets have no articles:
each tweet is its own group (``article_id`` = the tweet's ID), so the grouped folds and the
article bootstrap of the intervals become plain stratified folds and a bootstrap of tweets.

Then it simulates annotation (pool-based, on the training data): starting from 20 random
tweets per target, it adds ``--batch`` labels at a time, either most uncertain first (the
smallest top-two margin of the calibrated probabilities, the order of ``stance predict``) or at
random, refits the chosen configuration (no new selection) and scores it on the test file. It
prints the curves and how many labels each order needs to reach the full-data score, and plots
F_avg against the number of labels (``OUT/annotation-order.png``).

The data is read from DATA_DIR (never copied into the repository): tab-separated, UTF-8, CRLF,
``ID, Target, Tweet, Stance, Opinion towards, Sentiment``, a header line where there is one (the
test file has none).

Run::

    .venv/bin/python benchmarks/semeval2016.py DATA/semeval2016-task6 [--out DIR] [--ablation]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from annotate.baseline import StanceBaseline, train
from annotate.features import FEATURE_SETS, resources_of
from annotate.predict import margins
from annotate.errors import AnnotateError, InputError
from annotate.evaluate import (EvaluationReport, QuestionPredictions, confusion_matrix, f_avg, majority_of_counts,
                               report_from_predictions, write_report)
sys.path.insert(0, str(Path(__file__).resolve().parent))  # public_data.py, beside this file
from public_data import scheme_of, timed, timing_line  # noqa: E402
from annotate.scheme import STANCE_LABELS, Scheme

FILES = {"train": ("trialdata-all-annotations.txt", "trainingdata-all-annotations.txt"),
         "test": ("testdata-taskA-all-annotations.txt",)}
TARGETS = {  # SemEval's target name -> our slug
    "Atheism": "atheism",
    "Climate Change is a Real Concern": "climate",
    "Feminist Movement": "feminism",
    "Hillary Clinton": "hillary",
    "Legalization of Abortion": "abortion",
}
PUBLISHED = [  # Mohammad et al. 2016, Task A, F_avg over all test tweets
    ("majority class", 65.22),
    ("SVM, word 1-3 + char 2-5 grams, one model per target (organisers; no team beat it)", 68.98),
    ("best team (MITRE)", 67.82),
    ("BERTweet, fine-tuned (TweetEval, Barbieri et al. 2020; same test tweets; the stretch goal)", 71.2),
]
GOAL = 70.0
STRETCH = 71.2
SCHEME_ID = "semeval2016-task6/v1"
OUT = Path(__file__).resolve().parent / "results" / "semeval2016"
ABLATION = (("ngrams",), ("ngrams", "hashtags"), ("ngrams", "lexicon"), ("ngrams", "hashtags", "lexicon"))
# The candidates cross-validation chooses from here: annotate's default grid narrowed, for the 60-second goal, to what
# a run of the full default grid (72 configurations: ngrams 70.03, ngrams+hashtags+lexicon 71.29, +vectors 71.73,
# +contextual 73.69 out of fold; the best C of the plain set 1.0, of the contextual one 0.3; balanced class weights)
# put first; all three stance modes.
CANDIDATES = {"feature_sets": (("ngrams", "hashtags", "lexicon"), ("ngrams", "hashtags", "lexicon", "contextual")),
              "C": (0.3, 1.0), "class_weight": ("balanced",)}
HEADER = ["ID", "Target", "Tweet", "Stance", "Opinion towards", "Sentiment"]


def read_file(path: Path) -> list[dict]:
    """Gold rows (the shape ``stance adjudicate`` writes) of one SemEval annotation file."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path=path, fix="give the folder of the SemEval-2016 Task 6 files") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", path=path) from None
    rows = []
    for number, line in enumerate(text.split("\r\n"), 1):
        if not line:
            continue
        fields = line.split("\t")
        if fields == HEADER:
            continue
        if len(fields) != 6:
            raise InputError(f"{len(fields)} tab-separated fields, not 6", path=path, where=f"line {number}")
        ident, target, tweet, stance = fields[:4]
        if target not in TARGETS or stance not in STANCE_LABELS:
            raise InputError(f"unknown target {target!r} or stance {stance!r}", path=path, where=f"line {number}")
        rows.append({"sentence_id": f"semeval2016:{ident}", "article_id": f"semeval2016:{ident}", "text": tweet,
                     "scheme": SCHEME_ID, "claim": None, "stance": {TARGETS[target]: stance}, "spans": []})
    return rows


def scheme_for_semeval() -> Scheme:
    """The seeds' scheme with SemEval's five targets and an id of its own (labels unchanged)."""
    targets = [{"id": slug, "name": name, "description": name} for name, slug in TARGETS.items()]
    return scheme_of(SCHEME_ID, "SemEval-2016 Task 6", targets)


def target_of(row: dict) -> str:
    return next(iter(row["stance"]))


def test_predictions(model: StanceBaseline, rows: list[dict]) -> list[QuestionPredictions]:
    preds = []
    for slug in TARGETS.values():
        mine = [r for r in rows if target_of(r) == slug]
        predicted = model.predict([r["text"] for r in mine], f"stance_{slug}")
        preds.append(QuestionPredictions(question=f"stance_{slug}", target=slug, labels=STANCE_LABELS,
                                         y_true=[r["stance"][slug] for r in mine], y_pred=list(predicted),
                                         groups=[r["article_id"] for r in mine],
                                         majority=majority_of_counts(model.label_counts_.get(f"stance_{slug}", {}),
                                                                     STANCE_LABELS)))
    return preds


def pooled_f_avg(model: StanceBaseline, rows: list[dict]) -> float:
    preds = test_predictions(model, rows)
    conf = sum(confusion_matrix(p.y_true, p.y_pred, STANCE_LABELS) for p in preds)
    return 100 * f_avg(conf, STANCE_LABELS)


def calibration(model: StanceBaseline, rows: list[dict]) -> dict[str, float]:
    """How far the probabilities of the predicted labels are from the accuracy, on ``rows``."""
    confidence, correct, log_loss = [], [], []
    for slug in TARGETS.values():
        mine = [r for r in rows if target_of(r) == slug]
        proba = model.predict_proba([r["text"] for r in mine], f"stance_{slug}")
        classes = list(model.classes_[f"stance_{slug}"])
        gold = np.array([classes.index(r["stance"][slug]) for r in mine])
        confidence += proba.max(axis=1).tolist()
        correct += (proba.argmax(axis=1) == gold).tolist()
        log_loss += (-np.log(np.clip(proba[np.arange(len(mine)), gold], 1e-15, 1))).tolist()
    confidence, correct = np.array(confidence), np.array(correct, dtype=float)
    bins = np.minimum((confidence * 10).astype(int), 9)
    ece = sum(abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).mean()
              for b in range(10) if (bins == b).any())
    return {"confidence": float(confidence.mean()), "accuracy": float(correct.mean()), "ece": float(ece),
            "log_loss": float(np.mean(log_loss))}


def majority_baseline(train_rows: list[dict], test_rows: list[dict]) -> float:
    """Each target's most frequent training label for every test tweet of that target."""
    majority = {}
    for slug in TARGETS.values():
        labels = [r["stance"][slug] for r in train_rows if target_of(r) == slug]
        majority[slug] = max(STANCE_LABELS, key=labels.count)
    y_true = [r["stance"][target_of(r)] for r in test_rows]
    y_pred = [majority[target_of(r)] for r in test_rows]
    return 100 * f_avg(confusion_matrix(y_true, y_pred, STANCE_LABELS), STANCE_LABELS)


def print_scores(report: EvaluationReport) -> None:
    rows = [("pooled (official)", report.stance)] + [(q.target, q) for q in report.questions]
    print(f"| {'':<17} | {'tweets':>6} | {'F_avg':>6} | {'95% CI':>13} | {'F1(FAVOR)':>9} | {'F1(AGAINST)':>11} |")
    print(f"| {'-' * 17} | {'-' * 5}: | {'-' * 5}: | {'-' * 12}: | {'-' * 8}: | {'-' * 10}: |")
    for name, q in rows:
        f1 = {c.label: c.f1 for c in q.classes}
        ci = (f"{100 * q.f_avg_ci.low:.2f}-{100 * q.f_avg_ci.high:.2f}"
              if q.f_avg_ci is not None and q.f_avg_ci.status == "interval" else "—")
        print(f"| {name:<17} | {q.rows:>6} | {100 * q.f_avg:>6.2f} | {ci:>13} | {100 * f1['FAVOR']:>9.2f} | "
              f"{100 * f1['AGAINST']:>11.2f} |")


def simulate(train_rows: list[dict], test_rows: list[dict], scheme, chosen: dict, *, batch: int, seed: int,
             n_jobs: int) -> dict[str, list[tuple[int, float]]]:
    """F_avg on the test file after each batch of labels, uncertainty-first and random order."""
    params = dict(stance_mode=chosen["mode"], C=(chosen["C"],), class_weight=(chosen["class_weight"],),
                  feature_sets=(tuple(chosen["features"]),), n_jobs=n_jobs)
    rng = np.random.default_rng(seed)
    start = []
    for slug in TARGETS.values():
        mine = [i for i, r in enumerate(train_rows) if target_of(r) == slug]
        start += rng.choice(mine, size=20, replace=False).tolist()
    curves: dict[str, list[tuple[int, float]]] = {}
    for order in ("uncertainty", "random"):
        labelled = list(start)
        rng = np.random.default_rng(seed + 1)
        curve = []
        while True:
            model = train([train_rows[i] for i in labelled], scheme, random_state=seed, **params)
            curve.append((len(labelled), pooled_f_avg(model, test_rows)))
            pool = np.setdiff1d(np.arange(len(train_rows)), labelled)
            if not len(pool):
                break
            take = min(batch, len(pool))
            if order == "random":
                picked = rng.choice(pool, size=take, replace=False)
            else:
                margin = np.empty(len(pool))
                for slug in TARGETS.values():
                    mask = np.array([target_of(train_rows[i]) == slug for i in pool])
                    if mask.any():
                        texts = [train_rows[i]["text"] for i in pool[mask]]
                        margin[mask] = margins(model.predict_proba(texts, f"stance_{slug}"))
                picked = pool[np.argsort(margin, kind="stable")[:take]]
            labelled += picked.tolist()
        curves[order] = curve
    return curves


def mean_curves(runs: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """Step-wise mean F_avg over repeats (every repeat has the same label counts)."""
    return {order: [(n, float(np.mean([run[order][k][1] for run in runs])))
                    for k, (n, _) in enumerate(runs[0][order])] for order in runs[0]}


def labels_to_reach(curve: list[tuple[int, float]], score: float) -> int | None:
    return next((n for n, s in curve if s >= score), None)


def plot_curves(curves: dict, full: float, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for order, style in (("uncertainty", "o-"), ("random", "s--")):
        n, s = zip(*curves[order])
        ax.plot(n, s, style, markersize=4, label=f"{order} order")
    ax.axhline(full, color="grey", linewidth=1, label=f"all {curves['random'][-1][0]} labels ({full:.2f})")
    for name, value in PUBLISHED[:2]:
        ax.axhline(value, color="tab:red" if value < 66 else "tab:purple", linewidth=0.8, linestyle=":",
                   label=f"{name.split(',')[0]} ({value})")
    ax.set_xlabel("training labels (tweets)")
    ax.set_ylabel("F_avg on the Task A test set (pooled)")
    ax.set_title("SemEval-2016 Task 6: labels in uncertainty order vs random order", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})


def configuration(candidate: dict) -> str:
    return (f"features {'+'.join(candidate['features'])}, {candidate['mode']}, C={candidate['C']}, "
            f"class_weight={candidate['class_weight']}")


def ablation(train_rows: list[dict], scheme: Scheme, *, seed: int, n_jobs: int) -> dict[str, float]:
    """Cross-validated F_avg (training tweets only) of each feature set combination, best over the rest."""
    model = train(train_rows, scheme, random_state=seed, n_jobs=n_jobs, feature_sets=ABLATION)
    return model.selection_["stance"]["best_per_features"]


def main() -> int:
    parser = argparse.ArgumentParser(description="annotate's baseline on SemEval-2016 Task 6, Task A.")
    parser.add_argument("data_dir", type=Path, help="folder of the SemEval-2016 Task 6 annotation files")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="where to write the report and plots (default benchmarks/results/semeval2016)")
    parser.add_argument("--ablation", action="store_true",
                        help="also cross-validate each feature set combination on the training tweets (no test)")
    parser.add_argument("--n-jobs", type=int, default=2, help="folds in parallel (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=250, help="labels added per simulation step (default 250)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="simulations from different random start sets, averaged (default 1)")
    parser.add_argument("--no-simulation", action="store_true", help="skip the annotation-order simulation")
    args = parser.parse_args()
    try:
        train_rows = [r for name in FILES["train"] for r in read_file(args.data_dir / name)]
        test_rows = [r for name in FILES["test"] for r in read_file(args.data_dir / name)]
    except AnnotateError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    scheme = scheme_for_semeval()
    print(f"SemEval-2016 Task 6, Task A: {len(train_rows):,} training tweets (trial + training), "
          f"{len(test_rows):,} test tweets; {platform.python_version()}, {os.cpu_count()} cores, "
          f"n_jobs={args.n_jobs}")

    model, timing = timed(lambda: train(train_rows, scheme, random_state=args.seed, n_jobs=args.n_jobs,
                                        **CANDIDATES))
    sel = model.selection_["stance"]
    chosen = sel["chosen"]
    timing = timing_line(timing, sel, n_jobs=args.n_jobs, grouped=False)
    print(timing)
    per_mode = ", ".join(f"{m} {100 * s:.2f}" for m, s in sel["best_per_mode"].items())
    per_features = ", ".join(f"{f} {100 * s:.2f}" for f, s in sel["best_per_features"].items())
    cv = (f"cross-validated F_avg (training tweets only), best per mode: {per_mode}; best per feature sets: "
          f"{per_features}; chosen: {configuration(chosen)} ({100 * chosen['score']:.2f})")
    print(cv)
    resources = [f"{r.package} ({r.licence}): {r.what}" for r in resources_of(chosen["features"])]
    for name in chosen["features"]:
        print(f"  {name}: {FEATURE_SETS[name].description}")
    for line in resources:
        print(f"  reads {line}")
    notes = ["tweets have no articles: each tweet is its own group, so the bootstrap resamples tweets",
             timing, cv] + [f"lexicon or word list read: {line}" for line in resources]
    if args.ablation:
        started = time.perf_counter()
        figures = ablation(train_rows, scheme, seed=args.seed, n_jobs=args.n_jobs)
        line = ("ablation, cross-validated F_avg (training tweets only) of each feature set combination, best over "
                "modes, C and class weights: " + ", ".join(f"{f} {100 * s:.2f}" for f, s in figures.items()))
        print(f"{line} ({time.perf_counter() - started:.0f} s)")
        notes.append(line)

    started = time.perf_counter()
    report = report_from_predictions(
        test_predictions(model, test_rows), scheme=scheme.id, model="annotate baseline",
        data="SemEval-2016 Task 6 Task A test set", rows=len(test_rows), random_state=args.seed, notes=notes)
    print(f"testing: {time.perf_counter() - started:.1f} s (predictions and 1,000 bootstrap resamples)")
    print()
    print_scores(report)
    ours = 100 * report.stance.f_avg
    cal = calibration(model, test_rows)
    print(f"calibration on the test set: mean probability of the predicted label {cal['confidence']:.3f}, "
          f"accuracy {cal['accuracy']:.3f}, top-label ECE (10 bins) {cal['ece']:.3f}, log loss {cal['log_loss']:.3f}")
    print()
    print("published Task A results (F_avg, pooled):")
    for name, value in PUBLISHED:
        print(f"  {value:6.2f}  {name}")
    print(f"  {ours:6.2f}  this baseline ({'meets' if ours >= GOAL else 'misses'} the goal of {GOAL:.1f}; "
          f"{'meets' if ours >= STRETCH else 'misses'} the stretch goal of {STRETCH:.1f})")
    print(f"  {majority_baseline(train_rows, test_rows):6.2f}  majority class per target, recomputed here "
          "(a check of our F_avg against the published 65.22)")
    written = write_report(report, args.out)
    print(f"wrote {', '.join(str(p) for p in written)}")

    if args.no_simulation:
        return 0
    print()
    print(f"annotation order (pool: the {len(train_rows):,} training tweets; start: 20 random per target; "
          f"+{args.batch} per step; the chosen configuration refitted at every step; F_avg on the test set):")
    started = time.perf_counter()
    runs = []
    for repeat in range(args.repeats):
        runs.append(simulate(train_rows, test_rows, scheme, chosen, batch=args.batch, seed=args.seed + repeat,
                             n_jobs=args.n_jobs))
        for order, curve in runs[-1].items():
            print(f"  start set {repeat + 1}, {order:<11} " + " ".join(f"{n}:{s:.1f}" for n, s in curve), flush=True)
    curves = mean_curves(runs)
    if args.repeats > 1:
        for order, curve in curves.items():
            print(f"  mean of {args.repeats},  {order:<11} " + " ".join(f"{n}:{s:.1f}" for n, s in curve))
    full = curves["random"][-1][1]
    for share in (1.0, 0.99, 0.98):
        needed = {o: labels_to_reach(c, share * full) for o, c in curves.items()}
        saved = ""
        if needed["uncertainty"] and needed["random"]:
            difference = needed["random"] - needed["uncertainty"]
            saved = f"saves {difference:,} labels" if difference >= 0 else f"needs {-difference:,} more labels"
        print(f"  labels to reach {share:.0%} of the full-data F_avg ({share * full:.2f}): "
              f"uncertainty {needed['uncertainty']}, random {needed['random']} {saved}".rstrip())
    plot_curves(curves, full, args.out / "annotation-order.png")
    print(f"simulation: {time.perf_counter() - started:.1f} s; wrote {args.out / 'annotation-order.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
