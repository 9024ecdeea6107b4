"""The register's writer process: the service's group commit, out of the service's process.

A service decides small requests on its event loop (``Limits.inline_bytes``). When the
register's writer was a thread of the same process, its SQLAlchemy inserts and commits held
the GIL while the loop waited for it, up to the 5 ms switch interval at a time: the tail of
the latency at 500 requests/s (docs/decisions.md, entry 47). So the writer is a process of
its own, with its own SQLAlchemy engine on the same URL, and the service's process keeps no
second Python thread that wants the GIL while requests are served:

- the event loop sends each request's rows (already encoded, pickled) down a Unix socket and
  reads the committed ids back through the loop itself (``connect_accepted_socket``: a
  buffered transport, so a slow database never blocks the loop on a full socket);
- the writer process takes whatever has arrived meanwhile (up to ``MAX_ROWS`` rows, from
  every request) in one transaction, commits it, and only then answers each request with
  its own ids, in order: group commit, and an answer only for what is durable;
- when the writer process dies, every request waiting on it is told (its decisions were not
  given: the service answers 503), ``alive`` is false (``/readyz`` answers 503, a gauge
  says so in ``/metrics``), and a new writer process is started, at most one a second;
- :meth:`WriterLink.close` sends a stop, and the writer commits everything sent before it,
  answers, and exits; if the service's process is killed, the writer reads end-of-file,
  commits what it already read, and exits too (nothing is left running).

The frames on the socket are those of :class:`multiprocessing.connection.Connection` (a
4-byte big-endian length, then the bytes), which the writer process uses as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

from kamrules.register.store import Register, RegisterError, _reason, _safe

log = logging.getLogger("kamrules.register")

MAX_ROWS = 1000
"""Rows per transaction at most; a request's rows are never split."""
RESTART_SECONDS = 1.0
"""A writer process that died is started again, at most once in this time."""
START_SECONDS = 60.0
"""How long a new writer process may take to open the register (imports included)."""
HEADER = struct.Struct("!i")
Rows = list[dict[str, Any]]


class WriterLink(asyncio.Protocol):
    """The service's end of the writer process: ``await write(rows)`` gives the rows' ids
    once their transaction has committed. Every method runs on the one event loop the link
    was started on (no thread of its own, no lock)."""

    def __init__(self, url: str, on_change: Callable[[bool, bool], None] | None = None) -> None:
        self.url = url
        self._on_change = on_change  # (alive, restarted): the service's metrics
        self.loop: asyncio.AbstractEventLoop | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        self.alive = False
        self.closing = False
        self._seq = 0
        self._waiting: dict[int, asyncio.Future[list[int]]] = {}
        self._ready: asyncio.Future[None] | None = None
        self._buffer = bytearray()
        self._started_at = 0.0
        self._restart: asyncio.TimerHandle | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._starts = 0
        self.commits = 0
        """Transactions the writer answered (fewer than the writes when they share them)."""

    # -- the life of the writer process ----------------------------------------------------

    async def start(self) -> None:
        """Start the writer process and wait until it has opened the register; raises
        :class:`RegisterError` when it cannot."""
        self.loop = asyncio.get_running_loop()
        await self._spawn()

    async def _spawn(self) -> None:
        assert self.loop is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kamrules.register.writer", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_environment(),
            )
        except OSError as exc:
            ours.close()
            raise RegisterError(f"cannot start the register's writer process: {exc.strerror}") from None
        finally:
            theirs.close()
        self._started_at = time.monotonic()
        self._starts += 1
        self._buffer.clear()
        self._ready = self.loop.create_future()
        self._stopped = self.loop.create_future()
        await self.loop.connect_accepted_socket(lambda: self, ours)
        # the URL (with its password) goes down the socket, never onto a command line
        self._send(pickle.dumps(self.url))
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), START_SECONDS)
        except TimeoutError:
            self._ready.cancel()  # nobody waits for it any more
            self._kill()
            raise RegisterError(f"the register's writer process did not start within {START_SECONDS:g} s") from None
        self.alive = True
        self._changed(restarted=self._starts > 1)

    async def close(self, seconds: float = 30.0) -> None:
        """Let the writer commit everything sent so far, answer it and exit."""
        self.closing = True
        if self._restart is not None:
            self._restart.cancel()
        if self.transport is not None and not self.transport.is_closing() and self.alive:
            self._send(pickle.dumps(None))
            if self._stopped is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._stopped), seconds)
        if self.transport is not None:
            self.transport.close()
        process = self.process
        if process is not None:
            deadline = time.monotonic() + seconds
            while process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            if process.poll() is None:
                self._kill()
        self._fail_all("the register is closed")
        self.alive = False

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    # -- writing ---------------------------------------------------------------------------

    def write(self, rows: Rows) -> asyncio.Future[list[int]]:
        """The rows' ids, in order, once committed; a :class:`RegisterError` when the writer
        cannot commit them or stopped before it answered (then they may or may not be
        stored, and the decisions must not be given)."""
        assert self.loop is not None, "the writer link is not started"
        future: asyncio.Future[list[int]] = self.loop.create_future()
        if not rows:
            future.set_result([])
        elif self.closing:
            future.set_exception(RegisterError("the register is closed"))
        elif not self.alive:
            future.set_exception(RegisterError("the register's writer process is not running; it is being restarted"))
        else:
            self._seq += 1
            self._waiting[self._seq] = future
            self._send(pickle.dumps((self._seq, rows), protocol=pickle.HIGHEST_PROTOCOL))
        return future

    def _send(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(HEADER.pack(len(payload)) + payload)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buffer)
            if len(self._buffer) < HEADER.size + size:
                return
            payload = bytes(self._buffer[HEADER.size : HEADER.size + size])
            del self._buffer[: HEADER.size + size]
            self._answer(pickle.loads(payload))

    def _answer(self, message: tuple[str, Any]) -> None:
        kind, body = message
        if kind == "ready":
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
        elif kind == "failed":
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(RegisterError(body))
        elif kind == "done":
            self.commits += 1
            for seq, ids, error in body:
                future = self._waiting.pop(seq, None)
                if future is None or future.done():  # its request timed out meanwhile
                    continue
                if error is None:
                    future.set_result(ids)
                else:
                    future.set_exception(RegisterError(error))

    def eof_received(self) -> bool:
        return False  # close our end too: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        was_alive = self.alive
        self.alive = False
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(RegisterError("the register's writer process exited before it was ready"))
        if self.closing:
            return
        self._fail_all("the register's writer process stopped before it committed the decisions")
        code = self.process.poll() if self.process is not None else None
        log.error("the register's writer process stopped (exit status %s); starting another", code)
        if was_alive:
            self._changed(restarted=False)
        assert self.loop is not None
        wait = max(0.0, self._started_at + RESTART_SECONDS - time.monotonic())
        if self._restart is not None:
            self._restart.cancel()  # one restart pending at a time
        self._restart = self.loop.call_later(wait, self._restart_now)

    def _restart_now(self) -> None:
        assert self.loop is not None
        self._restart = None
        if self.closing or self.alive:
            return
        if self.process is not None:
            self._kill()  # reaped, whatever state it was in

        async def again() -> None:
            try:
                await self._spawn()
            except RegisterError as exc:
                log.error("the register's writer process did not start: %s", exc)
                if not self.closing and self._restart is None and not self.alive:
                    self._kill()
                    self._restart = self.loop.call_later(RESTART_SECONDS, self._restart_now)  # type: ignore[union-attr]

        self.loop.create_task(again())

    def _fail_all(self, message: str) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(RegisterError(message))

    def _changed(self, restarted: bool) -> None:
        if self._on_change is not None:
            self._on_change(self.alive, restarted)


def _environment() -> dict[str, str]:
    """The service's environment, with the folder this kamrules was imported from first on
    the path: the writer process runs the same kamrules as the service, installed or not."""
    import kamrules

    here = str(Path(kamrules.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here + (os.pathsep + path if path else "")}


# -- the writer process ----------------------------------------------------------------------


def serve(connection: Connection) -> int:
    """The writer process's loop: open the register at the URL sent first, then commit what
    arrives in groups until told to stop (``None``) or the service's end closes."""
    try:
        url: str = pickle.loads(connection.recv_bytes())
    except EOFError:
        return 0
    try:
        register = Register(url)
    except RegisterError as exc:
        connection.send_bytes(pickle.dumps(("failed", str(exc))))
        return 1
    except Exception as exc:  # the service must hear why, whatever it was
        connection.send_bytes(pickle.dumps(("failed", f"cannot open the register at '{_safe(url)}': {_reason(exc)}")))
        return 1
    checkpoints = Checkpointer.start_for(register)
    connection.send_bytes(pickle.dumps(("ready", os.getpid())))
    try:
        stopping = False
        while not stopping:
            try:
                first = pickle.loads(connection.recv_bytes())
            except EOFError:
                return 0
            if first is None:
                return 0
            group: deque[tuple[int, Rows]] = deque([first])
            size = len(first[1])
            while size < MAX_ROWS and connection.poll():
                try:
                    item = pickle.loads(connection.recv_bytes())
                except EOFError:
                    stopping = True  # commit what was sent, then stop: nobody waits for more
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
                size += len(item[1])
            answers = commit(register, list(group))
            try:
                connection.send_bytes(pickle.dumps(("done", answers), protocol=pickle.HIGHEST_PROTOCOL))
            except OSError:
                return 0  # the service is gone; what was committed stays committed
        return 0
    finally:
        if checkpoints is not None:
            checkpoints.stop()
        register.close()


CHECKPOINT_SECONDS = 0.1
"""How often the writer process's checkpointer copies a SQLite register's WAL into the database."""


class Checkpointer:
    """SQLite's WAL checkpoints, off the commit path: a thread of the writer process with a
    connection of its own runs ``PRAGMA wal_checkpoint(PASSIVE)`` every
    :data:`CHECKPOINT_SECONDS`, and the writer's connections never checkpoint
    (``wal_autocheckpoint=0``).

    SQLite checkpoints by itself in the connection whose commit takes the WAL past 1,000
    pages: that commit then copies the pages into the database file and syncs it before it
    returns, and every request waiting on the group waits for that too. With decisions of
    about 20 KB, that is every half second at 500 requests/s, and it was the service's
    tail: 500 requests/s for 10 s on the idle machine gave p99 9.3 to 11.4 ms with SQLite's
    own checkpoints and 3.5 ms with none in the run (docs/decisions.md, entry 50). A passive
    checkpoint waits for no writer, and the ``sqlite3`` module lets go of the GIL while it
    runs, so commits go on meanwhile; once it has copied every page, the next commit starts
    the WAL again from its beginning, so the file stays small."""

    def __init__(self, path: str) -> None:
        import sqlite3
        import threading

        self._connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kamrules-register-checkpoints", daemon=True)

    @classmethod
    def start_for(cls, register: Register) -> Checkpointer | None:
        """A running checkpointer for a SQLite register (its connections told not to
        checkpoint), or None for a database server, which checkpoints by itself."""
        if not register.sqlite or register.engine.url.database in (None, "", ":memory:"):
            return None
        import sqlalchemy as sa

        sa.event.listen(register.engine, "connect", _no_autocheckpoint)
        register.engine.dispose()  # connections opened before the listener are closed
        checkpointer = cls(register.engine.url.database)
        checkpointer._thread.start()
        return checkpointer

    def _run(self) -> None:
        while not self._stopped.wait(CHECKPOINT_SECONDS):
            self.checkpoint()

    def checkpoint(self) -> None:
        import sqlite3

        try:
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next round tries again; commits are not affected
            log.warning("the register's WAL checkpoint failed: %s", exc)

    def stop(self) -> None:
        """Stop the thread, copy what the WAL still holds, and close."""
        self._stopped.set()
        self._thread.join()
        self.checkpoint()
        self._connection.close()


def _no_autocheckpoint(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def commit(register: Register, group: list[tuple[int, Rows]]) -> list[tuple[int, list[int] | None, str | None]]:
    """One transaction for the group: each request's ids in order, or the one error all share."""
    try:
        ids = register.insert_rows([row for _, rows in group for row in rows])
    except Exception as exc:  # every request must hear of it, whatever it was
        message = str(exc) if isinstance(exc, RegisterError) else f"the register write failed: {_reason(exc)}"
        return [(seq, None, message) for seq, _ in group]
    answers: list[tuple[int, list[int] | None, str | None]] = []
    start = 0
    for seq, rows in group:
        answers.append((seq, ids[start : start + len(rows)], None))
        start += len(rows)
    return answers


def main(argv: list[str]) -> int:
    # Ctrl-C in a terminal reaches the whole process group: the service decides when its
    # writer stops (after the last answer), so the writer ignores it and waits to be told.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if len(argv) != 1 or not argv[0].isdigit():
        print("the register's writer process is started by the service, not by hand", file=sys.stderr)
        return 2
    return serve(Connection(int(argv[0])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__ = ["MAX_ROWS", "Checkpointer", "WriterLink", "commit", "serve"]
