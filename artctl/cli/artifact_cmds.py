"""``artctl artifact …``: the group, and the commands that bring a version in, out or
edit it: put, get, update; ``escape_cell`` and ``is_directory`` are shared by the others.

The other ``artifact`` commands join the group from their own modules (``inspect_cmds``: show,
diff; ``verify_cmds``; ``ls_cmds``; ``workdir_cmds``: checkout, log; ``gc_cmds``: rm, rename …)."""

from __future__ import annotations

from pathlib import Path

import click

from artctl.base.units import count, human_size
from artctl.cli.common import (
    emit_put_result,
    get_output,
    json_option,
    link_option,
    open_repo,
    run_option,
)
from artctl.cli.complete import ArtifactTypeType, NameType, PathOrURIType, RefType


@click.group("artifact")
def artifact_group() -> None:
    """Create, fetch, inspect and edit artifact versions."""


@artifact_group.command("put")
@click.argument("path", type=PathOrURIType())
@click.option("-n", "--name", required=True, type=NameType(), help="Artifact name: [entity/]project/name.")
@click.option(
    "-t",
    "--type",
    "kind",
    type=ArtifactTypeType(),
    help="Artifact type, e.g. dataset or model (default: the artifact's type; dataset for a new one).",
)
@click.option(
    "-a",
    "--alias",
    "aliases",
    multiple=True,
    help="Custom alias to set (repeatable; latest is accepted and always moves by itself).",
)
@click.option("--tag", "tags", multiple=True, help="Tag for this version, e.g. reviewed (repeatable).")
@click.option("-d", "--description", help="Free-text description of this version.")
@click.option("--metadata", help="JSON object of metadata, e.g. '{\"rows\": 60000}'.")
@click.option(
    "--ttl", help="Delete this version after DURATION (e.g. 30d); custom aliases do not protect it."
)
@click.option(
    "--max-objects",
    type=click.IntRange(min=1),
    default=None,
    help="References: most objects a prefix may expand to (default 10000).",
)
@click.option("--no-checksum", is_flag=True, help="References: record the URI only, not the object's state.")
@click.option(
    "--remote",
    metavar="REMOTE",
    help="Commit on this remote (name or URL) first, then here: the version number is final at once.",
)
@run_option
@json_option
def put_cmd(
    path: str,
    name: str,
    kind: str | None,
    aliases: tuple[str, ...],
    description: str | None,
    metadata: str | None,
    ttl: str | None,
    max_objects: int | None,
    no_checksum: bool,
    run_id: str | None,
    tags: tuple[str, ...] = (),
    remote: str | None = None,
) -> None:
    """Make a new version of NAME from PATH (a file, a directory or a URI).

    Identical content creates no new version: the existing one is reported and still gets
    the aliases and tags. A directory's .artctlignore (gitignore syntax) leaves out what it
    matches, and is not stored itself. A PATH with a scheme (s3://, gs://, az://, http(s)://,
    file://) is tracked as a reference: its bytes stay where they are. With --remote (or
    `core.publish = remote`) the version is committed on the remote first, so its number is
    the team's at once.

    \b
    Examples:
      artctl artifact put ./data --name proj/mnist --type dataset
      artctl artifact put ./data -n proj/mnist -d "cleaned" -a best
      artctl artifact put model.pt --name proj/cnn --type model --alias best --ttl 30d
      artctl artifact put ./data --name proj/mnist --tag reviewed
      artctl artifact put ./data --name proj/mnist --remote origin
    """
    from artctl.format.user_json import parse_metadata
    from artctl.repository.commit import type_for

    meta = parse_metadata(metadata)
    repo = open_repo()
    kind = type_for(repo, name, kind)
    out = get_output()
    out.verbose_info(f"put: adding {path} to {name} (type {kind}) in {repo.root}")
    with out.progress_bar(f"put {name}") as progress:
        result = repo.put(
            path,
            name=name,
            type=kind,
            aliases=aliases,
            description=description,
            metadata=meta,
            ttl=ttl,
            run_id=run_id,
            checksum=not no_checksum,
            max_objects=max_objects,
            progress=progress,
            tags=tags,
            remote=remote,
        )
    out.verbose_info(
        f"put: {result.record.name}:{result.record.version} "
        f"{'created' if result.created else 'unchanged (identical content)'}: "
        f"{count(result.record.files, 'file')}, {human_size(result.record.size)}; "
        f"aliases {', '.join(result.aliases)}" + (f"; linked to run {run_id}" if run_id else "")
    )
    emit_put_result(result)


@artifact_group.command("get")
@click.argument("ref", type=RefType())
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="Directory to write into (default ./artifacts/<name>:<vN>).",
)
@click.option("--path-prefix", help="Only files whose path starts with this prefix.")
@click.option(
    "--refs-only",
    is_flag=True,
    help="Print the external URI of each reference entry (path<TAB>URI); download nothing.",
)
@click.option(
    "--allow-local-refs",
    is_flag=True,
    default=None,
    help="Follow file:// and loopback/link-local http references of a version pulled from "
    "a remote (config references.allow_local).",
)
@link_option
@run_option
@json_option
def get_cmd(
    ref: str,
    root: Path | None,
    path_prefix: str | None,
    link: str | None,
    run_id: str | None,
    refs_only: bool = False,
    allow_local_refs: bool | None = None,
) -> None:
    """Write the files of a version under a directory and print that directory.

    \b
    Examples:
      artctl artifact get proj/mnist:latest --root out/
      artctl artifact get proj/mnist:v3 --path-prefix images/
      artctl artifact get proj/mnist:v3 --refs-only
    """
    repo = open_repo()
    out = get_output()
    record = repo.resolve(ref)
    if refs_only:
        from artctl.references import refs_of

        rows = refs_of(repo.manifest(record), path_prefix)
        if out.json:
            out.emit_json(
                {
                    "name": record.name,
                    "version": record.version,
                    "refs": [{"path": p, "ref": uri} for p, uri in rows],
                }
            )
        for path, uri in [] if out.json else rows:
            out.result(f"{path}\t{uri}")
        return
    with out.progress_bar(
        f"get {record.name}:{record.version}", total_files=record.files, total_bytes=record.size
    ) as progress:
        result = repo.get(
            ref,
            root=root,
            path_prefix=path_prefix,
            link=link,
            run_id=run_id,
            progress=progress,
            allow_local_refs=allow_local_refs,
        )
    out.verbose_info(
        f"get: {record.name}:{record.version} -> {result.root}: {count(result.files, 'file')}, "
        f"{human_size(result.bytes)}; placed by "
        + (", ".join(f"{m} ({n})" for m, n in result.modes.items()) or "nothing")
        + (f"; linked to run {run_id}" if run_id else "")
    )
    from artctl.ops.checkout import describe_not_linked

    copied = describe_not_linked(result.link, result.not_linked)
    if copied:
        out.warn(copied)
    if out.json:
        out.emit_json(
            {
                "name": record.name,
                "version": record.version,
                "digest": record.digest,
                "root": str(result.root),
                "files": result.files,
                "size": result.bytes,
                "modes": result.modes,
                "not_linked": result.not_linked,
            }
        )
    else:
        out.result(str(result.root))


def is_directory(text: str) -> bool:
    """``diff``/``status`` arguments: an existing directory is a working directory, not a REF;
    a path that cannot be a REF (``./x``, ``/x``, ``~/x``, ``x/``) must exist."""
    import os

    if os.path.isdir(text):
        return True
    if text.startswith((".", "/", "~")) or text.endswith("/"):
        from artctl.errors import InvalidInput

        raise InvalidInput(f"no such directory: {text}")
    return False


@artifact_group.command("update")
@click.argument("ref", type=RefType())
@click.option("--description", help="New description.")
@click.option("--metadata", help="Replace the metadata with this JSON object.")
@click.option(
    "--ttl",
    help="New TTL (e.g. 30d), or 'none' to remove it; custom aliases do not protect a version from its TTL.",
)
@click.option("--tag", "tags", multiple=True, help="Add this tag (repeatable).")
@click.option("--untag", "untags", multiple=True, help="Remove this tag (repeatable).")
@json_option
def update_cmd(
    ref: str,
    description: str | None,
    metadata: str | None,
    ttl: str | None,
    tags: tuple[str, ...] = (),
    untags: tuple[str, ...] = (),
) -> None:
    """Edit a version's description, metadata, TTL or tags (its files never change).

    \b
    Examples:
      artctl artifact update proj/mnist:v1 --description "cleaned" --ttl 90d
      artctl artifact update proj/mnist:v1 --tag reviewed --untag draft
    """
    from artctl.format.user_json import parse_metadata

    changes: dict[str, object] = {}
    if description is not None:
        changes["description"] = description
    if metadata is not None:
        changes["metadata"] = parse_metadata(metadata)
    if ttl is not None:
        changes["ttl"] = None if ttl.lower() == "none" else ttl
    if not changes and not tags and not untags:
        raise click.UsageError("nothing to update: give --description, --metadata, --ttl, --tag or --untag")
    info = open_repo().update(ref, add_tags=tags, remove_tags=untags, **changes)
    out = get_output()
    if out.json:
        out.emit_json(info.to_json(entries=False))
    else:
        out.result(f"updated {info.record.name}:{info.record.version}")


def register(group: click.Group) -> None:
    group.add_command(artifact_group)
