"""Typed settings: each repository has its own (``core.fsync`` is not a process-wide switch),
a ``file://`` remote has its own durability, and every typed key is parsed one way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import make_tree


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of every file or directory ``os.fsync``ed in this process (still performed)."""
    paths: list[str] = []
    real = os.fsync

    def counting(fd: int) -> None:
        paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return paths


def _under(paths: list[str], root: Path) -> list[str]:
    base = str(root.resolve())
    return [p for p in paths if p == base or p.startswith(base + os.sep)]


def _new_repo(cli, where: Path, *settings: tuple[str, str]):  # type: ignore[no-untyped-def]
    """A repository at ``where`` with ``settings`` written by `artctl config`, opened here."""
    from artctl.api.repo import Repo

    where.mkdir()
    # Real processes: ``fsynced`` counts this process's fsyncs, and setting up is not under test.
    cli.ok("init", cwd=where, subprocess=True)
    for key, value in settings:
        cli.ok("config", key, value, cwd=where, subprocess=True)
    make_tree(where / "data", {"small.txt": f"{where.name}\n", "big.bin": os.urandom(2 << 20)})
    return Repo(where)


def test_a_scratch_repository_without_fsync_does_not_turn_it_off_for_another(
    cli, tmp_path: Path, fsynced: list[str]
) -> None:
    durable = _new_repo(cli, tmp_path / "durable")
    scratch = _new_repo(cli, tmp_path / "scratch", ("core.fsync", "false"))  # opened last
    durable.put(tmp_path / "durable" / "data", name="p/d", type="dataset")
    scratch.put(tmp_path / "scratch" / "data", name="p/s", type="dataset")
    # the pack, the loose object, the manifest and the records of the durable one are flushed
    assert len(_under(fsynced, tmp_path / "durable")) >= 4, fsynced
    assert _under(fsynced, tmp_path / "scratch") == []
    assert durable.repository.settings.fsync and not scratch.repository.settings.fsync


def test_push_from_a_repository_without_fsync_flushes_the_file_remote(
    cli, tmp_path: Path, fsynced: list[str]
) -> None:
    from artctl.ops.remote.push import push

    remote = tmp_path / "remote"
    remote.mkdir()
    scratch = _new_repo(cli, tmp_path / "scratch", ("core.fsync", "false"))
    cli.ok("remote", "add", "origin", remote.as_uri(), cwd=tmp_path / "scratch", subprocess=True)
    scratch.put(tmp_path / "scratch" / "data", name="p/s", type="dataset")
    push(scratch, "origin")
    on_remote = _under(fsynced, remote)
    assert any(p.endswith(".pack") or "/objects/" in p or "/packs/" in p for p in on_remote), on_remote
    assert any("/manifests/" in p for p in on_remote) and any("/registry/" in p for p in on_remote)
    assert _under(fsynced, tmp_path / "scratch") == []  # the local side keeps its own setting
    assert cli.ok("artifact", "verify", "--json", cwd=tmp_path / "scratch").json()["ok"] is True


def test_a_file_remote_can_turn_its_own_fsync_off(cli, tmp_path: Path, fsynced: list[str]) -> None:
    from artctl.ops.remote.push import push

    remote = tmp_path / "remote"
    remote.mkdir()
    durable = _new_repo(cli, tmp_path / "durable")
    cli.ok("remote", "add", "scratch", remote.as_uri(), "-o", "fsync=off", cwd=tmp_path / "durable")
    durable.put(tmp_path / "durable" / "data", name="p/d", type="dataset")
    fsynced.clear()
    push(durable, "scratch")
    assert _under(fsynced, remote) == []
    assert cli.ok("pull", "scratch", "--json", cwd=tmp_path / "durable").returncode == 0
    bad = cli.fails(
        "remote", "add", "bad", remote.as_uri(), "-o", "fsync=maybe", cwd=tmp_path / "durable", code=2
    )
    assert "invalid value 'maybe' for the fsync option of a file:// remote" in bad.stderr


BAD_VALUES = [
    ("core.fsync", "maybe", "true or false"),
    ("core.workers", "many", "a whole number of at least 1"),
    ("core.workers", "0", "a whole number of at least 1"),
    ("core.link", "bogus", "one of auto, copy"),
    ("gc.grace_period", "soon", "a duration"),
    ("references.allow_local", "perhaps", "true or false"),
    ("remote.origin.jobs", "-3", "a whole number of at least 1"),
]


@pytest.mark.parametrize(("key", "value", "expected"), BAD_VALUES)
def test_a_bad_value_of_each_typed_setting_is_one_clear_error(
    cli, repo_dir: Path, key: str, value: str, expected: str
) -> None:
    """From the environment or a hand-edited config.toml, before anything is written, saying
    which key, what it accepts and where it was set."""
    cli.ok("remote", "add", "origin", (repo_dir / "remote").as_uri())
    make_tree(repo_dir / "data", {"a.txt": "a\n"})
    put = ("artifact", "put", "data", "--name", "p/d", "--type", "dataset")
    env_name = "ARTCTL_" + key.replace(".", "_").upper()
    from_env = cli.fails(*put, env={env_name: value}, code=2)  # invalid input
    assert f"error: invalid value {value!r} for {key}: {expected}" in from_env.stderr, from_env
    assert f"hint: it comes from the environment variable {env_name}" in from_env.stderr
    assert len(from_env.stderr.splitlines()) == 2

    from artctl.repository.config import Config

    Config(repo_dir / ".artifacts" / "config.toml").set(key, value)  # as if edited by hand
    from_file = cli.fails(*put, code=2)
    assert f"error: invalid value {value!r} for {key}: {expected}" in from_file.stderr, from_file
    assert f"`artctl config --unset {key}`" in from_file.stderr
    assert cli.ok("artifact", "ls", "--json").json() == []  # nothing was stored
    cli.ok("config", "--unset", key)  # the config command still works to repair it
    cli.ok(*put)


@pytest.mark.parametrize(
    ("value", "stored"), [("yes", "true"), ("off", "false"), ("1", "true"), ("No", "false"), ("true", "true")]
)
def test_core_fsync_accepts_the_same_words_in_config_and_environment(
    cli, repo_dir: Path, value: str, stored: str
) -> None:
    cli.ok("config", "core.fsync", value)
    assert cli.ok("config", "core.fsync").stdout == f"{stored}\n"
    assert f"fsync = {stored}" in (repo_dir / ".artifacts" / "config.toml").read_text()
    make_tree(repo_dir / "data", {"a.txt": "a\n"})
    cli.ok("artifact", "put", "data", "--name", "p/d", "--type", "dataset", env={"ARTCTL_CORE_FSYNC": value})


def test_an_open_repository_follows_a_later_config_change(cli, repo_dir: Path, fsynced: list[str]) -> None:
    """Settings are read once per config state, not once per process: a notebook that runs
    `artctl config` sees the change in the repository it already has open."""
    from artctl.api.repo import Repo

    repo = Repo(repo_dir)
    make_tree(repo_dir / "one", {"big.bin": os.urandom(2 << 20)})
    make_tree(repo_dir / "two", {"big.bin": os.urandom(2 << 20)})
    repo.put(repo_dir / "one", name="p/one", type="dataset")
    assert _under(fsynced, repo_dir / ".artifacts")
    cli.ok("config", "core.fsync", "off")
    cli.ok("config", "core.link", "hardlink")
    fsynced.clear()
    repo.put(repo_dir / "two", name="p/two", type="dataset")
    assert _under(fsynced, repo_dir / ".artifacts") == []
    repo.get("p/two:latest", root=repo_dir / "out")
    assert (repo_dir / "out" / "big.bin").stat().st_nlink > 1
