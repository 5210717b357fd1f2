"""Where everything lives inside a repository, both directions: name → path, path → what it is.

The one owner of the tree (DESIGN.md, "On-disk layout")::

    .artifacts/
      FORMAT  config.toml  state.db  .gitignore
      objects/ab/cdef…                    loose blob, named by BLAKE3 (2 hex fan-out + 62)
      packs/<id>.pack  packs/<id>.idx     packed blobs and their index
      manifests/ab/cdef….jsonl            canonical manifest; ``….remote`` beside it: its origin
      registry/<project>/<name>/          artifact.json, versions/v<N>.json, aliases.json (local);
                                          versions/v<N>.deleted.json, aliases/<seq>.json (remote)
      runs/<id>.json                      run records
      index/<seq>-<time>-<digest>.jsonl.gz  a remote's compacted registry index (a cache, remote only)
      drafts/<id>.json                    open drafts
      drafts/distributed/<p>/<n>/<id>/    a distributed version's parts
      journal/<hash>.json                 interrupted registry merges
      journal/renames/<hash>.json         artifact renames in progress
      remotes/<remote>/packs/<id>.idx     cached pack indexes of a remote
      corrupt/<digest>                    loose objects ``verify --repair`` set aside
      tmp/  locks/                        staging for atomic writes; lock files

A *key* is a path relative to the repository root with ``/`` separators: the same string names
a file in the local ``.artifacts/`` and on a remote (a backend's relative path), where the remote
mirrors the local tree. :func:`parse_key` is the reverse direction. The local paths of the keys
are :class:`~artctl.format.local_layout.Layout`'s. Nothing here touches the file system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from artctl.base.hashing import hash_bytes
from artctl.format.names import ArtifactName, version_index

DIRNAME = ".artifacts"
FORMAT_FILE = "FORMAT"
CONFIG_FILE = "config.toml"
STATE_DB = "state.db"
GITIGNORE = ".gitignore"

OBJECTS = "objects"
PACKS = "packs"
MANIFESTS = "manifests"
REGISTRY = "registry"
RUNS = "runs"
REGISTRY_INDEX = "index"
DRAFTS = "drafts"
JOURNAL = "journal"
REMOTES = "remotes"
CORRUPT = "corrupt"
TMP = "tmp"
LOCKS = "locks"

#: Directories ``artctl init`` creates.
INIT_DIRS = (OBJECTS, PACKS, MANIFESTS, REGISTRY, RUNS, DRAFTS, TMP, LOCKS)

MANIFEST_SUFFIX = ".jsonl"
ORIGIN_SUFFIX = ".remote"
PACK_SUFFIX = ".pack"
INDEX_SUFFIX = ".idx"
ARTIFACT_RECORD = "artifact.json"
ALIASES_FILE = "aliases.json"
REGISTRY_INDEX_SUFFIX = ".jsonl.gz"
_FAN = 2  # hex characters of a digest that name its fan-out directory


# -- name → key ----------------------------------------------------------------------------------
def _fanned(digest: str) -> str:
    return f"{digest[:_FAN]}/{digest[_FAN:]}"


def object_key(digest: str) -> str:
    return f"{OBJECTS}/{_fanned(digest)}"


def pack_file_name(pack_id: str) -> str:
    """The name of a pack file inside ``packs/`` (or a remote's cached ``remotes/<r>/packs/``)."""
    return f"{pack_id}{PACK_SUFFIX}"


def index_file_name(pack_id: str) -> str:
    return f"{pack_id}{INDEX_SUFFIX}"


def pack_key(pack_id: str) -> str:
    return f"{PACKS}/{pack_file_name(pack_id)}"


def index_key(pack_id: str) -> str:
    return f"{PACKS}/{index_file_name(pack_id)}"


def manifest_key(digest: str) -> str:
    return f"{MANIFESTS}/{_fanned(digest)}{MANIFEST_SUFFIX}"


def origin_key(digest: str) -> str:
    """The local marker "this manifest was fetched from a remote" (never pushed)."""
    return f"{MANIFESTS}/{_fanned(digest)}{ORIGIN_SUFFIX}"


def artifact_key(name: ArtifactName) -> str:
    return f"{REGISTRY}/" + "/".join(name.parts)


def artifact_record_key(name: ArtifactName) -> str:
    return f"{artifact_key(name)}/{ARTIFACT_RECORD}"


def versions_key(name: ArtifactName) -> str:
    return f"{artifact_key(name)}/versions"


def version_key(name: ArtifactName, index: int) -> str:
    return f"{versions_key(name)}/v{index}.json"


def tombstone_key(name: ArtifactName, index: int) -> str:
    """A deleted version on a remote: ``versions/vN.json`` stays immutable, this marks it."""
    return f"{versions_key(name)}/v{index}.deleted.json"


def purge_marker_key(name: ArtifactName, index: int) -> str:
    """gc dropped the data of version ``index`` (format 2; format 1 set ``purged_at`` in ``vN.json``)."""
    return f"{versions_key(name)}/v{index}.purged.json"


def edit_snapshot_key(name: ArtifactName, index: int, seq: int) -> str:
    """Edit ``seq`` of version ``index``: its whole editable state (compare-and-swap by exclusive create)."""
    return f"{artifact_key(name)}/edits/v{index}/{seq:010d}.json"


def edits_key(name: ArtifactName, index: int) -> str:
    return f"{artifact_key(name)}/edits/v{index}"


def aliases_key(name: ArtifactName) -> str:
    """The custom-alias table of repository format 1 (local only; format 2 migrates it to snapshots)."""
    return f"{artifact_key(name)}/{ALIASES_FILE}"


def alias_snapshots_key(name: ArtifactName) -> str:
    return f"{artifact_key(name)}/aliases"


def alias_snapshot_key(name: ArtifactName, seq: int) -> str:
    """One numbered custom-alias snapshot (compare-and-swap by exclusive create)."""
    return f"{alias_snapshots_key(name)}/{seq:010d}.json"


def run_key(run_id: str) -> str:
    return f"{RUNS}/{run_id}.json"


def registry_index_key(seq: int, written: int, digest: str) -> str:
    """A compacted registry index on a remote: ``seq`` orders indexes (the newest wins),
    ``written`` is its writer's clock (unix seconds, for the grace before an older one is
    deleted) and ``digest`` the BLAKE3 of its bytes, so a damaged one is detected and ignored."""
    return f"{REGISTRY_INDEX}/{seq:010d}-{written:012d}-{digest}{REGISTRY_INDEX_SUFFIX}"


def draft_key(draft_id: str) -> str:
    return f"{DRAFTS}/{draft_id}.json"


def distributed_key(name: ArtifactName, distributed_id: str) -> str:
    return f"{DRAFTS}/distributed/" + "/".join(name.parts) + f"/{distributed_id}"


def distributed_part_key(base: str, part: str) -> str:
    """One upsert's part of the distributed version at ``base`` (:func:`distributed_key`)."""
    return f"{base}/parts/{part}{MANIFEST_SUFFIX}"


def distributed_parts(base: str) -> str:
    return f"{base}/parts"


def part_of_file(file_name: str) -> str | None:
    """The part id of a file in a distributed version's ``parts/``; None for any other file."""
    return file_name[: -len(MANIFEST_SUFFIX)] or None if file_name.endswith(MANIFEST_SUFFIX) else None


def journal_key(name: ArtifactName) -> str:
    """One journal per artifact, named by the BLAKE3 of its name (names may hold ``__``)."""
    return f"{JOURNAL}/{hash_bytes(str(name).encode())[:32]}.json"


def sync_base_key(remote: str, name: ArtifactName) -> str:
    """What this repository and remote ``remote`` last agreed on for artifact ``name`` (local only):
    the base of push and pull's three-way merge."""
    return f"{REMOTES}/{remote}/synced/{hash_bytes(str(name).encode())[:32]}.json"


def remote_index_dir_key(remote: str) -> str:
    """Where the pack indexes of remote ``remote`` are cached locally."""
    return f"{REMOTES}/{remote}/{PACKS}"


# -- key → what it is ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Located:
    """What a key names: ``kind`` and the identity of the thing (digest, pack id, run id …)."""

    #: object | pack | index | manifest | origin | run | version | tombstone | purge-marker |
    #: alias-snapshot | edit-snapshot | registry-index
    kind: str
    ident: str  # digest, pack id, run id, or the artifact directory key for registry files
    index: int | None = None  # version number (alias snapshots: their sequence; a registry index: its time)
    seq: int | None = None  # an edit snapshot's or a registry index's sequence


_HEX = re.compile(r"[0-9a-f]+\Z")
_DIGEST_TAIL = 64 - _FAN


def _digest_of(fan: str, rest: str) -> str | None:
    digest = fan + rest
    ok = len(fan) == _FAN and len(rest) == _DIGEST_TAIL and _HEX.match(digest)
    return digest if ok else None


def parse_key(key: str) -> Located | None:
    """What ``key`` names, or None when it is not one of the content or record files above."""
    top, _, rest = key.partition("/")
    if top == OBJECTS:
        fan, _, tail = rest.partition("/")
        digest = _digest_of(fan, tail)
        return Located("object", digest) if digest else None
    if top == MANIFESTS:
        fan, _, tail = rest.partition("/")
        for suffix, kind in ((MANIFEST_SUFFIX, "manifest"), (ORIGIN_SUFFIX, "origin")):
            if tail.endswith(suffix):
                digest = _digest_of(fan, tail[: -len(suffix)])
                return Located(kind, digest) if digest else None
        return None
    if top == PACKS and "/" not in rest:
        for suffix, kind in ((PACK_SUFFIX, "pack"), (INDEX_SUFFIX, "index")):
            if rest.endswith(suffix) and len(rest) > len(suffix):
                return Located(kind, rest[: -len(suffix)])
        return None
    run_id = record_id_of_file(rest) if top == RUNS and "/" not in rest else None
    if run_id is not None:
        return Located("run", run_id)
    if top == REGISTRY:
        return _parse_registry(key)
    if top == REGISTRY_INDEX and "/" not in rest:
        return _parse_registry_index(rest)
    return None


_REGISTRY_INDEX_NAME = re.compile(
    r"(\d{10})-(\d{12})-([0-9a-f]{64})" + re.escape(REGISTRY_INDEX_SUFFIX) + r"\Z"
)


def _parse_registry_index(file: str) -> Located | None:
    """``index/<seq>-<written>-<digest>.jsonl.gz`` (:func:`registry_index_key`)."""
    match = _REGISTRY_INDEX_NAME.match(file)
    if match is None:
        return None
    return Located("registry-index", match.group(3), int(match.group(2)), int(match.group(1)))


def _parse_registry(key: str) -> Located | None:
    head, _, file = key.rpartition("/")
    directory, _, kind_dir = head.rpartition("/")
    for suffix, kind in ((".deleted.json", "tombstone"), (".purged.json", "purge-marker")):
        if kind_dir == "versions" and file.endswith(suffix):
            index = version_index(file[: -len(suffix)])
            return None if index is None else Located(kind, directory, index)
    owner, _, edits = directory.rpartition("/")
    if edits == "edits" and file.endswith(".json") and file[:-5].isdigit():
        index = version_index(kind_dir)
        return None if index is None else Located("edit-snapshot", owner, index, int(file[:-5]))
    if kind_dir == "versions" and (index := version_of_file(file)) is not None:
        return Located("version", directory, index)
    if kind_dir == "aliases" and file.endswith(".json") and file[:-5].isdigit():
        return Located("alias-snapshot", directory, int(file[:-5]))
    return None


def version_of_file(file_name: str) -> int | None:
    """N for a ``versions/vN.json`` file name; None for anything else (tombstones, temps …)."""
    return version_index(file_name[: -len(".json")]) if file_name.endswith(".json") else None


def record_id_of_file(file_name: str) -> str | None:
    """The id in a ``runs/<id>.json`` or ``drafts/<id>.json`` file name; None for other files."""
    return file_name[: -len(".json")] or None if file_name.endswith(".json") else None


def digest_of_manifest_path(path: Path) -> str | None:
    """The digest a file under ``manifests/`` is named after, or None for any other file."""
    found = parse_key(f"{MANIFESTS}/{path.parent.name}/{path.name}")
    return found.ident if found is not None and found.kind == "manifest" else None


def digest_of_object_path(path: Path) -> str | None:
    """The digest a loose object file under ``objects/`` is named after, or None."""
    found = parse_key(f"{OBJECTS}/{path.parent.name}/{path.name}")
    return found.ident if found is not None and found.kind == "object" else None


def pack_of_path(path: Path) -> str | None:
    """The pack id of a ``.pack`` file under ``packs/``, or None for any other file."""
    found = parse_key(f"{PACKS}/{path.name}")
    return found.ident if found is not None and found.kind == "pack" else None
