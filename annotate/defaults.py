"""The Label Studio settings the command line shows in its help: a module of constants, so that
``stance`` builds its parser without importing the client and the server code (a command that
never talks to Label Studio, such as ``stance tasks``, starts without them)."""

from __future__ import annotations

import os
from pathlib import Path

LABEL_STUDIO_VERSION = "1.23.2"  # the version `stance studio start` installs and runs
DEFAULT_DATA_DIR = Path(".stance") / "studio"  # the local server's data dir, in the current folder
URL_ENV = "LABEL_STUDIO_URL"  # a team server's address
API_KEY_ENV = "LABEL_STUDIO_API_KEY"  # its personal access token
BATCH_SIZE = 1000  # tasks per import request
DEFAULT_TIMEOUT = 120.0  # seconds one request may take as a whole


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, which a container or ``taskset`` narrows), else the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1
