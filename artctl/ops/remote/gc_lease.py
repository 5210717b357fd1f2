"""The lease that lets one remote gc run at a time (docs/remotes.md, "Garbage collection on a
remote": "One gc at a time").

Two gc runs side by side would each sweep by a mark the other invalidates (one repacks or
deletes a pack while the other's plan still names the blobs at their old place, both restore
manifests and rewrite the registry index from different reads). Remotes have no lock, only an
exclusive create (:meth:`Backend.create`), so the lease is a chain of *generations*:
``gc/lease/<N>.json``, one file per generation, never overwritten. The holder is the newest
generation unless it says ``released`` or is past its expiry (its modification time by the
store's clock plus its ``seconds``). A gc takes the lease by creating generation N+1 exclusively:
of two takers at once the store lets exactly one win, and the other stops. The holder renews
the same way (creating its next generation, after checking nobody else holds the newest) before
a destructive step once a quarter of the lease has passed, so each step runs with at least
three quarters of the lease left, and a holder whose lease was taken over stops before its next
delete. A gc killed on this host (same host name and boot, its pid gone) frees the lease at
once; one killed elsewhere frees it when the lease expires (:data:`LEASE_SECONDS`).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from artctl.backend.base import Backend
from artctl.base.crashpoints import crash_point, declare
from artctl.errors import Conflict
from artctl.format.records import dumps, parse_time, utcnow

#: Where the lease generations live on the remote (inside gc's marker folder).
LEASE_DIR = "gc/lease"
#: How long a lease holds without renewal: a gc killed on another machine blocks the next gc
#: for at most this long. A running gc renews it long before (:meth:`Lease.hold`).
LEASE_SECONDS = 300
LEASE_FREE = declare(
    "remote-gc.lease-free",
    "the lease found free, not yet taken: only gc's start marker is written; the re-run takes it",
)
#: A test hook: a shorter lease, so a test can wait one out.
_SECONDS_ENV = "ARTCTL_TEST_GC_LEASE"
#: S3 and Azure keep whole seconds: a lease may look up to this much older than it is.
_MTIME_RESOLUTION = 1.0


def lease_seconds() -> float:
    """The lease length this gc asks for (:data:`LEASE_SECONDS`, unless the test hook is set)."""
    return float(os.environ.get(_SECONDS_ENV) or LEASE_SECONDS)


@dataclass(frozen=True)
class Generation:
    """One lease file: its number, modification time (store clock) and document."""

    number: int
    mtime: float
    doc: dict[str, Any]

    @property
    def expires(self) -> float:
        return self.mtime + float(self.doc.get("seconds", LEASE_SECONDS)) + _MTIME_RESOLUTION

    def free(self, store_now: float) -> bool:
        """Whether nobody holds this generation at ``store_now``: released, expired, or held by a
        gc of this host that is gone."""
        return bool(self.doc.get("released")) or store_now > self.expires or _dead_here(self.doc)

    def describe(self) -> str:
        """The holder and the expiry, for the refusal line."""
        who = f"{self.doc.get('user', '?')}@{self.doc.get('host', '?')} pid {self.doc.get('pid', '?')}"
        until = _when(datetime.fromtimestamp(self.expires, timezone.utc))
        try:
            since = _when(parse_time(str(self.doc.get("started"))))
        except ValueError:
            since = "?"
        return f"{who} (since {since}), lease expires {until} unless renewed"


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _key(number: int) -> str:
    return f"{LEASE_DIR}/{number:012d}.json"


def _boot_id() -> str:
    """This machine's boot id (Linux), so a host name reused by another machine is not "here"."""
    with contextlib.suppress(OSError):
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return ""


def _dead_here(doc: dict[str, Any]) -> bool:
    """True when the holder ran on this host (name and boot) and its pid no longer exists. A
    reused pid reads as alive: the lease then waits for its expiry, the safe side."""
    if doc.get("host") != socket.gethostname() or doc.get("boot") != _boot_id():
        return False
    pid = doc.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def newest(backend: Backend) -> Generation | None:
    """The newest lease generation on the remote (None: no gc ever took the lease)."""
    numbers = []
    stats = backend.list_stats(LEASE_DIR)
    for rel in stats:
        stem = rel.rsplit("/", 1)[-1].removesuffix(".json")
        if stem.isdigit():
            numbers.append(int(stem))
    if not numbers:
        return None
    number = max(numbers)
    data = backend.read_or_none(_key(number))
    try:
        doc = json.loads(data) if data is not None else {"released": True}
    except ValueError:  # unreadable: not a holder anyone can name
        doc = {"released": True}
    return Generation(number, stats[_key(number)].mtime, doc if isinstance(doc, dict) else {"released": True})


def _take(backend: Backend, number: int, doc: dict[str, Any]) -> bool:
    """Create generation ``number`` and check it is the newest. Creating it can succeed after
    another gc took that generation and released the lease since (a release deletes the older
    generations): the listing then shows a newer one, and this gc backs off. Generations are
    deleted only once a newer one exists, so a newer one is always listed."""
    if not backend.create(_key(number), dumps(doc)):
        return False
    top = newest(backend)
    if top is not None and top.number == number and top.doc.get("id") == doc["id"]:
        return True
    backend.delete(_key(number))  # never the newest: nobody reads it as the holder
    return False


class Lease:
    """The lease this gc holds on one remote: :meth:`acquire`, :meth:`hold` before each
    destructive step, :meth:`release` at the end."""

    def __init__(self, backend: Backend, number: int, doc: dict[str, Any], since: float) -> None:
        self.backend = backend
        self.number = number
        self.doc = doc
        self.seconds = float(doc["seconds"])
        self._since = since  # monotonic time before the newest generation was created

    @classmethod
    def acquire(cls, backend: Backend, store_now: float, *, force: bool = False) -> Lease:
        """Take the lease, or raise :class:`Conflict` naming its holder. ``store_now`` is "now"
        by the store's clock (gc's start marker); ``force`` takes a live lease over."""
        top = newest(backend)
        if top is not None and not force and not top.free(store_now):
            raise _busy(top)
        doc = {
            "format": 1,
            "kind": "artctl-gc-lease",
            "id": uuid.uuid4().hex,
            "user": _user(),
            "host": socket.gethostname(),
            "boot": _boot_id(),
            "pid": os.getpid(),
            "started": utcnow(),
            "seconds": lease_seconds(),
        }
        number = 0 if top is None else top.number + 1
        crash_point(LEASE_FREE)  # another taker may create `number` now: exactly one of us wins
        since = time.monotonic()
        if not _take(backend, number, doc):
            raise _busy(newest(backend) or top, just_now=True)
        return cls(backend, number, doc, since)

    def hold(self) -> None:
        """Make sure this gc still holds the lease with at least three quarters of it left
        before a destructive step: once a quarter has passed, renew it (a new generation), or
        raise :class:`Conflict` if another gc took it over."""
        if time.monotonic() - self._since < self.seconds / 4:
            return
        top = newest(self.backend)
        if not self._mine(top):
            raise _lost(top)
        since = time.monotonic()
        if not _take(self.backend, self.number + 1, self.doc):
            raise _lost(newest(self.backend))
        self.backend.delete(_key(self.number))
        self.number += 1
        self._since = since

    def _mine(self, top: Generation | None) -> bool:
        """Whether ``top`` (the newest generation) is this gc's, by number and lease id."""
        return top is not None and top.number == self.number and top.doc.get("id") == self.doc["id"]

    def release(self) -> None:
        """Give the lease back (a ``released`` generation) and delete the older generations. A
        lease taken over meanwhile (``--force``) is left to its new holder."""
        if not self._mine(newest(self.backend)):
            return
        done = {**self.doc, "released": True, "released_at": utcnow()}
        if not self.backend.create(_key(self.number + 1), dumps(done)):
            return
        for rel in self.backend.list_stats(LEASE_DIR):
            stem = rel.rsplit("/", 1)[-1].removesuffix(".json")
            if stem.isdigit() and int(stem) <= self.number:
                self.backend.delete(rel)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"


def _busy(top: Generation | None, *, just_now: bool = False) -> Conflict:
    holder = top.describe() if top is not None else "another gc"
    return Conflict(
        f"another gc {'just took' if just_now else 'holds'} the lease on this remote: {holder}",
        hint="wait for it to finish; if that gc is dead, wait for the lease to expire or pass --force",
    )


def _lost(top: Generation | None) -> Conflict:
    holder = top.describe() if top is not None else "nobody"
    return Conflict(
        f"this gc lost its lease on the remote (now held by {holder}): it stopped before its next "
        "delete; what it did so far is safe",
        hint="run gc again once the other gc has finished",
    )
