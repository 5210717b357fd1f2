"""Regenerate (or check) the files derived from the click command tree and config keys.

    python -m artctl.cli.generate            # rewrite completions/, man/, docs/cli.md, docs/config.md
    python -m artctl.cli.generate --check    # exit 1 and list the files that are out of date

Run it after adding or changing a command, an option, a help text or a config key; the test
suite (tests/test_cli_generated.py) fails until the committed files match.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]
MAN_DIR = "man"
COMPLETIONS_DIR = "completions"


def config_markdown() -> str:
    """``docs/config.md`` from :data:`artctl.repository.config.KNOWN_KEYS`, the one list of keys."""
    from artctl.cli.reference import md_escape
    from artctl.repository.config import KNOWN_KEYS

    lines = [
        "# artctl configuration",
        "",
        "Generated from `artctl.repository.config.KNOWN_KEYS` by `python -m artctl.cli.generate`; "
        "do not edit by hand.",
        "",
        "Configuration is layered like git's; a later layer wins:",
        "",
        "1. the user file, `$XDG_CONFIG_HOME/artctl/config.toml` (default `~/.config/artctl/config.toml`),",
        "   written by `artctl config --user KEY VALUE`;",
        "2. the repository file, `.artifacts/config.toml`, written by `artctl config KEY VALUE`;",
        "3. environment variables `ARTCTL_<KEY>`: the key upper-cased with `.` and `-` as `_`",
        "   (`core.link` → `ARTCTL_CORE_LINK`); `ARTCTL_REMOTE_*` variables can also define a remote",
        "   no file has ([remotes.md](remotes.md#remotes-from-the-environment));",
        "4. command-line flags (e.g. `--link` for `core.link`).",
        "",
        "`artctl config KEY` prints the effective value; `artctl config --list` every key set in a "
        "file, with its layer; `artctl config --unset KEY` removes it from the repository file "
        "(with `--user`, the user file). Values `true`/`false` and integers are stored as such, "
        "everything else as a string. Keys are dotted paths into the TOML tables; `<NAME>` parts "
        "stand for any name.",
        "",
        "| key | environment | meaning |",
        "|---|---|---|",
    ]
    for key, meaning in KNOWN_KEYS.items():
        env = "ARTCTL_" + key.replace(".", "_").replace("-", "_").upper()
        lines.append(f"| `{key}` | `{env}` | {md_escape(meaning)} |")
    return "\n".join(lines) + "\n"


def expected_files() -> dict[str, str]:
    """``{path relative to the source tree: content}`` of every generated file."""
    from artctl.cli import manpage, shells
    from artctl.cli.main import cli
    from artctl.cli.reference import all_docs, markdown

    docs = all_docs()
    files: dict[str, str] = {}
    for shell, name in shells.FILES.items():
        files[f"{COMPLETIONS_DIR}/{name}"] = shells.script(shell, cli)
    for name, text in manpage.pages(docs).items():
        files[f"{MAN_DIR}/{name}"] = text
    files["docs/cli.md"] = markdown(docs)
    files["docs/config.md"] = config_markdown()
    return files


def stale_files(root: Path = SOURCE_ROOT) -> tuple[list[str], list[str]]:
    """``(out of date or missing, extra)``: extra are old man pages of removed commands."""
    files = expected_files()
    stale = [
        p
        for p, text in files.items()
        if not (root / p).is_file() or (root / p).read_text(encoding="utf-8") != text
    ]
    existing = (
        {f"{MAN_DIR}/{p.name}" for p in (root / MAN_DIR).glob("*.1")} if (root / MAN_DIR).is_dir() else set()
    )
    extra = sorted(existing - set(files))
    return sorted(stale), extra


def write(root: Path = SOURCE_ROOT) -> list[str]:
    """Write every generated file that changed; delete man pages of removed commands."""
    changed = []
    for rel, text in expected_files().items():
        path = root / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed.append(rel)
    for rel in stale_files(root)[1]:
        (root / rel).unlink()
        changed.append(f"{rel} (removed)")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m artctl.cli.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    parser.add_argument("--root", type=Path, default=SOURCE_ROOT, help="source tree (default: this one)")
    args = parser.parse_args(argv)
    if args.check:
        stale, extra = stale_files(args.root)
        for rel in stale:
            print(f"out of date: {rel}")
        for rel in extra:
            print(f"no longer generated: {rel}")
        if stale or extra:
            print("run `python -m artctl.cli.generate` and commit the result", file=sys.stderr)
            return 1
        return 0
    for rel in write(args.root):
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
