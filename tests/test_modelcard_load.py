"""load_model reads the model file once when it is sound, and still names what is wrong when it is not."""

from __future__ import annotations

import hashlib
import json

import pytest
import skops.io as sio

from annotate.baseline import StanceBaseline
from annotate.errors import ModelError
from annotate.modelcard import load_model, save_model
from annotate.scheme import load_scheme

from test_baseline import make_rows

SCHEME = load_scheme()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models") / "m"
    model = StanceBaseline(scheme=SCHEME.id, targets=SCHEME.target_ids, n_splits=3, C=(0.3,),
                           class_weight=(None,)).fit(make_rows(articles=6, per_article=4, seed=3))
    save_model(model, folder, scheme=SCHEME)
    return folder


def test_a_sound_model_file_is_checked_and_loaded_in_one_pass(saved, monkeypatch):
    monkeypatch.setattr(sio, "get_untrusted_types", lambda **kw: pytest.fail("the file was read twice"))
    model = load_model(saved)
    assert isinstance(model, StanceBaseline) and model.scheme == SCHEME.id


def test_a_model_file_that_is_no_skops_file_is_named(saved, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(saved, folder)
    path = folder / "model.skops"
    path.write_bytes(b"not a zip file at all")
    card = json.loads((folder / "card.json").read_text())
    card["model_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()  # as a crafted folder would
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not a skops model file"):
        load_model(folder)
