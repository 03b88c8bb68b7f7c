"""The local server's pure parts: secrets, state, environment; no server is started here."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from annotate import server
from annotate.errors import StudioError
from helpers import run


def test_a_secret_is_written_with_mode_0600_and_read_back(tmp_path):
    path = tmp_path / server.TOKEN_FILE
    server.write_secret(path, "0123456789abcdef")
    assert path.stat().st_mode & 0o777 == 0o600
    assert server.read_secret(path) == "0123456789abcdef"
    assert [p.name for p in tmp_path.iterdir()] == [server.TOKEN_FILE]  # no temporary file left


def test_a_secret_others_can_read_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / server.TOKEN_FILE
    server.write_secret(path, "secret")
    path.chmod(0o644)
    with pytest.raises(StudioError) as caught:
        server.read_secret(path)
    assert caught.value.message == (
        "stance-token: readable by other users (mode 0644); run `chmod 600 stance-token`")


def test_credentials_are_made_once(tmp_path):
    server._ensure_credentials(tmp_path)
    first = server.read_secret(tmp_path / server.TOKEN_FILE), server.read_secret(tmp_path / server.PASSWORD_FILE)
    server._ensure_credentials(tmp_path)
    assert (server.read_secret(tmp_path / server.TOKEN_FILE),
            server.read_secret(tmp_path / server.PASSWORD_FILE)) == first
    assert len(first[0]) == 40 and first[0] != first[1]


def test_the_server_environment_carries_no_stray_names_and_secrets_only_for_start(tmp_path, monkeypatch):
    for name in ("USERNAME", "PASSWORD", "PORT", "HOST", "LABEL_STUDIO_PORT", "HEARTEX_HOST"):
        monkeypatch.setenv(name, "stray")
    server._ensure_credentials(tmp_path)
    env = server.server_env(tmp_path, admin=True)
    assert not {"USERNAME", "PASSWORD", "PORT", "HOST", "LABEL_STUDIO_PORT", "HEARTEX_HOST"} & env.keys()
    assert env["LABEL_STUDIO_BASE_DATA_DIR"] == str(tmp_path)
    assert env["COLLECT_ANALYTICS"] == env["LATEST_VERSION_CHECK"] == "false"
    assert env["LABEL_STUDIO_USER_TOKEN"] == server.read_secret(tmp_path / server.TOKEN_FILE)
    assert "LABEL_STUDIO_USER_TOKEN" not in server.server_env(tmp_path, admin=False)


def test_a_state_file_of_a_dead_process_is_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    state = tmp_path / server.STATE_FILE
    state.write_text(json.dumps({"pid": dead.pid, "port": 1, "url": "http://127.0.0.1:1",
                                 "version": server.LABEL_STUDIO_VERSION, "data_dir": str(tmp_path)}))
    assert server.running(tmp_path) is None
    assert not state.exists()


def test_a_process_that_is_not_label_studio_does_not_count(tmp_path):
    other = subprocess.Popen(["sleep", "30"])
    try:
        (tmp_path / server.STATE_FILE).write_text(json.dumps({
            "pid": other.pid, "port": 1, "url": "http://127.0.0.1:1",
            "version": server.LABEL_STUDIO_VERSION, "data_dir": str(tmp_path)}))
        assert server.running(tmp_path) is None  # a recycled pid is not our server
    finally:
        other.kill()
        other.wait()


def test_a_broken_state_file_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / server.STATE_FILE).write_text("{")
    assert run(capsys, "studio", "status", "--data-dir", "d") == (
        4, "", "error: d/stance-server.json: not a server state file; "
        "stop the server by hand if one runs, then delete this file\n")


def test_status_and_stop_without_a_server(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STANCE_STUDIO_DIR", raising=False)
    assert run(capsys, "studio", "status") == (
        5, "", "error: no Label Studio server runs for data dir .stance/studio; start one with "
        "`stance studio start`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY for a team server\n")
    assert run(capsys, "studio", "stop", "--data-dir", "elsewhere") == (
        0, "nothing to stop: no Label Studio server runs for data dir elsewhere\n", "")


def test_a_busy_port_is_refused_before_anything_starts(tmp_path, monkeypatch, capsys):
    import socket

    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run(capsys, "studio", "start", "--data-dir", "d", "--port", port) == (
            5, "", f"error: port {port} on 127.0.0.1 is in use; choose another --port, "
            "or leave it out to get a free one\n")


def test_the_data_dir_and_venv_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("STANCE_STUDIO_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STANCE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STANCE_STUDIO_VENV", raising=False)
    assert server.data_dir() == tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    assert server.data_dir("x") == tmp_path / "x"  # --data-dir wins over the environment
    assert server.venv_dir() == tmp_path / "home" / f"label-studio-{server.LABEL_STUDIO_VERSION}" / "venv"
    monkeypatch.setenv("STANCE_STUDIO_VENV", str(tmp_path / "venv"))
    assert server.venv_dir() == tmp_path / "venv"
    monkeypatch.delenv("STANCE_STUDIO_VENV")
    monkeypatch.delenv("STANCE_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert server.venv_dir() == tmp_path / "xdg" / "stance" / f"label-studio-{server.LABEL_STUDIO_VERSION}" / "venv"


def test_a_moved_port_is_read_from_the_log(tmp_path):
    log = tmp_path / "log"
    log.write_text("\n*** WARNING! ***\n* Port 8091 is in use.\n* Trying to start at 8092\n****\n")
    assert server._moved_port(log) == 8092
    log.write_text("=> Database and media directory: /x\n")
    assert server._moved_port(log) is None


def test_the_token_is_read_from_label_studio_user_output():
    output = ("=> User info:\n{'id': 2, 'email': 'a@example.com', 'token': 'abc123', 'status': 'ok'}\n")
    assert server._user_token(output, "a@example.com") == "abc123"
    with pytest.raises(StudioError, match="no API token found for user b@example.com"):
        server._user_token("{'status': 'error', 'message': \"user b doesn't exist\"}", "b@example.com")


@pytest.mark.integration
def test_start_twice_status_and_stop_on_a_real_server(tmp_path, monkeypatch, capsys, studio_server):
    """The CLI round of a user: start (cold), start again, status, stop; no secret printed."""
    del studio_server  # only for its install: the venv exists (or the run has failed) before this starts
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "studio", "start", "--data-dir", "d")
    assert code == 0, err
    found = server.running(tmp_path / "d")
    assert found is not None
    token, password = (server.read_secret(tmp_path / "d" / name) for name in (server.TOKEN_FILE, server.PASSWORD_FILE))
    assert out == (f"Label Studio {server.LABEL_STUDIO_VERSION} runs at {found.url} (pid {found.pid}, data dir d)\n"
                   f"log in at {found.url} as {server.ADMIN_EMAIL} with the password in d/stance-password; "
                   "the API token is in d/stance-token\nstop it with `stance studio stop --data-dir d`\n")
    assert token not in out + err and password not in out + err
    assert token not in (tmp_path / "d" / server.LOG_FILE).read_text()
    assert found.url.startswith("http://127.0.0.1:")
    assert run(capsys, "studio", "start", "--data-dir", "d")[1].startswith(
        f"already running: Label Studio {server.LABEL_STUDIO_VERSION} runs at {found.url} (pid {found.pid}")
    assert run(capsys, "studio", "status", "--data-dir", "d") == (
        0, f"Label Studio {server.LABEL_STUDIO_VERSION} runs at {found.url} (pid {found.pid}, data dir d)\n", "")
    assert run(capsys, "studio", "stop", "--data-dir", "d") == (
        0, f"stopped Label Studio (pid {found.pid}) at {found.url}\n", "")
    assert run(capsys, "studio", "status", "--data-dir", "d")[0] == 5


# --- stop signals only its own server (issue 13, item 8) ----------------------------------------

def _state(directory, pid: int, port: int) -> None:
    directory.mkdir(exist_ok=True)
    (directory / server.STATE_FILE).write_text(json.dumps({
        "pid": pid, "port": port, "url": f"http://127.0.0.1:{port}", "version": server.LABEL_STUDIO_VERSION,
        "data_dir": str(directory)}))


def test_stop_never_signals_a_process_that_only_mentions_label_studio(tmp_path, monkeypatch, capsys):
    """It ended an editor on notes-about-label-studio.txt: any command line with "label-studio" passed."""
    import sys

    monkeypatch.chdir(tmp_path)
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "notes-about-label-studio.txt"])
    try:
        _state(tmp_path / "d", editor.pid, 8080)
        assert run(capsys, "studio", "stop", "--data-dir", "d") == (
            0, "nothing to stop: no Label Studio server runs for data dir d\n", "")
        assert editor.poll() is None  # still running
        assert not (tmp_path / "d" / server.STATE_FILE).exists()  # the stale record is gone
    finally:
        editor.kill()
        editor.wait()


def test_a_server_is_known_by_its_data_dir_and_port_on_its_command_line(tmp_path):
    """A stand-in whose command line is a server's (`label-studio start --port P --data-dir D`)."""
    import sys

    script = tmp_path / "bin" / "label-studio"
    script.parent.mkdir()
    script.write_text("import time\ntime.sleep(60)\n")
    mine, other = tmp_path / "mine", tmp_path / "other"
    stand_in = subprocess.Popen([sys.executable, str(script), "start", "--no-browser", "--port", "8123",
                                 "--data-dir", str(mine)])
    try:
        deadline = time.monotonic() + 10
        while "start" not in (server._command_line(stand_in.pid) or []) and time.monotonic() < deadline:
            time.sleep(0.01)  # until the exec has happened
        assert server.is_server(stand_in.pid, mine, {8123})
        assert not server.is_server(stand_in.pid, other, {8123})  # another data dir's record
        assert not server.is_server(stand_in.pid, mine, {8124})  # another port
        _state(other, stand_in.pid, 8123)
        assert server.running(other) is None
        _state(mine, stand_in.pid, 8123)
        assert server.stop(mine).pid == stand_in.pid
        stand_in.wait(timeout=10)  # ended (stop reaped it: it is our child here)
        assert server._command_line(stand_in.pid) is None and server.running(mine) is None
    finally:
        stand_in.kill()
        stand_in.wait()


@pytest.mark.parametrize("state", [
    '{"pid": "12", "port": 1, "url": "u", "version": "v", "data_dir": "d"}',
    '{"pid": 12, "port": 70000, "url": "u", "version": "v", "data_dir": "d"}',
    '{"pid": true, "port": 1, "url": "u", "version": "v", "data_dir": "d"}',
    '[1, 2]',
    '[' * 5000 + ']' * 5000,
])
def test_a_state_file_of_the_wrong_shape_is_one_line(tmp_path, monkeypatch, capsys, state):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / server.STATE_FILE).write_text(state)
    for command in ("status", "stop"):
        assert run(capsys, "studio", command, "--data-dir", "d") == (
            4, "", "error: d/stance-server.json: not a server state file; "
            "stop the server by hand if one runs, then delete this file\n")


@pytest.mark.parametrize("port", [99999, 0, -1])
def test_a_port_out_of_range_is_one_line(tmp_path, monkeypatch, capsys, port):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "studio", "start", "--data-dir", "d", "--port", port) == (
        4, "", f"error: port {port} is not a TCP port; give --port a number from 1 to 65535, "
        "or leave it out to get a free one\n")


@pytest.mark.parametrize("command", ["start", "stop", "status"])
def test_a_data_dir_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    assert run(capsys, "studio", command, "--data-dir", "notes.txt") == (
        4, "", "error: notes.txt: not a folder; give --data-dir (or STANCE_STUDIO_DIR) a folder; it is made when missing\n")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_data_dir_is_made_private(tmp_path):
    """The data dir was 0755 (and the database 0644): any local user read the admin's token."""
    directory = tmp_path / "loose"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    (directory / "label_studio.sqlite3").write_bytes(b"")
    (directory / "label_studio.sqlite3").chmod(0o644)
    (directory / "media").mkdir()
    (directory / "media").chmod(0o755)
    with server._locked(directory):
        pass
    assert [oct(p.stat().st_mode & 0o777) for p in (directory, directory / "label_studio.sqlite3", directory / "media")] \
        == ["0o700", "0o600", "0o700"]
