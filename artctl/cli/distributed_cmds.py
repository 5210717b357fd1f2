"""``artctl artifact upsert`` and ``artctl artifact finish``: distributed versions."""

from __future__ import annotations

import click

from artctl.base.units import count, human_size
from artctl.cli.common import emit_put_result, get_output, json_option, open_repo, run_option
from artctl.cli.complete import ArtifactTypeType, NameType, PathOrURIType, RemoteType

_ID_HELP = "Id shared by every writer of this version (e.g. the CI pipeline or Slurm job id)."
_REMOTE_HELP = "Write the part (objects included) straight to this remote; finish there too."


@click.command("upsert")
@click.argument("path", type=PathOrURIType())
@click.option("-n", "--name", required=True, type=NameType(), help="Artifact name: [entity/]project/name.")
@click.option(
    "-t",
    "--type",
    "kind",
    type=ArtifactTypeType(),
    help="Artifact type, e.g. dataset or model (default: the artifact's type; dataset for a new one).",
)
@click.option("--distributed-id", "distributed_id", required=True, help=_ID_HELP)
@click.option("--remote", type=RemoteType(), help=_REMOTE_HELP)
@json_option
def upsert_cmd(path: str, name: str, kind: str | None, distributed_id: str, remote: str | None) -> None:
    """Add the files under PATH as one part of a distributed version (many writers at once).

    Nothing is visible to readers until `artifact finish` commits every part as one version;
    after that, upserts with the same id are refused.

    \b
    Examples:
      artctl artifact upsert shard-3/ --name proj/ds --type dataset --distributed-id job-42
      artctl artifact upsert shard-4/ -n proj/ds --distributed-id job-42
      artctl artifact upsert out/ -n proj/ds -t dataset --distributed-id $CI_PIPELINE_ID --remote origin
    """
    from artctl.ops.distributed.upsert import upsert
    from artctl.repository.commit import type_for

    repo = open_repo()
    kind = type_for(repo, name, kind)
    out = get_output()
    with out.progress_bar(f"upsert {name}") as progress:
        result = upsert(
            repo, path, name=name, type=kind, distributed_id=distributed_id, remote=remote, progress=progress
        )
    if out.json:
        out.emit_json(result.to_json())
    else:
        out.result(
            f"{result.name} part {result.part[:12]} of {result.distributed_id}: "
            f"{count(result.files, 'file')}, {human_size(result.size)}"
            f"{' on ' + result.remote if result.remote else ''}"
        )


@click.command("finish")
@click.argument("path", required=False, type=PathOrURIType())
@click.option("-n", "--name", required=True, type=NameType(), help="Artifact name: [entity/]project/name.")
@click.option(
    "-t",
    "--type",
    "kind",
    type=ArtifactTypeType(),
    help="Artifact type, e.g. dataset or model (default: the artifact's type; dataset for a new one).",
)
@click.option("--distributed-id", "distributed_id", required=True, help=_ID_HELP)
@click.option("--remote", type=RemoteType(), help=_REMOTE_HELP)
@click.option(
    "-a",
    "--alias",
    "aliases",
    multiple=True,
    help="Custom alias to set (repeatable; latest is accepted and always moves by itself).",
)
@click.option("-d", "--description", help="Free-text description of this version.")
@click.option("--metadata", help="JSON object of metadata.")
@click.option("--ttl", help="Delete this version after DURATION (e.g. 30d).")
@run_option
@json_option
def finish_cmd(
    path: str | None,
    name: str,
    kind: str | None,
    distributed_id: str,
    remote: str | None,
    aliases: tuple[str, ...],
    description: str | None,
    metadata: str | None,
    ttl: str | None,
    run_id: str | None,
) -> None:
    """Commit every part of a distributed version (plus PATH, if given) as one version.

    Two parts with the same path but different content are a conflict: nothing is committed.

    \b
    Examples:
      artctl artifact finish --name proj/ds --type dataset --distributed-id job-42
      artctl artifact finish -n proj/ds --distributed-id job-42 -a best -d "all shards"
      artctl artifact finish --name proj/ds --type dataset --distributed-id job-42 --remote origin --json
    """
    from artctl.format.user_json import parse_metadata
    from artctl.format.version_fields import VersionFields
    from artctl.ops.distributed.finish import finish
    from artctl.repository.commit import type_for

    repo = open_repo()
    kind = type_for(repo, name, kind)
    result = finish(
        repo,
        path,
        name=name,
        type=kind,
        distributed_id=distributed_id,
        remote=remote,
        fields=VersionFields(
            aliases=aliases,
            description=description,
            metadata=parse_metadata(metadata),
            ttl=ttl,
            run_id=run_id,
        ),
    )
    emit_put_result(result)


def register(group: click.Group) -> None:
    from artctl.cli.artifact_cmds import artifact_group

    artifact_group.add_command(upsert_cmd)
    artifact_group.add_command(finish_cmd)
