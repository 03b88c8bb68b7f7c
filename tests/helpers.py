"""What several test modules share: running the command line in-process."""

from __future__ import annotations

from annotate.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    """Run ``stance ARGV...`` in this process; its exit code, stdout and stderr."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def seed_export_tasks() -> list[dict]:
    """The tasks of the seeds' recorded real export (21 tasks, two annotators each), for the bundled scheme.

    Their ``data.scheme`` is set to the bundled scheme's id, so that the export reads with the
    scheme the commands find without ``--scheme``.
    """
    import json
    from pathlib import Path

    from annotate.scheme import load_scheme

    path = Path(__file__).resolve().parents[1] / "seeds" / "example-export-ls-1.23.2.json"
    tasks = json.loads(path.read_text(encoding="utf-8"))
    scheme_id = load_scheme().id
    for task in tasks:
        task["data"]["scheme"] = scheme_id
    return tasks
