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
- Measured here: the C engine keeps at most 1,024 states (one per ``sid``) per ruleset
  (``MemoryError`` past that), each state costs about 0.9 MB of memory, and after
  ``delete_state`` its background dispatch thread reads freed memory (``UnicodeDecodeError``
  in ``start_action``). So the chart never deletes a state and never keeps one per account:
  it runs one ``sid`` as a transition function. Before moving an account whose stage is not the
  state the chart is in, a ``restore`` event (a trigger from every state to every state) puts
  the chart at the account's stage, read from its folded facts, which are the truth. Memory
  stays flat however many accounts pass, and a restore costs one more ``post``.
- durable_rules' timers count wall-clock seconds and are polled; they are not used. Business
  time is the monitor's (event dates and ``clock.tick``).
"""

from __future__ import annotations

import itertools
import threading
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
    """The stage statechart, run for one account at a time on one durable_rules ``sid``."""

    SID = "chart"

    def __init__(self, allowed: frozenset[tuple[str, str]]) -> None:
        self.allowed = allowed
        self.name = f"kamrules_stage_{next(_NAMES)}"
        self._moves: list[tuple[str, str, bool]] = []
        self._holds: str | None = None
        """The state the ``sid`` is in, or None when unsure: a restore is needed only when
        the account to move is at another stage (a transition function has no other memory)."""
        self._host = _host()
        self._host.register_rulesets({f"{self.name}$state": self._definition()})

    def _record(self, frm: str, to: str, legal: bool) -> Any:
        moves = self._moves

        def action(c: Any) -> None:
            moves.append((frm, to, legal))

        return action

    def _definition(self) -> dict[str, Any]:
        # durable_rules takes the state without incoming edges as the start: "start" is only
        # ever left by a restore; INITIAL (no stage yet) can be restored to, so it has edges.
        chart: dict[str, Any] = {"start": {}}
        for i, target in enumerate((INITIAL, *STAGES)):
            chart["start"][f"r_{i}"] = {
                "all": [{"m": {"$and": [{"k": "restore"}, {"to": target}]}}],
                "run": self._record("start", target, True),
                "to": target,
            }
        for state in (INITIAL, *STAGES):
            triggers: dict[str, Any] = {}
            for i, target in enumerate(STAGES):
                legal = state in (INITIAL, target) or (state, target) in self.allowed
                triggers[f"t_{i}"] = {
                    "all": [{"m": {"$and": [{"k": "stage"}, {"to": target}]}}],
                    "run": self._record(state, target, legal),
                    "to": target,
                }
            for i, target in enumerate((INITIAL, *STAGES)):
                triggers[f"r_{i}"] = {
                    "all": [{"m": {"$and": [{"k": "restore"}, {"to": target}]}}],
                    "run": self._record(state, target, True),
                    "to": target,
                }
            chart[state] = triggers
        return chart

    def _post(self, kind: str, to: str) -> tuple[str, str, bool]:
        self._moves.clear()
        try:
            self._host.post(self.name, {"sid": self.SID, "k": kind, "to": to})
        except Exception as exc:  # MessageNotHandledException: never silent
            self._holds = None
            raise StatechartError(f"durable_rules refused the {kind} to {to}: {exc!r}") from exc
        if len(self._moves) != 1:
            self._holds = None
            raise StatechartError(f"durable_rules ran {len(self._moves)} actions for the {kind} to {to}, not one")
        return self._moves[0]

    def move(self, account_id: str, current: str | None, to: str) -> tuple[str, bool]:
        """Move an account's stage; (the stage it came from, whether the move is allowed)."""
        if self._holds != (current or INITIAL):
            self._holds = None
            self._post("restore", current or INITIAL)
        frm, target, legal = self._post("stage", to)
        if target != to or frm != (current or INITIAL):
            self._holds = None
            raise StatechartError(
                f"the statechart of '{account_id}' was at {frm}, the folded facts say {current or INITIAL}"
            )
        self._holds = to
        return frm, legal
