"""Run two independent pieces of I/O-bound work at the same time.

Copying a large file (the kernel's ``sendfile``) and hashing it (BLAKE3 with threads)
both release the GIL and read the same page-cache pages: run side by side they cost the longer
of the two instead of their sum. That is how a large ``put`` stores a file while hashing it, and
how ``get`` verifies an object while copying it out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


def side_by_side(background: Callable[[], A], foreground: Callable[[], B]) -> tuple[A, B]:
    """``(background(), foreground())``, the first on a helper thread while the second runs here.

    Both always finish before this returns (no thread is left writing a file behind the
    caller's back); an exception of either is raised, the foreground's first.
    """
    value: list[A] = []  # the helper's one result, or its one exception
    error: list[BaseException] = []

    def run() -> None:
        try:
            value.append(background())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            error.append(exc)

    helper = threading.Thread(target=run, name="artctl-side", daemon=True)
    helper.start()
    try:
        result = foreground()
    finally:
        helper.join()
    if error:
        raise error[0]
    return value[0], result
