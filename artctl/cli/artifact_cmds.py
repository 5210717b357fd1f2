"""``artctl artifact …``: put, get, ls, show, diff, update, verify."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from artctl.cli.common import (
    emit_put_result,
    get_output,
    human_size,
    json_option,
    link_option,
    open_repo,
    run_option,
    short_time,
)
from artctl.cli.complete import ArtifactTypeType, NameType, PathOrURIType, RefOrDirType, RefType

if TYPE_CHECKING:
    from artctl.format.manifest import ManifestDiff
    from artctl.ops.worktree_diff import WorktreeDiff


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
) -> None:
    """Make a new version of NAME from PATH (a file, a directory or a URI).

    Identical content creates no new version: the existing one is reported and still gets
    the aliases and tags. A directory's .artctlignore (gitignore syntax) leaves out what it
    matches, and is not stored itself. A PATH with a scheme (s3://, gs://, az://, http(s)://,
    file://) is tracked as a reference: its bytes stay where they are.

    \b
    Examples:
      artctl artifact put ./data --name proj/mnist --type dataset
      artctl artifact put ./data -n proj/mnist -d "cleaned" -a best
      artctl artifact put model.pt --name proj/cnn --type model --alias best --ttl 30d
      artctl artifact put ./data --name proj/mnist --tag reviewed
    """
    from artctl.format.records import parse_metadata
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
        )
    out.verbose_info(
        f"put: {result.record.name}:{result.record.version} "
        f"{'created' if result.created else 'unchanged (identical content)'}: "
        f"{result.record.files} files, {human_size(result.record.size)}; "
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
        f"get: {record.name}:{record.version} -> {result.root}: {result.files} files, "
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


@artifact_group.command("show")
@click.argument("ref", type=RefType())
@click.option("--all", "include_deleted", is_flag=True, help="Also show a deleted or expired version.")
@json_option
def show_cmd(ref: str, include_deleted: bool) -> None:
    """Type, version, digest, aliases, metadata, description, TTL and files of a version.

    \b
    Example:
      artctl artifact show proj/mnist:v1
    """
    import json

    from rich.table import Table

    repo = open_repo()
    out = get_output()
    info = repo.show(ref, include_deleted=include_deleted, load_manifest=False)
    dropped = repo.files_dropped(info.record)
    doc = info.to_json()
    if out.json:
        if dropped:
            out.emit_json(doc)
        else:  # streamed: a version of a million files is shown in bounded memory
            out.emit_json_listing(
                doc,
                "entries",
                (
                    {"path": e.path, "size": e.size, "digest": e.digest, "ref": e.ref}
                    for e in repo.iter_entries(info.record)
                ),
            )
        return
    r = info.record
    head = Table.grid(padding=(0, 2))
    for key, value in [
        ("name", r.name),
        ("type", r.type),
        ("version", r.version),
        ("aliases", ", ".join(info.aliases)),
        ("tags", ", ".join(r.tags) or "-"),
        ("digest", r.digest),
        ("state", r.status()),
        ("created", short_time(r.created_at)),
        ("files", str(r.files)),
        ("size", human_size(r.size)),
        ("ttl", doc["ttl"] or "-"),
        ("expires", short_time(doc["expires_at"])),
        ("logged by", r.logged_by or "-"),
        *([("link", f"{info.source} (linked version)")] if info.source else []),
        *([("linked to", ", ".join(info.linked))] if info.linked else []),
        ("description", r.description or "-"),
        ("metadata", json.dumps(r.metadata, ensure_ascii=False) if r.metadata else "-"),
    ]:
        head.add_row(f"[bold]{key}[/]", _escape(value))
    out.table(head)
    if dropped:
        out.info(
            f"the files of {r.name}:{r.version} were dropped by `artctl gc` "
            f"({short_time(r.purged_at)}); only this record remains"
        )
        return
    from artctl.base.display import printable

    entries = repo.iter_entries(r)
    if r.files > TABLE_ROWS:  # one line per file as it is read: a table would hold them all
        out.info(f"{r.files:,} files (path, size, digest or reference; tab-separated):")
        for entry in entries:
            out.result(
                f"{printable(entry.path)}\t{human_size(entry.size)}\t"
                f"{printable(entry.ref or (entry.digest or '')[:16])}"
            )
        return
    files = Table("path", "size", "digest / reference")
    for entry in entries:
        files.add_row(
            _escape(entry.path), human_size(entry.size), _escape(entry.ref or (entry.digest or "")[:16])
        )
    out.table(files)


#: ``show`` draws its file list as a table up to this many files, then as plain lines.
TABLE_ROWS = 5000


def _escape(text: str) -> str:
    """Stored text for a rich table: markup escaped, control characters made visible."""
    from rich.markup import escape

    from artctl.base.display import printable

    return escape(printable(text))


@artifact_group.command("diff")
@click.argument("old", type=RefType())
@click.argument("new", type=RefOrDirType())
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences, 0 when none (for CI).")
@json_option
def diff_cmd(old: str, new: str, exit_code: bool = False) -> None:
    """Paths added, removed and changed from version OLD to version NEW, or to directory NEW.

    NEW is a working directory when a directory exists at that path (write ./NAME to be
    explicit). Unchanged files are recognised by the stat cache without being read, and
    the directory's .artctlignore is honoured, as `artctl artifact put` honours it.

    \b
    Examples:
      artctl artifact diff proj/mnist:v0 proj/mnist:v1
      artctl artifact diff proj/mnist:latest ./data --exit-code
    """
    repo = open_repo()
    out = get_output()
    result: WorktreeDiff | ManifestDiff
    if is_directory(new):
        from artctl.ops.worktree_diff import compare

        result = compare(repo, repo.resolve(old), new)
        doc = result.to_json()
    else:
        result = repo.diff(old, new)
        doc = {"added": result.added, "removed": result.removed, "changed": result.changed}
    if out.json:
        out.emit_json(doc)
    else:
        for mark, paths in (("A", result.added), ("D", result.removed), ("M", result.changed)):
            for path in paths:
                out.result(f"{mark}\t{path}")
        if result.empty:
            out.info("no differences")
    if exit_code and not result.empty:
        click.get_current_context().exit(1)


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
    from artctl.format.records import parse_metadata

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


@artifact_group.command("verify")
@click.argument("ref", required=False, type=RefType())
@click.option(
    "--repair",
    is_flag=True,
    help="Move corrupt loose objects aside (.artifacts/corrupt/) so that putting the "
    "files again or `artctl pull --all` restores them.",
)
@click.option(
    "--remote",
    "remote",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[NAME]",
    help="Also check the remote copies of objects not stored here (every configured "
    "remote, or NAME): packed blobs are read back and hashed, loose objects "
    "checked for their length.",
)
@json_option
def verify_cmd(ref: str | None, repair: bool, remote: str | None) -> None:
    """Re-hash every object of one version (or of all) and report corruption (exit 1).

    Objects that are not stored here but that a remote holds (after a metadata-only clone or
    `cache cleanup`) are listed as "on remote NAME" and are not problems; an object that is
    neither here nor on a remote is "missing".

    \b
    Examples:
      artctl artifact verify proj/mnist:latest
      artctl artifact verify --remote origin    # check the copies on origin too
      artctl artifact verify --repair; artctl pull --all   # restore what was moved aside
    """
    repo = open_repo()
    out = get_output()
    with out.progress_bar("verify") as progress:
        result = repo.verify(
            ref, progress=progress, repair=repair, remote=(remote or True) if remote is not None else None
        )
    if out.json:
        out.emit_json(result.to_json())
    else:
        for problem in result.problems:
            line = f"{problem['problem']}\t{problem['version']}\t{problem.get('path', '')}"
            out.result(line + (f"\t{problem['remote']}" if problem.get("remote") else ""))
        for (version, remote_name), count in _on_remote_by_version(result.on_remote).items():
            out.result(f"on remote {remote_name}\t{version}\t{count} object(s) not fetched here")
        if result.ok:
            fetched = (
                f"; {len({r['digest'] for r in result.on_remote})} not fetched here are on a remote "
                "(`artctl pull --all` fetches them)"
                if result.on_remote
                else ""
            )
            checked = (
                f"; remote copies checked on {', '.join(result.remotes_checked)}"
                if result.remotes_checked
                else ""
            )
            out.info(
                f"ok: {result.checked_objects} objects in {result.checked_versions} versions verified"
                + fetched
                + checked
            )
    if not result.ok:
        from artctl.errors import IntegrityError

        raise IntegrityError(f"{len(result.problems)} problem(s) found in the repository", hint=result.hint())


def _on_remote_by_version(rows: list[dict[str, str]]) -> dict[tuple[str, str], int]:
    """(version, remote) -> how many of its objects are only on that remote (one line each)."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["version"], row["remote"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def register(group: click.Group) -> None:
    group.add_command(artifact_group)
