"""Where alerts go, without loss or duplicates: a SQLite outbox, and sinks fed from it.

The outbox is the monitor's own SQLite file (``--state``) or, with ``--register``, tables
of the decision register (:mod:`kamrules.register.outbox`). Either holds the accepted
events, in order, and the alerts each raised, written in one transaction per event. It is
what makes a restart safe:

- state is rebuilt by replaying the stored events (the monitor is deterministic), and an
  input event already stored is skipped, so an event is never acted on twice;
- each sink has a cursor in the outbox, moved only after the sink took the alert, so an
  alert is never lost; a sink that already has an alert (the JSON Lines file, or a webhook
  receiver keyed by ``Idempotency-Key``) skips it, so an alert is never repeated in effect.

The monitor's SQLite file runs in WAL mode with ``synchronous=NORMAL``: a killed process loses nothing that
was committed; a power cut may lose the last transactions (and they are then replayed from
the input).
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Protocol

from kamrules.errors import KamrulesError
from kamrules.monitor.monitor import Alert


class SinkError(KamrulesError):
    """A sink could not take an alert, after its retries."""


class Sink(Protocol):
    name: str

    def deliver(self, alert_id: str, body: str) -> None:
        """Take one alert (its JSON); raise :class:`SinkError` when it cannot."""

    def close(self) -> None: ...


def alert_json(alert: Alert) -> str:
    """One alert as one line of JSON, keys in a fixed order: the same bytes in every replay."""
    return alert.model_dump_json()


class EventLog(ABC):
    """Where a watch keeps the events it took and the alerts they raised, and each sink's
    place in them: the monitor's own SQLite file (:class:`Outbox`) or the decision
    register's tables (:class:`kamrules.register.outbox.RegisterOutbox`)."""

    @abstractmethod
    def has_event(self, event_id: str) -> bool: ...

    @abstractmethod
    def events(self) -> Iterator[str]:
        """The stored events, in the order they were taken, for replay."""

    @abstractmethod
    def record(self, event_id: str, body: str, alerts: Sequence[Alert]) -> None:
        """Store an accepted event and its alerts, all or nothing."""

    @abstractmethod
    def pending(self, sink: str) -> list[tuple[int, str, str]]:
        """(seq, alert id, body) of every alert ``sink`` has not taken yet, in order."""

    @abstractmethod
    def delivered(self, sink: str, seq: int) -> None:
        """``sink`` took every alert up to ``seq``."""

    @abstractmethod
    def alert_count(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def deliver(self, sinks: Sequence[Sink]) -> None:
        """Hand every alert a sink has not taken yet to it, in order."""
        for sink in sinks:
            for seq, alert_id, body in self.pending(sink.name):
                sink.deliver(alert_id, body)
                self.delivered(sink.name, seq)


class Outbox(EventLog):
    """The event log and the alert outbox, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        try:
            self.db = sqlite3.connect(str(path), isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise KamrulesError(f"cannot open the monitor's state '{path}': {exc}") from None
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS alerts (
                seq INTEGER PRIMARY KEY, alert_id TEXT NOT NULL UNIQUE,
                event_seq INTEGER NOT NULL REFERENCES events(seq), body TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS cursors (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);
            """
        )

    def has_event(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone() is not None

    def events(self) -> Iterator[str]:
        for (body,) in self.db.execute("SELECT body FROM events ORDER BY seq"):
            yield body

    def record(self, event_id: str, body: str, alerts: Sequence[Alert]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            seq = self.db.execute("INSERT INTO events (event_id, body) VALUES (?, ?)", (event_id, body)).lastrowid
            self.db.executemany(
                "INSERT OR IGNORE INTO alerts (alert_id, event_seq, body) VALUES (?, ?, ?)",
                [(a.alert_id, seq, alert_json(a)) for a in alerts],
            )

    def pending(self, sink: str) -> list[tuple[int, str, str]]:
        row = self.db.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        after = row[0] if row else 0
        return list(self.db.execute("SELECT seq, alert_id, body FROM alerts WHERE seq > ? ORDER BY seq", (after,)))

    def delivered(self, sink: str, seq: int) -> None:
        self.db.execute(
            "INSERT INTO cursors (sink, seq) VALUES (?, ?) ON CONFLICT(sink) DO UPDATE SET seq = excluded.seq",
            (sink, seq),
        )

    def alert_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM alerts").fetchone()[0])

    def close(self) -> None:
        self.db.close()


class JsonLinesSink:
    """Alerts as JSON Lines on a stream (stdout) or in a file.

    A file is opened for appending; the alert ids already in it are skipped, and a last line
    cut short by a crash is dropped, so a restarted monitor writes each alert once."""

    def __init__(self, path: Path | None, stream: IO[str] | None = None) -> None:
        self.name = f"jsonl:{path}" if path is not None else "jsonl:-"
        self.seen: set[str] = set()
        if path is None:
            assert stream is not None
            self.handle = stream
            self._owned = False
            return
        if path.exists():
            text = path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):  # a line cut short by a kill
                text = text[: text.rfind("\n") + 1]
                path.write_text(text, encoding="utf-8")
            for line in text.splitlines():
                try:
                    self.seen.add(json.loads(line)["alert_id"])
                except (ValueError, KeyError, TypeError):
                    continue
        try:
            self.handle = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise KamrulesError(f"cannot write alerts to '{path}': {exc.strerror}") from None
        self._owned = True

    def deliver(self, alert_id: str, body: str) -> None:
        if alert_id in self.seen:
            return
        self.handle.write(body + "\n")
        self.handle.flush()
        self.seen.add(alert_id)

    def close(self) -> None:
        if self._owned:
            self.handle.close()


class WebhookSink:
    """POST each alert to a URL with an ``Idempotency-Key`` header (the alert id): at least
    once on the wire, exactly once in effect at a receiver that keeps the keys it has seen.

    A 2xx answer is delivery; 408, 429 and 5xx answers and network errors are retried with
    exponential backoff; any other answer fails at once (retrying cannot fix it)."""

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise KamrulesError(f"a webhook URL starts with http:// or https://, not '{url}'")
        self.name = f"webhook:{url}"
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.sleep = sleep

    def deliver(self, alert_id: str, body: str) -> None:
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(
                self.url,
                data=body.encode("utf-8"),
                method="POST",
                headers={"Content-Type": "application/json", "Idempotency-Key": alert_id},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if 200 <= response.status < 300:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code not in (408, 429) and exc.code < 500:
                    break
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
        raise SinkError(f"the webhook {self.url} did not take alert {alert_id}: {last}")

    def close(self) -> None:
        return
