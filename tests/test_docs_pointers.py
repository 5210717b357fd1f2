"""The docs point at code that exists: every ``artctl/…`` path and ``artctl.…`` module named in
README.md and docs/*.md is in the tree (a move or a split must update them)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_code_path_in_the_docs_exists() -> None:
    missing = [
        f"{doc.relative_to(ROOT)}: {path}"
        for doc in DOCS
        for path in sorted(set(re.findall(r"\bartctl/[A-Za-z_/]+(?:\.py|/)", doc.read_text())))
        if not (ROOT / path).exists()
    ]
    assert not missing, "docs name code that does not exist:\n" + "\n".join(missing)


#: ``artctl.fish``, ``artctl.toml``: file names, not modules.
FILE_SUFFIXES = {"fish", "bash", "zsh", "toml", "json", "md", "log"}


def test_every_module_in_the_docs_resolves() -> None:
    """``artctl.ops.gc``, ``artctl.ops.gc.gc`` or ``artctl.init`` in the docs: a module, or an
    attribute of one, that exists."""
    missing = [
        f"{doc.relative_to(ROOT)}: {dotted}"
        for doc in DOCS
        for dotted in sorted(set(re.findall(r"`(artctl(?:\.[A-Za-z_]+)+)", doc.read_text())))
        if dotted.rsplit(".", 1)[1] not in FILE_SUFFIXES and not _resolves(dotted)
    ]
    assert not missing, "docs name modules that do not exist:\n" + "\n".join(missing)


def _resolves(dotted: str) -> bool:
    """Import the longest module prefix of ``dotted``, then follow the rest as attributes."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        module_path = ROOT.joinpath(*parts[:n])
        if module_path.with_suffix(".py").is_file() or (module_path / "__init__.py").is_file():
            obj: object = importlib.import_module(".".join(parts[:n]))
            for attr in parts[n:]:
                if not hasattr(obj, attr):
                    return False
                obj = getattr(obj, attr)
            return True
    return False
