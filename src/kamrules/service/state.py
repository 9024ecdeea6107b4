"""The rulebook a service answers with, and hot reload that never serves a broken one.

A :class:`Loaded` snapshot (rulebook, compiled engine, placement) is immutable. A request
takes the current snapshot once and decides with it to the end, so a reload in the middle
changes nothing for it; a reload builds the whole new snapshot off the request path and
swaps one reference, which is atomic in Python. A rulebook that fails to load leaves the
old snapshot serving and is reported, with file:line, on ``GET /v1/rulebook``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kamrules.errors import KamrulesError, RulebookError
from kamrules.evaluation.engine import Engine
from kamrules.rulebook import Rulebook, load_rulebook

log = logging.getLogger("kamrules.service")


@dataclass(frozen=True)
class Loaded:
    rulebook: Rulebook
    engine: Engine
    loaded_at: dt.datetime
    files: tuple[str, ...]
    placement: Any = None
    """The latest portfolio placement saved in the register for this rulebook, if any."""

    @property
    def content_hash(self) -> str:
        return self.rulebook.content_hash


@dataclass(frozen=True)
class ReloadError:
    at: dt.datetime
    message: str
    problems: list[dict[str, Any]]


class RulebookState:
    """The current snapshot, the last reload error, and the reload lock."""

    def __init__(
        self,
        rules: Path,
        on_loaded: Callable[[Loaded], Loaded] | None = None,
        on_reload: Callable[[str], None] | None = None,
        crm: str | None = None,
    ) -> None:
        self.rules = rules
        self.crm = crm
        self._on_loaded = on_loaded
        self._on_reload = on_reload
        self._lock = threading.Lock()
        self.last_error: ReloadError | None = None
        self.current: Loaded = self._load()  # a broken rulebook at start-up is fatal: raises

    def _load(self) -> Loaded:
        rulebook = load_rulebook(self.rules)
        engine = Engine(rulebook)
        if self.crm is not None:
            # checked against this rulebook's facts: a rule change that drops a fact the
            # profile maps is refused like any other broken rulebook (ProfileError)
            engine = engine.with_profile(self.crm)
        loaded = Loaded(
            rulebook=rulebook,
            engine=engine,
            loaded_at=dt.datetime.now(dt.UTC),
            files=tuple(Path(s).name for s in rulebook.sources),
        )
        return self._on_loaded(loaded) if self._on_loaded is not None else loaded

    def reload(self) -> tuple[bool, Loaded]:
        """Load, validate and compile the rules again; swap them in only when all succeeded.

        Returns (changed, the snapshot now serving). Reloads are serialised: two file events
        in quick succession load twice, never interleaved."""
        with self._lock:
            try:
                loaded = self._load()
            except RulebookError as exc:
                self.last_error = ReloadError(
                    dt.datetime.now(dt.UTC), "the rulebook is invalid; the previous one keeps serving", _problems(exc)
                )
                log.warning("reload refused, still serving %s: %s", self.current.content_hash, exc)
                self._count("invalid")
                return False, self.current
            except KamrulesError as exc:
                self.last_error = ReloadError(dt.datetime.now(dt.UTC), f"{exc}; the previous one keeps serving", [])
                log.warning("reload refused: %s", exc)
                self._count("failed")
                return False, self.current
            changed = loaded.content_hash != self.current.content_hash
            self.current = loaded
            self.last_error = None
            self._count("changed" if changed else "unchanged")
            log.info("rulebook %s %s loaded (%s)", loaded.rulebook.id, loaded.rulebook.version, loaded.content_hash)
            return changed, loaded

    def _count(self, result: str) -> None:
        if self._on_reload is not None:
            self._on_reload(result)

    def watch(self, stop: threading.Event) -> threading.Thread:
        """Reload whenever a file under the rules path changes (watchfiles, debounced)."""
        from watchfiles import watch

        target = self.rules if self.rules.is_dir() else self.rules.parent

        def run() -> None:
            for _changes in watch(target, stop_event=stop, debounce=200, step=50, raise_interrupt=False):
                self.reload()

        thread = threading.Thread(target=run, name="kamrules-rule-watcher", daemon=True)
        thread.start()
        return thread


def _problems(exc: RulebookError) -> list[dict[str, Any]]:
    """Each problem with the rule file's name (not the server's path), line and column."""
    out = []
    for problem in exc.problems:
        where = problem.location
        out.append(
            {
                "file": Path(where.file).name if where else None,
                "line": where.line if where else None,
                "column": where.column if where else None,
                "message": problem.message + (f" ({problem.hint})" if problem.hint else ""),
                "at": f"{Path(where.file).name}:{where.line}:{where.column}" if where else None,
            }
        )
    return out
