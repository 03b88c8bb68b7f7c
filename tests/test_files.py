"""The shared plumbing: atomic writes (special files, links, modes, leftovers), the JSON depth guard."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate import files
from annotate.errors import AnnotateError, InputError
from annotate.files import MAX_DEPTH, DepthGuard, TooDeep, atomic_write, check_distinct
from helpers import seed_export_tasks

STANCE = Path(sys.executable).with_name("stance")


# --- the depth guard -------------------------------------------------------------------------

def depth(value) -> int:
    """Nesting levels of a JSON value: a scalar 0, ``[]`` 1."""
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


# Strings full of what could fool a scanner: brackets, quotes, backslashes, escapes.
tricky = st.text(alphabet=st.sampled_from('[]{}"\\ab\n\u00e9\U0001F600'), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(1, 12), st.integers(1, 64), st.booleans())
def test_the_depth_guard_is_exact_across_any_chunking(value, limit, chunk, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    guard = DepthGuard(io.BytesIO(text), limit=limit)
    passed = b""
    try:
        while block := guard.read(chunk):
            passed += block
        verdict = False
    except TooDeep:
        verdict = True
    assert verdict == (depth(value) > limit)
    if not verdict:
        assert passed == text  # it passes every byte on, unchanged


def test_a_deep_export_is_refused_in_a_second_and_flat_memory(tmp_path):
    """The issue's case: a 400 KB export whose task data is `[` 200,000 deep took 21.5 GB."""
    path = tmp_path / "deep.json"
    path.write_text('[{"id": 1, "data": ' + "[" * 200_000 + "]" * 200_000 + "}]")
    from annotate.labels import iter_export

    began = time.monotonic()
    with pytest.raises(InputError) as caught:
        list(iter_export(path))
    assert time.monotonic() - began < 5
    assert caught.value.message.startswith(
        f"{path}: task 1: JSON nested deeper than {MAX_DEPTH} levels; a Label Studio task is about seven levels deep")


# --- atomic writes -----------------------------------------------------------------------------

def test_a_pipe_is_written_in_place_not_replaced(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    with atomic_write(fifo) as out:
        out.write("through the pipe\n")
    assert reader.communicate(timeout=10)[0] == b"through the pipe\n"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # before the fix: a regular file took its place


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_full_device_is_one_line_and_stays_a_device(tmp_path):
    """`-o /dev/full` as root replaced the device with a regular file; here a copy of /dev/full."""
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    with pytest.raises(AnnotateError) as caught:
        with atomic_write(full) as out:
            out.write("x" * 100_000)
    assert caught.value.message == (f"{full}: cannot write (No space left on device); choose an output path "
                                    "in a folder you can write to, on a disk with room")
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_dev_stdout_is_the_process_stdout_and_what_it_prints_follows(tmp_path):
    """`-o /dev/stdout` with stdout in a file: the records, then the summary, nothing overwritten."""
    export = tmp_path / "export.json"
    export.write_text(json.dumps(seed_export_tasks()))
    captured = tmp_path / "captured.txt"
    with open(captured, "w") as out:
        done = subprocess.run([str(STANCE), "read", str(export), "-o", "/dev/stdout", "--rejects", "/dev/null"],
                              stdout=out, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = captured.read_text().splitlines()
    records = [line for line in lines if line.startswith("{")]
    assert len(records) == 42 and lines[:42] == records
    assert lines[-1] == "wrote 42 annotations to /dev/stdout and 0 others, each with its reason, to /dev/null"
    assert os.path.islink("/dev/stdout") and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_link_stays_a_link_and_a_file_keeps_its_mode(tmp_path):
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    real.chmod(0o600)
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    with atomic_write(link) as out:
        out.write("new\n")
    assert link.is_symlink() and real.read_text() == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600  # it was made 0644 whatever it had been


def test_an_unwritable_place_is_one_line(tmp_path):
    with pytest.raises(AnnotateError) as caught:
        with atomic_write("/sys/x.jsonl") as out:
            out.write("x")
    assert caught.value.message.startswith("/sys/x.jsonl: cannot write (")


def test_stale_temporary_files_of_ended_or_older_processes_are_removed(tmp_path):
    target = tmp_path / "out.jsonl"
    ended = subprocess.Popen(["true"])
    ended.wait()
    dead = tmp_path / f".out.jsonl.{ended.pid}.abcd1234.tmp"
    recycled = tmp_path / f".out.jsonl.{os.getpid()}.efgh5678.tmp"  # our pid, but made before we started
    live = tmp_path / f".out.jsonl.{os.getpid()}.ijkl9012.tmp"  # ours, now: another write in progress
    other = tmp_path / ".other.jsonl.1.mnop3456.tmp"  # another target's: not this write's business
    for path in (dead, recycled, live, other):
        path.write_text("partial")
    hour_ago = time.time() - 3600
    os.utime(recycled, (hour_ago, hour_ago))
    with atomic_write(target) as out:
        out.write("done\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name, other.name])


def test_sigterm_removes_the_file_being_written_and_says_so(tmp_path):
    """SIGTERM (kill, timeout) left `.NAME.*.tmp` files of up to 172 MB behind."""
    big = tmp_path / "big.jsonl"
    line = json.dumps({"text": "The GNA said Haftar's forces had withdrawn from the south of Tripoli. " * 4})
    with open(big, "w") as out:
        for number in range(60_000):
            out.write(line[:1] + f'"id": "a{number}", ' + line[1:] + "\n")
    child = subprocess.Popen([str(STANCE), "articles", str(big), "-o", str(tmp_path / "out.jsonl")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.jsonl.*.tmp")):
        assert child.poll() is None and time.monotonic() < deadline, "the run ended before it was signalled"
        time.sleep(0.01)
    time.sleep(0.3)
    assert child.poll() is None, "the run ended before it was signalled: make the input larger"
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 143
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.jsonl"]
    assert err.startswith("interrupted after ") and err.endswith(
        " articles; no file was written (a file being written is removed, never left half-written)\n")
    assert int(err.split()[2].replace(",", "")) > 0


def test_the_interrupt_line_names_what_was_written():
    files.RUN.reset()
    files.RUN.written.append("out/agreement.json")
    with files.Progress("tasks sent", enabled=False) as progress:
        progress.advance(1520)
    assert files.RUN.summary() == ("interrupted after 1,520 tasks sent; wrote out/agreement.json before it "
                                   "(each file whole)")
    files.RUN.reset()
    assert files.RUN.summary() == ("interrupted; no file was written (a file being written is removed, "
                                   "never left half-written)")


def test_progress_with_a_total_says_how_far_and_how_long(capsys):
    with files.Progress("cross-validated folds", enabled=True, every=0, total=50) as progress:
        progress.advance()
        progress.advance(11)
    err = capsys.readouterr().err
    assert err.startswith("\rcross-validated folds: 1 of 50 (0 s) \033[K\rcross-validated folds: 12 of 50 (0 s) ")
    assert err.endswith("\r\033[K")  # the line is cleared at the end
    with files.Progress("tasks", enabled=False, total=3) as quiet:
        quiet.advance(3)
    assert capsys.readouterr().err == "" and quiet.count == 3


# --- one file for two outputs ----------------------------------------------------------------

def test_two_outputs_on_one_file_are_refused(tmp_path):
    a = tmp_path / "a.jsonl"
    with pytest.raises(AnnotateError, match="-o and --rejects name the same file"):
        check_distinct({"-o": a, "--rejects": tmp_path / "." / "a.jsonl"})
    a.write_text("")
    (tmp_path / "hard.jsonl").hardlink_to(a)
    with pytest.raises(AnnotateError, match="-o and --rejects name the same file"):
        check_distinct({"-o": a, "--rejects": tmp_path / "hard.jsonl"})
    with pytest.raises(AnnotateError, match="-o names an input file"):
        check_distinct({"-o": a}, inputs=[tmp_path / "hard.jsonl"])
    check_distinct({"-o": a, "--rejects": tmp_path / "b.jsonl"}, inputs=[tmp_path / "c.json"])
    check_distinct({"-o": "/dev/null", "--rejects": "/dev/null"})  # nothing there is replaced


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


@given(_JSON_VALUES)
@settings(max_examples=300, deadline=None)
def test_dumps_writes_what_json_dumps_writes(value):
    """``dumps`` keeps one C encoder for all calls: its output must be json.dumps's, compact, UTF-8 kept."""
    assert files._C_ENCODE is not None  # CPython has the C encoder: the fast path is the one tested
    assert files.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
