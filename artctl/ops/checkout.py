"""Materializing a version's files under a root directory, safely.

Nothing from a manifest is trusted: paths were validated when the manifest was parsed, and
here every parent directory is checked to stay inside ``root`` (a symlink planted inside the
root cannot redirect a write outside it). Every file is written under a hidden temporary name
in its final directory (``.NAME.PID-TAG.artctl-tmp``) and renamed into place only once all of
its bytes were written and verified, so no file ever appears under its real name truncated or
unverified. A ``get`` that fails removes the files and directories it created; temporary files
that a killed ``get`` left behind (their process is gone) are removed by the next ``get`` into
the same directories. Those rules are :mod:`artctl.ops.safe_place`'s; this module decides what
is written and from where (the local store in one batch, the rest fetched).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from artctl.base.crashpoints import crash_point, declare
from artctl.base.fsutil import disk_full_guard
from artctl.errors import ArtctlError, InvalidInput
from artctl.format.manifest import Entry
from artctl.ops.safe_place import PlacedFiles, remove_stale_temps, safe_parent

if TYPE_CHECKING:
    from artctl.repository.objects import Placement, Store

Fetch = Callable[[Entry, Path], None]  # writes one entry's bytes to a path (references, remotes)


GET_FILE_WRITTEN = declare(
    "get.file-written",
    "a file's bytes are complete under its temporary name, not yet renamed: nothing appears under "
    "a real name half-written; the next get removes the temporary file",
)

#: The link modes a user asks for explicitly; a file placed otherwise is reported (why, how many).
LINKING_MODES = ("hardlink", "symlink", "reflink")


@dataclass(frozen=True)
class CheckoutResult:
    """What a checkout did.

    ``not_linked`` is filled when a link mode was asked for (``--link hardlink|symlink|reflink``):
    how many files were copied instead, by reason — ``packed`` (small files are stored inside a
    pack, which cannot be linked), ``fetched`` (bytes downloaded from a remote or a reference),
    ``fallback`` (the filesystem refused the link, e.g. another device).
    """

    root: Path
    files: int
    bytes: int
    modes: dict[str, int]
    not_linked: dict[str, int] = field(default_factory=dict)
    link: str = "auto"  # the link mode asked for


def select(entries: Iterable[Entry], path_prefix: str | None) -> list[Entry]:
    """Entries whose path starts with ``path_prefix`` (W&B's semantics: a plain string prefix)."""
    if not path_prefix:
        return list(entries)
    return [e for e in entries if e.path.startswith(path_prefix)]


def prepare_root(root: Path) -> Path:
    """Create ``root`` if needed; refuse a root that is a file."""
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"--root {root} exists and is not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create {root}: {exc.strerror}") from None
    return root.resolve()


def _os_failure(exc: OSError, target: Path) -> ArtctlError:
    if isinstance(exc, ArtctlError):
        return exc
    if disk_full_guard(exc) is not None:  # the target's disk, not the repository's: say where
        return ArtctlError(
            f"no space left on device writing under {target}",
            hint="free some space there or choose another --root",
        )
    return ArtctlError(f"cannot write {target}: {exc.strerror or exc}")


def checkout(
    entries: list[Entry],
    root: Path,
    store: Store,
    *,
    link: str = "auto",
    fetch: Fetch | None = None,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    where: Placement | None = None,
    optional: Callable[[Entry], bool] | None = None,
) -> CheckoutResult:
    """Write ``entries`` under ``root``; return counts. ``fetch`` handles what the store lacks.

    Bytes in the local store are written in one batch (packed blobs pack by pack); the rest
    come from ``fetch`` (references, remotes), several at once. Every file is written under a
    temporary name and renamed into place only after all of its bytes were verified; on any
    failure the files and directories created so far are removed again. An entry for which
    ``optional(entry)`` is true is skipped (not written, not counted) when ``fetch`` fails for it.
    """
    root_created = not os.path.lexists(root)
    root = prepare_root(root)
    made: set[str] = set()
    base = str(root)
    placed = PlacedFiles(root, root_created)
    try:
        targets = [(e, safe_parent(base, e.path, made, placed.directories)) for e in entries]
        if not root_created:  # a killed get may have left temporary files here
            remove_stale_temps([base, *(f"{base}/{d}" for d in sorted(made))])
        if where is None:  # the caller may already know what the store holds
            where = store.placement({e.digest for e, _ in targets if e.digest is not None}, locations=True)
        local_digests = where.present()
        local = [(e, t) for e, t in targets if e.digest in local_digests]
        remote = [(e, t) for e, t in targets if e.digest not in local_digests]
        modes: dict[str, int] = {}
        skipped: list[Entry] = []
        if local:
            _place_local(local, store, link, where, placed, modes, progress, root)
        if remote:
            skipped = _place_fetched(remote, fetch, placed, workers, progress, optional)
            modes["copy"] = modes.get("copy", 0) + len(remote) - len(skipped)
    except BaseException:
        placed.undo()
        raise
    not_linked = _not_linked(link, modes, local, remote, where)
    return CheckoutResult(
        root,
        len(entries) - len(skipped),
        sum(e.size for e in entries) - sum(e.size for e in skipped),
        modes,
        not_linked,
        link,
    )


def _place_local(
    local: list[tuple[Entry, str]],
    store: Store,
    link: str,
    where: Placement,
    placed: PlacedFiles,
    modes: dict[str, int],
    progress: Callable[[int, int], None] | None,
    root: Path,
) -> None:
    """Write the blobs the local store holds (one batch) to temporary names, then rename them."""
    pending: list[tuple[str, str]] = []
    items: list[tuple[str, str]] = []
    for entry, target in local:
        assert entry.digest is not None  # ``local``: entries whose blob this store holds
        tmp = placed.temp_for(target)
        pending.append((tmp, target))
        items.append((entry.digest, tmp))

    def done(size: int) -> None:
        crash_point(GET_FILE_WRITTEN)
        if progress:
            progress(1, size)

    try:
        for mode, count in store.materialize_many(items, link, done, where).items():
            modes[mode] = modes.get(mode, 0) + count
    except OSError as exc:
        raise _os_failure(exc, root) from None
    for tmp, target in pending:
        placed.place(tmp, target)


def _place_fetched(
    remote: list[tuple[Entry, str]],
    fetch: Fetch | None,
    placed: PlacedFiles,
    workers: int,
    progress: Callable[[int, int], None] | None,
    optional: Callable[[Entry], bool] | None = None,
) -> list[Entry]:
    """Fetch what the store lacks (remotes, references), several at once, each verified first;
    return the ``optional`` entries skipped because their fetch failed."""
    if fetch is None:
        from artctl.errors import ObjectNotFound

        raise ObjectNotFound(
            f"the bytes of {remote[0][0].path} are not in the local store",
            hint="run `artctl pull` to fetch them from a remote",
        )

    skipped: list[Entry] = []

    def one(item: tuple[Entry, str]) -> None:
        entry, target = item
        tmp = placed.temp_for(target)
        try:
            try:
                fetch(entry, Path(tmp))
            except ArtctlError:
                if optional is None or not optional(entry):
                    raise
                skipped.append(entry)
                placed.discard(tmp)
                return
            crash_point(GET_FILE_WRITTEN)
            placed.place(tmp, target)
        except OSError as exc:
            raise _os_failure(exc, Path(target)) from None
        if progress:
            progress(1, entry.size)

    if len(remote) == 1 or workers <= 1:
        for item in remote:
            one(item)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, remote))
    return skipped


def _not_linked(
    link: str,
    modes: dict[str, int],
    local: list[tuple[Entry, str]],
    remote: list[tuple[Entry, str]],
    where: Placement,
) -> dict[str, int]:
    """Files copied although ``link`` asked for links, by reason (empty for auto/copy)."""
    if link not in LINKING_MODES:
        return {}
    packed = sum(1 for e, _ in local if e.digest in where.locations)
    out = {"packed": packed, "fetched": len(remote)}
    out["fallback"] = max(0, len(local) - packed - modes.get(link, 0))
    return {reason: n for reason, n in out.items() if n}


_REASONS = {
    "packed": "stored packed (small files share a pack file, which cannot be linked)",
    "fetched": "fetched from a remote or a reference",
    "fallback": "the filesystem refused the link (e.g. another device)",
}


def describe_not_linked(link: str, not_linked: dict[str, int]) -> str | None:
    """One sentence saying how many files were copied instead of linked, and why (or None)."""
    if not not_linked:
        return None
    total = sum(not_linked.values())
    verb = {"hardlink": "hardlinked", "symlink": "symlinked", "reflink": "reflinked"}.get(link, link)
    why = "; ".join(f"{n} {_REASONS.get(reason, reason)}" for reason, n in not_linked.items())
    return f"{total} file(s) were copied instead of {verb}: {why}"
