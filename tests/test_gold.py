"""Adjudication into gold: majority and Dawid-Skene (checked against crowd-kit), spans, conflicts, resolve."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.errors import AnnotateError, InputError
from annotate.gold import (
    Conflict,
    Gold,
    adjudicate,
    _decide,
    dawid_skene,
    labelled_by,
    person,
    read_conflicts,
    read_gold,
    resolve,
)
from annotate.labeling import choice_questions
from annotate.labels import Annotation, Annotator, Span
from annotate.scheme import load_scheme

# crowd-kit 1.4 calls pandas with arguments pandas 3 deprecates: its warnings, not ours
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crowdkit", "ignore::FutureWarning:crowdkit")

SCHEME = load_scheme()
TARGETS = SCHEME.target_ids  # haftar_lna, gna, turkey_military
TEXT = "Haftar's forces said the GNA had lost."
_ids = iter(range(1, 1_000_000))


def span(label: str, start: int, end: int) -> Span:
    return Span(label=label, start=start, end=end, article_start=100 + start, article_end=100 + end,
                text=TEXT[start:end])


def ann(sentence: str, annotator: str, claim: str = "CLAIM", stance: dict | None = None,
        spans: list[Span] | None = None, email: str | None = None) -> Annotation:
    ident = next(_ids)
    return Annotation(
        sentence_id=sentence, article_id=sentence.split(":")[0], text=TEXT,
        annotator=Annotator(id=annotator, email=email),
        stance={t: "NONE" for t in TARGETS} | (stance or {}), claim=claim, spans=spans or [],
        annotation_id=ident, task_id=ident, scheme=SCHEME.id)


def check_counts(gold: list[Gold], conflicts: list[Conflict], counts) -> None:
    per_sentence = len(choice_questions(SCHEME))
    assert counts.questions == counts.decided + counts.conflicts == counts.sentences * per_sentence
    assert counts.conflicts == counts.ties + counts.under_agreement + counts.too_few_annotators == len(conflicts)
    assert counts.sentences == counts.complete + counts.partial == len(gold)
    decided = sum(p.label is not None for g in gold for p in g.provenance.questions.values())
    assert decided == counts.decided
    # every (sentence, question) in exactly one place
    in_conflict = {(c.sentence_id, c.question) for c in conflicts}
    assert len(in_conflict) == len(conflicts)
    for g in gold:
        for q, p in g.provenance.questions.items():
            assert ((g.sentence_id, q) in in_conflict) == (p.label is None)


# --- majority ----------------------------------------------------------------------------------


def test_majority_decides_and_records_provenance() -> None:
    s = "a:0-38"
    gold, conflicts, counts = adjudicate(
        [ann(s, "1", "CLAIM", {"gna": "AGAINST"}), ann(s, "2", "CLAIM", {"gna": "AGAINST"}),
         ann(s, "10", "NO_CLAIM", {"gna": "FAVOR"})], SCHEME, method="majority")
    check_counts(gold, conflicts, counts)
    assert conflicts == [] and counts.complete == 1
    (g,) = gold
    assert (g.format, g.scheme, g.claim) == ("stance-gold/v1", "libya-seeds/v1", "CLAIM")
    assert g.stance == {"haftar_lna": "NONE", "gna": "AGAINST", "turkey_military": "NONE"}
    assert g.provenance.annotators == ["1", "2", "10"]  # natural order
    claim = g.provenance.questions["claim"]
    assert [(v.annotator, v.label) for v in claim.votes] == [("1", "CLAIM"), ("2", "CLAIM"), ("10", "NO_CLAIM")]
    assert claim.support == pytest.approx(2 / 3) and claim.scores == {"CLAIM": 2 / 3, "NO_CLAIM": 1 / 3}
    assert (claim.method_label, claim.reviewer, claim.conflict) == ("CLAIM", None, None)
    assert g.provenance.questions["stance_haftar_lna"].support == 1.0


def test_tie_goes_to_conflicts_and_the_row_keeps_the_rest() -> None:
    s = "a:0-38"
    gold, conflicts, counts = adjudicate(
        [ann(s, "1", "CLAIM", {"gna": "AGAINST"}), ann(s, "2", "NO_CLAIM", {"gna": "FAVOR"})],
        SCHEME, method="majority")
    check_counts(gold, conflicts, counts)
    assert counts.ties == 2 and counts.partial == 1 and counts.decided == 2
    assert {c.question for c in conflicts} == {"claim", "stance_gna"}
    claim = next(c for c in conflicts if c.question == "claim")
    assert claim.kind == "tie" and claim.reason == "tie: CLAIM 1, NO_CLAIM 1 of 2 votes"
    assert [v.label for v in claim.votes] == ["CLAIM", "NO_CLAIM"] and claim.labels == ["CLAIM", "NO_CLAIM"]
    (g,) = gold
    assert g.claim is None and g.stance == {"haftar_lna": "NONE", "turkey_military": "NONE"}
    assert g.open_questions() == ["claim", "stance_gna"]
    assert g.provenance.questions["claim"].conflict == claim.reason
    # Dawid-Skene: two annotators who never met elsewhere are equally credible, a tie too
    _, conflicts, _ = adjudicate([ann(s, "1", "CLAIM"), ann(s, "2", "NO_CLAIM")], SCHEME, method="dawid-skene")
    assert [(c.question, c.kind, c.reason) for c in conflicts] == [
        ("claim", "tie", "tie: posteriors CLAIM 0.5, NO_CLAIM 0.5")]


def test_min_agreement_threshold() -> None:
    s = "a:0-38"
    anns = [ann(s, "1", "CLAIM"), ann(s, "2", "CLAIM"), ann(s, "3", "NO_CLAIM")]
    gold, conflicts, counts = adjudicate(anns, SCHEME, method="majority", min_agreement=0.67)
    check_counts(gold, conflicts, counts)
    (c,) = conflicts
    assert c.kind == "under min-agreement" and counts.under_agreement == 1
    assert c.reason == "support 0.6667 (share of CLAIM) under --min-agreement 0.67"
    # 2/3 given as the fraction passes: the comparison forgives float rounding
    gold, conflicts, _ = adjudicate(anns, SCHEME, method="majority", min_agreement=2 / 3)
    assert conflicts == [] and gold[0].claim == "CLAIM"


def test_single_annotator_is_gold_unless_min_annotators() -> None:
    anns = [ann("a:0-38", "1", "CLAIM"), ann("a:40-60", "1", "NO_CLAIM"), ann("a:40-60", "2", "NO_CLAIM")]
    gold, conflicts, counts = adjudicate(anns, SCHEME, method="majority", min_agreement=0.9)
    check_counts(gold, conflicts, counts)
    assert conflicts == [] and gold[0].claim == "CLAIM" and gold[0].provenance.questions["claim"].support == 1.0

    gold, conflicts, counts = adjudicate(anns, SCHEME, method="majority", min_annotators=2)
    check_counts(gold, conflicts, counts)
    assert counts.too_few_annotators == 4 and {c.sentence_id for c in conflicts} == {"a:0-38"}
    assert conflicts[0].reason == "1 annotator, under --min-annotators 2"
    assert gold[0].claim is None and gold[0].stance == {} and gold[1].claim == "NO_CLAIM"


def test_spans_merge_by_strict_majority() -> None:
    s = "a:0-38"
    source, claim = span("SOURCE", 0, 15), span("CLAIM", 25, 38)
    anns = [ann(s, "1", spans=[source, claim]), ann(s, "2", spans=[source, span("CLAIM", 21, 38)]),
            ann(s, "3", spans=[source])]
    gold, _, counts = adjudicate(anns, SCHEME, method="majority")
    (g,) = gold
    assert [(x.label, x.start, x.end, x.annotators, x.support) for x in g.spans] == [("SOURCE", 0, 15, ["1", "2", "3"], 1.0)]
    assert g.spans[0].text == "Haftar's forces" and g.spans[0].article_start == 100
    assert [(x.start, x.annotators) for x in g.disputed_spans] == [(21, ["2"]), (25, ["1"])]
    assert (counts.spans_agreed, counts.spans_disputed) == (1, 2)
    # two annotators: one of two is not a majority
    gold, _, _ = adjudicate(anns[:1] + [ann(s, "4")], SCHEME, method="majority")
    assert gold[0].spans == [] and len(gold[0].disputed_spans) == 2
    # one annotator: their spans stand, unless two annotators are asked for
    assert len(adjudicate(anns[:1], SCHEME, method="majority")[0][0].spans) == 2
    assert adjudicate(anns[:1], SCHEME, method="majority", min_annotators=2)[0][0].spans == []


def test_rows_sorted_and_independent_of_input_order() -> None:
    anns = [ann(f"{a}:{s}-{s + 5}", w, c) for a in ("b", "a") for s in (100, 20, 3)
            for w, c in (("1", "CLAIM"), ("2", "NO_CLAIM"), ("3", "CLAIM"))]
    gold, _, _ = adjudicate(anns, SCHEME, method="majority")
    again, _, _ = adjudicate(anns[::-1], SCHEME, method="majority")
    assert [g.sentence_id for g in gold] == ["a:3-8", "a:20-25", "a:100-105", "b:3-8", "b:20-25", "b:100-105"]
    assert gold == again


@pytest.mark.parametrize("method", ["majority", "dawid-skene"])
@settings(max_examples=40, deadline=None)
@given(data=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4), st.sampled_from(["CLAIM", "NO_CLAIM"]),
                               st.sampled_from(["FAVOR", "AGAINST", "NONE"])), max_size=40),
       min_agreement=st.sampled_from([0.0, 0.5, 0.7, 1.0]), min_annotators=st.integers(1, 3))
def test_counts_add_up(method: str, data: list, min_agreement: float, min_annotators: int) -> None:
    unique = {(s, w): (c, g) for s, w, c, g in data}
    anns = [ann(f"a:{s}-{s + 1}", str(w), c, {"gna": g}) for (s, w), (c, g) in unique.items()]
    gold, conflicts, counts = adjudicate(anns, SCHEME, method=method, min_agreement=min_agreement,
                                         min_annotators=min_annotators)
    check_counts(gold, conflicts, counts)
    assert counts.annotations == len(anns)
    for g in gold:
        assert len(g.spans) + len(g.disputed_spans) == len({(x.start, x.end, x.label) for a in anns
                                                            if a.sentence_id == g.sentence_id for x in a.spans})


# --- errors ------------------------------------------------------------------------------------


def test_input_problems_name_the_annotation() -> None:
    s = "a:0-38"
    with pytest.raises(InputError, match="a second answer of this annotator"):
        adjudicate([ann(s, "1"), ann(s, "1")], SCHEME, method="majority")
    other = ann(s, "2").model_copy(update={"scheme": "stance-claim/v0"})
    with pytest.raises(InputError, match=r"annotation \d+ \(sentence a:0-38, annotator 2\): labelled with scheme"):
        adjudicate([other], SCHEME, method="majority")
    with pytest.raises(InputError, match="stance targets"):
        adjudicate([ann(s, "1").model_copy(update={"stance": {"gna": "NONE"}})], SCHEME, method="majority")
    with pytest.raises(AnnotateError, match="--min-agreement 1.5 is not in"):
        adjudicate([], SCHEME, method="majority", min_agreement=1.5)
    with pytest.raises(AnnotateError, match="--min-annotators 0"):
        adjudicate([], SCHEME, method="majority", min_annotators=0)


def test_empty_input() -> None:
    for method in ("majority", "dawid-skene"):
        gold, conflicts, counts = adjudicate([], SCHEME, method=method)
        assert (gold, conflicts, counts.questions) == ([], [], 0)


# --- Dawid-Skene against crowd-kit --------------------------------------------------------------


def simulated_crowd(seed: int, n_tasks: int, reliabilities: list[float], per_task: int,
                    labels: tuple[str, ...] = ("AGAINST", "FAVOR", "NONE")) -> tuple[pd.DataFrame, dict]:
    """Workers who give the truth with their reliability and a uniformly random label otherwise."""
    rng = np.random.default_rng(seed)
    truth = {f"t{t}": labels[rng.integers(len(labels))] for t in range(n_tasks)}
    rows = []
    for task, true in truth.items():
        for w in rng.choice(len(reliabilities), per_task, replace=False):
            said = true if rng.random() < reliabilities[w] else labels[rng.integers(len(labels))]
            rows.append((task, f"w{w}", said))
    return pd.DataFrame(rows, columns=["task", "worker", "label"]), truth


def assert_same_as_crowdkit(df: pd.DataFrame, **params) -> None:
    ours = dawid_skene(df.task, df.worker, df.label, **params)
    theirs = DawidSkene(**params).fit(df)
    probas = theirs.probas_.loc[ours.tasks, ours.labels].to_numpy()
    np.testing.assert_allclose(ours.probas, probas, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.priors, theirs.priors_.loc[ours.labels].to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.loss_history, theirs.loss_history_, rtol=0, atol=1e-6)
    assert ours.labels[ours.probas.argmax(axis=1)].tolist() == theirs.labels_.loc[ours.tasks].tolist()
    errors = theirs.errors_
    for i, worker in enumerate(ours.workers):
        for j, said in enumerate(ours.labels):
            expected = errors.loc[(worker, said), ours.labels].to_numpy() if (worker, said) in errors.index else 0.0
            np.testing.assert_allclose(ours.errors[i, j], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dawid_skene_equals_crowdkit_on_random_crowds(seed: int) -> None:
    df, _ = simulated_crowd(seed, 150, [0.95, 0.8, 0.6, 0.45, 0.3], per_task=3)
    assert_same_as_crowdkit(df)
    assert_same_as_crowdkit(df, n_iter=3, tol=0.0)
    assert_same_as_crowdkit(df[df.label != "NONE"])  # two labels only, some tasks with one response


# crowd-kit's own worked example, tests/aggregation/test_ds_aggregation.py
# (test_dawid_skene_step_by_step): 5 tasks, 5 workers, the expected posteriors after
# 0 iterations (the majority vote's shares) and after 1, to two decimals.
TOY = [("t1", "w1", "no"), ("t1", "w2", "yes"), ("t1", "w4", "yes"), ("t1", "w5", "no"),
       ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "yes"), ("t2", "w4", "no"), ("t2", "w5", "no"),
       ("t3", "w1", "yes"), ("t3", "w2", "no"), ("t3", "w3", "no"), ("t3", "w4", "yes"), ("t3", "w5", "no"),
       ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"), ("t4", "w5", "yes"),
       ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "no"), ("t5", "w4", "no"), ("t5", "w5", "no")]
TOY_NO_YES = {0: [[0.5, 0.5], [0.4, 0.6], [0.6, 0.4], [0.0, 1.0], [0.8, 0.2]],
              1: [[0.35, 0.65], [0.26, 0.74], [0.87, 0.13], [0.00, 1.00], [0.95, 0.05]]}
TOY_PRIORS = {0: [0.46, 0.54], 1: [0.49, 0.51]}


@pytest.mark.parametrize("n_iter", [0, 1])
def test_dawid_skene_crowdkit_worked_example(n_iter: int) -> None:
    result = dawid_skene(*zip(*TOY), n_iter=n_iter)
    assert result.labels.tolist() == ["no", "yes"] and result.tasks.tolist() == ["t1", "t2", "t3", "t4", "t5"]
    np.testing.assert_allclose(result.probas, TOY_NO_YES[n_iter], atol=0.005)
    np.testing.assert_allclose(result.priors, TOY_PRIORS[n_iter], atol=0.005)
    w2 = result.errors[result.workers.tolist().index("w2")]  # rows: answer no, yes; columns: truth no, yes
    np.testing.assert_allclose(w2, [[0.61, 0.22], [0.39, 0.78]] if n_iter == 0 else [[0.75, 0.07], [0.25, 0.93]],
                               atol=0.005)
    assert_same_as_crowdkit(pd.DataFrame(TOY, columns=["task", "worker", "label"]), n_iter=n_iter)


def test_dawid_skene_runs_crowdkits_default_iterations() -> None:
    # tol -inf never stops early: the loop runs n_iter times, by default crowd-kit's 100
    result = dawid_skene(*zip(*TOY), tol=-np.inf)
    assert len(result.loss_history) == DawidSkene().n_iter == 100
    assert len(dawid_skene(*zip(*TOY), n_iter=7, tol=-np.inf).loss_history) == 7


def test_dawid_skene_stops_only_when_the_bound_falls_under_tol() -> None:
    # a unanimous crowd is at its fixed point at once: the bound gains exactly 0, which is not under tol 0
    rows = [(f"t{t}", f"w{w}", "yes" if t % 2 else "no") for t in range(4) for w in range(3)]
    result = dawid_skene(*zip(*rows), n_iter=10, tol=0.0)
    assert len(result.loss_history) == 10 and len(set(result.loss_history)) == 1
    assert_same_as_crowdkit(pd.DataFrame(rows, columns=["task", "worker", "label"]), n_iter=10, tol=0.0)
    assert len(dawid_skene(*zip(*rows), n_iter=10).loss_history) == 2  # default tol 1e-5: gain 0 < 1e-5


def test_dawid_skene_of_no_responses() -> None:
    result = dawid_skene([], [], [])
    assert [getattr(result, name).shape for name in ("tasks", "workers", "labels", "probas", "priors", "errors")] == [
        (0,), (0,), (0,), (0, 0), (0,), (0, 0, 0)]
    assert result.loss_history == []


def test_dawid_skene_a_worker_who_never_gives_a_label() -> None:
    # w6 only ever says yes: its errors for the answer no are 0, and its yes carries no information
    rows = TOY + [("t1", "w6", "yes"), ("t3", "w6", "yes"), ("t5", "w6", "yes")]
    result = dawid_skene(*zip(*rows))
    w6 = result.errors[result.workers.tolist().index("w6")]  # rows: answer no, yes
    np.testing.assert_array_equal(w6, [[0.0, 0.0], [1.0, 1.0]])
    assert_same_as_crowdkit(pd.DataFrame(rows, columns=["task", "worker", "label"]))


def test_dawid_skene_a_task_with_thousands_of_responses() -> None:
    """2,000 responses to one task: its likelihoods are far under 2**-1074, the posteriors still sum to 1.

    The E-step works in log2 and subtracts each task's largest log-likelihood before exponentiating.
    """
    rng = np.random.default_rng(0)
    rows = []
    for w in range(2000):
        rows.append(("t0", f"w{w}", "yes" if rng.random() < 0.6 else "no"))
        rows += [(f"t{1 + (2 * w + j) % 300}", f"w{w}", "yes" if rng.random() < 0.5 else "no") for j in range(2)]
    result = dawid_skene(*zip(*rows))
    assert np.isfinite(result.probas).all() and np.allclose(result.probas.sum(axis=1), 1.0)
    assert_same_as_crowdkit(pd.DataFrame(rows, columns=["task", "worker", "label"]))


def crowd_annotations(df: pd.DataFrame) -> list[Annotation]:
    """The simulated crowd's labels as the answers to stance_gna (the other questions all NONE)."""
    return [ann(f"a:{task[1:]}-{int(task[1:]) + 1}", worker, "CLAIM", {"gna": label})
            for task, worker, label in df.itertuples(index=False)]


def test_adjudicate_dawid_skene_is_crowdkit_per_question() -> None:
    df, _ = simulated_crowd(7, 120, [0.9, 0.85, 0.6, 0.5, 0.35], per_task=3)
    gold, conflicts, counts = adjudicate(crowd_annotations(df), SCHEME, method="dawid-skene", min_agreement=0.6)
    check_counts(gold, conflicts, counts)
    probas = DawidSkene().fit_predict_proba(df)
    scores = {g.sentence_id: g.provenance.questions["stance_gna"].scores for g in gold}
    for task, row in probas.iterrows():
        ours = scores[f"a:{task[1:]}-{int(task[1:]) + 1}"]
        assert ours == pytest.approx(row.to_dict(), abs=1e-6)
    decided = [g for g in gold if "gna" in g.stance]
    assert decided and all(g.provenance.questions["stance_gna"].support >= 0.6 for g in decided)
    assert {c.kind for c in conflicts} <= {"under min-agreement", "tie"} and counts.under_agreement > 0
    for c in conflicts:
        if c.kind == "under min-agreement":
            top = max(c.scores, key=c.scores.get)
            assert c.reason == f"support {c.scores[top]:.4g} (posterior of {top}) under --min-agreement 0.6"


def test_dawid_skene_beats_majority_with_a_spammer() -> None:
    """Two good annotators, two fair ones and a spammer who answers at random, three per sentence.

    Majority leaves the ties undecided; on the sentences it does decide, Dawid-Skene, which
    learns that the spammer's answers carry nothing, is right more often.
    """
    df, truth = simulated_crowd(3, 400, [0.9, 0.85, 0.6, 0.6, 0.0], per_task=3)
    decided = {}
    for method in ("majority", "dawid-skene"):
        gold, _, _ = adjudicate(crowd_annotations(df), SCHEME, method=method)
        decided[method] = {f"t{g.sentence_id.split(':')[1].split('-')[0]}": g.stance["gna"]
                           for g in gold if "gna" in g.stance}
    majority, ds = decided["majority"], decided["dawid-skene"]
    assert len(ds) == len(truth) > len(majority) > 0.85 * len(truth)

    def accuracy(labels: dict, tasks) -> float:
        return sum(labels[t] == truth[t] for t in tasks) / len(tasks)

    assert accuracy(ds, majority) > accuracy(majority, majority) + 0.03  # 0.937 against 0.888
    assert accuracy(ds, truth) > accuracy(majority, majority)


# --- resolve and files --------------------------------------------------------------------------


def test_resolve_a_conflict_and_override_a_label() -> None:
    s = "a:0-38"
    gold, conflicts, _ = adjudicate([ann(s, "1", "CLAIM", {"gna": "AGAINST"}),
                                     ann(s, "2", "NO_CLAIM", {"gna": "AGAINST"})], SCHEME, method="majority")
    g = resolve(gold[0], "claim", "NO_CLAIM", reviewer="7")
    claim = g.provenance.questions["claim"]
    assert g.claim == "NO_CLAIM" and g.open_questions() == []
    assert (claim.label, claim.support, claim.reviewer, claim.method_label) == ("NO_CLAIM", 0.5, "7", None)
    assert claim.conflict == conflicts[0].reason and len(claim.votes) == 2
    g = resolve(g, "stance_gna", "FAVOR", reviewer="7")
    assert g.stance == {"haftar_lna": "NONE", "gna": "FAVOR", "turkey_military": "NONE"}
    assert list(g.stance) == list(TARGETS)
    assert g.provenance.questions["stance_gna"].method_label == "AGAINST"
    assert g.provenance.questions["stance_gna"].support == 0.0
    with pytest.raises(AnnotateError, match="'MAYBE' is not a label of stance_gna; one of FAVOR, AGAINST, NONE"):
        resolve(g, "stance_gna", "MAYBE", reviewer="7")
    with pytest.raises(AnnotateError, match="no question 'stance_x'"):
        resolve(g, "stance_x", "FAVOR", reviewer="7")


def test_gold_checks_labels_against_provenance() -> None:
    gold, _, _ = adjudicate([ann("a:0-38", "1")], SCHEME, method="majority")
    data = json.loads(gold[0].model_dump_json())
    data["claim"] = "NO_CLAIM"
    with pytest.raises(ValueError, match="claim and stance must be the labels"):
        Gold.model_validate(data)


def test_json_round_trip_and_readers(tmp_path) -> None:
    s = "a:0-38"
    anns = [ann(s, "1", "CLAIM", spans=[span("CLAIM", 25, 38)]), ann(s, "2", "NO_CLAIM"),
            ann("a:40-60", "1", "NO_CLAIM")]
    for method in ("majority", "dawid-skene"):
        gold, conflicts, _ = adjudicate(anns, SCHEME, method=method)
        assert conflicts
        for record in [*gold, *conflicts]:
            assert type(record).model_validate_json(record.model_dump_json()) == record
        (tmp_path / "gold.jsonl").write_text("".join(g.model_dump_json() + "\n" for g in gold))
        (tmp_path / "conflicts.jsonl").write_text("".join(c.model_dump_json() + "\n" for c in conflicts))
        assert list(read_gold(tmp_path / "gold.jsonl")) == gold
        assert list(read_conflicts(tmp_path / "conflicts.jsonl")) == conflicts
    with pytest.raises(InputError, match=r"line 1: not a conflicts record \(format 'stance-gold/v1'\)"):
        list(read_conflicts(tmp_path / "gold.jsonl"))
    (tmp_path / "bad.jsonl").write_text(gold[0].model_dump_json().replace('"method":', '"methd":') + "\n")
    with pytest.raises(InputError, match="bad.jsonl: line 1: Field required at provenance -> method"):
        list(read_gold(tmp_path / "bad.jsonl"))


# --- who labelled: the model card's list ---------------------------------------------------------


def test_person_shows_the_email_and_the_id() -> None:
    assert person("2", "amira.haddad@example.com") == "amira.haddad@example.com (id 2)"
    assert person("3", None) == "id 3"
    assert person("4", "") == "id 4"


def test_labelled_by_annotators_in_natural_order_then_reviewers() -> None:
    s, t, u = "a:0-38", "a:40-60", "b:0-10"
    gold, _, _ = adjudicate(
        [ann(s, "2"), ann(s, "10", email="ten@example.com"), ann(s, "b", "NO_CLAIM"),
         ann(t, "2", email="two@example.com"), ann(t, "10"), ann(t, "3", "NO_CLAIM"),
         ann(u, "2"), ann(u, "1", "NO_CLAIM")], SCHEME, method="majority")
    rows = {g.sentence_id: g for g in gold}
    # the claim of s is 2 CLAIM against 1; of t 2 against 1; of u a tie, resolved by three reviewers
    rows[s] = resolve(rows[s], "claim", "NO_CLAIM", reviewer="lead@example.com", reviewer_id="7")
    rows[t] = resolve(rows[t], "stance_gna", "FAVOR", reviewer="9", reviewer_id="9")
    rows[u] = resolve(rows[u], "claim", "CLAIM", reviewer="ann")
    expected = ["id 1", "two@example.com (id 2)", "id 3", "ten@example.com (id 10)", "id b",
                "9 (reviewer)", "ann (reviewer)", "lead@example.com (id 7) (reviewer)"]
    rows = [rows[s], rows[t], rows[u]]
    assert labelled_by(rows) == expected
    assert labelled_by(rows[::-1]) == expected  # an email given once is kept, whichever row comes first
    # the rows as read back from a gold file, as plain dicts
    assert labelled_by(json.loads(g.model_dump_json()) for g in rows) == expected
    assert labelled_by([rows[1]]) == ["two@example.com (id 2)", "id 3", "id 10", "9 (reviewer)"]
    assert labelled_by(gold[:1]) == ["id 2", "ten@example.com (id 10)", "id b"]  # nobody reviewed


def test_labelled_by_rows_without_provenance() -> None:
    assert labelled_by([]) == []
    assert labelled_by([{}, {"provenance": None},
                        {"provenance": {"annotators": None, "emails": None, "questions": None}}]) == []
    row = {"provenance": {"annotators": ["5"], "questions": {"claim": {"reviewer": None}}}}
    assert labelled_by([row]) == ["id 5"]


# --- boundaries and messages --------------------------------------------------------------------


def test_min_agreement_forgives_rounding_and_applies_to_spans() -> None:
    s = "a:0-38"
    source = span("SOURCE", 0, 15)
    three = [ann(s, "1", spans=[source]), ann(s, "2", spans=[source]), ann(s, "3", "NO_CLAIM")]
    # the span of 2 of 3 annotators: a strict majority, but its share 2/3 is under 0.7
    (g,), _, counts = adjudicate(three, SCHEME, method="majority", min_agreement=0.7)
    assert g.spans == [] and [(x.annotators, x.support) for x in g.disputed_spans] == [(["1", "2"], 2 / 3)]
    assert (counts.spans_agreed, counts.spans_disputed) == (0, 1)
    (g,), _, _ = adjudicate(three, SCHEME, method="majority", min_agreement=2 / 3)
    assert [x.annotators for x in g.spans] == [["1", "2"]] and g.disputed_spans == []
    # 3 of 4 (0.75) reaches a min-agreement 1e-12 over it, for the label and for the span
    four = three[:2] + [ann(s, "3", spans=[source]), ann(s, "4", "NO_CLAIM")]
    limit = 0.75 + 1e-12
    assert limit - 1e-12 == 0.75 and limit > 0.75
    (g,), conflicts, _ = adjudicate(four, SCHEME, method="majority", min_agreement=limit)
    assert conflicts == [] and g.claim == "CLAIM" and [x.support for x in g.spans] == [0.75]
    (g,), conflicts, _ = adjudicate(four, SCHEME, method="majority", min_agreement=0.76)
    assert [c.question for c in conflicts] == ["claim"] and g.spans == []


def test_decide_counts_a_tie_within_1e_9() -> None:
    votes = ["CLAIM", "NO_CLAIM"]
    for gap, expected in ((1e-9, (None, "tie")), (2e-9, ("CLAIM", None))):
        label, kind, _ = _decide("dawid-skene", {"CLAIM": 0.5, "NO_CLAIM": 0.5 - gap}, votes, min_agreement=0.0,
                                 min_annotators=1)
        assert (label, kind) == expected


def test_too_few_annotators_reason_counts_them() -> None:
    anns = [ann("a:0-38", "1"), ann("a:0-38", "2")]
    _, conflicts, counts = adjudicate(anns, SCHEME, method="majority", min_annotators=3)
    assert counts.too_few_annotators == 4
    assert {c.reason for c in conflicts} == {"2 annotators, under --min-annotators 3"}


def test_sentences_sorted_by_article_start_end() -> None:
    ids = ["a:10-20", "b", "a:0-50", "a", "a:0-5", "a:2-3"]
    gold, _, _ = adjudicate([ann(s, "1") for s in ids], SCHEME, method="majority")
    # an id without offsets comes before its article's sentences; then by start, then by end
    assert [g.sentence_id for g in gold] == ["a", "a:0-5", "a:0-50", "a:2-3", "a:10-20", "b"]



def test_ids_that_differ_only_by_leading_zeros_sort_the_same_whatever_the_input_order() -> None:
    ids = ["a:1-5", "a:01-5", "a:1-05", "a:001-5"]
    orders = [[g.sentence_id for g in adjudicate([ann(s, "1") for s in order], SCHEME, method="majority")[0]]
              for order in (ids, ids[::-1], ids[1:] + ids[:1])]
    assert orders[0] == orders[1] == orders[2] == ["a:001-5", "a:01-5", "a:1-05", "a:1-5"]


def test_input_problems_say_where_and_what_to_do() -> None:
    s = "a:0-38"
    first = ann(s, "1")

    def message(anns) -> str:
        with pytest.raises(InputError) as caught:
            adjudicate(anns, SCHEME, method="majority")
        return str(caught.value)

    def where(a: Annotation) -> str:
        return f"annotation {a.annotation_id} (sentence {s}, annotator {a.annotator.id})"

    scheme_fix = "pass the scheme the annotations were made with (--scheme)"
    other = ann(s, "2").model_copy(update={"scheme": "stance-claim/v0"})
    assert message([other]) == (f"{where(other)}: labelled with scheme 'stance-claim/v0', not 'libya-seeds/v1'; "
                                f"{scheme_fix}")
    targets = ann(s, "3").model_copy(update={"stance": {"gna": "NONE"}})
    assert message([targets]) == (f"{where(targets)}: stance targets ['gna'] are not the scheme's "
                                  f"['gna', 'haftar_lna', 'turkey_military']; {scheme_fix}")
    again = ann(s, "1")
    assert message([first, again]) == (
        f"{where(again)}: a second answer of this annotator to this sentence (first: annotation "
        f"{first.annotation_id}); give each annotations file once; `stance read` keeps one answer per annotator")
    for change in ({"text": "Another text."}, {"article_id": "b"}):
        moved = ann(s, "4").model_copy(update=change)
        assert message([first, moved]) == (
            f"{where(moved)}: sentence text or article differs from annotation {first.annotation_id}'s; "
            "read all exports with the same tasks file and scheme")


def test_resolve_problems_say_where_and_what_to_do() -> None:
    (g,), _, _ = adjudicate([ann("a:0-38", "1"), ann("a:0-38", "2", "NO_CLAIM")], SCHEME, method="majority")
    cases = [(("stance_x", "FAVOR", "7"), "sentence a:0-38: no question 'stance_x'; questions: claim, "
              "stance_haftar_lna, stance_gna, stance_turkey_military"),
             (("claim", "FAVOR", "7"), "sentence a:0-38: 'FAVOR' is not a label of claim; one of CLAIM, NO_CLAIM"),
             (("claim", "CLAIM", ""), "sentence a:0-38: no reviewer named; give the reviewer's id")]
    for (question, label, reviewer), expected in cases:
        with pytest.raises(AnnotateError) as caught:
            resolve(g, question, label, reviewer=reviewer)
        assert str(caught.value) == expected
    resolved = resolve(g, "claim", "CLAIM", reviewer="lead@example.com", reviewer_id="7")
    claim = resolved.provenance.questions["claim"]
    assert (claim.label, claim.support, claim.reviewer, claim.reviewer_id) == ("CLAIM", 0.5, "lead@example.com", "7")
    assert resolve(g, "claim", "CLAIM", reviewer="7").provenance.questions["claim"].reviewer_id is None


def test_readers_name_the_file_and_line(tmp_path) -> None:
    (g,), (c,), _ = adjudicate([ann("a:0-38", "1"), ann("a:0-38", "2", "NO_CLAIM")], SCHEME, method="majority")
    (h,), _, _ = adjudicate([ann("a:40-60", "1")], SCHEME, method="majority")
    made = "files are written by `stance adjudicate`"

    def message(reader, path) -> str:
        with pytest.raises(InputError) as caught:
            list(reader(path))
        return str(caught.value)

    missing = tmp_path / "missing.jsonl"
    assert message(read_gold, missing) == f"{missing}: no such gold file; write one with `stance adjudicate`"
    assert message(read_conflicts, missing) == f"{missing}: no such conflicts file; write one with `stance adjudicate`"
    # blank lines are skipped, also between records
    path = tmp_path / "gold.jsonl"
    path.write_text(f"\n{g.model_dump_json()}\n  \n\n{h.model_dump_json()}\n")
    assert list(read_gold(path)) == [g, h]
    # a line that is not JSON, or not UTF-8: no format found
    for bad in (b"{not json\n", b'{"format": "stance-gold/v1", "text": "\xff"}\n', b"[1, 2]\n"):
        path.write_bytes(g.model_dump_json().encode() + b"\n" + bad)
        assert message(read_gold, path) == (f"{path}: line 2: not a gold record (format None); known formats: "
                                            f"stance-gold/v1; gold {made}")
    path.write_text(c.model_dump_json() + "\n")
    assert message(read_gold, path) == (f"{path}: line 1: not a gold record (format 'stance-conflict/v1'); known "
                                        f"formats: stance-gold/v1; gold {made}")
    path.write_text(g.model_dump_json() + "\n")
    assert message(read_conflicts, path) == (f"{path}: line 1: not a conflicts record (format 'stance-gold/v1'); "
                                             f"known formats: stance-conflict/v1; conflicts {made}")
    path.write_text(c.model_dump_json().replace('"kind":', '"knd":') + "\n")
    assert message(read_conflicts, path) == f"{path}: line 1: Field required at kind; conflicts {made}"
    # nested deeper than the reader allows: said before any parsing
    deep = '{"format": "stance-gold/v1", "x": ' + "[" * 70 + "]" * 70 + "}"
    path.write_text(deep + "\n")
    assert message(read_gold, path) == (f"{path}: line 1: JSON nested deeper than 64 levels; gold {made}, "
                                        "one flat record per line")


def test_arguments_checked_with_a_fix() -> None:
    cases = [({"method": "vote"}, "unknown method 'vote'; use majority or dawid-skene"),
             ({"method": "majority", "min_agreement": 1.5},
              "--min-agreement 1.5 is not in [0, 1]; e.g. --min-agreement 0.6"),
             ({"method": "majority", "min_agreement": -0.1},
              "--min-agreement -0.1 is not in [0, 1]; e.g. --min-agreement 0.6"),
             ({"method": "majority", "min_annotators": 0},
              "--min-annotators 0 is not a whole number >= 1; e.g. --min-annotators 2"),
             ({"method": "majority", "min_annotators": 1.0},
              "--min-annotators 1.0 is not a whole number >= 1; e.g. --min-annotators 2")]
    for kwargs, expected in cases:
        with pytest.raises(AnnotateError) as caught:
            adjudicate([ann("a:0-38", "1")], SCHEME, **kwargs)
        assert str(caught.value) == expected


def test_counts_of_annotators_and_spans_over_sentences() -> None:
    source, claim = span("SOURCE", 0, 15), span("CLAIM", 25, 38)
    anns = [ann("a:0-38", "1", spans=[source, claim]), ann("a:0-38", "2", spans=[source]),
            ann("a:40-78", "2", spans=[source]), ann("a:40-78", "3", spans=[source, claim]), ann("a:40-78", "5"),
            ann("a:80-90", "1")]
    gold, _, counts = adjudicate(anns, SCHEME, method="majority")
    # a:0-38: SOURCE 2 of 2 agreed, CLAIM 1 of 2 disputed; a:40-78: SOURCE 2 of 3 agreed, CLAIM disputed
    assert [(len(g.spans), len(g.disputed_spans)) for g in gold] == [(1, 1), (1, 1), (0, 0)]
    assert (counts.annotations, counts.sentences, counts.annotators) == (6, 3, 4)
    assert (counts.spans_agreed, counts.spans_disputed) == (2, 2)
