"""Configuration layers (user file, repository file, ARTCTL_* environment, flags), the
``artctl config`` command, and keys documented in one place (config.KNOWN_KEYS → docs/config.md)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from artctl.repository.config import KNOWN_KEYS

from conftest import REPO_ROOT


def _get_modes(cli, root: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return cli.ok("artifact", "get", "proj/cfg", "--root", root, *extra, "--json", env=env).json()["modes"]


def test_layers_user_then_repository_then_environment_then_flags(cli, repo_dir: Path, tmp_path: Path) -> None:
    # large enough to be stored loose: packed blobs can only be copied out
    (repo_dir / "f.bin").write_bytes(os.urandom(1536 * 1024))
    cli.ok("artifact", "put", "f.bin", "--name", "proj/cfg", "--type", "dataset")
    # user file (XDG_CONFIG_HOME is per test, set by the workdir fixture)
    cli.ok("config", "--user", "core.link", "symlink")
    user_file = tmp_path / "xdg" / "artctl" / "config.toml"
    assert 'link = "symlink"' in user_file.read_text()
    assert cli.ok("config", "core.link").stdout == "symlink\n"
    assert _get_modes(cli, "o1") == {"symlink": 1}
    # the repository file wins over the user file
    cli.ok("config", "core.link", "copy")
    assert 'link = "copy"' in (repo_dir / ".artifacts" / "config.toml").read_text()
    assert cli.ok("config", "core.link").stdout == "copy\n"
    assert _get_modes(cli, "o2") == {"copy": 1}
    listed = cli.ok("config", "--list", "--json").json()
    assert listed["core.link"] == {"value": "copy", "scope": "repository"}
    assert "core.link=copy\t(repository)" in cli.ok("config", "--list").stdout
    # the environment wins over both files
    env = {"ARTCTL_CORE_LINK": "symlink"}
    assert cli.ok("config", "core.link", env=env).stdout == "symlink\n"
    assert _get_modes(cli, "o3", env=env) == {"symlink": 1}
    # a flag wins over everything
    assert _get_modes(cli, "o4", "--link", "copy", env=env) == {"copy": 1}
    # unsetting the repository value uncovers the user value again
    cli.ok("config", "--unset", "core.link")
    assert cli.ok("config", "core.link").stdout == "symlink\n"
    assert cli.ok("config", "--list", "--json").json()["core.link"]["scope"] == "user"
    cli.ok("config", "--unset", "--user", "core.link")
    cli.fails("config", "core.link")


def test_values_keep_their_types(cli, repo_dir: Path) -> None:
    cli.ok("config", "core.workers", "3")
    cli.ok("config", "ttl.project.proj", "30d")
    assert cli.ok("config", "core.workers", "--json").json() == {"key": "core.workers", "value": 3}
    text = (repo_dir / ".artifacts" / "config.toml").read_text()
    assert "workers = 3" in text and "[ttl.project]" in text and 'proj = "30d"' in text
    cli.ok("config", "remote.origin.url", "file:///x")
    assert cli.ok("config", "remote.origin.url").stdout == "file:///x\n"


def test_environment_applies_to_library_settings(cli, repo_dir: Path) -> None:
    """ARTCTL_<KEY> is read by the library, not only by `artctl config`."""
    (repo_dir / "f.txt").write_text("x\n")
    bad = cli.fails(
        "artifact",
        "put",
        "f.txt",
        "--name",
        "proj/w",
        "--type",
        "d",
        env={"ARTCTL_CORE_WORKERS": "many"},
        code=2,
    )
    assert "invalid value 'many' for core.workers" in bad.stderr and "ARTCTL_CORE_WORKERS" in bad.stderr
    put = cli.ok(
        "artifact",
        "put",
        "f.txt",
        "--name",
        "proj/t",
        "--type",
        "d",
        "--json",
        env={"ARTCTL_TTL_DEFAULT": "7d"},
    )
    assert cli.ok("artifact", "show", "proj/t", "--json").json()["ttl"] in ("7d", "1w", 7 * 86400), put


def test_config_bad_input(cli, workdir: Path, tmp_path: Path) -> None:
    # outside a repository: reading user config works, writing the repository file does not
    result = cli.fails("config", "core.link", "copy")
    assert "not inside an artctl repository" in result.stderr and "hint:" in result.stderr
    cli.ok("config", "--user", "core.link", "copy")
    assert cli.ok("config", "core.link").stdout == "copy\n"
    cli.ok("init")
    assert "invalid config key" in cli.fails("config", "core..link", "x", code=2).stderr
    assert "invalid config key" in cli.fails("config", ".x", code=2).stderr
    assert "is not set" in cli.fails("config", "--unset", "core.nothing").stderr
    assert "is not set" in cli.fails("config", "core.nothing").stderr
    cli.ok("config", "core.link", "copy")
    deeper = cli.fails("config", "core.link.deeper", "x", code=2).stderr
    assert "unknown config key" in deeper and "did you mean core.link" in deeper
    # a malformed user file is one clear line, not a traceback
    (tmp_path / "xdg" / "artctl" / "config.toml").write_text("this is = = not toml\n")
    result = cli.fails("config", "core.link")
    assert "is not valid TOML" in result.stderr and len(result.stderr.splitlines()) <= 2


def test_listing_without_settings_names_the_known_keys(cli, repo_dir: Path) -> None:
    result = cli.ok("config", "--list")
    assert result.stdout == ""
    for key in KNOWN_KEYS:
        assert key in result.stderr
    assert cli.ok("config", "--list", "--json").json() == {}


def test_every_key_the_code_reads_is_documented() -> None:
    """`config.get("x.y")` anywhere in artctl/ must name a key of KNOWN_KEYS (one place)."""
    patterns = [
        re.compile(
            "^" + re.sub(r"<[A-Z]+>", "[^.]+", re.escape(k).replace(r"\<", "<").replace(r"\>", ">")) + "$"
        )
        for k in KNOWN_KEYS
    ]
    used: set[str] = set()
    for path in (REPO_ROOT / "artctl").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(
            r"""(?:config\.(?:get|lookup|table)|typed)\(\s*f?["']([a-z0-9_.{}-]+)["']""", text
        ):
            used.add(re.sub(r"\{[^}]*\}", "X", match.group(1)))
    assert "core.link" in used and "core.workers" in used
    undocumented = sorted(k for k in used if k != "remote" and not any(p.match(k) for p in patterns))
    assert not undocumented, f"add these to config.KNOWN_KEYS (and regenerate docs/config.md): {undocumented}"


def test_docs_config_lists_every_known_key() -> None:
    text = (REPO_ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for key in KNOWN_KEYS:
        env = "ARTCTL_" + key.replace(".", "_").replace("-", "_").upper()
        assert f"| `{key}` | `{env}` |" in text, (
            f"docs/config.md lacks {key}: run python -m artctl.cli.generate"
        )
