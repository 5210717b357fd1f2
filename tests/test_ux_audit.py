"""Regression tests from the user-experience and robustness audit of the finished commands.

Each test pins one finding: hostile or malformed input gets one clear ``error:`` line and
exit 1 (never a traceback or a hang), and a damaged repository either recovers or says what is
wrong without losing anything stored.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import make_tree


def test_json_input_refuses_nan_and_infinity(cli, repo_dir: Path) -> None:
    """NaN is not JSON: stored in metadata it made every later ``--json`` document invalid."""
    (repo_dir / "f.txt").write_text("x\n")
    for bad in ('{"a": NaN}', '{"a": -Infinity}', '{"a": [Infinity]}'):
        result = cli.fails("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t", "--metadata", bad)
        assert "not valid JSON" in result.stderr
        cli.fails("run", "start", "--job-type", "train", "--config", bad)
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t")
    assert "not valid JSON" in cli.fails("artifact", "update", "proj/f", "--metadata", '{"a": NaN}').stderr
    json.loads(cli.ok("artifact", "show", "proj/f", "--json").stdout)


def test_huge_durations_are_refused_cleanly(cli, repo_dir: Path) -> None:
    """A TTL whose expiry overflows datetime was an "unexpected OverflowError"."""
    (repo_dir / "f.txt").write_text("x\n")
    for ttl in ("99999999999999999999d", "1001y"):
        result = cli.fails("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t", "--ttl", ttl)
        assert "too long" in result.stderr and "unexpected" not in result.stderr
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t", "--ttl", "1000y")
    assert "too long" in cli.fails("artifact", "update", "proj/f", "--ttl", "9999999999y").stderr
    assert cli.ok("artifact", "show", "proj/f", "--json").json()["ttl"] == "1000y"


def test_api_refuses_a_ttl_beyond_the_limit(repo_dir: Path) -> None:
    from datetime import timedelta

    import pytest

    import artctl
    from artctl.errors import InvalidInput

    (repo_dir / "f.txt").write_text("x\n")
    art = artctl.Artifact("proj/f", "t", ttl=timedelta(days=10**8))
    art.add_file(repo_dir / "f.txt")
    with pytest.raises(InvalidInput, match="too long"):
        art.save()


def test_config_refuses_unknown_keys_and_bad_values_when_written(cli, repo_dir: Path) -> None:
    """A typo'd key or a bad value used to be stored silently and break a later, unrelated command."""
    typo = cli.fails("config", "core.lnk", "copy")
    assert "unknown config key 'core.lnk'" in typo.stderr and "did you mean core.link" in typo.stderr
    for key, value in [("core.link", "bogus"), ("core.workers", "abc"), ("core.workers", "0"),
                       ("ttl.default", "3x"), ("ttl.project.proj", "1"), ("gc.grace_period", "soon"),
                       ("remote.origin.jobs", "0")]:
        assert f"invalid value" in cli.fails("config", key, value).stderr, (key, value)
    assert not (repo_dir / ".artifacts" / "config.toml").exists() or \
        cli.ok("config", "--list", "--json").json() == {}
    for key, value in [("core.link", "copy"), ("core.workers", "2"), ("ttl.project.proj", "2w"),
                       ("gc.grace_period", "0"), ("remote.origin.url", "file:///x"),
                       ("remote.origin.options.anon", "true"), ("remote.origin.jobs", "4")]:
        cli.ok("config", key, value)
    (repo_dir / "f.txt").write_text("x\n")
    cli.ok("artifact", "put", "f.txt", "--name", "proj/f", "--type", "t")
    cli.ok("artifact", "get", "proj/f", "--root", "out")
