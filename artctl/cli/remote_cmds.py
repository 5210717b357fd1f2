"""``artctl remote add/ls/rm``, ``artctl push``, ``artctl pull``, ``artctl clone``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from artctl.base.units import count, human_size
from artctl.cli.common import closed_at_end, get_output, json_option, open_repo
from artctl.cli.complete import RemoteOrRefType, RemoteType

if TYPE_CHECKING:
    from artctl.ops.remote.config import RemoteSpec
    from artctl.ops.remote.transfer import TransferResult

_FORCE_HELP = (
    "Accept a storage backend artctl is not tested with (tested: file, s3, gs, az, abfs); a warning says so."
)
_OPTION_HELP = (
    "fsspec storage option for the remote, e.g. -o endpoint_url=http://127.0.0.1:9000 "
    "(repeatable; dotted keys nest: -o client_kwargs.region_name=eu-west-1). "
    "Credentials come from the cloud's standard chain; one given here must be -o KEY=env:VAR, "
    "read from the environment when the remote is used (a plain secret is refused)."
)


@click.group("remote")
def remote_group() -> None:
    """Manage remotes: fsspec URLs (file://, s3://, gs://, az://) holding a copy of the repository.

    \b
    Example:
      artctl remote add origin s3://team-artifacts/repo --default
      artctl push
    """


@remote_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--default", "make_default", is_flag=True, help="Make it core.default_remote.")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help=_OPTION_HELP)
@click.option(
    "--force", is_flag=True, help=_FORCE_HELP[:-1] + "; also replaces the URL and options of remote NAME."
)
@json_option
def remote_add(name: str, url: str, make_default: bool, options: tuple[str, ...], force: bool) -> None:
    """Add a remote called NAME at URL (nothing is contacted until push/pull).

    Credentials are never written to config.toml: an option that looks like one (key, secret,
    token, password, sas, connection_string, ...) is refused unless its value is env:VAR.
    ARTCTL_REMOTE_<NAME>_URL and ARTCTL_REMOTE_<NAME>_OPTIONS_<KEY> override the config, or
    define a remote with no `remote add` at all (docs/remotes.md).

    \b
    Examples:
      artctl remote add origin s3://bucket/prefix --default
      artctl remote add minio s3://bucket -o endpoint_url=http://127.0.0.1:9000
      artctl remote add blob az://container -o connection_string=env:AZURE_CONN
      artctl remote add shared file:///mnt/shared/artifacts
    """
    from artctl.ops.remote.config import add_remote, parse_options

    spec = add_remote(
        open_repo().repository, name, url, parse_options(options), default=make_default, force=force
    )
    out = get_output()
    _warn_untested(spec.url)
    if out.json:
        out.emit_json(spec.to_json())
    else:
        out.result(f"added remote {spec.name} {spec.url}{' (default)' if spec.default else ''}")


@remote_group.command("ls")
@json_option
def remote_ls() -> None:
    """List remotes with their URLs and options (secrets masked).

    A value marked (env) comes from an ARTCTL_REMOTE_* variable, (user) from the user config;
    --json gives each value's source.

    \b
    Example:
      artctl remote ls --json
    """
    from artctl.ops.remote.config import list_remotes

    specs = list_remotes(open_repo().repository)
    out = get_output()
    if out.json:
        out.emit_json([s.to_json() for s in specs])
        return
    if specs:
        from rich.markup import escape
        from rich.table import Table

        from artctl.repository.config_values import format_value
        from artctl.repository.credentials import leaves

        table = Table("name", "url", "default", "options")
        for spec in specs:
            shown = leaves(spec.to_json()["options"])
            extra = " ".join(f"{k}={format_value(v)}{_from(spec, 'options.' + k)}" for k, v in shown)
            table.add_row(
                escape(spec.name),
                escape(spec.url + _from(spec, "url")),
                "yes" if spec.default else "",
                escape(extra) or "-",
            )
        out.table(table)
    if not specs:
        out.info("no remotes; add one with `artctl remote add origin URL --default`")


def _from(spec: RemoteSpec, value: str) -> str:
    """`` (env)`` or `` (user)`` after a value that is not from the repository's config."""
    source = spec.sources.get(value, "repository")
    return "" if source == "repository" else " (env)" if source.startswith("ARTCTL_") else f" ({source})"


@remote_group.command("rm")
@click.argument("name", type=RemoteType())
@json_option
def remote_rm(name: str) -> None:
    """Forget remote NAME (nothing on the remote is touched).

    \b
    Example:
      artctl remote rm origin
    """
    from artctl.ops.remote.config import remove_remote

    spec = remove_remote(open_repo().repository, name)
    out = get_output()
    if out.json:
        out.emit_json({"removed": spec.name, "url": spec.url})
    else:
        out.result(f"removed remote {spec.name}")


def _report(result: TransferResult) -> None:
    out = get_output()
    for problem in result.skipped_records:
        out.warn(problem)
    if out.json:
        out.emit_json(result.to_json())
        return
    verb = "sent" if result.direction == "push" else "fetched"
    out.result(
        f"{result.direction} {result.remote}: {count(result.objects, 'object')} {verb} "
        f"({human_size(result.bytes)} in {count(result.files, 'file')}), "
        f"{result.objects_skipped} already there; "
        f"{count(len(result.versions), 'new version')}"
    )
    for ref in result.versions:
        out.info(f"  {ref}")
    for moved in result.renumbered:
        why = f" ({moved.reason})" if moved.reason else ""
        out.info(f"  renumbered {moved.name}:{moved.old} -> {moved.new}{why}")
    for lost in result.replaced:
        out.info(lost.message(result.direction))
    for conflict in result.conflicts[1:] if len(result.conflicts) > 1 else ():  # the first is the error
        out.info(f"  also refused: {conflict.message()}")


def _split_remote(args: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """``push [REMOTE] [REF]…``: the first argument is a remote when it names one or is a URL
    (or a path: ``/mnt/backup``, ``./backup``) — a remote need not be configured."""
    from artctl.ops.remote.config import is_url, list_remotes

    if not args:
        return None, []
    names = {s.name for s in list_remotes(open_repo().repository)}
    if args[0] in names or is_url(args[0]):
        return args[0], list(args[1:])
    if "/" not in args[0] and ":" not in args[0]:
        # Not a remote and not shaped like an artifact reference: a mistyped remote name.
        from artctl.ops.remote.config import RemoteNotFound

        known = ", ".join(sorted(names)) or "none configured"
        raise RemoteNotFound(
            f"no remote {args[0]!r} (remotes: {known})", hint=f"add it with `artctl remote add {args[0]} URL`"
        )
    return None, list(args)


@click.command("push")
@click.argument("args", nargs=-1, metavar="[REMOTE] [REF]...", type=RemoteOrRefType())
@click.option(
    "--force",
    is_flag=True,
    help="Where an alias or field was changed here and on the remote since the last sync, keep yours.",
)
@json_option
def push_cmd(args: tuple[str, ...], force: bool) -> None:
    """Send versions (default: all), the objects they need and your alias moves, edits and
    deletions to a remote.

    REMOTE is a configured remote's name, or a URL (s3://, gs://, az://, file://, a path) that
    needs no `remote add`. Only what the remote lacks is sent; a push that was interrupted can
    simply be re-run.
    When another clone pushed a different version under the same number, yours is renumbered
    (locally too) so that both survive. When an alias or field was changed here and on the
    remote since you last synced, the push is refused naming it: `artctl pull` takes the
    remote's, `--force` keeps yours.

    \b
    Examples:
      artctl push
      artctl push origin proj/mnist
      artctl push origin proj/mnist:v3 --json
      artctl push s3://team-artifacts/repo proj/mnist --progress plain
      artctl push --force
    """
    from artctl.ops.remote.push import push
    from artctl.ops.remote.threeway import SyncConflict

    remote, refs = _split_remote(args)
    repo = open_repo()
    try:
        with get_output().progress_bar(f"push {remote or ''}".strip()) as progress:
            result = push(repo, remote, refs, progress=progress, force=force)
    except SyncConflict as exc:
        if exc.result is not None and not get_output().json:  # what was pushed, then the error
            _report(exc.result)
        raise
    _report(result)


@click.command("pull")
@click.argument("args", nargs=-1, metavar="[REMOTE] [REF]...", type=RemoteOrRefType())
@click.option(
    "--all", "fetch_all", is_flag=True, help="Also fetch every object now (default: when `get` needs it)."
)
@json_option
def pull_cmd(args: tuple[str, ...], fetch_all: bool) -> None:
    """Fetch versions, aliases and runs from a remote; objects follow when `get` needs them.

    REMOTE may be a URL instead of a configured name; then the objects are fetched now, since
    a later `get` could not fetch them from a remote it does not know.

    \b
    Examples:
      artctl pull
      artctl pull origin proj/mnist --all
      artctl pull file:///mnt/shared/artifacts proj/mnist
    """
    from artctl.ops.remote.pull import pull

    remote, refs = _split_remote(args)
    repo = open_repo()
    with get_output().progress_bar(f"pull {remote or ''}".strip()) as progress:
        result = pull(repo, remote, refs, fetch_all=fetch_all, progress=progress)
    _report(result)


@click.command("clone")
@click.argument("url")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help=_OPTION_HELP)
@click.option("--all", "fetch_all", is_flag=True, help="Also fetch every object now.")
@click.option("--force", is_flag=True, help=_FORCE_HELP)
@json_option
def clone_cmd(
    url: str, directory: Path | None, options: tuple[str, ...], fetch_all: bool, force: bool
) -> None:
    """Create a repository in DIRECTORY from the remote at URL (registered as `origin`).

    Metadata is fetched now; object bytes when `get` needs them (or now with --all).

    \b
    Examples:
      artctl clone s3://team-artifacts/repo work
      artctl clone file:///mnt/shared/artifacts --all
    """
    from artctl.ops.remote.clone import clone
    from artctl.ops.remote.config import parse_options

    parsed = parse_options(options)
    if force:
        _warn_untested(url)
    with get_output().progress_bar("clone") as progress:
        repo, result = clone(
            url, directory, options=parsed, fetch_all=fetch_all, force=force, progress=progress
        )
    closed_at_end(repo)
    out = get_output()
    _report(result)
    if not out.json:
        out.info(f"cloned into {result.root}")


def _warn_untested(url: str) -> None:
    """Say so on stderr when a (forced) remote uses a storage backend artctl is not tested with."""
    from artctl.backend.url import split_url
    from artctl.ops.remote.config import TESTED_PROTOCOLS, is_tested

    if not is_tested(url):
        get_output().warn(
            f"{split_url(url)[0]}:// remotes are untested: artctl is tested with "
            f"{', '.join(p + '://' for p in TESTED_PROTOCOLS)} only; push, pull and "
            "get may fail or leave a remote that other tools cannot read"
        )


def register(group: click.Group) -> None:
    group.add_command(remote_group)
    group.add_command(push_cmd)
    group.add_command(pull_cmd)
    group.add_command(clone_cmd)
