#!/usr/bin/env python3
"""The baseline's claim model on ClaimBuster: check-worthy factual claims in U.S. presidential debates.

ClaimBuster (Hassan et al., KDD 2017; the two-class files of Meng et al. 2020) labels a debate
sentence 1 when it is a *check-worthy factual claim* (CFS): a statement of fact that the public
would want checked, such as a figure, a record or an event. Opinions, promises, questions and
factual sentences nobody would check are 0. The scheme's ``CLAIM`` is wider: any assertion
that could be true or false and that someone could dispute, a judgement, a prediction or an
accusation included, in the author's voice or a source's. So a CFS is a CLAIM, but many CLAIMs
(opinions, predictions) are not CFS: this measures the claim model on a narrower question.

Trains the claim model of ``annotate.baseline`` (the same code as ``stance train``) on
``train.json`` (CFS as ``CLAIM``, the rest as ``NO_CLAIM``). The files have no debate or speaker
field; sentence ids run in order through the debates, so the folds group sentences by runs of
:data:`RUN` consecutive ids (``sentence_id // 100``): neighbouring sentences, often one speaker's
turn on one topic, never straddle a training and a validation fold, and the bootstrap resamples
those runs. Every choice (feature sets, C, class weights) is made by this cross-validation on
``train.json`` alone, by the out-of-fold F1 of the claim class (:data:`METRIC`: the goal's figure, as
``newsmtsc.py`` chooses by the F1m it is judged on). Then ``test.json`` and every ``--test`` file of the same
format are scored once, each on its own: F1 of the claim class, macro F1 (each with a 95%
bootstrap interval), and the average precision of the ranking by the model's probability of
CLAIM, beside the figure measured on this machine with TF-IDF and a linear SVM (F1 83.0, macro
F1 84.1 on ``test.json``).

Writes ``report.json``, ``report.md`` and ``scores.png`` into ``benchmarks/results/claimbuster/``
(``--out``) and each test file's full evaluation report into a folder of its own name there.

Run::

    .venv/bin/python benchmarks/claimbuster.py DATA/claimbuster [--test FILE ...] [--out DIR] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from annotate.baseline import StanceBaseline, train
from annotate.errors import AnnotateError, InputError
from annotate.evaluate import QuestionPredictions, majority_of_counts, report_from_predictions, write_report
from annotate.features import FEATURE_SETS, resources_of
sys.path.insert(0, str(Path(__file__).resolve().parent))  # public_data.py, beside this file
from public_data import chosen_and_reports, scheme_of, timed, timing_line, write_reports  # noqa: E402
from annotate.scheme import CLAIM_LABELS, Scheme

SCHEME_ID = "claimbuster/v1"
RUN = 100  # consecutive sentence ids per group
GOAL = 86.0
METRIC = "F1 of CLAIM"  # what cross-validation chooses by (the goal's figure)
MEASURED = {"f1": 83.0, "macro_f1": 84.1}  # TF-IDF + linear SVM (balanced, C=0.1), measured on this machine
OUT = Path(__file__).resolve().parent / "results" / "claimbuster"
SAYS = ("ClaimBuster's check-worthy factual claim (CFS) is narrower than the scheme's CLAIM: a statement of fact "
        "worth checking, not any disputable assertion (opinions, predictions and judgements are CLAIMs, not CFS)")


def read_file(path: Path) -> list[dict]:
    """Gold rows (the shape ``stance adjudicate`` writes) of one ClaimBuster JSON file."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path=path, fix="give the folder of ClaimBuster's train.json and "
                         "test.json (or a --test file of the same format)") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", path=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc})", path=path, fix="a JSON list of {sentence_id, label, text}") from None
    if not isinstance(data, list) or not data:
        raise InputError("not a non-empty JSON list", path=path, fix="a JSON list of {sentence_id, label, text}")
    rows = []
    for number, record in enumerate(data, 1):
        ok = (isinstance(record, dict) and type(record.get("sentence_id")) is int and record.get("label") in (0, 1)
              and isinstance(record.get("text"), str))
        if not ok:
            raise InputError(f"not a ClaimBuster record: {str(record)[:80]}", path=path, where=f"record {number}",
                             fix="each record is {\"sentence_id\": int, \"label\": 0 or 1, \"text\": str}")
        ident = record["sentence_id"]
        rows.append({"sentence_id": f"claimbuster:{ident}", "article_id": f"claimbuster:ids {ident // RUN * RUN}-",
                     "text": record["text"], "scheme": SCHEME_ID,
                     "claim": "CLAIM" if record["label"] == 1 else "NO_CLAIM", "stance": {}, "spans": []})
    return rows


def scheme_for_claimbuster() -> Scheme:
    """The seeds' scheme with an id of its own and one placeholder target (ClaimBuster has no stance)."""
    return scheme_of(SCHEME_ID, "ClaimBuster",
                     [{"id": "unused", "name": "(no stance)", "description": "ClaimBuster labels claims only"}])


def average_precision(y_true: list[str], score: np.ndarray) -> float:
    """Average precision of ranking by ``score`` (CLAIM the positive class): sklearn's ``average_precision_score``."""
    from sklearn.metrics import average_precision_score

    return float(average_precision_score([y == "CLAIM" for y in y_true], score))


def score_file(model: StanceBaseline, rows: list[dict]) -> tuple[QuestionPredictions, float]:
    proba = model.predict_proba([r["text"] for r in rows], "claim")
    classes = list(model.classes_["claim"])
    predicted = [classes[j] for j in proba.argmax(axis=1)]
    gold = [r["claim"] for r in rows]
    preds = QuestionPredictions(question="claim", labels=CLAIM_LABELS, y_true=gold, y_pred=predicted,
                                groups=[r["article_id"] for r in rows],
                                majority=majority_of_counts(model.label_counts_.get("claim", {}), CLAIM_LABELS))
    return preds, average_precision(gold, proba[:, classes.index("CLAIM")])


def plot(results: dict[str, dict], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 3.6), layout="constrained")
    ax = fig.subplots()
    names = list(results)
    width = 0.25
    for k, (key, label) in enumerate((("f1", "F1 of CLAIM"), ("macro_f1", "macro F1"), ("ap", "average precision"))):
        for i, name in enumerate(names):
            r = results[name]
            x = i + (k - 1) * width
            ax.bar(x, r[key], width=width, color=("tab:blue", "tab:green", "tab:gray")[k],
                   label=label if i == 0 else None)
            ci = r.get(f"{key}_ci")
            if ci:
                ax.errorbar(x, r[key], yerr=[[r[key] - ci[0]], [ci[1] - r[key]]], color="black", capsize=3)
            ax.text(x, (ci[1] if ci else r[key]) + 0.6, f"{r[key]:.1f}", ha="center", fontsize=8)
    ax.axhline(MEASURED["f1"], color="tab:red", linestyle=":", linewidth=0.9,
               label=f"TF-IDF + linear SVM, measured here: F1 {MEASURED['f1']}")
    ax.axhline(GOAL, color="grey", linestyle="--", linewidth=0.9, label=f"goal F1 {GOAL:.0f}")
    ax.set_xticks(range(len(names)), names)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(50, 100)
    ax.set_title("ClaimBuster: check-worthy factual claims (narrower than the scheme's CLAIM)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})


def markdown(summary: dict) -> str:
    ci = (lambda c: f"{c[0]:.1f} – {c[1]:.1f}" if c else "—")
    out = ["# ClaimBuster: the baseline's claim model", "", f"**{SAYS}.**", "",
           f"Trained on `train.json` ({summary['train_rows']:,} sentences); every choice by cross-validation on it "
           f"alone, folds grouped by runs of {RUN} consecutive sentence ids (the files have no debate field); each "
           "test file scored once. Intervals: 95% bootstrap over those runs (1,000 resamples).", "",
           "| test file | sentences | F1 of CLAIM | 95% interval | macro F1 | 95% interval | average precision | "
           "majority macro F1 |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in summary["test"].items():
        out.append(f"| {name} | {r['rows']:,} | **{r['f1']:.1f}** | {ci(r['f1_ci'])} | {r['macro_f1']:.1f} | "
                   f"{ci(r['macro_f1_ci'])} | {r['ap']:.1f} | {r['majority_macro_f1']:.1f} |")
    out += ["", f"Anchor (test.json): TF-IDF + linear SVM measured here, F1 {MEASURED['f1']}, macro F1 "
            f"{MEASURED['macro_f1']}. Goal: F1 of the claim class {GOAL:.0f} on test.json: **{summary['goal']}**.",
            *chosen_and_reports(summary, "scores per test file")]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="annotate's claim model on ClaimBuster (check-worthy factual "
                                     "claims; narrower than the scheme's CLAIM).")
    parser.add_argument("data_dir", type=Path, help="folder of ClaimBuster's train.json and test.json")
    parser.add_argument("--test", type=Path, action="append", default=[], metavar="FILE",
                        help="another test file of the same format (repeatable)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the reports (default "
                        "benchmarks/results/claimbuster)")
    parser.add_argument("--n-jobs", type=int, default=2, help="folds in parallel (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        train_rows = read_file(args.data_dir / "train.json")
        files = [args.data_dir / "test.json", *args.test]
        names = [p.stem for p in files]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise InputError(f"two test files named {twice!r}: each file's report goes to a folder of its name",
                             fix="give each --test file a name of its own (rename or copy it)")
        test_rows = {name: read_file(p) for name, p in zip(names, files)}
    except AnnotateError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    scheme = scheme_for_claimbuster()
    print(f"ClaimBuster: {len(train_rows):,} training sentences; test files: "
          + ", ".join(f"{n} ({len(r):,})" for n, r in test_rows.items())
          + f"; {platform.python_version()}, {os.cpu_count()} cores, n_jobs={args.n_jobs}")
    print(f"note: {SAYS}")
    model, timing = timed(lambda: train(train_rows, scheme, random_state=args.seed, n_jobs=args.n_jobs,
                                           claim_metric=METRIC))
    seconds, cpu, load = timing.seconds, timing.cpu, timing.load
    sel = model.selection_["claim"]
    chosen = sel["chosen"]
    timing = timing_line(timing, sel, n_jobs=args.n_jobs)
    print(timing)
    per = ", ".join(f"{k} {100 * v:.2f}" for k, v in (sel.get("best_per_features") or {}).items())
    cv = (f"Cross-validated {sel['metric']} (training sentences only), best per feature sets: {per or '—'}. Chosen: features "
          f"{'+'.join(chosen['features'])}, C={chosen['C']}, class_weight={chosen['class_weight']} "
          f"({100 * chosen['score']:.2f}).")
    print(cv)
    resources = [f"{r.package} ({r.licence}): {r.what}" for r in resources_of(chosen["features"])]
    for name in chosen["features"]:
        print(f"  {name}: {FEATURE_SETS[name].description}")
    notes = [SAYS, timing, cv, f"folds and bootstrap grouped by runs of {RUN} consecutive sentence ids "
             "(sentence_id // 100): the files have no debate or speaker field",
             "training data: 25% CFS; test.json is balanced (50%): the F1 of CLAIM on it rewards recall more than "
             "the cross-validation on the training prior does",
             f"chosen by the out-of-fold {METRIC}, the goal's figure; `stance train` chooses the claim by macro F1 "
             "unless --claim-metric says otherwise, which here picks unweighted SVMs and a lower F1 of CLAIM on "
             "test.json (the README gives both figures, and the order in which the choice of metric was made)"]
    notes += [f"lexicon or word list read: {line}" for line in resources]
    notes += [n for n in model.notes_ if not n.startswith("no row has a stance label")]
    results = {}
    for name, rows in test_rows.items():
        preds, ap = score_file(model, rows)
        report = report_from_predictions([preds], scheme=scheme.id, model="annotate baseline (claim)",
                                         data=f"ClaimBuster {name} (check-worthy factual claims as CLAIM)",
                                         rows=len(rows), random_state=args.seed,
                                         notes=notes + [f"average precision of the ranking by P(CLAIM): {ap:.4f}"])
        q = report.questions[0]
        claim = next(c for c in q.classes if c.label == "CLAIM")
        results[name] = {
            "rows": q.rows, "groups": q.articles, "f1": 100 * claim.f1,
            "f1_ci": ([100 * claim.f1_ci.low, 100 * claim.f1_ci.high]
                      if claim.f1_ci and claim.f1_ci.status == "interval" else None),
            "precision": 100 * claim.precision, "recall": 100 * claim.recall, "macro_f1": 100 * q.macro_f1,
            "macro_f1_ci": [100 * q.macro_f1_ci.low, 100 * q.macro_f1_ci.high]
            if q.macro_f1_ci and q.macro_f1_ci.status == "interval" else None,
            "ap": 100 * ap, "majority_macro_f1": 100 * q.majority.macro_f1, "accuracy": 100 * q.accuracy}
        write_report(report, args.out / name)
    main_file = results["test"]
    goal = f"{'met' if main_file['f1'] >= GOAL else 'missed'} ({main_file['f1']:.1f})"
    print()
    print(f"| {'test file':<20} | {'rows':>5} | {'F1 CLAIM':>8} | {'95% CI':>11} | {'macro F1':>8} | {'95% CI':>11} | "
          f"{'AP':>5} |")
    for name, r in results.items():
        ci = (lambda c: f"{c[0]:.1f}-{c[1]:.1f}" if c else "—")
        print(f"| {name:<20} | {r['rows']:>5} | {r['f1']:>8.1f} | {ci(r['f1_ci']):>11} | {r['macro_f1']:>8.1f} | "
              f"{ci(r['macro_f1_ci']):>11} | {r['ap']:>5.1f} |")
    print(f"anchor (test.json): TF-IDF + linear SVM measured here, F1 {MEASURED['f1']}, "
          f"macro F1 {MEASURED['macro_f1']}")
    print(f"goal F1 of CLAIM {GOAL:.0f} on test.json: {goal}")
    summary = {"data": "ClaimBuster (Hassan et al. 2017; Meng et al. 2020), two-class files", "says": SAYS,
               "train_rows": len(train_rows),
               "training_seconds": round(seconds, 1), "training_cpu_seconds": round(cpu, 1),
               "load_average": round(load, 1),
               "chosen": chosen, "cv": cv, "selection": {k: v for k, v in sel.items() if k != "candidates"},
               "test": results, "measured_here": MEASURED, "goal_f1": GOAL, "goal": goal, "notes": notes}
    write_reports(summary, args.out, markdown=markdown, plot=plot, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
