"""The ``artctl`` root command and the one place where errors become messages.

Exit codes: 0 success; 1 an operation failed (not found, conflict, integrity, remote);
2 usage error; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import os
import sys
import time
from importlib import import_module
from types import FrameType
from typing import Any

import click

from artctl import __version__
from artctl.cli.common import get_output
from artctl.cli.global_opts import global_options, install
from artctl.cli.group import ArtctlGroup, CommandInterrupted, adopt_groups, walk
from artctl.cli.output import Output, print_json_error, render_error, warnings_as_lines
from artctl.cli.shells import SHELLS as _SHELLS  # noqa: F401 - registers our completion scripts

#: Command modules are the ``*_cmds`` modules of this package; each has ``register(group)``.
COMMAND_SUFFIX = "_cmds"

EPILOG = """\b
Exit codes: 0 success, 1 operation failed, 2 usage error, 130 interrupted.
Environment: ARTCTL_DIR (repository), ARTCTL_REPO (like --repo), ARTCTL_RUN (run to link),
ARTCTL_PROJECT (default project of bare names), ARTCTL_DEBUG=1 (tracebacks).
"""


@click.group(cls=ArtctlGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, "--version", prog_name="artctl", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Version datasets, models and results as named artifacts in a local repository.

    Global options (--debug, -v, -q, --json, --progress, --repo) may also follow the
    subcommand: `artctl artifact ls --debug`.

    --repo works on another repository, or directly on a remote (as restic -r): every read
    command, and alias add/rm, artifact update/rm/put, which publish their change to the remote
    before returning; `gc` on a remote collects garbage on the remote itself. The remote's
    registry is mirrored in the user cache and objects are fetched when needed: `artctl --repo
    s3://bucket/team artifact ls`, `artctl --repo origin alias add proj/model:v7 production`.

    \b
    Quick start:
      artctl init
      artctl artifact put ./data -n proj/mnist -t dataset
      artctl artifact get proj/mnist:latest --root out/
      artctl --repo origin artifact ls
    """
    ctx.with_resource(warnings_as_lines(ctx.ensure_object(Output)))


#: The global options (``global_opts``), shown in ``artctl --help``; every subcommand also
#: accepts them after its name.
cli.params.extend(global_options(hidden=False, with_json=True))


def register() -> None:
    """Add every command module's commands, so a new module needs no edit here."""
    import pkgutil

    names = sorted(
        m.name for m in pkgutil.iter_modules([os.path.dirname(__file__)]) if m.name.endswith(COMMAND_SUFFIX)
    )
    for module in names:
        import_module(f"{__package__}.{module}").register(cli)
    adopt_groups(cli)
    install(cli, walk)


register()


def _debug_enabled() -> bool:
    if os.environ.get("_ARTCTL_COMPLETE"):  # shell completion: never write to the user's prompt
        return False
    return "--debug" in sys.argv or os.environ.get("ARTCTL_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every error into one line and an exit code."""
    from artctl.errors import ArtctlError

    started = time.perf_counter()
    _terminate_like_ctrl_c()
    if not _debug_enabled():
        sys.unraisablehook = _ignore_unraisable
    out = Output()
    args = list(sys.argv[1:] if argv is None else argv)

    def report(code: str, message: str, hint: str | None, details: dict[str, Any] | None = None) -> None:
        as_json = _json_wanted(out, args)
        render_error(code, message, hint, as_json=as_json, debug=_debug_enabled(), details=details)

    try:
        rv = cli.main(args=args, prog_name="artctl", standalone_mode=False, obj=out)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        report("interrupted", "interrupted", None)
        sys.exit(130)
    except click.ClickException as exc:
        if _json_wanted(out, args):  # the JSON document; stderr keeps click's usage and message
            ctx = getattr(exc, "ctx", None)
            hint = f"see `{ctx.command_path} --help`" if ctx is not None else None
            print_json_error("usage_error" if exc.exit_code == 2 else "error", exc.format_message(), hint)
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, CommandInterrupted):
        # On a terminal the ^C echo has no newline: start the one line on a fresh one.
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        report("interrupted", "interrupted; the repository is unchanged by the unfinished step", None)
        _exit_interrupted()
    except ArtctlError as exc:
        report(exc.code, exc.message, exc.hint, exc.details())
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
    except OSError as exc:
        from artctl.base.fsutil import disk_full_guard

        full = disk_full_guard(exc)
        if full is not None:
            report(full.code, full.message, full.hint)
        else:
            reason = (exc.strerror or str(exc)).rstrip(".")
            reason = reason[:1].lower() + reason[1:]
            report("os_error", f"cannot access {exc.filename}: {reason}" if exc.filename else reason, None)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        report(
            "internal_error",
            f"unexpected {type(exc).__name__}: {exc}",
            "this is a bug in artctl; rerun with --debug and report the traceback",
        )
        sys.exit(1)
    finally:
        _ignore_late_signals()
        if _debug_enabled():
            sys.stderr.write(f"debug: {time.perf_counter() - started:.3f}s\n")
    sys.exit(rv if isinstance(rv, int) else 0)


def _ignore_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Errors in third-party finalizers (``__del__`` of a half-built filesystem after a failed
    connection) would print "Exception ignored in …" with a traceback after artctl's one error
    line; they say nothing the error did not. ``--debug`` shows them."""


def _json_wanted(out: Output, args: list[str]) -> bool:
    """Whether a failure is also reported as JSON on stdout: ``--json`` was given (before or
    after the subcommand; the scan covers usage errors found before it was parsed), and no JSON
    document was printed yet (``verify --json`` prints its report, then fails)."""
    if out.emitted_json:
        return False
    options = args[: args.index("--")] if "--" in args else args
    return out.json or "--json" in options


def _terminate_like_ctrl_c() -> None:
    """SIGTERM (``kill``, a CI timeout) unwinds like Ctrl-C: cleanup runs, one line, exit 130."""
    import signal
    import threading

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _exit_interrupted() -> None:
    """Exit 130 now. The command's own cleanup has run while the interrupt unwound it; Python's
    shutdown after a KeyboardInterrupt sometimes re-raises the signal (exit status -SIGINT
    instead of 130), and it would also wait for worker threads still finishing their files."""
    _ignore_late_signals()
    if _debug_enabled():
        sys.stderr.write("debug: interrupted\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(130)


def _ignore_late_signals() -> None:
    """The command is over (done, failed or interrupted): a Ctrl-C now must not turn its exit
    status into a signal death (-2) while Python shuts down. ``main`` is the process entry
    point; call ``cli`` to run commands in-process."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


__all__ = ["cli", "main", "get_output"]
