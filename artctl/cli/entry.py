"""The ``artctl`` executable's entry point: answers ``--version`` before importing anything.

``artctl --version`` is what scripts and package managers run to probe the tool; it should
cost an interpreter start, not the import of click and every command module.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from artctl import __version__

        sys.stdout.write(f"artctl {__version__}\n")
        return
    try:  # a Ctrl-C while importing is still one line and exit 130, never a traceback
        from artctl.base import extras  # sets gcsfs' environment before anything can import gcsfs

        if "--debug" not in sys.argv[1:]:
            extras.silence_cloud_warnings()
        from artctl.cli.main import main as run
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    run()
