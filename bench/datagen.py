"""The benchmark datasets: deterministic, incompressible, generated once and reused.

Random bytes defeat any compression or dedup shortcut, and a fixed seed makes every machine
benchmark the same bytes.  A dataset is written to ``NAME.partial`` and renamed when complete,
so a half-written one is never reused.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 16 << 20
CHANGE_BLOCK = 4096
FORMAT = 1


@dataclass(frozen=True)
class Spec:
    """Shape of one dataset; ``folders == 0`` means all files in one directory."""

    name: str
    files: int
    size: int
    folders: int
    note: str
    quick: bool = False

    @property
    def dirname(self) -> str:
        """Quick and full datasets live side by side, so switching never regenerates."""
        return f"{self.name}-quick" if self.quick else self.name

    @property
    def total_bytes(self) -> int:
        return self.files * self.size

    def relpath(self, i: int) -> str:
        """Path of file ``i`` relative to the dataset root."""
        name = f"f{i:0{len(str(self.files - 1))}d}.bin"
        if not self.folders:
            return name
        per = -(-self.files // self.folders)
        return f"d{i // per:0{len(str(self.folders - 1))}d}/{name}"

    def relpaths(self) -> Iterator[str]:
        """All file paths in generation order; a generator so 10^6 names never sit in memory."""
        return (self.relpath(i) for i in range(self.files))

    def changed_relpath(self) -> str:
        """The one file that the '1 file changed' steps modify: the middle one."""
        return self.relpath(self.files // 2)


FULL: dict[str, Spec] = {
    "A": Spec("A", 20_000, 4 << 10, 100, "20,000 x 4 KB in 100 folders"),
    "B": Spec("B", 2_000, 512 << 10, 0, "2,000 x 512 KB"),
    "C": Spec("C", 2, 1 << 30, 0, "2 x 1 GB"),
    "M": Spec("M", 1_000_000, 1 << 10, 1000, "1,000,000 x 1 KB in 1,000 folders"),
}
QUICK: dict[str, Spec] = {
    "A": Spec("A", 2_000, 4 << 10, 100, "quick: 2,000 x 4 KB in 100 folders", quick=True),
    "B": Spec("B", 200, 512 << 10, 0, "quick: 200 x 512 KB", quick=True),
    "C": Spec("C", 2, 64 << 20, 0, "quick: 2 x 64 MB", quick=True),
    "M": Spec("M", 100_000, 1 << 10, 100, "quick: 100,000 x 1 KB in 100 folders", quick=True),
}


@dataclass
class Dataset:
    """A generated dataset on disk."""

    spec: Spec
    root: Path

    @property
    def journal(self) -> Path:
        return self.root.with_name(self.root.name + ".changing.json")


def _stamp(spec: Spec) -> dict:
    """What makes two datasets byte-identical (the note is only for display)."""
    return {
        "format": FORMAT,
        "name": spec.name,
        "files": spec.files,
        "size": spec.size,
        "folders": spec.folders,
    }


def _write_tree(spec: Spec, dest: Path) -> None:
    rng = random.Random(f"artctl-bench/{spec.name}/{spec.files}/{spec.size}")
    made: set[str] = set()
    for rel in spec.relpaths():
        parent = rel.rpartition("/")[0]
        if parent and parent not in made:
            (dest / parent).mkdir(parents=True, exist_ok=True)
            made.add(parent)
        with open(dest / rel, "wb") as fh:
            left = spec.size
            while left:
                n = min(left, CHUNK)
                fh.write(rng.randbytes(n))
                left -= n


def ensure(
    spec: Spec, data_dir: Path, move_aside: Callable[[Path], None], log: Callable[[str], None]
) -> Dataset:
    """Return the dataset, generating it only if missing or of another shape."""
    root = data_dir / spec.dirname
    stamp_path = root.with_name(root.name + ".json")
    ds = Dataset(spec, root)
    if root.is_dir() and stamp_path.is_file():
        try:
            if json.loads(stamp_path.read_text()) == _stamp(spec):
                restore_changed(ds)
                return ds
        except ValueError:
            pass
    for old in (root, root.with_name(root.name + ".partial")):
        move_aside(old)
    stamp_path.unlink(missing_ok=True)
    ds.journal.unlink(missing_ok=True)
    partial = root.with_name(root.name + ".partial")
    partial.mkdir(parents=True)
    log(f"generating dataset {spec.name} ({spec.note}, {spec.total_bytes / 1e6:,.0f} MB) in {root}")
    _write_tree(spec, partial)
    os.rename(partial, root)
    stamp_path.write_text(json.dumps(_stamp(spec)))
    return ds


def change_one_file(path: Path, seed: str, journal: Path | None = None) -> None:
    """Overwrite the first block of ``path`` in place with fresh random bytes (same size).

    With a journal the original block is saved first, so an interrupted run can put the
    shared dataset back the way it was generated.
    """
    with open(path, "r+b") as fh:
        original = fh.read(CHANGE_BLOCK)
        if journal is not None:
            journal.write_text(json.dumps({"path": str(path), "block": original.hex()}))
        fh.seek(0)
        fh.write(random.Random(seed).randbytes(len(original)))


def restore_changed(ds: Dataset) -> None:
    """Undo ``change_one_file`` on the shared dataset, if a journal says it is pending."""
    if not ds.journal.is_file():
        return
    info = json.loads(ds.journal.read_text())
    with open(info["path"], "r+b") as fh:
        fh.write(bytes.fromhex(info["block"]))
    ds.journal.unlink()


def check_tree(spec: Spec, root: Path) -> str:
    """Empty string if ``root`` holds every dataset file at its size; else what is wrong.

    Guards the comparison: a tool that 'materializes' fast but incompletely must not win.
    """
    missing = wrong = 0
    for rel in spec.relpaths():
        try:
            if os.stat(root / rel).st_size != spec.size:
                wrong += 1
        except OSError:
            missing += 1
    if missing or wrong:
        return f"output check: {missing} of {spec.files} files missing, {wrong} wrong size in {root}"
    return ""


def disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free
