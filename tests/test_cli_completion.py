"""Completion of commands, options and repository values, through click's protocol and through
the committed bash script driven like bash drives it (COMP_WORDS / COMP_CWORD / COMP_LINE)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, cli_env

BASH_SCRIPT = REPO_ROOT / "completions" / "artctl.bash"


def complete(cwd: Path, *words: str, shell: str = "bash", env: dict[str, str] | None = None) -> list[str]:
    """Ask artctl for completions of ``words`` (the last one being typed) via the env protocol."""
    argv = ["artctl", *words]
    proc = subprocess.run(
        [sys.executable, "-m", "artctl"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(
            {
                "_ARTCTL_COMPLETE": f"{shell}_complete",
                "COMP_WORDS": " ".join(argv),
                # fish passes the word being typed itself, bash/zsh its index
                "COMP_CWORD": words[-1] if shell == "fish" else str(len(argv) - 1),
                **(env or {}),
            }
        ),
    )
    assert proc.returncode == 0 and proc.stderr == "", proc
    if shell == "bash":
        return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line.startswith("plain,")]
    return proc.stdout.splitlines()


@pytest.fixture
def filled(cli, repo_dir: Path) -> Path:
    (repo_dir / "f.txt").write_text("one\n")
    cli.ok("artifact", "put", "f.txt", "--name", "proj/mnist", "--type", "dataset")
    (repo_dir / "f.txt").write_text("two\n")
    cli.ok("artifact", "put", "f.txt", "--name", "proj/mnist", "--type", "dataset", "--alias", "best")
    cli.ok("artifact", "put", "f.txt", "--name", "proj/cnn", "--type", "model")
    cli.ok("artifact", "put", "f.txt", "--name", "other/thing", "--type", "model")
    cli.ok("config", "remote.origin.url", "file:///tmp/nowhere")
    return repo_dir


def test_commands_and_options(workdir: Path) -> None:
    assert complete(workdir, "art") == ["artifact"]
    assert "put" in complete(workdir, "artifact", "")
    assert complete(workdir, "artifact", "put", "--na") == ["--name"]
    assert "--json" in complete(workdir, "artifact", "show", "--")


def test_artifact_names_refs_and_aliases(filled: Path) -> None:
    assert complete(filled, "artifact", "get", "") == ["other/thing", "proj/cnn", "proj/mnist"]
    assert complete(filled, "artifact", "get", "proj/") == ["proj/cnn", "proj/mnist"]
    # One name left: it and its aliases, so the shell completes up to the name.
    assert complete(filled, "artifact", "show", "proj/mn") == [
        "proj/mnist",
        "proj/mnist:latest",
        "proj/mnist:v1",
        "proj/mnist:v0",
        "proj/mnist:best",
    ]
    assert complete(filled, "artifact", "show", "proj/mnist:b") == ["proj/mnist:best"]
    assert complete(filled, "artifact", "diff", "proj/mnist:v0", "proj/mnist:v") == [
        "proj/mnist:v1",
        "proj/mnist:v0",
    ]
    assert complete(filled, "artifact", "put", "f.txt", "--name", "o") == ["other/thing"]
    assert complete(filled, "artifact", "ls", "p") == ["proj", "proj/cnn", "proj/mnist"]
    assert complete(filled, "artifact", "put", "f.txt", "--type", "") == ["dataset", "model"]
    assert complete(filled, "artifact", "ls", "--type", "m") == ["model"]


def test_zsh_and_fish_protocols_carry_descriptions(filled: Path) -> None:
    zsh = complete(filled, "artifact", "get", "proj/mnist:l", shell="zsh")
    assert zsh[:2] == ["plain", r"proj/mnist\:latest"] and zsh[2].startswith("newest: v1")
    fish = complete(filled, "artifact", "get", "proj/c", shell="fish")
    assert fish[0] == "plain,proj/cnn\tmodel"


def test_runs_remotes_drafts_and_custom_aliases_complete(filled: Path, cli) -> None:
    run_id = cli.ok("run", "start", "--job-type", "train").stdout.strip()
    assert complete(filled, "artifact", "put", "f.txt", "--run", "") == [run_id]
    assert complete(filled, "run", "show", run_id[:3]) == [run_id]
    assert complete(filled, "lineage", "run:") == [f"run:{run_id}"]
    assert complete(filled, "lineage", "proj/c")[0] == "proj/cnn"
    assert complete(filled, "ui", "proj/mnist:b") == ["proj/mnist:best"]
    assert complete(filled, "remote", "rm", "") == ["origin"]
    assert complete(filled, "push", "o")[:3] == ["origin", "other/thing", "other/thing:latest"]
    assert complete(filled, "alias", "rm", "proj/mnist", "") == ["best"]
    assert complete(filled, "alias", "ls", "proj/c") == ["proj/cnn"]
    draft_id = cli.ok("draft", "new", "proj/mnist").stdout.strip()
    assert complete(filled, "draft", "ls", "") == [draft_id]
    assert complete(filled, "draft", "add", draft_id[:4]) == [draft_id]
    fish = complete(filled, "draft", "commit", "", shell="fish")
    assert fish == [f"plain,{draft_id}\tproj/mnist:v1 +0 -0"]
    from artctl.ops import catalog

    os.chdir(filled)
    assert catalog.remote_names() == [("origin", "file:///tmp/nowhere")]


@pytest.mark.damages_repository
def test_nothing_outside_a_repository_and_never_a_traceback(workdir: Path, tmp_path: Path) -> None:
    assert complete(workdir, "artifact", "get", "") == []
    assert complete(workdir, "artifact", "get", "proj/x:") == []
    # A damaged repository: still no error at the prompt.
    (workdir / ".artifacts").mkdir()
    (workdir / ".artifacts" / "FORMAT").write_text("garbage")
    assert complete(workdir, "artifact", "get", "p") == []
    assert complete(workdir, "artifact", "get", "p", env={"ARTCTL_DIR": str(tmp_path / "none")}) == []
    # ARTCTL_DEBUG in the user's environment must not print timings at the prompt
    assert complete(workdir, "art", env={"ARTCTL_DEBUG": "1"}) == ["artifact"]


def _bash_complete(cwd: Path, line: str, bin_dir: Path) -> list[str]:
    """Source the committed script and call its function the way bash's readline would:
    COMP_WORDS split at whitespace and at ':' (COMP_WORDBREAKS), COMP_CWORD the last word."""
    program = r"""
source "$SCRIPT"
COMP_LINE=$LINE
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "${LINE//:/ : }"
[[ $LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
complete -p artctl >/dev/null || exit 3
_artctl_completion artctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""
    env = cli_env(
        {"SCRIPT": str(BASH_SCRIPT), "LINE": line, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    )
    proc = subprocess.run(
        [shutil.which("bash") or "bash", "--norc", "--noprofile", "-c", program],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc
    return [x for x in proc.stdout.splitlines() if x]


@pytest.fixture
def artctl_on_path(tmp_path: Path) -> Path:
    """A directory with an ``artctl`` executable running this work tree's code."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "artctl"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m artctl "$@"\n')
    shim.chmod(0o755)
    return bin_dir


def test_bash_script_completes_an_artifact_name(filled: Path, artctl_on_path: Path) -> None:
    # One name left: bash inserts the common prefix "proj/cnn"; a ':' then lists the aliases.
    assert _bash_complete(filled, "artctl artifact get proj/c", artctl_on_path) == [
        "proj/cnn",
        "proj/cnn:latest",
        "proj/cnn:v0",
    ]
    assert _bash_complete(filled, "artctl artifact get oth", artctl_on_path)[0] == "other/thing"
    assert _bash_complete(filled, "artctl artifact get ", artctl_on_path) == [
        "other/thing",
        "proj/cnn",
        "proj/mnist",
    ]
    assert _bash_complete(filled, "artctl art", artctl_on_path) == ["artifact"]


def test_bash_script_completes_aliases_after_a_colon(filled: Path, artctl_on_path: Path) -> None:
    """readline replaces only the text after ':', so the script answers with that part."""
    assert _bash_complete(filled, "artctl artifact get proj/mnist:", artctl_on_path) == [
        "latest",
        "v1",
        "v0",
        "best",
    ]
    assert _bash_complete(filled, "artctl artifact get proj/mnist:be", artctl_on_path) == ["best"]
    assert _bash_complete(filled, "artctl artifact diff proj/mnist:v0 proj/mnist:v", artctl_on_path) == [
        "v1",
        "v0",
    ]


def test_fish_script_completes_an_artifact_name(filled: Path, artctl_on_path: Path) -> None:
    """fish's own ``complete -C`` runs the committed script and prints value<TAB>description."""

    def fish(line: str) -> list[str]:
        proc = subprocess.run(
            [
                shutil.which("fish") or "fish",
                "--no-config",
                "-c",
                f'source {REPO_ROOT / "completions" / "artctl.fish"}; complete -C "{line}"',
            ],
            cwd=filled,
            capture_output=True,
            text=True,
            timeout=120,
            env=cli_env({"PATH": f"{artctl_on_path}{os.pathsep}{os.environ['PATH']}"}),
        )
        assert proc.returncode == 0 and proc.stderr == "", proc
        return proc.stdout.splitlines()

    assert fish("artctl artifact get proj/c")[0] == "proj/cnn\tmodel"
    assert fish("artctl artifact get proj/mnist:b") == ["proj/mnist:best\t→ v1"]
    assert fish("artctl art")[0].startswith("artifact\t")
    assert fish("artctl artifact put --na") == ["--name\tArtifact name: [entity/]project/name."]


def test_zsh_script_completes_an_artifact_name(filled: Path, artctl_on_path: Path) -> None:
    """The committed zsh function, with zsh's completion builtins stubbed to print what they
    were given (driving real zle completion needs a terminal)."""
    program = r"""
compdef() { : }
_describe() { print -rl -- "${(@P)3}" }
compadd() { print -rl -- "${(@P)${@[-1]}}" }
_path_files() { print -r -- "<files>" }
source "$SCRIPT"
words=(${(z)LINE}); CURRENT=${#words}
_artctl_completion
"""

    def zsh(line: str) -> list[str]:
        proc = subprocess.run(
            [shutil.which("zsh") or "zsh", "-f", "-c", program],
            cwd=filled,
            capture_output=True,
            text=True,
            timeout=120,
            env=cli_env(
                {
                    "SCRIPT": str(REPO_ROOT / "completions" / "_artctl"),
                    "LINE": line,
                    "PATH": f"{artctl_on_path}{os.pathsep}{os.environ['PATH']}",
                }
            ),
        )
        assert proc.returncode == 0 and proc.stderr == "", proc
        return proc.stdout.splitlines()

    assert zsh("artctl artifact get proj/c")[0] == "proj/cnn:model"
    assert zsh("artctl artifact get proj/mnist:b") == [r"proj/mnist\:best:→ v1"]
    assert zsh("artctl art")[0].startswith("artifact:")


def test_path_arguments_fall_back_to_file_completion(workdir: Path) -> None:
    for words in (["artifact", "put", "da"], ["artifact", "upsert", "da"], ["draft", "add", "x", "da"]):
        argv = ["artctl", *words]
        proc = subprocess.run(
            [sys.executable, "-m", "artctl"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
            env=cli_env(
                {
                    "_ARTCTL_COMPLETE": "bash_complete",
                    "COMP_WORDS": " ".join(argv),
                    "COMP_CWORD": str(len(argv) - 1),
                }
            ),
        )
        assert proc.stdout.splitlines() == ["file,da"], (words, proc)
