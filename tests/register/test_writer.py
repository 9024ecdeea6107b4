"""The register's writer process (kamrules.register.writer), driven from an event loop as the
service drives it: group commit, ids in order, an answer only after the commit, the writer's
death, and a shutdown that flushes."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kamrules import Engine, load_rulebook
from kamrules.register import Register, RegisterError, upgrade
from kamrules.register.writer import WriterLink
from tests.conftest import SMALL_RULEBOOK
from tests.register.test_register import ACCOUNT, entry, write

T = TypeVar("T")


def run(test: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(test(), 120))


def rows_for(register: Register, engine: Engine, ids: list[str], request_id: str) -> list[dict[str, Any]]:
    entries = [entry(engine, {**ACCOUNT, "id": account}) for account in ids]
    return register.rows(engine.rulebook, entries, source="service", request_id=request_id)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(load_rulebook(write(tmp_path / "rules", SMALL_RULEBOOK)))


async def until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_requests_share_commits_and_each_gets_its_own_ids_in_order(register_url: str, engine: Engine) -> None:
    """Forty requests sent at once: fewer transactions than requests (group commit), and
    each request's ids are its own rows, in order, readable from another connection as soon
    as its answer arrives (it answers only what is committed)."""
    upgrade(register_url)
    with Register(register_url) as register:

        async def test() -> None:
            link = WriterLink(register.url)
            await link.start()
            try:
                sent = {k: [f"W{k}-{n}" for n in range(k % 5 + 1)] for k in range(40)}
                futures = {k: link.write(rows_for(register, engine, ids, f"req-{k}")) for k, ids in sent.items()}
                for k, future in futures.items():
                    ids = await future
                    assert [register.decision(i).account_id for i in ids] == sent[k]
                    assert {register.decision(i).request_id for i in ids} == {f"req-{k}"}
                every = [i for future in futures.values() for i in future.result()]
                assert len(every) == len(set(every)) == register.count() == sum(len(v) for v in sent.values())
                assert 1 <= link.commits < len(sent)
                assert await link.write([]) == []
            finally:
                await link.close()
            with pytest.raises(RegisterError, match="closed"):
                await link.write(rows_for(register, engine, ["late"], "req-late"))

        run(test)


def lock(path: str) -> sqlite3.Connection:
    """Another connection holding SQLite's write lock, so the writer's commit waits."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_writer_that_dies_fails_its_waiting_requests_and_is_started_again(tmp_path: Path, engine: Engine) -> None:
    url = str(tmp_path / "register.db")
    changes: list[tuple[bool, bool]] = []
    with Register(url) as register:

        async def test() -> None:
            link = WriterLink(register.url, lambda alive, restarted: changes.append((alive, restarted)))
            await link.start()
            try:
                rows = rows_for(register, engine, ["D1"], "req-1")  # the rulebook stored before the lock
                holder = lock(url)
                waiting = link.write(rows)
                await asyncio.sleep(0.3)  # the writer is blocked on the lock, the request waits
                assert not waiting.done()
                assert link.process is not None
                first = link.process.pid
                os.kill(first, signal.SIGKILL)
                with pytest.raises(RegisterError, match="stopped before it committed"):
                    await waiting
                assert not link.alive
                with pytest.raises(RegisterError, match="not running"):
                    await link.write(rows_for(register, engine, ["D2"], "req-2"))
                holder.rollback()
                holder.close()
                await until(lambda: link.alive)
                assert link.process is not None and link.process.pid != first
                ids = await link.write(rows_for(register, engine, ["D3"], "req-3"))
                assert [register.decision(i).account_id for i in ids] == ["D3"]
            finally:
                await link.close()
            assert changes == [(True, False), (False, False), (True, True)]
            assert register.count() == 1  # D1 was never committed, D2 never sent

        run(test)


def test_close_commits_everything_sent_before_it(tmp_path: Path, engine: Engine) -> None:
    url = str(tmp_path / "register.db")
    with Register(url) as register:

        async def test() -> None:
            link = WriterLink(register.url)
            await link.start()
            rows = [rows_for(register, engine, [f"S{k}"], f"req-{k}") for k in range(5)]
            holder = lock(url)
            futures = [link.write(r) for r in rows]
            closing = asyncio.ensure_future(link.close())
            await asyncio.sleep(0.3)
            assert not closing.done() and not any(f.done() for f in futures)  # held by the lock
            holder.rollback()
            holder.close()
            await closing
            assert [register.decision((await f)[0]).account_id for f in futures] == [f"S{k}" for k in range(5)]
            assert link.process is not None and link.process.poll() == 0  # it exited by itself

        run(test)


def test_a_writer_that_cannot_open_the_register_says_why(tmp_path: Path) -> None:
    async def test() -> None:
        link = WriterLink(str(tmp_path / "no-such-folder" / "register.db"))
        with pytest.raises(RegisterError, match="cannot open the register"):
            await link.start()
        await link.close()

    run(test)


def test_a_sqlite_registers_wal_is_checkpointed_off_the_commit_path(tmp_path: Path, engine: Engine) -> None:
    """The writer process's connections never checkpoint (a commit that did would copy and
    sync the WAL while its requests wait); the checkpointer's thread does, so the WAL does
    not grow with the register and every committed row is in the database."""
    from kamrules.register.writer import CHECKPOINT_SECONDS, Checkpointer

    url = f"sqlite:///{tmp_path / 'register.db'}"
    wal = tmp_path / "register.db-wal"
    with Register(url) as register:
        checkpoints = Checkpointer.start_for(register)
        assert checkpoints is not None
        try:
            with register.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            rows = rows_for(register, engine, [f"C{n}" for n in range(50)], "req")
            largest = 0
            for _ in range(40):  # 2,000 decisions, about 40 times the WAL that one group fills
                register.insert_rows(rows)
                largest = max(largest, wal.stat().st_size)
                time.sleep(CHECKPOINT_SECONDS / 2)
        finally:
            checkpoints.stop()
        assert register.count() == 2_000
    with sqlite3.connect(tmp_path / "register.db") as db:
        frames = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames[0] == 0 and frames[1] == frames[2]  # nothing left to copy after the stop
    # the WAL started again from its beginning as checkpoints caught up: it never held more
    # than a few groups, a small part of what the database now holds
    database = (tmp_path / "register.db").stat().st_size
    assert 0 < largest < database / 4, (largest, database)


def test_a_database_server_needs_no_checkpointer(tmp_path: Path) -> None:
    from kamrules.register.writer import Checkpointer

    with Register(f"sqlite:///{tmp_path / 'register.db'}") as register:
        register.sqlite = False  # as for PostgreSQL: the server checkpoints by itself
        assert Checkpointer.start_for(register) is None
