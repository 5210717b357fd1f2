"""Where the benchmark writes, and how it gets rid of old outputs without skewing timings.

Deleting many files and then creating many within minutes is up to 15x slower on ext4 (the
allocator skips recently freed inodes), so outputs are *renamed* into a trash directory on
the same filesystem during the run and deleted only at the end, and timing waits until a
probe shows that creating files is fast again.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

PROBE_FILES = 2000
PROBE_LIMIT_S = 0.15


class Trash:
    """Rename-aside bins, one per dataset, emptied when deleting can no longer hurt."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seq = itertools.count()
        self._run = f"{int(time.time())}-{os.getpid()}"  # names never collide with a crashed run's
        self.root.mkdir(parents=True, exist_ok=True)

    def bin(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def move(self, path: Path, bin_name: str = "misc") -> None:
        """Rename ``path`` into the trash; a missing path is fine."""
        if not os.path.lexists(path):
            return
        dest = self.bin(bin_name) / f"{self._run}-{next(self._seq):06d}-{path.name}"
        os.rename(path, dest)

    def purge(self, bin_name: str | None = None) -> None:
        """Delete one bin (or all) with ``rm -rf``: much faster than shutil for 10^5+ files."""
        target = self.root / bin_name if bin_name else self.root
        if not target.exists():
            return
        doomed = target.with_name(target.name + f".purging-{os.getpid()}")
        os.rename(target, doomed)
        subprocess.run(["rm", "-rf", "--", str(doomed)], check=False)
        if bin_name is None:
            self.root.mkdir(parents=True, exist_ok=True)

    def probe_creates(self) -> float:
        """Seconds to create PROBE_FILES small files; the probe is trashed, never deleted."""
        probe = self.bin("probe") / f"{self._run}-{next(self._seq):06d}"
        probe.mkdir()
        block = b"\0" * 4096
        t0 = time.perf_counter()
        for i in range(PROBE_FILES):
            with open(probe / f"{i}", "wb") as fh:
                fh.write(block)
        return time.perf_counter() - t0

    def wait_for_fast_creates(self, limit: float, log: Callable[[str], None]) -> None:
        """Wait (at most ``limit`` s) until creating files is fast again after mass deletes.

        Measured on this kind of machine: this probe takes about 0.06 s normally and 0.5-1.4 s
        for a few minutes after tens of thousands of files were deleted (by this harness or
        anyone else on the filesystem); meanwhile ``cp -r`` of dataset A took 3-14 s instead
        of 0.6-1 s.
        """
        deadline = time.monotonic() + limit
        took = self.probe_creates()
        if took <= PROBE_LIMIT_S:
            return
        log(
            f"creating {PROBE_FILES} files took {took:.2f} s (> {PROBE_LIMIT_S} s): files were "
            f"probably deleted recently (ext4 skips recently freed inodes); waiting up to {limit:.0f} s"
        )
        while took > PROBE_LIMIT_S and time.monotonic() < deadline:
            time.sleep(15)
            took = self.probe_creates()
        log(f"file creation probe now {took:.2f} s" + ("" if took <= PROBE_LIMIT_S else ": going on anyway"))

    def adopt_leftovers(self) -> None:
        """Take over bins a crashed earlier run left behind; they are deleted at the end."""
        for old in self.root.parent.glob(self.root.name + ".purging-*"):
            self.move(old, "leftover")
