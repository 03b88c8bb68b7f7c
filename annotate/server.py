"""A local Label Studio server: its own virtual environment, detached, on 127.0.0.1 only.

Label Studio pins Django and many libraries, so it never enters the project's environment:
the first ``stance studio start`` installs it into a venv of its own (``$STANCE_STUDIO_VENV``,
or ``label-studio-<version>/venv`` in :func:`~annotate.home.stance_home`: ``$STANCE_HOME``, else
``$XDG_CACHE_HOME/stance``, else ``~/.cache/stance``). The data dir holds Label Studio's SQLite database and files beside ours,
which are all named ``stance-*``: the running server's state (pid, port, url), its log, and
the admin's password and API token in files of mode 0600. The data dir is kept at mode 0700
and the server runs with umask 077, so no other user of the machine reads the database (which
holds every token) or the media. Secrets travel to the server in its environment, and to
management commands on their standard input, never on a command line, and are never printed
or logged. ``stop`` signals a pid only when its command line is that data dir's server.

This module needs only the standard library; the API client (push, pull) is in
:mod:`annotate.studio`.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .home import stance_home
from .defaults import DEFAULT_DATA_DIR, LABEL_STUDIO_VERSION
from .errors import StudioError, StudioUnavailable
from .files import atomic_write

ADMIN_EMAIL = "admin@example.com"  # Label Studio wants an email as the user name
STATE_FILE = "stance-server.json"
TOKEN_FILE = "stance-token"
PASSWORD_FILE = "stance-password"
LOG_FILE = "stance-server.log"
LOCK_FILE = "stance-server.lock"
INSTALLED_MARKER = ".stance-installed"

# Label Studio reads NAME from LABEL_STUDIO_NAME, then HEARTEX_NAME, then plain NAME: a stray
# USERNAME or PORT in a user's shell would otherwise leak into the server.
_PLAIN_NAMES_READ_BY_LABEL_STUDIO = ("USERNAME", "PASSWORD", "USER_TOKEN", "PORT", "HOST", "DEBUG")
_PORT_MOVED = re.compile(r"Trying to start at (\d+)")

Say = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Server:
    """A local server as its state file records it."""

    pid: int
    port: int
    url: str
    version: str
    data_dir: str
    launch_port: int | None = None  # the --port it was started with, when Label Studio moved off it

    @property
    def token(self) -> str:
        """The admin's API token (legacy token; the SDK sends it as ``Token <key>``)."""
        return read_secret(Path(self.data_dir) / TOKEN_FILE)


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The data dir: ``path``, else ``$STANCE_STUDIO_DIR``, else ``.stance/studio`` in the cwd.

    Raises
    ------
    StudioError
        When that path exists and is not a folder.
    """
    chosen = path or os.environ.get("STANCE_STUDIO_DIR") or DEFAULT_DATA_DIR
    directory = Path(chosen).expanduser().absolute()
    if directory.exists() and not directory.is_dir():
        raise StudioError("not a folder", path=show_path(directory),
                          fix="give --data-dir (or STANCE_STUDIO_DIR) a folder; it is made when missing")
    return directory


def venv_dir() -> Path:
    """Where Label Studio is (or will be) installed."""
    if os.environ.get("STANCE_STUDIO_VENV"):
        return Path(os.environ["STANCE_STUDIO_VENV"]).expanduser().absolute()
    return stance_home() / f"label-studio-{LABEL_STUDIO_VERSION}" / "venv"


def show_path(path: Path) -> str:
    """A path as a user would type it: relative to the cwd when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


# --- secrets ---------------------------------------------------------------------------

def write_secret(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` with mode 0600 from the first byte, atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_secret(path: Path) -> str:
    """Read a secret written by :func:`write_secret`; refuse one that others can read."""
    try:
        mode = path.stat().st_mode & 0o777
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise StudioError(
            "no such file", path=show_path(path),
            fix="it is written by `stance studio start`; start the server with this --data-dir",
        ) from None
    if mode & 0o077:
        raise StudioError(
            f"readable by other users (mode {mode:04o})", path=show_path(path),
            fix=f"run `chmod 600 {show_path(path)}`",
        )
    return value


def _ensure_credentials(directory: Path) -> None:
    """Create the admin's password and API token once per data dir."""
    for name, make in ((TOKEN_FILE, lambda: secrets.token_hex(20)),
                       (PASSWORD_FILE, lambda: secrets.token_urlsafe(12))):
        if not (directory / name).exists():
            write_secret(directory / name, make())


# --- install ---------------------------------------------------------------------------

def ensure_installed(*, say: Say = _stderr) -> Path:
    """Install Label Studio into its own venv on first use; return its ``label-studio`` script.

    Raises
    ------
    StudioUnavailable
        When the venv or the install fails; the message names the install log.
    """
    venv = venv_dir()
    executable = venv / "bin" / "label-studio"
    marker = venv / INSTALLED_MARKER
    if marker.is_file() and marker.read_text().strip() == LABEL_STUDIO_VERSION:
        return executable
    if venv.exists():
        if not (venv / "pyvenv.cfg").is_file():
            raise StudioUnavailable(
                "exists and is not a virtual environment", path=venv,
                fix="remove it, or point STANCE_STUDIO_VENV at another folder",
            )
        shutil.rmtree(venv)  # an install that was interrupted: start again from nothing
    log = venv.parent / "install.log"
    venv.parent.mkdir(parents=True, exist_ok=True)
    say(f"installing label-studio {LABEL_STUDIO_VERSION} into {venv} "
        f"(first use only: about 1 GB, a few minutes; log in {log})")
    began = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        for step in ([sys.executable, "-m", "venv", str(venv)],
                     [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                      f"label-studio=={LABEL_STUDIO_VERSION}"]):
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode:
                raise StudioUnavailable(
                    f"installing label-studio {LABEL_STUDIO_VERSION} failed", path=log,
                    fix="read the end of the log (network? disk space?) and run `stance studio start` again",
                )
    marker.write_text(LABEL_STUDIO_VERSION + "\n")
    say(f"installed label-studio {LABEL_STUDIO_VERSION} in {time.monotonic() - began:.0f} s")
    return executable


# --- processes -------------------------------------------------------------------------

def _command_line(pid: int) -> list[str] | None:
    """The arguments of process ``pid`` (empty for a zombie); None when it does not exist."""
    with contextlib.suppress(ChildProcessError, OverflowError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that has exited: reap it
            return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        if Path("/proc/self").is_dir():
            return None
        return _command_line_from_ps(pid)  # no /proc (macOS)
    except OSError:
        return None
    return [arg.decode("utf-8", "surrogateescape") for arg in raw.split(b"\0") if arg]


def _command_line_from_ps(pid: int) -> list[str] | None:
    try:
        done = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True,
                              timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.split() if done.returncode == 0 and done.stdout.strip() else None


def _option(argv: list[str], name: str) -> str | None:
    """The value after ``name`` (or in ``name=value``) in ``argv``."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None


def is_server(pid: int, directory: Path, ports: set[int]) -> bool:
    """Whether process ``pid`` is the Label Studio server of data dir ``directory`` on one of ``ports``.

    Its command line must be ``label-studio start ... --port P --data-dir DIR`` with exactly this
    data dir and port: a pid recycled by an unrelated process (an editor on
    ``notes-about-label-studio.txt``), or the server of another data dir, is not ours to signal.
    """
    argv = _command_line(pid)
    if not argv:
        return False
    return (any(os.path.basename(arg) == "label-studio" for arg in argv[:2]) and "start" in argv
            and _same_dir(_option(argv, "--data-dir"), directory) and _option(argv, "--port") in {str(p) for p in ports})


def _same_dir(given: str | None, directory: Path) -> bool:
    return given is not None and (given == str(directory) or os.path.realpath(given) == os.path.realpath(directory))


def _ports(server: Server) -> set[int]:
    return {server.port} | ({server.launch_port} if server.launch_port else set())


def _private(directory: Path) -> None:
    """Make the data dir a folder of mode 0700, and its database and media unreadable by others.

    The database holds every user's API token; files Label Studio made before (under a looser
    umask) are tightened too.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if stat.S_IMODE(directory.stat().st_mode) != 0o700:
            directory.chmod(0o700)
        for name in ("label_studio.sqlite3", "label_studio.sqlite3-wal", "label_studio.sqlite3-shm",
                     "label_studio.sqlite3-journal", "media", ".env", LOG_FILE):
            path = directory / name
            if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(0o700 if path.is_dir() else 0o600)
    except FileExistsError:
        raise StudioError("not a folder", path=show_path(directory), fix="give --data-dir a folder") from None
    except OSError as exc:
        raise StudioError(f"cannot make the data dir private ({exc.strerror})", path=show_path(directory),
                          fix="use a data dir of your own (--data-dir)") from None


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise start and stop on one data dir (made private first)."""
    _private(directory)
    with open(directory / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds (Django's runserver sets SO_REUSEADDR): closed connections of a
        # server just stopped (TIME_WAIT, a minute) do not make its port busy; a listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def server_env(directory: Path, *, admin: bool) -> dict[str, str]:
    """The environment for a ``label-studio`` process on ``directory``.

    With ``admin``, it carries the admin's email, password and token so that ``start``
    creates that user on the first run: secrets go in the environment, not on a command line.
    """
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("LABEL_STUDIO_", "HEARTEX_")) and name not in _PLAIN_NAMES_READ_BY_LABEL_STUDIO
    }
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(directory),
        COLLECT_ANALYTICS="false",
        LATEST_VERSION_CHECK="false",
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
    )
    if admin:
        env.update(
            LABEL_STUDIO_USERNAME=ADMIN_EMAIL,
            LABEL_STUDIO_PASSWORD=read_secret(directory / PASSWORD_FILE),
            LABEL_STUDIO_USER_TOKEN=read_secret(directory / TOKEN_FILE),
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        )
    return env


# --- state -----------------------------------------------------------------------------

def _read_state(state: Path) -> Server:
    """The state file as a :class:`Server`; :class:`StudioError` when it is not one."""
    problem = StudioError("not a server state file", path=show_path(state),
                          fix="stop the server by hand if one runs, then delete this file")
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise problem from None
    if not isinstance(data, dict):
        raise problem
    def whole(value: object, low: int, high: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if not (whole(data.get("pid"), 1, 2**31 - 1) and whole(data.get("port"), 1, 65535)
            and all(isinstance(data.get(k), str) for k in ("url", "version", "data_dir"))
            and (data.get("launch_port") is None or whole(data.get("launch_port"), 1, 65535))
            and set(data) <= {"pid", "port", "url", "version", "data_dir", "launch_port"}):
        raise problem
    return Server(**data)


def running(directory: Path) -> Server | None:
    """The server recorded for ``directory`` if that process is its server; a stale record is removed."""
    state = directory / STATE_FILE
    try:
        server = _read_state(state)
    except FileNotFoundError:
        return None
    if is_server(server.pid, directory, _ports(server)):
        return server
    state.unlink(missing_ok=True)
    return None


def _save_state(server: Server) -> None:
    with atomic_write(Path(server.data_dir) / STATE_FILE) as out:
        json.dump(asdict(server), out, indent=2)
        out.write("\n")


# --- the API, as far as start needs it -------------------------------------------------

def api_request(url: str, token: str, path: str, *, body: dict | None = None, timeout: float = 10) -> dict:
    """One JSON request to Label Studio's API with the legacy token; the decoded reply.

    Raises ``urllib.error.URLError`` (and ``HTTPError``) as they come: callers decide.
    """
    request = urllib.request.Request(
        url + path, method="POST" if body is not None else "GET",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.load(reply)


def _answers(url: str, token: str) -> bool:
    """Whether our admin is who the API at ``url`` says we are; False while it boots."""
    try:
        me = api_request(url, token, "/api/current-user/whoami", timeout=3)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise StudioError(
                f"Label Studio at {url} rejected the API token (HTTP {exc.code})",
                fix="this data dir was made without stance's token; start on a fresh --data-dir",
            ) from None
        return False
    except (urllib.error.URLError, OSError):
        return False
    return me.get("email") == ADMIN_EMAIL


def _moved_port(log: Path) -> int | None:
    """The port Label Studio moved to when ours was taken meanwhile (it says so in its log)."""
    with contextlib.suppress(OSError):
        moves = _PORT_MOVED.findall(log.read_text(encoding="utf-8", errors="replace"))
        if moves:
            return int(moves[-1])
    return None


def _last_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()[:200]
    return "(empty)"


# --- start, stop, status ----------------------------------------------------------------

def start(
    directory: Path, *, port: int | None = None, timeout: float = 300, say: Say = _stderr
) -> tuple[Server, bool]:
    """Start a server on ``directory``, or find the one that runs there.

    Parameters
    ----------
    directory : Path
        The data dir (see :func:`data_dir`).
    port : int, optional
        The port on 127.0.0.1; a free one is chosen when None.
    timeout : float
        Seconds to wait for the API to answer (a cold start runs migrations: ~30 s).
    say : callable
        Where progress messages go.

    Returns
    -------
    (Server, bool)
        The server, and whether it was already running.
    """
    with _locked(directory):
        found = running(directory)
        if found is not None:
            return found, True
        if port is not None and not (isinstance(port, int) and 1 <= port <= 65535):
            raise StudioError(f"port {port} is not a TCP port", fix="give --port a number from 1 to 65535, "
                              "or leave it out to get a free one")
        if port is not None and not _port_is_free(port):
            raise StudioUnavailable(
                f"port {port} on 127.0.0.1 is in use", fix="choose another --port, or leave it out to get a free one"
            )
        executable = ensure_installed(say=say)
        _ensure_credentials(directory)
        launch_port = port = port or _free_port()
        log = directory / LOG_FILE
        cold = not (directory / "label_studio.sqlite3").exists()
        say(f"starting Label Studio {LABEL_STUDIO_VERSION} on 127.0.0.1:{port}"
            + (" (first start of this data dir: database migrations, ~30 s)" if cold else ""))
        with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as out:
            process = subprocess.Popen(
                [str(executable), "start", "--no-browser", "--internal-host", "127.0.0.1",
                 "--port", str(port), "--data-dir", str(directory), "--enable-legacy-api-token"],
                env=server_env(directory, admin=True), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, cwd=directory,
                umask=0o077,  # the database (every token) and the media: for this user only
            )
        try:
            port = _wait_until_ready(process, port, directory, timeout)
        except BaseException:
            _terminate(process.pid, timeout=20, ours=lambda: process.poll() is None)
            raise
        server = Server(pid=process.pid, port=port, url=f"http://127.0.0.1:{port}",
                        version=LABEL_STUDIO_VERSION, data_dir=str(directory),
                        launch_port=launch_port if launch_port != port else None)
        _save_state(server)
        return server, False


def _wait_until_ready(process: subprocess.Popen, port: int, directory: Path, timeout: float) -> int:
    """Poll until the API answers our token on the port the server really got; return it."""
    log = directory / LOG_FILE
    token = read_secret(directory / TOKEN_FILE)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise StudioUnavailable(
                f"Label Studio exited with code {process.returncode} while starting "
                f"(last log line: {_last_line(log)})", path=show_path(log),
                fix="read the log",
            )
        port = _moved_port(log) or port
        if _answers(f"http://127.0.0.1:{port}", token):
            return port
        if time.monotonic() > deadline:
            raise StudioUnavailable(
                f"Label Studio did not answer on 127.0.0.1:{port} within {timeout:.0f} s", path=show_path(log),
                fix="read the log; on a slow machine give more time with --timeout",
            )
        time.sleep(0.5)


def _terminate(pid: int, *, timeout: float, ours: Callable[[], bool]) -> bool:
    """SIGTERM ``pid`` (SIGINT is ignored by a background server) and wait; SIGKILL at the end.

    ``ours`` says whether ``pid`` is still the server: no signal goes to a process that is not
    (one that has ended and whose pid was given to another). Returns whether it ended on SIGTERM.
    """
    if not ours():
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not ours():
            return True
        time.sleep(0.2)
    if ours():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return False


def stop(directory: Path, *, timeout: float = 30) -> Server | None:
    """Stop the server that runs on ``directory``; return it, or None when none ran."""
    with _locked(directory):
        server = running(directory)
        if server is None:
            return None
        if not _terminate(server.pid, timeout=timeout,
                          ours=lambda: is_server(server.pid, directory, _ports(server))):
            raise StudioUnavailable(
                f"Label Studio (pid {server.pid}) did not end within {timeout:.0f} s of SIGTERM and was killed",
                path=show_path(directory / LOG_FILE), fix="read the log; the database may need a look",
            )
        (directory / STATE_FILE).unlink(missing_ok=True)
        return server


def status(directory: Path) -> Server:
    """The server that runs on ``directory`` and answers its API.

    Raises
    ------
    StudioUnavailable
        When none runs there, or it does not answer.
    """
    server = running(directory)
    if server is None:
        raise not_running(directory)
    if not _answers(server.url, server.token):
        raise StudioUnavailable(
            f"Label Studio (pid {server.pid}) runs but does not answer at {server.url}",
            path=show_path(directory / LOG_FILE), fix="read the log, or `stance studio stop` and start again",
        )
    return server


def not_running(directory: Path) -> StudioUnavailable:
    """The error for a data dir without a running server, saying how to start one."""
    return StudioUnavailable(
        f"no Label Studio server runs for data dir {show_path(directory)}",
        fix=f"start one with `stance studio start{data_dir_flag(directory)}`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY "
        "for a team server",
    )


def how_to_log_in(server: Server) -> str:
    """Where the admin's password and API token are, and how to stop the server (no secret in it)."""
    directory = Path(server.data_dir)
    return (f"log in at {server.url} as {ADMIN_EMAIL} with the password in "
            f"{show_path(directory / PASSWORD_FILE)}; the API token is in {show_path(directory / TOKEN_FILE)}\n"
            f"stop it with `stance studio stop{data_dir_flag(directory)}`")


def data_dir_flag(directory: Path) -> str:
    """`` --data-dir DIR`` when ``directory`` is not the default one, else ``""``."""
    return "" if directory == data_dir() else f" --data-dir {show_path(directory)}"


def describe(server: Server) -> str:
    """Where a server runs, in one line."""
    return (f"Label Studio {server.version} runs at {server.url} "
            f"(pid {server.pid}, data dir {show_path(Path(server.data_dir))})")


# --- users -----------------------------------------------------------------------------

def manage(server: Server, *args: str, secret: str | None = None) -> str:
    """Run a ``label-studio`` management command (``user``, ``reset_password``) on the data dir.

    It shares the SQLite database with the running server; each call loads Django (~4 s).
    ``secret`` (a password) goes to the command's standard input, where it asks for it: never
    on its command line, which every user of the machine can read (``ps``). The command runs
    in a session of its own, without a terminal, so that it reads that input rather than ask.
    """
    directory = Path(server.data_dir)
    done = subprocess.run(
        [str(venv_dir() / "bin" / "label-studio"), *args, "--data-dir", str(directory)],
        env=server_env(directory, admin=False), capture_output=True, text=True, cwd=directory,
        input="" if secret is None else secret + "\n", timeout=120, start_new_session=True,
    )
    if done.returncode:
        raise StudioError(f"`label-studio {args[0]}` failed: {_last_line_of(done.stderr)}")
    return done.stdout


def _last_line_of(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip()[:200] if lines else "(no output)"


def add_user(
    server: Server, email: str, *, first_name: str = "", last_name: str = "", password: str | None = None
) -> str:
    """Create an annotator in the server's organisation (or find them); return their API token.

    With ``password``, the user can also log in to the web page: the API ignores a password
    given at creation, so it is set with ``label-studio reset_password``, which reads it from
    its standard input (never from its command line).
    """
    token = server.token
    users = api_request(server.url, token, "/api/users/?page_size=1000")
    users = users["results"] if isinstance(users, dict) else users
    if not any(user["email"] == email for user in users):
        organisation = api_request(server.url, token, "/api/current-user/whoami")["active_organization"]
        api_request(server.url, token, "/api/users/", body={
            "email": email, "username": email, "first_name": first_name, "last_name": last_name,
            "active_organization": organisation,
        })
    if password is not None:
        if not password or "\n" in password:
            raise StudioError(f"the password for {email} is empty or holds a line break", fix="choose another")
        said = manage(server, "reset_password", "--username", email, secret=password)
        if "successfully changed" not in said and "same as current" not in said:
            raise StudioError(f"the password for {email} was not set: {_last_line_of(said)}")
    return _user_token(manage(server, "user", "--username", email), email)


def _user_token(output: str, email: str) -> str:
    """The token in ``label-studio user`` output: a line holding a Python dict."""
    for line in output.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError, SyntaxError):
                info = ast.literal_eval(line)
                if info.get("status") == "ok":
                    return info["token"]
    raise StudioError(f"no API token found for user {email}", fix="check that the user exists")
