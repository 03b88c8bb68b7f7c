"""What several test modules share: running the command line in-process."""

from __future__ import annotations

from annotate.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    """Run ``stance ARGV...`` in this process; its exit code, stdout and stderr."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
