"""Parameter types that complete from the repository: use them for every REF, NAME, remote,
draft id and run id argument or option, e.g. ``@click.argument("ref", type=RefType())``.

They only add completion: values pass through unchanged (a ``str``), so validation and its
error messages stay in the library. The listings come from :mod:`artctl.ops.catalog`, which is
fast and never raises; outside a repository nothing is completed.

The shell scripts in ``completions/`` call back into artctl through click's protocol
(``_ARTCTL_COMPLETE=bash_complete artctl …``); see :mod:`artctl.cli.shells`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import CompletionItem

from artctl.ops import catalog


class _RepoType(click.ParamType, abc.ABC):
    """A string parameter whose completions come from one catalog listing."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value

    @abc.abstractmethod
    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        """The candidates this type offers for ``incomplete``."""

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            items = self.listing(ctx, incomplete)
        except Exception:  # noqa: BLE001 - never break the user's shell
            return []
        return [CompletionItem(value, help=help_ or None) for value, help_ in items]


class RefType(_RepoType):
    """``NAME[:ALIAS]``: artifact names, then ``name:alias`` once the name is unique."""

    name = "ref"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.refs(incomplete)


class NameType(_RepoType):
    """``[entity/]project/name`` of an existing artifact (new names are typed freely)."""

    name = "name"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.artifact_names(incomplete)


class ArtifactTypeType(_RepoType):
    """An artifact type: the ones the repository already uses (any new one may be typed)."""

    name = "type"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.artifact_types(incomplete)


class ProjectOrNameType(_RepoType):
    """A project or an artifact name (``artifact ls``)."""

    name = "target"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.projects(incomplete) + catalog.artifact_names(incomplete)


class AliasType(_RepoType):
    """A custom alias of the artifact named by the command's ``name`` or ``ref`` parameter."""

    name = "alias"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        target = ctx.params.get("name") or ctx.params.get("ref") or ""
        return catalog.custom_aliases(str(target).partition(":")[0], incomplete)


class RemoteType(_RepoType):
    """A configured remote's name."""

    name = "remote"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.remote_names(incomplete)


class DraftType(_RepoType):
    """An open draft's id."""

    name = "draft"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.draft_ids(incomplete)


class RunType(_RepoType):
    """A run id, newest first."""

    name = "run"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.run_ids(incomplete)


class RefOrRunType(_RepoType):
    """``lineage``/``ui`` targets: a REF, or ``run:<id>`` for a run."""

    name = "target"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        if incomplete.startswith("run:"):
            return [(f"run:{i}", h) for i, h in catalog.run_ids(incomplete[4:])]
        return catalog.refs(incomplete)


class RemoteOrRefType(_RepoType):
    """``push [REMOTE] [REF]…``: the first word may be either, so offer both."""

    name = "remote_or_ref"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.remote_names(incomplete) + catalog.refs(incomplete)


class RefOrDirType(_RepoType):
    """``diff OLD NEW`` / ``status [REF] [DIR]``: a REF, or a directory once the word looks like
    a path (``./``, ``/``, ``~``): the shells cannot mix file completion with a list of words."""

    name = "ref_or_dir"

    def listing(self, ctx: click.Context, incomplete: str) -> list[catalog.Item]:
        return catalog.refs(incomplete)

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        if incomplete.startswith((".", "/", "~")):
            return [CompletionItem(incomplete, type="dir")]
        return super().shell_complete(ctx, param, incomplete)


class PathOrURIType(click.ParamType):
    """A local path (completed by the shell's file completion) or a URI, passed through as is."""

    name = "path"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        return [CompletionItem(incomplete, type="file")]


def complete_with(listing: Callable[[str], list[catalog.Item]]) -> Callable[..., list[CompletionItem]]:
    """A ``shell_complete=`` callback for parameters that keep another type (e.g. a Choice)."""

    def callback(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        try:
            return [CompletionItem(v, help=h or None) for v, h in listing(incomplete)]
        except Exception:  # noqa: BLE001
            return []

    return callback


__all__ = [
    "AliasType",
    "ArtifactTypeType",
    "DraftType",
    "NameType",
    "PathOrURIType",
    "ProjectOrNameType",
    "RefOrDirType",
    "RefOrRunType",
    "RefType",
    "RemoteOrRefType",
    "RemoteType",
    "RunType",
    "complete_with",
]
