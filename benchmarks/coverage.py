#!/usr/bin/env python3
"""How often the bootstrap intervals of ``stance agree`` and ``stance evaluate`` cover the truth.

A coverage simulation: draw a sample of ``n`` articles from a known population, compute the 95%
interval exactly as the toolkit does (``annotate.coefficients.bootstrap_alphas``,
``annotate.metrics.bootstrap_confusions`` and ``percentile_interval``), and count how often it
holds the population's value; repeat ``--reps`` times for every ``n``. The population's value is
the statistic on ``--population`` articles (alpha and F1 are ratios: their truth is the limit on
endless data, not a mean of small samples).

Both populations have what makes real news data hard: sentences of one article share their
difficulty and their labels' mix, and the questions of one sentence share its difficulty.

* agreement: 3 annotators label every sentence's claim (CLAIM 45%) and three targets' stance
  (NONE 70-85%); an annotator gives the true label with a probability set by the article and the
  sentence (the same for all four questions), else a label drawn from the question's prevalence.
* evaluation: per article a label mix (Dirichlet around FAVOR 20%, AGAINST 25%, NONE 55%) and a
  model accuracy (Beta around 0.65); a wrong prediction is NONE half the time.

It prints, per number of articles, the coverage of every statistic and the share of samples
that got an interval at all; the thresholds ``MIN_ARTICLES`` of ``annotate/agreement.py`` and
``annotate/evaluate.py`` are the smallest ``n`` from which every coverage stays at or above
``--goal`` (0.90 for a nominal 95%). It also shows why whole sentences (and articles), not
(sentence, question) pairs, are resampled for the pooled alpha.

Run::

    .venv/bin/python benchmarks/coverage.py [--reps 1000] [--boot 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from annotate.coefficients import bootstrap_alphas, krippendorff_alpha_nominal, pooled_alpha_nominal
from annotate.metrics import bootstrap_confusions, confusion_matrix, f_avg, gold_classes, macro_f1, percentile_interval
from annotate.scheme import STANCE_LABELS

SIZES = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 60)
QUESTIONS = (("claim", (0.45, 0.55)), ("stance_a", (0.15, 0.15, 0.70)), ("stance_b", (0.10, 0.05, 0.85)),
             ("stance_c", (0.12, 0.13, 0.75)))


def agreement_sample(rng: np.random.Generator, articles: int, per_article: tuple[int, int] = (4, 16),
                     annotators: int = 3) -> tuple[list[np.ndarray], np.ndarray]:
    """Reliability tables (one per question) and each sentence's article."""
    sizes = rng.integers(per_article[0], per_article[1] + 1, size=articles)
    article_of = np.repeat(np.arange(articles), sizes)
    n = len(article_of)
    logit = 0.9 + rng.normal(0, 1.0, size=articles)[article_of] + rng.normal(0, 1.0, size=n)
    right = 1 / (1 + np.exp(-logit))  # the chance to give the true label: one per sentence, all its questions
    tables = []
    for _, prevalence in QUESTIONS:
        k = len(prevalence)
        truth = rng.choice(k, size=n, p=prevalence)
        noise = rng.choice(k, size=(annotators, n), p=prevalence)
        tables.append(np.where(rng.random((annotators, n)) < right, truth, noise))
    return tables, article_of


def evaluation_sample(rng: np.random.Generator, articles: int,
                      per_article: tuple[int, int] = (4, 16)) -> tuple[list[str], list[str], np.ndarray]:
    """Gold and predicted stance labels, and each row's article."""
    sizes = rng.integers(per_article[0], per_article[1] + 1, size=articles)
    article_of = np.repeat(np.arange(articles), sizes)
    mix = rng.dirichlet(np.array([0.20, 0.25, 0.55]) * 4.0, size=articles)
    accuracy = rng.beta(6.5, 3.5, size=articles)
    gold = (rng.random(len(article_of))[:, None] > np.cumsum(mix[article_of], axis=1)).sum(axis=1)
    wrong = np.where(rng.random(len(gold)) < 0.5, 2, (gold + rng.integers(1, 3, size=len(gold))) % 3)
    wrong = np.where(wrong == gold, (gold + 1) % 3, wrong)
    pred = np.where(rng.random(len(gold)) < accuracy[article_of], gold, wrong)
    labels = np.array(STANCE_LABELS, dtype=object)
    return labels[gold].tolist(), labels[pred].tolist(), article_of


def agreement_truth(rng: np.random.Generator, articles: int) -> np.ndarray:
    tables, _ = agreement_sample(rng, articles)
    return np.array([krippendorff_alpha_nominal(t) for t in tables] + [pooled_alpha_nominal(tables)])


def evaluation_truth(rng: np.random.Generator, articles: int) -> np.ndarray:
    gold, pred, _ = evaluation_sample(rng, articles)
    conf = confusion_matrix(gold, pred, STANCE_LABELS)
    return np.array([f_avg(conf, STANCE_LABELS), macro_f1(conf)])


def covers(values: np.ndarray, truth: float, clusters: int) -> tuple[bool, bool]:
    """(an interval was given, it holds the truth)."""
    ci = percentile_interval(values, level=0.95, clusters=clusters, min_clusters=0)
    if ci.status != "interval":
        return False, False
    return True, ci.low <= truth <= ci.high


def simulate_agreement(rng: np.random.Generator, truth: np.ndarray, reps: int, boot: int) -> dict[int, np.ndarray]:
    """Per size: (statistics, 2) of [share with an interval, coverage among those]."""
    out = {}
    for n in SIZES:
        given = np.zeros(len(truth))
        hit = np.zeros(len(truth))
        for _ in range(reps):
            tables, article_of = agreement_sample(rng, n)
            alphas = bootstrap_alphas(tables, article_of, n_boot=boot, random_state=rng)
            for s in range(len(truth)):
                g, h = covers(alphas[:, s], truth[s], n)
                given[s] += g
                hit[s] += h
        out[n] = np.column_stack([given / reps, np.where(given > 0, hit / np.maximum(given, 1), np.nan)])
    return out


def simulate_evaluation(rng: np.random.Generator, truth: np.ndarray, reps: int, boot: int) -> dict[int, np.ndarray]:
    out = {}
    for n in SIZES:
        given = np.zeros(2)
        hit = np.zeros(2)
        for _ in range(reps):
            gold, pred, article_of = evaluation_sample(rng, n)
            boots = bootstrap_confusions(gold, pred, article_of, STANCE_LABELS, n_boot=boot, random_state=rng)
            classes = gold_classes(confusion_matrix(gold, pred, STANCE_LABELS))
            for s, values in enumerate((f_avg(boots, STANCE_LABELS), macro_f1(boots, classes))):
                g, h = covers(values, truth[s], n)
                given[s] += g
                hit[s] += h
        out[n] = np.column_stack([given / reps, np.where(given > 0, hit / np.maximum(given, 1), np.nan)])
    return out


def pooled_resampling(rng: np.random.Generator, truth: float, reps: int, boot: int, articles: int = 30) -> dict:
    """Coverage of the pooled alpha's interval when resampling articles, sentences, or (sentence, question) pairs."""
    hits = {"articles": 0, "sentences": 0, "(sentence, question) pairs": 0}
    for _ in range(reps):
        tables, article_of = agreement_sample(rng, articles)
        n = tables[0].shape[1]
        draws = {"articles": bootstrap_alphas(tables, article_of, n_boot=boot, random_state=rng)[:, -1],
                 "sentences": bootstrap_alphas(tables, None, n_boot=boot, random_state=rng)[:, -1]}
        # Every (sentence, question) pair its own unit: each question's table padded to all pairs.
        pairs = []
        for q, t in enumerate(tables):
            padded = np.full((t.shape[0], n * len(tables)), -1)
            padded[:, q * n:(q + 1) * n] = t
            pairs.append(padded)
        draws["(sentence, question) pairs"] = bootstrap_alphas(pairs, None, n_boot=boot, random_state=rng)[:, -1]
        for name, values in draws.items():
            hits[name] += covers(values, truth, articles)[1]
    return {name: h / reps for name, h in hits.items()}


def threshold(results: dict[int, np.ndarray], goal: float) -> int | None:
    """The smallest size from which every statistic's coverage stays at or above ``goal``."""
    ok = [n for n in SIZES if np.nanmin(results[n][:, 1]) >= goal]
    for n in SIZES:
        if all(m in ok for m in SIZES if m >= n):
            return n
    return None


def show(title: str, names: list[str], results: dict[int, np.ndarray]) -> None:
    print(title)
    print("  articles  " + "  ".join(f"{name:>16}" for name in names) + "   (coverage; share with an interval)")
    for n, r in results.items():
        print(f"  {n:>8}  " + "  ".join(f"{r[s, 1]:>8.3f} ({r[s, 0]:>5.0%})" for s in range(len(names))))


def main() -> int:
    parser = argparse.ArgumentParser(description="Coverage of the agreement and evaluation bootstrap intervals.")
    parser.add_argument("--reps", type=int, default=1000, help="samples per number of articles (default: 1000)")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples per sample (default: 1000)")
    parser.add_argument("--population", type=int, default=20_000, help="articles of the population (default: 20000)")
    parser.add_argument("--goal", type=float, default=0.90, help="least coverage of a 95%% interval (default: 0.90)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()

    truth = agreement_truth(rng, args.population)
    names = [q for q, _ in QUESTIONS] + ["pooled"]
    print("agreement: population alpha " + ", ".join(f"{n} {t:.3f}" for n, t in zip(names, truth)))
    agree = simulate_agreement(rng, truth, args.reps, args.boot)
    show("agreement: 95% interval of alpha, articles resampled", names, agree)
    pooled = pooled_resampling(rng, truth[-1], max(args.reps // 4, 50), args.boot)
    print("pooled alpha at 30 articles, resampling: " + ", ".join(f"{k} {v:.3f}" for k, v in pooled.items()))

    truth_eval = evaluation_truth(rng, args.population)
    print(f"evaluation: population F_avg {truth_eval[0]:.3f}, macro F1 {truth_eval[1]:.3f}")
    evaluation = simulate_evaluation(rng, truth_eval, args.reps, args.boot)
    show("evaluation: 95% interval, articles resampled", ["F_avg", "macro F1"], evaluation)

    a, e = threshold(agree, args.goal), threshold(evaluation, args.goal)
    print(f"smallest number of articles from which every coverage stays >= {args.goal:.2f}: "
          f"agreement {a}, evaluation {e}")
    print(f"{args.reps} samples per size, {args.boot} resamples each; {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
