"""How the CLI behaves in terminals, pipes and scripts: progress on a pseudo-terminal only,
NO_COLOR / TERM=dumb, Ctrl-C (one line, exit 130, repository consistent), --debug, -v."""

from __future__ import annotations

import errno
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_env, make_tree

SGR_COLOUR = re.compile(rb"\x1b\[[0-9;]*m")
BAR = "━".encode()


def run_on_pty(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, str, bytes]:
    """Run ``python -m artctl ARGS`` with stderr on a pseudo-terminal and stdout on a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "artctl", *args],
        cwd=cwd,
        env=cli_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    terminal = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: the child closed its end
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            terminal += chunk
        stdout = proc.stdout.read() if proc.stdout else b""
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, stdout.decode(), terminal


@pytest.fixture
def big_file(repo_dir: Path) -> Path:
    path = repo_dir / "big.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024))
    return path


PUT = ["artifact", "put", "big.bin", "--name", "proj/big", "--type", "dataset"]


def test_progress_appears_on_a_terminal_and_stdout_stays_clean(repo_dir: Path, big_file: Path) -> None:
    code, stdout, terminal = run_on_pty(PUT, repo_dir)
    assert code == 0, terminal
    assert b"put proj/big" in terminal and BAR in terminal
    assert b"3.0/3.0 MiB" in SGR_COLOUR.sub(b"", terminal)  # determinate: the size is known after the scan
    assert stdout.startswith("proj/big:v0 (created; 1 file, 3.0 MiB)") and "\x1b" not in stdout
    code, stdout, terminal = run_on_pty(["artifact", "get", "proj/big", "--root", "out"], repo_dir)
    assert code == 0 and b"get proj/big:v0" in terminal and stdout.strip().endswith("out")
    code, _, terminal = run_on_pty(["artifact", "verify"], repo_dir)
    assert code == 0 and b"verify" in terminal and BAR in terminal


def test_progress_of_push_pull_and_gc_on_a_terminal(
    cli, repo_dir: Path, big_file: Path, tmp_path: Path
) -> None:
    cli.ok(*PUT)
    remote = tmp_path / "remote"
    remote.mkdir()
    cli.ok("remote", "add", "origin", remote.as_uri(), "--default")
    for args, label in ((["push"], b"push"), (["pull"], b"pull"), (["gc"], b"gc")):
        code, stdout, terminal = run_on_pty(args, repo_dir)
        assert code == 0, terminal
        assert label in terminal and BAR in terminal, (args, terminal)
        assert "\x1b" not in stdout and "━" not in stdout
        piped = cli.ok(*args)
        assert "━" not in piped.stderr and "\x1b" not in piped.stderr


def test_no_progress_in_piped_output(cli, repo_dir: Path, big_file: Path) -> None:
    result = cli.ok(*PUT)
    assert "\x1b" not in result.stderr + result.stdout and "━" not in result.stderr
    assert result.stdout.startswith("proj/big:v0")
    assert cli.ok("artifact", "get", "proj/big", "--root", "o").stderr == ""
    # --progress forces the bar onto a pipe; --quiet wins over everything.
    forced = cli.ok("--progress", "artifact", "get", "proj/big", "--root", "o2")
    assert "get proj/big:v0" in forced.stderr
    code, _, terminal = run_on_pty(["-q", "artifact", "get", "proj/big", "--root", "o3"], repo_dir)
    assert code == 0 and BAR not in terminal and b"get proj" not in terminal
    code, _, terminal = run_on_pty(["--no-progress", "artifact", "get", "proj/big", "--root", "o4"], repo_dir)
    assert code == 0 and BAR not in terminal


def test_json_output_has_no_progress_even_on_a_terminal(repo_dir: Path, big_file: Path) -> None:
    import json

    code, stdout, terminal = run_on_pty([*PUT, "--json"], repo_dir)
    assert code == 0 and BAR not in terminal
    assert json.loads(stdout)["version"] == "v0"


def test_no_color_and_dumb_terminals(repo_dir: Path, big_file: Path) -> None:
    code, _, coloured = run_on_pty(PUT, repo_dir)
    assert code == 0 and SGR_COLOUR.search(coloured)
    code, _, plain = run_on_pty(["artifact", "get", "proj/big", "--root", "o1"], repo_dir, {"NO_COLOR": "1"})
    assert code == 0 and b"get proj/big" in plain and not SGR_COLOUR.search(plain), plain
    code, _, dumb = run_on_pty(["artifact", "get", "proj/big", "--root", "o2"], repo_dir, {"TERM": "dumb"})
    assert code == 0 and BAR not in dumb and b"\x1b" not in dumb, dumb


PAUSE_HOOK = """\
import os
if os.environ.get("ARTCTL_TEST_PAUSE_AT_COMMIT"):
    import time
    from pathlib import Path

    from artctl.repository import registry

    _commit = registry.Registry.commit

    def commit(self, *args, **kwargs):
        # Objects and manifest are stored; the version record is not written yet.
        Path(os.environ["ARTCTL_TEST_PAUSE_AT_COMMIT"]).write_text("paused")
        time.sleep(300)
        return _commit(self, *args, **kwargs)

    registry.Registry.commit = commit
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_before_commit_prints_one_line_exits_130_and_commits_nothing(
    cli, repo_dir: Path, tmp_path: Path, sig
) -> None:
    """SIGINT (or SIGTERM) in the worst place: every object and the manifest are stored, the
    version record is not. A sitecustomize hook holds the put exactly there until the signal."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(PAUSE_HOOK)
    (repo_dir / "a.txt").write_text("first\n")
    cli.ok("artifact", "put", "a.txt", "--name", "proj/stream", "--type", "dataset")
    before = cli.ok("artifact", "ls", "proj/stream", "--json").json()
    make_tree(repo_dir / "data", {"small.txt": "new\n", "big.bin": os.urandom(2 * 1024 * 1024)})
    marker = tmp_path / "paused"
    env = cli_env({"ARTCTL_TEST_PAUSE_AT_COMMIT": str(marker)})
    env["PYTHONPATH"] = f"{hook}{os.pathsep}{env['PYTHONPATH']}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "artctl",
            "artifact",
            "put",
            "data",
            "--name",
            "proj/stream",
            "--type",
            "dataset",
        ],
        cwd=repo_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the put never reached its commit"
        time.sleep(0.02)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stdout == ""
    assert stderr == "error: interrupted; the repository is unchanged by the unfinished step\n"
    assert cli.ok("artifact", "ls", "proj/stream", "--json").json() == before
    assert cli.ok("artifact", "verify", "--json").json()["ok"] is True
    # The repository keeps working: the same put, uninterrupted, makes the next version.
    assert (
        cli.ok("artifact", "put", "data", "--name", "proj/stream", "--type", "dataset", "--json").json()[
            "version"
        ]
        == "v1"
    )
    assert cli.ok("artifact", "verify", "--json").json()["ok"] is True


def test_ctrl_c_at_arbitrary_points_of_a_put(repo_dir: Path, tmp_path: Path) -> None:
    """SIGINT wherever it lands: exit 0 (too late) or 130 with one line; verify always passes."""
    src = make_tree(tmp_path / "many", {f"d{i % 10}/f{i}.bin": os.urandom(1024) for i in range(1500)})
    for delay in (0.0, 0.2, 0.5):
        # -v prints a line once the command runs: the signal never lands in interpreter start-up.
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "artctl",
                "-v",
                "artifact",
                "put",
                str(src),
                "--name",
                "p/int",
                "--type",
                "dataset",
            ],
            cwd=repo_dir,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None and proc.stderr.readline().startswith("put: adding")
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        assert proc.returncode in (0, 130), stderr
        if proc.returncode == 130:
            assert stderr == "error: interrupted; the repository is unchanged by the unfinished step\n"
        verify = subprocess.run(
            [sys.executable, "-m", "artctl", "artifact", "verify", "--json"],
            cwd=repo_dir,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr


def test_debug_shows_traceback_and_timing(cli, repo_dir: Path) -> None:
    plain = cli.fails("artifact", "show", "proj/missing")
    assert "Traceback" not in plain.stderr and "debug:" not in plain.stderr
    for args, env in (
        (["--debug", "artifact", "show", "proj/missing"], None),
        (["artifact", "show", "proj/missing"], {"ARTCTL_DEBUG": "1"}),
    ):
        result = cli(*args, env=env)
        assert result.returncode == 1
        assert "Traceback (most recent call last)" in result.stderr and "ArtifactNotFound" in result.stderr
        assert "error: artifact proj/missing not found" in result.stderr
        assert re.search(r"^debug: \d+\.\d{3}s$", result.stderr, re.M), result.stderr
    ok = cli.ok("--debug", "artifact", "ls")
    assert re.search(r"^debug: \d+\.\d{3}s$", ok.stderr, re.M)
    assert "debug:" not in cli.ok("artifact", "ls", env={"ARTCTL_DEBUG": "0"}).stderr


def test_verbose_says_what_put_and_get_did(cli, repo_dir: Path) -> None:
    (repo_dir / "f.txt").write_text("x\n")
    quiet = cli.ok("artifact", "put", "f.txt", "--name", "proj/v", "--type", "dataset")
    assert quiet.stderr == ""
    (repo_dir / "f.txt").write_text("y\n")
    put = cli.ok("-v", "artifact", "put", "f.txt", "--name", "proj/v", "--type", "dataset")
    assert "put: adding f.txt to proj/v (type dataset)" in put.stderr
    assert "put: proj/v:v1 created: 1 file, 2 B; aliases latest, v1" in put.stderr
    again = cli.ok("-v", "artifact", "put", "f.txt", "--name", "proj/v", "--type", "dataset")
    assert "unchanged (identical content)" in again.stderr
    get = cli.ok("-v", "artifact", "get", "proj/v:v0", "--root", "out")
    assert re.search(r"get: proj/v:v0 -> .*out: 1 file, 2 B; placed by \w+ \(1\)", get.stderr), get.stderr
    assert get.stdout.strip().endswith("out")
    assert cli.ok("-v", "-q", "artifact", "get", "proj/v", "--root", "o2").stderr == ""
    # --quiet: results only, no messages (verify's "ok: …" line goes away, its exit code stays)
    assert "ok:" in cli.ok("artifact", "verify").stderr
    assert cli.ok("-q", "artifact", "verify").stderr == ""


def test_listing_commands_print_tables_with_human_sizes(
    cli, repo_dir: Path, big_file: Path, tmp_path: Path
) -> None:
    cli.ok(*PUT, "--alias", "best")
    cli.ok("run", "start", "--job-type", "train", "--name", "first")
    remote = tmp_path / "remote"
    remote.mkdir()
    cli.ok("remote", "add", "origin", remote.as_uri())
    expectations = {
        ("artifact", "ls"): ["name", "proj/big", "3.0 MiB"],
        ("artifact", "ls", "proj/big"): ["version", "v0", "3.0 MiB"],
        ("artifact", "show", "proj/big"): ["proj/big", "3.0 MiB", "big.bin"],
        ("alias", "ls", "proj/big"): ["alias", "best", "v0"],
        ("run", "ls"): ["job type", "train", "first"],
        ("remote", "ls"): ["url", "origin", remote.as_uri()],
        ("cache", "info"): ["pinned", "3.0 MiB"],
    }
    for args, words in expectations.items():
        out = cli.ok(*args).stdout
        assert "\x1b" not in out, (args, out)
        assert "│" in out or "┃" in out or args == ("artifact", "show"), (args, out)
        for word in words:
            assert word in out, (args, word, out)
