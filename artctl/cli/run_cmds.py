"""``artctl run …``: start, finish, show, ls and exec runs (the lineage's executions)."""

from __future__ import annotations

import sys
from typing import Any

import click

from artctl.cli.common import get_output, json_option, open_repo, short_time
from artctl.cli.complete import ArtifactTypeType, NameType, PathOrURIType, RefType, RunType


@click.group("run")
def run_group() -> None:
    """Record runs: which versions a job used and which it logged.

    \b
    Example:
      export ARTCTL_RUN=$(artctl run start --job-type train)
      artctl artifact get proj/mnist:latest      # linked as an input
      artctl artifact put model.pt --name proj/cnn --type model   # linked as an output
      artctl run finish
    """


def _run_json(record: Any) -> dict[str, Any]:
    doc = record.to_json()
    doc.pop("format", None)
    doc["status"] = record.observed_status()  # "crashed": running, but its process is gone
    for key in ("inputs", "outputs"):
        doc[key] = [{**link, "ref": f"{link['name']}:{link['version']}"} for link in doc[key]]
    return doc


def _parse_config(text: str | None) -> dict[str, Any] | None:
    from artctl.format.user_json import parse_json_object

    return parse_json_object(text, "--config", '{"lr": 0.01}')


def _check_project(project: str | None) -> None:
    if project is not None:
        from artctl.format.names import parse_name

        parse_name(f"{project}/x")


@run_group.command("start")
@click.option("--job-type", required=True, help="What kind of job this is, e.g. train or evaluate.")
@click.option("--name", help="A human name for the run.")
@click.option("--config", "config_text", metavar="JSON", help="Run configuration as a JSON object.")
@click.option("--project", help="Project the run belongs to (recorded; default project of names).")
@click.option(
    "--pid",
    type=click.IntRange(min=0),
    default=None,
    help="Process that owns the run: when it is gone and the run is not finished, `run ls` "
    "shows it crashed (default: the calling shell or program; 0: none, e.g. for a run "
    "spanning several CI steps).",
)
@json_option
def start_cmd(
    job_type: str, name: str | None, config_text: str | None, project: str | None, pid: int | None = None
) -> None:
    """Start a run and print its id (only the id on stdout, for $(…)).

    Later `artifact put`/`get` commands link to it when ARTCTL_RUN holds the id (or with
    --run ID).

    \b
    Example:
      export ARTCTL_RUN=$(artctl run start --job-type train --config '{"lr": 0.01}')
    """
    config = _parse_config(config_text)
    _check_project(project)
    import os

    record = open_repo().repository.runs.create(
        job_type,
        name=name,
        project=project,
        config=config,
        command=["artctl", *sys.argv[1:]],
        pid=os.getppid() if pid is None else pid,
    )
    out = get_output()
    if out.json:
        out.emit_json(_run_json(record))
        return
    out.result(record.id)
    out.info(f"started run {record.id} ({job_type}); link commands to it with: export ARTCTL_RUN={record.id}")


@run_group.command("finish")
@click.argument("run_id", required=False, envvar="ARTCTL_RUN", type=RunType())
@click.option("--failed", is_flag=True, help="Mark the run failed instead of finished.")
@json_option
def finish_cmd(run_id: str | None, failed: bool) -> None:
    """Close a run (default: $ARTCTL_RUN); finishing a run twice is an error.

    \b
    Examples:
      artctl run finish
      artctl run finish 3k9x0q2a --failed
    """
    if not run_id:
        raise click.UsageError("no run to finish: give RUN_ID or set ARTCTL_RUN")
    record = open_repo().repository.runs.finish(run_id, failed=failed)
    out = get_output()
    if out.json:
        out.emit_json(_run_json(record))
    else:
        out.result(f"run {record.id} {record.status}")


@run_group.command("show")
@click.argument("run_id", type=RunType())
@json_option
def show_cmd(run_id: str) -> None:
    """A run: job type, status, command, host, times, and the versions it used and logged.

    \b
    Example:
      artctl run show 3k9x0q2a --json
    """
    import json

    from rich.markup import escape
    from rich.table import Table

    from artctl.base.display import printable

    record = open_repo().repository.runs.get(run_id)
    out = get_output()
    if out.json:
        out.emit_json(_run_json(record))
        return
    head = Table.grid(padding=(0, 2))
    for key, value in [
        ("run", record.id),
        ("name", record.name or "-"),
        ("job type", record.job_type),
        ("project", record.project or "-"),
        ("status", record.observed_status()),
        ("started", short_time(record.started_at)),
        ("finished", short_time(record.finished_at)),
        ("exit code", "-" if record.exit_code is None else str(record.exit_code)),
        ("command", " ".join(record.command) or "-"),
        ("host", record.host or "-"),
        ("cwd", record.cwd or "-"),
        ("git commit", record.git_commit or "-"),
        ("config", json.dumps(record.config) if record.config else "-"),
    ]:
        head.add_row(f"[bold]{key}[/]", escape(printable(value)))
    out.table(head)
    links = Table("direction", "version", "type", "digest")
    for direction, items in (("used", record.inputs), ("logged", record.outputs)):
        for link in items:
            links.add_row(direction, escape(link.ref), link.type, link.digest[:16])
    out.table(links)


@run_group.command("ls")
@click.option("--job-type", help="Only runs of this job type.")
@click.option(
    "--status",
    type=click.Choice(["running", "finished", "failed", "crashed"]),
    help="Only runs in this state (crashed: running, but its process is gone from this host).",
)
@json_option
def ls_cmd(job_type: str | None, status: str | None) -> None:
    """Runs, oldest first, with how many versions each used and logged.

    A run still `running` whose process (recorded with its host at start) is gone from this
    host is shown `crashed`: it was killed or died without `artctl run finish`.

    \b
    Examples:
      artctl run ls
      artctl run ls --job-type train --json
      artctl run ls --status crashed
    """
    from rich.markup import escape
    from rich.table import Column, Table

    from artctl.base.display import printable

    records = [
        r
        for r in open_repo().repository.runs.list()
        if (job_type is None or r.job_type == job_type) and (status is None or r.observed_status() == status)
    ]
    out = get_output()
    if out.json:
        out.emit_json([_run_json(r) for r in records])
        return
    table = Table("run", "name", "job type", "status", Column("started", no_wrap=True), "used", "logged")
    for r in records:
        table.add_row(
            r.id,
            escape(printable(r.name or "-", newlines=False)),
            r.job_type,
            r.observed_status(),
            short_time(r.started_at),
            str(len(r.inputs)),
            str(len(r.outputs)),
        )
    out.table(table)


@run_group.command("exec", context_settings={"allow_interspersed_args": False})
@click.option("--job-type", required=True, help="What kind of job this is.")
@click.option(
    "--use",
    "uses",
    multiple=True,
    metavar="REF",
    type=RefType(),
    help="Input version to fetch first (repeatable).",
)
@click.option(
    "--log",
    "log_paths",
    multiple=True,
    metavar="PATH",
    type=PathOrURIType(),
    help="Output path to log after success (repeatable; pair each with --name and --type).",
)
@click.option(
    "--name",
    "log_names",
    multiple=True,
    metavar="NAME",
    type=NameType(),
    help="Artifact name of the matching --log.",
)
@click.option(
    "--type",
    "log_types",
    multiple=True,
    metavar="TYPE",
    type=ArtifactTypeType(),
    help="Artifact type of the matching --log.",
)
@click.option("--run-name", help="A human name for the run.")
@click.option("--config", "config_text", metavar="JSON", help="Run configuration as a JSON object.")
@click.option("--project", help="Project of the run; also the default project of bare names.")
@click.option(
    "--inputs-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Fetch inputs under DIR/<name>:<vN> (default ./artifacts/<name>:<vN>).",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@json_option
def exec_cmd(
    job_type: str,
    uses: tuple[str, ...],
    log_paths: tuple[str, ...],
    log_names: tuple[str, ...],
    log_types: tuple[str, ...],
    run_name: str | None,
    config_text: str | None,
    project: str | None,
    inputs_dir: str | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND as a run: fetch inputs, run it, log outputs if it succeeded.

    The command sees ARTCTL_RUN (the run id), ARTCTL_DIR (the repository), ARTCTL_INPUT_<N>
    (the local path of the N-th --use, from 0), ARTCTL_INPUT_<NAME> (the same by the
    artifact's name, upper-cased, other characters as _; only when unambiguous),
    ARTCTL_INPUTS ({"ref": path} as JSON) and ARTCTL_OUTPUT_<N> (the absolute N-th --log path).
    If COMMAND fails, the run is marked failed, nothing is logged, and artctl exits with
    COMMAND's exit code. With --json the command's stdout goes to stderr.

    \b
    Example:
      artctl run exec --job-type train --use proj/mnist:latest \\
          --log model.pt --name proj/cnn --type model -- python train.py
    """
    from artctl.ops.run_exec import LogSpec, exec_run

    if not command:
        raise click.UsageError("no command given: put it after --, e.g. `-- python train.py`")
    if not (len(log_paths) == len(log_names) == len(log_types)):
        raise click.UsageError("each --log PATH needs exactly one --name NAME and one --type TYPE")
    config = _parse_config(config_text)
    _check_project(project)
    logs = [LogSpec(p, n, t) for p, n, t in zip(log_paths, log_names, log_types, strict=True)]
    out = get_output()
    result = exec_run(
        open_repo(),
        command,
        job_type=job_type,
        uses=uses,
        logs=logs,
        name=run_name,
        project=project,
        config=config,
        inputs_dir=inputs_dir,
        stdout=sys.stderr if out.json else None,
        on_start=lambda run: out.verbose_info(f"run {run.id} ({job_type}) started"),
    )
    if out.json:
        out.emit_json(result.to_json())
    else:
        for put in result.outputs:
            r = put.record
            out.info(f"logged {r.name}:{r.version} ({'created' if put.created else 'unchanged'})")
        out.info(f"run {result.run.id} {result.run.status} (exit code {result.exit_code})")
    if result.exit_code:
        click.get_current_context().exit(result.exit_code)


def register(group: click.Group) -> None:
    group.add_command(run_group)
