"""The one folder of the toolkit's own files on a machine (standard library only).

``$STANCE_HOME``, else ``$XDG_CACHE_HOME/stance``, else ``~/.cache/stance``. Label Studio's
virtual environment (:func:`annotate.server.venv_dir`) and the word lists' cache
(:func:`annotate.resources.cache_dir`) live under it unless their own variables say otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "STANCE_HOME"


def stance_home() -> Path:
    """``$STANCE_HOME``, else ``$XDG_CACHE_HOME/stance``, else ``~/.cache/stance`` (absolute, ``~`` expanded)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser().absolute()
    return (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "stance").absolute()
