"""Fallback for the ``b3sum`` binary: BLAKE3 of every file under the given paths.

Only used when the Debian ``b3sum`` package is missing; like b3sum it memory-maps large
files and hashes them with all cores, and prints ``HEX  PATH`` lines.
"""

from __future__ import annotations

import os
import sys

import blake3

MMAP_FROM = 1 << 20


def hash_file(path: str) -> str:
    size = os.path.getsize(path)
    if size >= MMAP_FROM:
        h = blake3.blake3(max_threads=blake3.blake3.AUTO)
        h.update_mmap(path)
    else:
        with open(path, "rb") as fh:
            h = blake3.blake3(fh.read())
    return h.hexdigest()


def main(paths: list[str]) -> None:
    out = sys.stdout
    for top in paths or ["."]:
        if os.path.isfile(top):
            out.write(f"{hash_file(top)}  {top}\n")
            continue
        if not os.path.isdir(top):
            sys.exit(f"b3hash: {top}: no such file or directory")
        for dirpath, _, names in os.walk(top):
            for name in sorted(names):
                path = os.path.join(dirpath, name)
                out.write(f"{hash_file(path)}  {path}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
