"""`stance read` on malformed exports: no traceback, no record dropped without a reject line, counts that add up.

Hypothesis starts from the seeds' real recorded export and breaks it: any field set to a value of
any JSON type, keys and list items removed, values wrapped in deep nesting, records that are not
tasks added. Whatever it makes, `stance read` either refuses the whole file in one line (exit 1,
nothing written) or exits 0 with every annotation accounted for in the output or the rejects.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from annotate.cli import main
from annotate.labels import Annotation, RejectedAnnotation
from annotate.scheme import DEFAULT_SCHEME_PATH
from helpers import seed_export_tasks

SEED_TASKS = seed_export_tasks()

json_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=12) | st.sampled_from(["", "CLAIM", "claim", "span", "FAVOR", "2026-11-23T03:05:41Z"]))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)


def places(node, path=()) -> list[tuple]:
    """Every (container, key) inside ``node``: where a value can be replaced or removed."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        found.append((node, key))
        found += places(value)
    return found


def nest(value, levels: int, as_object: bool):
    for _ in range(levels):
        value = {"x": value} if as_object else [value]
    return value


@st.composite
def broken_exports(draw) -> list:
    picked = draw(st.lists(st.integers(0, len(SEED_TASKS) - 1), min_size=1, max_size=5, unique=True))
    tasks = [copy.deepcopy(SEED_TASKS[i]) for i in picked]
    for _ in range(draw(st.integers(0, 6))):
        spots = places(tasks)
        if not spots:
            break
        node, key = spots[draw(st.integers(0, len(spots) - 1))]
        how = draw(st.sampled_from(["replace", "replace", "remove", "nest"]))
        if how == "remove":
            del node[key]
        elif how == "nest":
            node[key] = nest(node[key], draw(st.integers(1, 90)), draw(st.booleans()))
        else:
            node[key] = draw(json_values)
    for _ in range(draw(st.integers(0, 2))):  # records that are not tasks at all
        tasks.insert(draw(st.integers(0, len(tasks))), draw(json_values))
    return tasks


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True)


COUNTS = re.compile(
    r"read ([\d,]+) tasks \(([\d,]+) without annotations(?:, ([\d,]+) rejected whole: not tasks)?\) from 1 export: "
    r"([\d,]+) annotations: ([\d,]+) accepted, ([\d,]+) rejected, ([\d,]+) skipped by the annotator, "
    r"([\d,]+) superseded by a newer one")


def number(text: str | None) -> int:
    return int(text.replace(",", "")) if text else 0


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])
@given(tasks=broken_exports(), ascii_only=st.booleans())
def test_read_never_drops_a_record_and_its_counts_add_up(tmp_path_factory, capsys, tasks, ascii_only):
    folder = tmp_path_factory.mktemp("read")
    export, out, rejects = folder / "export.json", folder / "a.jsonl", folder / "a.rejects.jsonl"
    export.write_text(json.dumps(tasks, ensure_ascii=ascii_only), encoding="utf-8")
    code = main(["read", str(export), "-o", str(out), "--scheme", str(DEFAULT_SCHEME_PATH)])  # a traceback fails here
    stdout, stderr = capsys.readouterr()
    left = sorted(p.name for p in folder.iterdir())
    if code != 0:
        event("refused: " + stderr.split(": ")[-1].split(";")[0][:40])
        assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
        assert left == ["export.json"], "a refused file must leave nothing behind"
        return
    assert stderr == ""
    event("read")
    assert left == ["a.jsonl", "a.rejects.jsonl", "export.json"]
    found = COUNTS.match(stdout)
    assert found, stdout
    n_tasks, unlabelled, whole, n_annotations, accepted, rejected, skipped, superseded = map(number, found.groups())
    records = [Annotation.model_validate_json(line) for line in out.read_text(encoding="utf-8").split("\n")[:-1]]
    lines = [RejectedAnnotation.model_validate_json(line) for line in rejects.read_text(encoding="utf-8").split("\n")[:-1]]
    assert n_tasks == len(tasks)
    assert n_annotations == accepted + rejected + skipped + superseded
    assert len(records) == accepted
    assert len(lines) == rejected + skipped + superseded + whole
    assert Counter(line.fate for line in lines if line.record == "annotation") == Counter(
        {"rejected": rejected, "skipped": skipped, "superseded": superseded}) - Counter()
    # Every record of the export: rejected whole (its line holds it), or each of its annotations in one place.
    rejected_whole = Counter(canonical(line.task) for line in lines if line.record == "task")
    assert sum(rejected_whole.values()) == whole
    expected_annotations = with_annotations = 0
    for task in tasks:
        key = canonical(task)
        if rejected_whole[key]:
            rejected_whole[key] -= 1
            continue
        assert isinstance(task, dict) and isinstance(task.get("annotations", []), (list, type(None))), task
        expected_annotations += len(task.get("annotations") or [])
        with_annotations += bool(task.get("annotations"))
    assert expected_annotations == n_annotations == len(records) + len(lines) - whole
    assert whole + unlabelled + with_annotations == n_tasks
    for kind in {line.kind for line in lines}:
        event(f"reject kind: {kind}")
    assert all(r.sentence_id and r.text[s.start:s.end] == s.text for r in records for s in r.spans)

