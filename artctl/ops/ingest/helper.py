"""A second process that reads, hashes and packs small files beside the first.

Reading and hashing many small files is Python-bound work that one interpreter does on one core
(threads only fight over the GIL). For a large batch of small files, ``ingest`` starts this
module as a helper process (``python -m artctl.ops.ingest.helper ROOT``) and both take
batches from the two ends of one queue until it is empty. The helper stores blobs exactly as any other
process writing to the repository would (its own packs, published when complete), and only
answers with digests; the parent records the version once the helper has published
everything. A separate interpreter, not ``multiprocessing``: nothing of the caller's program
is imported or re-run in it.

Protocol (stdin/stdout, length-prefixed pickles between two processes of the same install): the
helper says ``("ready",)`` once started; then ``("batch", [SourceFile, …])`` →
``("ok", [digest, …], [pack id, …])`` or ``("error", class, message, hint, [pack id, …])``;
``("finish",)`` → ``("finished", [pack id, …])`` once every pack is published. The pack ids are
those the helper published since its last answer: the parent counts them as created by its
own write, so a put that fails afterwards takes them back too (``gc.discard_on_failure``). End
of input without ``finish`` (the parent failed or was killed) drops the unpublished pack and
exits.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from artctl import errors

if TYPE_CHECKING:
    from artctl.ops.ingest.scan import SourceFile

_LENGTH = struct.Struct("<Q")

#: Below this many small files a second interpreter costs more than it saves.
MIN_FILES = 4096

Read = list[tuple["SourceFile", str, bytes]]


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None  # the other side is gone
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)


class HelperFailed(errors.ArtctlError):
    """The helper process died or could not start (never the user's fault)."""


class IngestHelper:
    """The parent's handle on one helper process."""

    def __init__(self, root: Path, on_created: Callable[[str], None] | None = None) -> None:
        self.on_created = on_created
        debug = os.environ.get("ARTCTL_DEBUG", "") not in ("", "0")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "artctl.ops.ingest.helper", str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if debug else subprocess.DEVNULL,
            env=_child_env(),
        )

    def ready(self) -> bool:
        """Wait for the helper to have started; False if it could not (then it gets no work)."""
        assert self.proc.stdout is not None
        reply = _receive(self.proc.stdout)
        return reply is not None and reply[0] == "ready"

    def store(self, batch: list[SourceFile]) -> list[str]:
        """Have the helper read, hash and pack ``batch``; its digests, in order."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            _send(self.proc.stdin, ("batch", batch))
        except (BrokenPipeError, OSError):
            raise self._died() from None
        digests, packs = self._answer("ok")
        self._created(packs)
        return digests

    def finish(self) -> None:
        """Wait until every pack of the helper is published, then let it exit."""
        assert self.proc.stdin is not None
        try:
            _send(self.proc.stdin, ("finish",))
        except (BrokenPipeError, OSError):
            raise self._died() from None
        (packs,) = self._answer("finished")
        self._created(packs)
        self.close()

    def _created(self, packs: list[str]) -> None:
        if self.on_created is not None:
            for pack_id in packs:
                self.on_created(pack_id)

    def close(self) -> None:
        """Stop the helper (it drops whatever it has not published)."""
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _answer(self, expected: str) -> Any:
        assert self.proc.stdout is not None
        reply = _receive(self.proc.stdout)
        if reply is None:
            raise self._died()
        if reply[0] == "error":
            _, kind, message, hint, packs = reply
            self._created(packs)
            cls = getattr(errors, kind, None)
            if not (isinstance(cls, type) and issubclass(cls, errors.ArtctlError)):
                cls = errors.ArtctlError
            raise cls(message, hint=hint)
        if reply[0] != expected:
            raise HelperFailed(f"the ingest helper answered {reply[0]!r} instead of {expected!r}")
        return reply[1:]

    def _died(self) -> HelperFailed:
        code = self.proc.poll()
        return HelperFailed(
            f"the ingest helper process stopped unexpectedly (exit status {code})",
            hint="retry; `artctl config core.workers 1` keeps all work in one process",
        )


def _child_env() -> dict[str, str]:
    """The parent's environment, with this artctl importable even when run from a checkout."""
    env = dict(os.environ)
    env.pop("ARTCTL_CRASH_AT", None)  # a crash test aims at the parent, which does the commit
    env.pop("ARTCTL_CRASH_TRACE", None)
    package_parent = str(Path(__file__).resolve().parent.parent)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = package_parent + (os.pathsep + path if path else "")
    return env


def share(
    batches: list[list[SourceFile]],
    root: Path,
    own: Callable[[list[SourceFile]], Read],
    on_created: Callable[[str], None] | None = None,
) -> Iterator[tuple[list[SourceFile], Read, list[str] | None]]:
    """Split ``batches`` between this process and a helper, working from both ends of one queue.

    Yields in the order batches complete ``(batch, own(batch), None)`` for this process's
    (files read here, to be packed by the caller) and ``(batch, [], digests)`` for the
    helper's (already stored). Returns only once the helper has published all it stored.
    ``on_created`` is told each pack the helper created.
    """
    queue = deque(batches)
    lock = threading.Lock()
    done: deque[tuple[list[SourceFile], Read, list[str] | None]] = deque()
    failure: list[BaseException] = []
    started: list[bool] = []
    try:
        helper = IngestHelper(root, on_created)
    except OSError:  # no interpreter to start (an embedded Python): do it all here
        for batch in batches:
            yield batch, own(batch), None
        return

    def feed() -> None:
        try:
            if not helper.ready():  # no helper after all (say, a frozen app): all work stays here
                return
            started.append(True)
            while True:
                with lock:
                    if not queue or failure:
                        return
                    batch = queue.popleft()
                done.append((batch, [], helper.store(batch)))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failure.append(exc)

    feeder = threading.Thread(target=feed, name="artctl-ingest-feed", daemon=True)
    feeder.start()
    finished = False
    try:
        while True:
            while done:
                yield done.popleft()
            if failure:
                raise failure[0]
            with lock:
                last = queue.pop() if queue else None  # the feeder takes from the other end
            if last is None:
                break
            yield last, own(last), None
        feeder.join()
        if failure:
            raise failure[0]
        while done:
            yield done.popleft()
        if started:
            helper.finish()
        else:
            helper.close()
        finished = True
    finally:
        if not finished:
            with lock:
                queue.clear()
            helper.close()
            feeder.join(timeout=30)


# -- the helper process ---------------------------------------------------------------------------
class _Stop(Exception):
    """Leave the store's writing block as a failure, so nothing unfinished is published."""


def main(argv: list[str] | None = None) -> int:
    """Serve batches from the parent until it says ``finish`` (or goes away)."""
    import signal

    from artctl.ops.ingest.read import read_small
    from artctl.repository.repo import Repository

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    args = sys.argv[1:] if argv is None else argv
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    store = Repository(Path(args[0])).store
    _send(stdout, ("ready",))
    reported: set[str] = set()

    def new_packs() -> list[str]:
        fresh = created()[1] - reported
        reported.update(fresh)
        return sorted(fresh)

    try:
        with store.recording_created() as created, store.writing():
            while True:
                message = _receive(stdin)
                if message is None:
                    raise EOFError  # the parent is gone: publish nothing
                if message[0] == "finish":
                    break
                try:
                    blobs = [(f.path, *read_small(f)) for f in message[1]]
                    store.put_small_batch([(digest, data) for _, digest, data in blobs])
                except errors.ArtctlError as exc:
                    _send(stdout, ("error", type(exc).__name__, exc.message, exc.hint, new_packs()))
                    raise _Stop from None  # drop the unpublished pack
                _send(stdout, ("ok", [digest for _, digest, _ in blobs], new_packs()))
    except (EOFError, _Stop):
        return 1
    except OSError as exc:
        full = errors.ArtctlError(f"cannot store files: {exc.strerror or exc}")
        from artctl.base.fsutil import disk_full_guard

        full = disk_full_guard(exc) or full
        _send(stdout, ("error", "ArtctlError", full.message, full.hint, new_packs()))
        return 1
    _send(stdout, ("finished", new_packs()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
