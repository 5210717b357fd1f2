"""Artifact names, references and aliases: parsing and validation in one place.

``NAME`` is ``[entity/]project/name``; ``REF`` is ``NAME[:ALIAS]`` where ALIAS is ``latest``
(the default), ``vN`` or a custom alias. Every part is 1–128 characters of letters, digits,
``.``, ``_`` and ``-``, starting with a letter or digit, so names are safe as directory names.

The entity names an *owner*, not a different artifact (docs/names.md): a repository belongs to
one entity (``core.entity``), so ``alice/proj/mnist`` in alice's repository is ``proj/mnist``,
and another entity's path is an error naming both. With ``core.entity`` unset the repository's
owner is unknown and any entity prefix is accepted (W&B scripts run unchanged). A bare name
(``mnist``) lives in the default project (``ARTCTL_PROJECT`` / ``core.project``). Both defaults
travel as one :class:`NameScope`, which every parse of a user's name is given. Without a default
a bare name is an error, except in the W&B-style run surfaces (``artctl.init()``,
``Artifact.save()``), whose runs fall back to W&B's project ``uncategorized``
(:meth:`NameScope.run_project`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from artctl.errors import ArtifactNotFound, InvalidName

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_VERSION = re.compile(r"v(0|[1-9][0-9]{0,8})\Z")
LATEST = "latest"
#: W&B's project of a run started with no project anywhere (``wandb.init()`` with none set).
UNCATEGORIZED = "uncategorized"
NAME_RULE = (
    "names are [entity/]project/name; each part 1-128 letters, digits, '.', '_' or '-', "
    "starting with a letter or digit"
)


@dataclass(frozen=True, order=True)
class ArtifactName:
    """A validated artifact name: ``project/name`` (the entity is the repository's)."""

    project: str
    name: str

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"

    @property
    def parts(self) -> tuple[str, ...]:
        """Directory components under ``registry/``."""
        return (self.project, self.name)


@dataclass(frozen=True)
class NameScope:
    """What a user's short or long name means in one repository.

    ``entity``: the repository's owner (``core.entity``); a path naming another entity is
    refused, a path naming this one is the same artifact as without it; None accepts any.
    ``project``: the default project that bare names (``mnist``, ``mnist:v2``) live in.
    """

    entity: str | None = None
    project: str | None = None

    def with_defaults(self, entity: str | None = None, project: str | None = None) -> NameScope:
        """This scope with a caller's own defaults on top (``Api(overrides=…)``, ``init(project=)``)."""
        return NameScope(entity or self.entity, project or self.project)

    def run_project(self, project: str | None = None) -> str:
        """The project of a W&B-style run (``artctl.init``, the ``auto`` run of
        ``Artifact.save()``): ``project`` (``[entity/]project``, checked), else the
        default project, else ``uncategorized`` — W&B needs no project, so neither do its surfaces.
        The CLI and ``Repo.put`` keep refusing a bare name without a default (it is a typo there
        more often than a wish)."""
        if project is not None:
            return parse_project(project, self)
        return self.project or UNCATEGORIZED


@dataclass(frozen=True)
class ArtifactRef:
    """A name plus the alias or version it points at."""

    name: ArtifactName
    alias: str = LATEST

    def __str__(self) -> str:
        return f"{self.name}:{self.alias}"


def _check_part(part: str, what: str, full: str) -> str:
    if not _PART.match(part):
        raise InvalidName(f"invalid {what} {part!r} in {full!r}: {NAME_RULE}")
    return part


def as_scope(scope: NameScope | str | None) -> NameScope:
    """A scope from what callers hold: a scope, a default project's name, or nothing."""
    if isinstance(scope, NameScope):
        return scope
    return NameScope(project=scope or None)


def check_entity(entity: str, scope: NameScope | str | None, full: str = "") -> None:
    """Refuse an entity that is not the repository's (any is accepted when it has none)."""
    _check_part(entity, "entity", full or entity)
    owner = as_scope(scope).entity
    if owner is not None and entity != owner:
        raise ArtifactNotFound(
            f"{full or entity!r} names entity {entity!r}, but this repository belongs to entity {owner!r}",
            hint=f"drop the entity prefix or write {owner}/…; another entity's artifacts live in its "
            "own repository (`artctl clone` it), or change the owner with `artctl config core.entity`",
        )


def parse_name(text: str, scope: NameScope | str | None = None) -> ArtifactName:
    """Parse ``[entity/]project/name``, or a bare ``name`` when the scope has a default project.

    ``scope`` is the repository's :class:`NameScope` (a plain string is a default project).
    """
    if not isinstance(text, str) or not text:
        raise InvalidName(f"empty artifact name: {NAME_RULE}")
    if ":" in text:
        raise InvalidName(f"artifact name {text!r} must not contain ':' (that separates an alias)")
    scope = as_scope(scope)
    parts = text.split("/")
    if len(parts) == 1 and scope.project:
        parts = [scope.project, parts[0]]
    if len(parts) == 3:
        check_entity(parts[0], scope, text)
        parts = parts[1:]
    if len(parts) == 2:
        return ArtifactName(_check_part(parts[0], "project", text), _check_part(parts[1], "name", text))
    if len(parts) == 1:  # W&B users write bare names: say where the project goes
        raise InvalidName(
            f"artifact name {text!r} has no project: {NAME_RULE}",
            hint=f"write PROJECT/{text}, or set a default project: ARTCTL_PROJECT=P or "
            "`artctl config core.project P`",
        )
    raise InvalidName(f"invalid artifact name {text!r}: {NAME_RULE}")


def parse_ref(text: str, scope: NameScope | str | None = None) -> ArtifactRef:
    """Parse ``NAME[:ALIAS]``; the alias defaults to ``latest``."""
    if not isinstance(text, str) or not text:
        raise InvalidName("empty artifact reference")
    name_text, sep, alias = text.partition(":")
    if sep and not alias:
        raise InvalidName(f"empty alias in {text!r}")
    alias = alias or LATEST
    if not _ALIAS.match(alias):
        raise InvalidName(f"invalid alias or version {alias!r} in {text!r}")
    return ArtifactRef(parse_name(name_text, scope), alias)


def parse_project(text: str, scope: NameScope | str | None = None) -> str:
    """Parse ``[entity/]project`` (what ``artifact ls``, ``api.runs`` and ``api.projects`` take)."""
    parts = text.split("/") if isinstance(text, str) and text else [""]
    if len(parts) == 2:
        check_entity(parts[0], scope, text)
        parts = parts[1:]
    if len(parts) != 1:
        raise InvalidName(f"invalid project {text!r}: write [entity/]project")
    return _check_part(parts[0], "project", text)


def version_index(alias: str) -> int | None:
    """``"v12"`` → 12; ``None`` for anything that is not a version alias."""
    match = _VERSION.match(alias)
    return int(match.group(1)) if match else None


def is_managed_alias(alias: str) -> bool:
    """``latest`` and ``vN`` are maintained by artctl and cannot be set by hand."""
    return alias == LATEST or re.fullmatch(r"v[0-9]+", alias) is not None


def validate_alias(alias: str) -> str:
    """Return ``alias`` if it is one an alias can be (``latest``, ``v3``, a custom one), else
    raise InvalidName."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidName(
            f"invalid alias {alias!r}: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return alias


def validate_custom_alias(alias: str) -> str:
    """Return a valid, user-settable alias or raise InvalidName."""
    validate_alias(alias)
    if is_managed_alias(alias):
        raise InvalidName(f"alias {alias!r} is managed by artctl and cannot be set by hand")
    return alias


def requested_aliases(aliases: Iterable[str]) -> list[str]:
    """The custom aliases of a put/commit's ``--alias`` list, validated. ``latest`` is accepted
    and dropped: it always moves to the newest version by itself (W&B users pass
    ``aliases=["latest"]`` out of habit); ``vN`` and invalid aliases are refused."""
    return [validate_custom_alias(a) for a in aliases if a != LATEST]


_TAG = re.compile(r"[\w-]+(?: +[\w-]+)*\Z")


def validate_tag(tag: str) -> str:
    """Return a valid version tag (W&B's rule: words of letters, digits, '_' or '-', separated
    by single spaces; at most 64 characters) or raise InvalidName."""
    if not isinstance(tag, str) or len(tag) > 64 or not _TAG.match(tag):
        raise InvalidName(f"invalid tag {tag!r}: 1-64 letters, digits, '_', '-' or inner spaces")
    return tag


def validate_type(kind: str) -> str:
    """Artifact types (``dataset``, ``model`` …) follow the same rule as name parts."""
    if not isinstance(kind, str) or not _PART.match(kind):
        raise InvalidName(f"invalid artifact type {kind!r}: 1-128 letters, digits, '.', '_' or '-'")
    return kind
