"""The command tree and everything generated from it: help, man pages, docs/cli.md, completions.

These tests walk the click tree, so a new command is covered (and must have help text, an
example, a man page and a reference entry) without editing this file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from artctl.cli import manpage
from artctl.cli.generate import expected_files, stale_files
from artctl.cli.group import walk
from artctl.cli.main import cli as root
from artctl.cli.reference import all_docs, parse_help

from conftest import REPO_ROOT, cli_env

REGENERATE = "regenerate with `python -m artctl.cli.generate` and commit the result"
COMMANDS = [(path, cmd) for path, cmd in walk(root)]
LEAVES = [(path, cmd) for path, cmd in COMMANDS if not isinstance(cmd, click.Group)]


def _id(path: tuple[str, ...]) -> str:
    return " ".join(path) or "artctl"


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed: run `bash .ci/install-tools.sh`"
    return found


# -- help ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[_id(p) for p, _ in COMMANDS])
def test_every_command_has_a_one_line_summary(path, cmd) -> None:
    summary, _blocks, _examples = parse_help(cmd.help)
    assert summary, f"`artctl {_id(path)}` has no help text"
    assert "\n" not in summary and len(summary) <= 120, f"summary of {_id(path)} is not one short line"


@pytest.mark.parametrize("path,cmd", LEAVES, ids=[_id(p) for p, _ in LEAVES])
def test_every_command_has_an_example(path, cmd) -> None:
    examples = parse_help(cmd.help)[2]
    assert any(line.strip().startswith("artctl") or "artctl " in line for line in examples), (
        f"`artctl {_id(path)} --help` needs an `Example:` block (a \\b paragraph) running artctl"
    )


def test_every_help_exits_zero(cli) -> None:
    """Every ``COMMAND --help`` exits 0 and prints its usage line, through the console script's
    entry point (every command module is imported at start-up: the real process of
    ``test_version_and_module_entry_point`` imports what any ``--help`` would)."""
    for path in [p for p, _ in COMMANDS]:
        proc = cli(*path, "--help")
        assert proc.returncode == 0, (path, proc.stderr)
        assert proc.stdout.startswith(f"Usage: {' '.join(('artctl', *path))}"), proc.stdout
        assert proc.stderr == ""


def test_help_alias_matches_dash_dash_help(cli) -> None:
    assert cli.ok("help", "artifact", "put").stdout == cli.ok("artifact", "put", "--help").stdout
    assert cli.ok("help", "artifact").stdout == cli.ok("artifact", "-h").stdout
    assert cli.ok("help").stdout == cli.ok("--help").stdout


def test_help_alias_bad_input(cli) -> None:
    result = cli.fails("help", "artfact", code=2)
    assert "No such command 'artfact'" in result.stderr and "Did you mean: artifact?" in result.stderr
    result = cli.fails("help", "artifact", "pt", code=2)
    assert "Did you mean: put?" in result.stderr
    assert "has no subcommands" in cli.fails("help", "init", "x", code=2).stderr


def test_typo_suggestions_at_every_level(cli) -> None:
    result = cli.fails("artfact", "ls", code=2)
    assert "Did you mean: artifact?" in result.stderr
    result = cli.fails("artifact", "lst", code=2)
    assert "No such command 'lst'" in result.stderr and "Did you mean: ls?" in result.stderr
    # Every group in the tree, including other modules' groups, suggests.
    for path, cmd in COMMANDS:
        if isinstance(cmd, click.Group) and cmd.commands:
            first = sorted(cmd.commands)[0]
            result = cli.fails(*path, first + "x", code=2)
            assert f"Did you mean: {first}" in result.stderr, (path, result)
    assert "Did you mean" not in cli.fails("zzzzzz", code=2).stderr


def test_version_and_module_entry_point(cli) -> None:
    from artctl import __version__

    assert cli.ok("--version").stdout.strip() == f"artctl {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "artctl", "--help"], env=cli_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: artctl ")
    assert proc.stderr == ""  # a new interpreter imports every command module without a warning


# -- generated files -------------------------------------------------------------------------------
def test_generated_files_are_current() -> None:
    stale, extra = stale_files(REPO_ROOT)
    assert not stale, f"out of date: {stale}; {REGENERATE}"
    assert not extra, f"man pages of removed commands: {extra}; {REGENERATE}"


def test_generator_check_mode_detects_drift(tmp_path: Path) -> None:
    """``--check`` exits 1 on a tree whose files differ, 0 once they are written."""
    gen = [sys.executable, "-m", "artctl.cli.generate", "--root", str(tmp_path)]
    env = cli_env()
    first = subprocess.run([*gen, "--check"], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1 and "out of date: completions/artctl.bash" in first.stdout
    assert subprocess.run(gen, env=env, capture_output=True, timeout=120).returncode == 0
    (tmp_path / "man" / "artctl-gone.1").write_text(".TH X 1\n")
    again = subprocess.run([*gen, "--check"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "no longer generated: man/artctl-gone.1" in again.stdout
    subprocess.run(gen, env=env, capture_output=True, timeout=120, check=True)
    assert subprocess.run([*gen, "--check"], env=env, capture_output=True, timeout=120).returncode == 0


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[_id(p) for p, _ in COMMANDS])
def test_every_command_has_a_man_page_and_reference_entry(path, cmd) -> None:
    name = "-".join(("artctl", *path))
    assert (REPO_ROOT / "man" / f"{name}.1").is_file(), f"man/{name}.1 missing; {REGENERATE}"
    reference = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"## `{' '.join(('artctl', *path))}`" in reference, f"docs/cli.md lacks {name}; {REGENERATE}"
    page = (REPO_ROOT / "man" / f"{name}.1").read_text(encoding="utf-8")
    for option in cmd.params:
        if isinstance(option, click.Option) and not option.hidden and option.name != "help":
            assert manpage.escape(option.opts[-1]) in page, (name, option.opts)


def test_man_pages_render_without_warnings() -> None:
    groff = _tool("groff")
    pages = sorted((REPO_ROOT / "man").glob("*.1"))
    assert len(pages) == len(COMMANDS)
    for page in pages:
        proc = subprocess.run(
            [groff, "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0 and proc.stderr == "", (page.name, proc.stderr)


def test_man_l_reads_the_pages() -> None:
    man = _tool("man")
    env = {**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"}
    for name in ("artctl.1", "artctl-artifact-put.1"):
        proc = subprocess.run(
            [man, "-l", str(REPO_ROOT / "man" / name)], capture_output=True, text=True, env=env, timeout=60
        )
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert "SYNOPSIS" in proc.stdout and "artctl" in proc.stdout
    put = subprocess.run(
        [man, "-l", str(REPO_ROOT / "man" / "artctl-artifact-put.1")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    ).stdout
    assert "--name NAME" in put and "EXAMPLES" in put and "artctl artifact put ./data" in put


def test_roff_escaping() -> None:
    assert manpage.escape(r"a\b") == r"a\eb"
    assert manpage.escape(".hidden") == r"\&.hidden"
    assert manpage.escape("'quote") == r"\&'quote"
    assert manpage.escape("--json") == r"\-\-json"
    assert manpage.escape("a → b") == r"a \[u2192] b"
    # A help text that tries to inject a request renders as text, without warnings.
    groff = _tool("groff")
    from artctl.cli.reference import CommandDoc

    doc = CommandDoc(
        path=("x",),
        summary=".SH EVIL \\fB bold",
        usage="artctl x [OPTIONS]",
        examples=[".so /etc/passwd", "'br", "artctl x --a\\b"],
    )
    text = manpage.page(doc, "0", ["artctl", "artctl-x"])
    proc = subprocess.run(
        [groff, "-man", "-Tutf8", "-ww"], input=text, capture_output=True, text=True, timeout=60
    )
    assert proc.stderr == "" and ".so /etc/passwd" in proc.stdout and ".SH EVIL \\fB bold" in proc.stdout


def test_reference_markdown_lists_every_command_with_examples() -> None:
    text = expected_files()["docs/cli.md"]
    docs = all_docs()
    for doc in docs:
        assert f'<a id="{doc.page_name}"></a>' in text
        for line in doc.examples:
            assert line in text


# -- completions -----------------------------------------------------------------------------------
def test_completion_scripts_parse() -> None:
    for shell, name in (("bash", "artctl.bash"), ("zsh", "_artctl"), ("fish", "artctl.fish")):
        proc = subprocess.run(
            [_tool(shell), "-n", str(REPO_ROOT / "completions" / name)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0 and proc.stderr == "", (shell, proc.stderr)


def test_completion_command_prints_the_committed_scripts(cli) -> None:
    for shell, name in (("bash", "artctl.bash"), ("zsh", "_artctl"), ("fish", "artctl.fish")):
        committed = (REPO_ROOT / "completions" / name).read_text(encoding="utf-8")
        assert cli.ok("completion", shell).stdout == committed
        source = cli.ok(env={"_ARTCTL_COMPLETE": f"{shell}_source"})
        assert source.stdout.rstrip("\n") == committed.rstrip("\n")
    cli.fails("completion", "tcsh", code=2)
