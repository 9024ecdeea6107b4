"""The decision register: every decision appended, every rulebook stored once by its hash.

A decision is written with the exact JSON its reader received (the service's response, the
CLI's JSON Lines), the rulebook that made it is stored by content hash with its rule files,
and the input facts are kept (or only their digest), so that ``replay`` can decide again
from what is stored and compare bytes. Rows are never updated or deleted: the migrations put
triggers on both tables that refuse it, whatever client connects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from kamrules.errors import KamrulesError, RulebookError
from kamrules.explanation.decision import Decision, RulebookRef
from kamrules.register.schema import decisions, placements, rulebooks
from kamrules.rulebook import Rulebook, load_rulebook

if TYPE_CHECKING:
    from kamrules.evaluation.engine import Engine, Outcome
    from kamrules.portfolio.placement import Placement

MIGRATIONS = Path(__file__).parent / "migrations"


class RegisterError(KamrulesError):
    """The register cannot be opened, read or written; the message says what to do."""


def database_url(url: str) -> str:
    """A SQLAlchemy URL from what a user types: a file path means a SQLite file, and
    ``postgresql://`` means PostgreSQL through psycopg 3 (SQLAlchemy's default would be
    psycopg2, which the register extra does not install)."""
    if "://" not in url:
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> sa.Engine:
    full = database_url(url)
    try:
        if full.startswith("sqlite"):
            engine = sa.create_engine(full, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return sa.create_engine(full, pool_pre_ping=True, pool_size=8, max_overflow=8)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise RegisterError(f"cannot use the register at '{_safe(url)}': {_reason(exc)}") from None


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: a commit survives the process being killed (the WAL is
    in the operating system's hands when COMMIT returns); only a power cut can lose the last
    commits. Full fsync per commit would cost milliseconds per decision."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str) -> tuple[str | None, str]:
    """Create or migrate the register's schema to the newest revision: (before, after)."""
    from alembic import command

    engine = make_engine(url)
    try:
        before = current_revision(engine)
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
        return before, head_revision()
    except SQLAlchemyError as exc:
        raise RegisterError(f"cannot migrate the register at '{_safe(url)}': {_reason(exc)}") from None
    finally:
        engine.dispose()


def facts_json(facts: Mapping[str, Any]) -> str:
    """The canonical text of an input record: keys sorted, no spaces, so equal facts have
    equal digests whatever order a CRM sent them in."""
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def facts_of(outcome: Outcome) -> dict[str, Any]:
    """The facts a decision was made from, as the engine read them: under fact names, after
    any CRM profile, only the facts the record gave, as JSON values. They validate back to
    the same record (tested on every example, CRM exports included), so a decision can be
    replayed without the CRM's column names or its profile, and a batch need not hold its
    input records beside the results to record them."""
    dumped: dict[str, Any] = outcome.record.model_dump(mode="json", exclude_unset=True)
    return dumped


@dataclass(frozen=True, slots=True)
class Entry:
    """One decision to record: the columns an auditor filters on, the exact JSON served for
    it, and its input. Built from a :class:`Decision` or, without building the model, from
    the engine's compact ``Outcome`` and its ``decision_json()``."""

    account_id: str
    as_of: dt.date
    rulebook: RulebookRef
    tier: str
    key_account: bool
    segment: str | None
    scores: dict[str, float]
    compliance_status: str | None
    explanation: str
    facts: Mapping[str, Any]

    @classmethod
    def of_decision(cls, decision: Decision, explanation: str, facts: Mapping[str, Any]) -> Entry:
        return cls(
            account_id=decision.account_id,
            as_of=decision.as_of,
            rulebook=decision.rulebook,
            tier=decision.tier,
            key_account=decision.key_account,
            segment=decision.segment,
            scores={card: float(result.score) for card, result in decision.scores.items()},
            compliance_status=decision.compliance.status if decision.compliance is not None else None,
            explanation=explanation,
            facts=facts,
        )

    @classmethod
    def of_outcome(cls, outcome: Outcome, explanation: str, facts: Mapping[str, Any] | None = None) -> Entry:
        """``facts`` default to :func:`facts_of` the outcome."""
        from kamrules.evaluation.exact import score_ratio

        engine = outcome.engine
        return cls(
            account_id=outcome.account_id,
            as_of=outcome.as_of,
            rulebook=engine.ref,
            tier=outcome.tier,
            key_account=outcome.key_account,
            segment=outcome.segment,
            scores={
                card.id: float(score_ratio(weighted, total * 100))
                for card, (weighted, total, _) in zip(engine.cards, outcome._cards, strict=True)
            },
            compliance_status=outcome.compliance_status,
            explanation=explanation,
            facts=facts if facts is not None else facts_of(outcome),
        )


@dataclass(frozen=True, slots=True)
class StoredDecision:
    id: int
    account_id: str
    as_of: dt.date
    decided_at: dt.datetime
    rulebook_id: str
    rulebook_version: str
    rulebook_hash: str
    tier: str
    key_account: bool
    segment: str | None
    scores: dict[str, float]
    compliance_status: str | None
    explanation: str
    facts_digest: str
    facts: dict[str, Any] | None
    request_id: str | None
    caller: str | None
    source: str

    def summary(self) -> dict[str, Any]:
        """Everything but the explanation and the facts, as JSON values."""
        return {
            "id": self.id,
            "account_id": self.account_id,
            "as_of": self.as_of.isoformat(),
            "decided_at": self.decided_at.isoformat(),
            "rulebook": {"id": self.rulebook_id, "version": self.rulebook_version, "content_hash": self.rulebook_hash},
            "tier": self.tier,
            "key_account": self.key_account,
            "segment": self.segment,
            "scores": self.scores,
            "compliance_status": self.compliance_status,
            "facts_digest": self.facts_digest,
            "request_id": self.request_id,
            "caller": self.caller,
            "source": self.source,
        }


def rule_file_texts(rulebook: Rulebook) -> dict[str, str]:
    """The text of each rule file a rulebook was loaded from, by file name."""
    texts: dict[str, str] = {}
    for source in rulebook.sources:
        path = Path(source)
        try:
            texts[path.name] = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise RegisterError(f"cannot read the rule file '{source}' to store it: {exc.strerror}") from None
    return texts


def load_stored_rulebook(files: Mapping[str, str]) -> Rulebook:
    """A rulebook from stored rule files: written to a temporary folder under their own
    names (a folder's files are joined in name order) and loaded as usual."""
    with tempfile.TemporaryDirectory(prefix="kamrules-rulebook-") as folder:
        for name, text in files.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        target = Path(folder) / next(iter(files)) if len(files) == 1 else Path(folder)
        return load_rulebook(target)


class Register:
    """An open register. Thread-safe: the service's worker threads share one."""

    def __init__(self, url: str, *, store_facts: bool = True) -> None:
        self.url = url
        self.store_facts = store_facts
        self.engine = make_engine(url)
        self.sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; waiting on a lock in-process is cheaper and
        # fairer than every thread retrying on "database is locked".
        self._write_lock = threading.Lock() if self.sqlite else None
        self._stored: set[str] = set()
        try:
            revision = current_revision(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise RegisterError(f"cannot open the register at '{_safe(url)}': {_reason(exc)}") from None
        if revision is None and self.sqlite:
            upgrade(url)  # the embedded default sets itself up; a server is migrated explicitly
        elif revision != head_revision():
            self.engine.dispose()
            state = "has no register schema" if revision is None else f"is at schema revision {revision}"
            raise RegisterError(
                f"the database at '{_safe(url)}' {state}, this kamrules needs {head_revision()}: "
                f"run `kamrules register upgrade {_safe(url)}`"
            )

    def close(self) -> None:
        """Close the connections."""
        self.engine.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def store_rulebook(self, rulebook: Rulebook, files: Mapping[str, str] | None = None) -> None:
        """Store a rulebook's rule files under its content hash, once.

        The files are loaded back before they are stored and must give the same hash, so a
        rule file edited between loading and storing can never be stored under the wrong
        hash (replay depends on it)."""
        if rulebook.content_hash in self._stored:
            return
        with self._connect() as connection:
            found = connection.execute(
                sa.select(rulebooks.c.content_hash).where(rulebooks.c.content_hash == rulebook.content_hash)
            ).first()
        if found is None:
            texts = dict(files) if files is not None else rule_file_texts(rulebook)
            try:
                reloaded = load_stored_rulebook(texts).content_hash
            except RulebookError:
                reloaded = None
            if reloaded != rulebook.content_hash:
                raise RegisterError(
                    "the rule files changed after the rulebook was loaded; load it again before recording decisions"
                )
            row = {
                "content_hash": rulebook.content_hash,
                "rulebook_id": rulebook.id,
                "version": rulebook.version,
                "files": json.dumps(texts, ensure_ascii=False),
                "stored_at": dt.datetime.now(dt.UTC),
            }
            try:
                with self._write() as connection:
                    connection.execute(sa.insert(rulebooks), [row])
            except IntegrityError:
                pass  # another process stored the same content first: the same rows
        self._stored.add(rulebook.content_hash)

    def record(
        self,
        rulebook: Rulebook,
        entries: Sequence[Entry],
        *,
        source: str,
        caller: str | None = None,
        request_id: str | None = None,
    ) -> list[int]:
        """Append decisions in one transaction; returns their ids once committed."""
        if not entries:
            return []
        self.store_rulebook(rulebook)
        return self.insert_rows(self._rows(entries, source, caller, request_id))

    def rows(
        self,
        rulebook: Rulebook,
        entries: Sequence[Entry],
        *,
        source: str,
        caller: str | None = None,
        request_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The decisions' rows, ready for :meth:`insert_rows` (the service encodes them in the
        thread that decided them and its writer process inserts them; see
        :mod:`kamrules.register.writer`), with the rulebook stored first."""
        if not entries:
            return []
        self.store_rulebook(rulebook)
        return self._rows(entries, source, caller, request_id)

    def _rows(
        self, entries: Sequence[Entry], source: str, caller: str | None, request_id: str | None
    ) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.UTC)
        rows = []
        for entry in entries:
            text = facts_json(entry.facts)
            rows.append(
                {
                    "account_id": entry.account_id,
                    "as_of": entry.as_of,
                    "decided_at": now,
                    "rulebook_id": entry.rulebook.id,
                    "rulebook_version": entry.rulebook.version,
                    "rulebook_hash": entry.rulebook.content_hash,
                    "tier": entry.tier,
                    "key_account": entry.key_account,
                    "segment": entry.segment,
                    "scores": json.dumps(entry.scores),
                    "compliance_status": entry.compliance_status,
                    "explanation": entry.explanation,
                    "facts_digest": digest(text),
                    "facts": text if self.store_facts else None,
                    "request_id": request_id,
                    "caller": caller,
                    "source": source,
                }
            )
        return rows

    def insert_rows(self, rows: list[dict[str, Any]]) -> list[int]:
        """Append rows made by :meth:`rows` in one transaction; their ids, in order, once committed."""
        statement = sa.insert(decisions).returning(decisions.c.id, sort_by_parameter_order=True)
        with self._write() as connection:
            return [row[0] for row in connection.execute(statement, rows)]

    def save_placement(self, rulebook: Rulebook, placement: Placement) -> int:
        """Keep a batch run's portfolio placement; the service places single accounts
        against the latest one saved for the rulebook it serves."""
        self.store_rulebook(rulebook)
        row = {
            "placement_id": placement.id,
            "rulebook_hash": rulebook.content_hash,
            "as_of": placement.as_of,
            "saved_at": dt.datetime.now(dt.UTC),
            "document": placement.to_json(),
        }
        with self._write() as connection:
            return int(connection.execute(sa.insert(placements).returning(placements.c.id), [row]).scalar_one())

    def latest_placement(self, engine: Engine) -> Placement | None:
        """The placement most recently saved for the engine's rulebook, or None."""
        from kamrules.portfolio.placement import Placement

        query = (
            sa.select(placements.c.document)
            .where(placements.c.rulebook_hash == engine.rulebook.content_hash)
            .order_by(placements.c.id.desc())
            .limit(1)
        )
        with self._connect() as connection:
            document = connection.execute(query).scalar_one_or_none()
        return Placement.from_json(document, engine) if document is not None else None

    def placement(self, placement_id: str, engine: Engine) -> Placement | None:
        """A saved placement by its id, for the engine's rulebook."""
        from kamrules.portfolio.placement import Placement

        query = (
            sa.select(placements.c.document)
            .where(placements.c.placement_id == placement_id)
            .where(placements.c.rulebook_hash == engine.rulebook.content_hash)
            .order_by(placements.c.id.desc())
            .limit(1)
        )
        with self._connect() as connection:
            document = connection.execute(query).scalar_one_or_none()
        return Placement.from_json(document, engine) if document is not None else None

    # -- reading ---------------------------------------------------------------------------

    def decision(self, decision_id: int) -> StoredDecision:
        with self._connect() as connection:
            row = connection.execute(sa.select(decisions).where(decisions.c.id == decision_id)).mappings().first()
        if row is None:
            raise RegisterError(f"no decision {decision_id} in the register")
        return _stored(row)

    def decisions_of(self, account_id: str, limit: int | None = None) -> list[StoredDecision]:
        """An account's decisions, oldest first (the newest ``limit`` when given)."""
        query = sa.select(decisions).where(decisions.c.account_id == account_id).order_by(decisions.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [_stored(row) for row in reversed(rows)]

    def count(self) -> int:
        with self._connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one())

    def rulebook_files(self, content_hash: str) -> dict[str, str]:
        with self._connect() as connection:
            files = connection.execute(
                sa.select(rulebooks.c.files).where(rulebooks.c.content_hash == content_hash)
            ).scalar_one_or_none()
        if files is None:
            raise RegisterError(f"the rulebook {content_hash} is not in the register")
        loaded: dict[str, str] = json.loads(files)
        return loaded

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> Any:
        return _Guard(self, write=False)

    def _write(self) -> Any:
        return _Guard(self, write=True)


class _Guard:
    """A connection in a transaction, with database errors turned into :class:`RegisterError`."""

    def __init__(self, register: Register, write: bool) -> None:
        self.register = register
        self.write = write
        self.context: Any = None
        self.locked = False

    def __enter__(self) -> sa.Connection:
        lock = self.register._write_lock
        if self.write and lock is not None:
            lock.acquire()
            self.locked = True
        try:
            self.context = self.register.engine.begin()
            connection: sa.Connection = self.context.__enter__()
        except SQLAlchemyError as exc:
            self._release()
            raise RegisterError(f"cannot reach the register at '{_safe(self.register.url)}': {_reason(exc)}") from None
        return connection

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> Literal[False]:
        try:
            self.context.__exit__(kind, value, traceback)
        except SQLAlchemyError as exc:
            raise RegisterError(f"the register could not commit: {_reason(exc)}") from None
        finally:
            self._release()
        if isinstance(value, IntegrityError):
            return False
        if isinstance(value, SQLAlchemyError):
            raise RegisterError(f"the register refused the write: {_reason(value)}") from None
        return False

    def _release(self) -> None:
        if self.locked:
            self.locked = False
            lock = self.register._write_lock
            assert lock is not None
            lock.release()


def _stored(row: Mapping[str, Any]) -> StoredDecision:
    decided_at: dt.datetime = row["decided_at"]
    if decided_at.tzinfo is None:  # SQLite keeps no offset; the register writes UTC
        decided_at = decided_at.replace(tzinfo=dt.UTC)
    return StoredDecision(
        id=int(row["id"]),
        account_id=row["account_id"],
        as_of=row["as_of"],
        decided_at=decided_at,
        rulebook_id=row["rulebook_id"],
        rulebook_version=row["rulebook_version"],
        rulebook_hash=row["rulebook_hash"],
        tier=row["tier"],
        key_account=bool(row["key_account"]),
        segment=row["segment"],
        scores=json.loads(row["scores"]),
        compliance_status=row["compliance_status"],
        explanation=row["explanation"],
        facts_digest=row["facts_digest"],
        facts=json.loads(row["facts"]) if row["facts"] is not None else None,
        request_id=row["request_id"],
        caller=row["caller"],
        source=row["source"],
    )


def _safe(url: str) -> str:
    """A URL fit to print: the password replaced by ***."""
    if "://" not in url:
        return url
    try:
        return sa.engine.make_url(database_url(url)).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return url.split("://", 1)[0] + "://***"


def _reason(exc: BaseException) -> str:
    """The database's own message, first line, without SQLAlchemy's statement dump."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = [
    "Entry",
    "Register",
    "RegisterError",
    "StoredDecision",
    "database_url",
    "digest",
    "facts_json",
    "facts_of",
    "head_revision",
    "load_stored_rulebook",
    "rule_file_texts",
    "upgrade",
]
