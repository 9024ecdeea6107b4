"""Each account's relationship stage as a durable_rules statechart.

What durable_rules 2.0.28 does, verified here, and how this module lives with it:

- Rulesets and hosts: the module-level ``durable.lang`` host is global and a ruleset name
  can be registered once; a rulebook reloaded in the same process needs a new name. Each
  :class:`StageChart` registers its own uniquely named ruleset on one host this module owns,
  built from a plain definition (no ``durable.lang`` context managers, whose stacks are
  module-global too).
- An event that matches no trigger of the current state is parked as pending, with no error.
  So every state has a trigger for every stage: the allowed ones mark the move legal, the
  others illegal, and nothing is ever parked. An event that nothing handled (the action did
  not run) is an error raised here, never silence.
- Exceptions inside actions are swallowed into the state: the actions only record
  ``(from, to, legal)`` in a list; all judgement happens in Python after ``post`` returns.
- The C engine keeps at most 1,024 states (one per ``sid``) per ruleset and raises
  ``MemoryError`` past that; ``delete_state`` frees a slot. 10,000 accounts do not fit, so
  the chart holds the accounts seen most recently (``resident``, 1,000) and restores an
  evicted one from its folded facts, which are the truth, by a ``restore`` event from the
  initial state. Memory stays flat however many accounts pass.
- durable_rules' timers count wall-clock seconds and are polled; they are not used. Business
  time is the monitor's (event dates and ``clock.tick``).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from kamrules.errors import KamrulesError
from kamrules.facts.schema import STAGES

INITIAL = "unknown"
"""The state of an account whose stage the monitor has not seen yet: any stage may follow."""

_HOST: Any = None
_HOST_LOCK = threading.Lock()
_NAMES = itertools.count(1)


def _host() -> Any:
    global _HOST
    with _HOST_LOCK:
        if _HOST is None:
            from durable import engine  # the reactive extra, imported only when a chart is built

            _HOST = engine.Host()
        return _HOST


class StatechartError(KamrulesError):
    """durable_rules did not handle a stage event the chart was built to handle."""


def allowed_transitions(regressions: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """Forward one stage at a time, plus the rulebook's explicit regressions."""
    forward = {(a, b) for a, b in itertools.pairwise(STAGES)}
    return frozenset(forward | set(regressions))


class StageChart:
    """The stage statechart of every account, one durable_rules ``sid`` per account."""

    def __init__(self, allowed: frozenset[tuple[str, str]], resident: int = 1000) -> None:
        if not 1 <= resident <= 1000:
            raise ValueError("resident must be between 1 and 1000 (durable_rules keeps at most 1,024 states)")
        self.allowed = allowed
        self.resident = resident
        self.name = f"kamrules_stage_{next(_NAMES)}"
        self._moves: list[tuple[str, str, bool]] = []
        self._states: OrderedDict[str, None] = OrderedDict()
        self._host = _host()
        self._host.register_rulesets({f"{self.name}$state": self._definition()})

    def _record(self, frm: str, to: str, legal: bool) -> Any:
        moves = self._moves

        def action(c: Any) -> None:
            moves.append((frm, to, legal))

        return action

    def _definition(self) -> dict[str, Any]:
        chart: dict[str, Any] = {}
        for state in (INITIAL, *STAGES):
            triggers: dict[str, Any] = {}
            for i, target in enumerate(STAGES):
                legal = state in (INITIAL, target) or (state, target) in self.allowed
                triggers[f"t_{i}"] = {
                    "all": [{"m": {"$and": [{"k": "stage"}, {"to": target}]}}],
                    "run": self._record(state, target, legal),
                    "to": target,
                }
                if state == INITIAL:
                    triggers[f"r_{i}"] = {
                        "all": [{"m": {"$and": [{"k": "restore"}, {"to": target}]}}],
                        "run": self._record(state, target, True),
                        "to": target,
                    }
            chart[state] = triggers
        return chart

    def _post(self, sid: str, kind: str, to: str) -> tuple[str, str, bool]:
        self._moves.clear()
        try:
            self._host.post(self.name, {"sid": sid, "k": kind, "to": to})
        except Exception as exc:  # MessageNotHandledException, MemoryError: never silent
            raise StatechartError(f"durable_rules refused the {kind} of '{sid}' to {to}: {exc!r}") from exc
        if len(self._moves) != 1:
            self._drop(sid)
            raise StatechartError(
                f"durable_rules handled the {kind} of '{sid}' to {to} {len(self._moves)} times instead of once"
            )
        return self._moves[0]

    def _drop(self, sid: str) -> None:
        self._states.pop(sid, None)
        with contextlib.suppress(Exception):  # a state never created: nothing to free
            self._host.delete_state(self.name, sid)

    def _resident(self, sid: str, current: str | None) -> None:
        """Make ``sid`` resident in durable_rules at ``current``, evicting the oldest."""
        if sid in self._states:
            self._states.move_to_end(sid)
            return
        while len(self._states) >= self.resident:
            oldest = next(iter(self._states))
            self._drop(oldest)
        self._states[sid] = None
        if current is not None:
            self._post(sid, "restore", current)

    def move(self, account_id: str, current: str | None, to: str) -> tuple[str, bool]:
        """Move an account's stage; (the stage it came from, whether the move is allowed)."""
        self._resident(account_id, current)
        frm, target, legal = self._post(account_id, "stage", to)
        if target != to or (current is not None and frm != current):
            self._drop(account_id)
            raise StatechartError(
                f"the statechart of '{account_id}' was at {frm}, the folded facts say {current or INITIAL}"
            )
        return frm, legal

    def close(self) -> None:
        """Free every state this chart holds (the ruleset itself cannot be unregistered)."""
        for sid in list(self._states):
            self._drop(sid)
