"""Cheap listings of what a repository holds, for shell completion.

Completion runs on every <TAB>, so these functions are fast (no hashing, no manifests) and
never raise: outside a repository, or on a damaged one, they return nothing. Each returns
``(value, help)`` pairs; the help is a short description a shell may show beside the value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from artctl.repository.repo import Repository

Item = tuple[str, str]


def _repository() -> Repository | None:
    from artctl.repository.repo import Repository

    try:
        return Repository.find()
    except Exception:  # noqa: BLE001 - completion must never fail
        return None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Swallow every error of a listing: a partial answer beats a traceback at the prompt."""
    with contextlib.suppress(Exception):
        yield


def artifact_names(prefix: str = "") -> list[Item]:
    """``[entity/]project/name`` of every artifact starting with ``prefix``, with its type."""
    repo = _repository()
    out: list[Item] = []
    if repo is None:
        return out
    with _quiet():
        for record in repo.registry.iter_artifacts():
            if record.name.startswith(prefix):
                out.append((record.name, record.type))
    return out


def aliases(name: str) -> list[Item]:
    """Every alias of one artifact: ``latest``, ``vN`` of live versions, then custom ones."""
    from artctl.format.names import LATEST, parse_name

    repo = _repository()
    out: list[Item] = []
    if repo is None:
        return out
    with _quiet():
        parsed = parse_name(name, repo.names)
        versions = repo.registry.versions(parsed)
        if versions:
            out.append((LATEST, f"newest: {versions[-1].version}"))
        for record in reversed(versions):
            out.append((record.version, (record.created_at or "")[:16].replace("T", " ")))
        for alias, version in sorted(repo.registry.aliases(parsed).items()):
            out.append((alias, f"→ {version}"))
    return out


def refs(incomplete: str) -> list[Item]:
    """Completions for a ``NAME[:ALIAS]`` being typed.

    ``proj/mn`` → the names starting with it; when exactly one name matches, its ``name:alias``
    forms as well, so a shell completes up to the name and then offers the aliases.
    ``proj/mnist:b`` → the aliases of ``proj/mnist`` starting with ``b``.
    """
    name, sep, alias = incomplete.partition(":")
    if sep:
        return [(f"{name}:{a}", help_) for a, help_ in aliases(name) if a.startswith(alias)]
    names = artifact_names(incomplete)
    if len(names) == 1:
        only = names[0][0]
        return names + [(f"{only}:{a}", help_) for a, help_ in aliases(only)]
    return names


def artifact_types(prefix: str = "") -> list[Item]:
    """Types already used in the repository (``dataset``, ``model`` …), with how many have it."""
    counts: dict[str, int] = {}
    for _name, kind in artifact_names():
        if kind.startswith(prefix):
            counts[kind] = counts.get(kind, 0) + 1
    return [(kind, f"{n} artifact{'s' if n != 1 else ''}") for kind, n in sorted(counts.items())]


def projects(prefix: str = "") -> list[Item]:
    """``[entity/]project`` values (for ``artifact ls PROJECT``)."""
    seen: dict[str, str] = {}
    for name, _kind in artifact_names():
        project = name.rsplit("/", 1)[0]
        if project.startswith(prefix):
            seen[project] = "project"
    return sorted(seen.items())


def custom_aliases(name: str, prefix: str = "") -> list[Item]:
    """Only the aliases a user set (what ``alias rm`` can remove)."""
    from artctl.format.names import is_managed_alias

    return [(a, h) for a, h in aliases(name) if not is_managed_alias(a) and a.startswith(prefix)]


def remote_names(prefix: str = "") -> list[Item]:
    """Remotes configured in ``remote.<NAME>.url`` (repository and user files)."""
    repo = _repository()
    out: list[Item] = []
    if repo is None:
        return out
    with _quiet():
        for name, table in sorted(repo.config.table("remote").items()):
            if name.startswith(prefix) and isinstance(table, dict):
                out.append((name, str(table.get("url", ""))))
    return out


def run_ids(prefix: str = "") -> list[Item]:
    """Run ids, newest first, described by job type, name and status."""
    repo = _repository()
    out: list[Item] = []
    if repo is None:
        return out
    with _quiet():
        runs = sorted(repo.runs.list(), key=lambda r: r.started_at or "", reverse=True)
        for run in runs:
            if run.id.startswith(prefix):
                label = " ".join(x for x in (run.job_type, run.name or "", f"({run.status})") if x)
                out.append((run.id, label))
    return out


def draft_ids(prefix: str = "") -> list[Item]:
    """Open drafts, oldest first, described by the version they start from."""
    repo = _repository()
    out: list[Item] = []
    if repo is None:
        return out
    with _quiet():
        from artctl.ops.drafts import Drafts

        for draft in Drafts(repo).list():
            if draft.id.startswith(prefix):
                out.append((draft.id, f"{draft.name}:{draft.base} +{draft.added} -{draft.removed}"))
    return out
