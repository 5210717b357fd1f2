"""The architecture of docs/architecture.md holds: import-linter's contracts (pyproject.toml's
``[tool.importlinter]``: layers in order, no import cycle between siblings, ``errors.py`` at the
bottom) are checked on every test run, as ``lint-imports`` checks them from a shell."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold(capsys) -> None:  # type: ignore[no-untyped-def]
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)  # the configuration and the package are found from the source tree
    try:
        code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    finally:
        os.chdir(cwd)
    assert code == 0, capsys.readouterr().out
