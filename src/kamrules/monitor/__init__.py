"""The account monitor: CRM events in, explained alerts out (extra ``reactive``).

``kamrules.monitor.events`` needs only pydantic; the monitor itself runs the relationship
stage statechart on durable_rules, which only the ``reactive`` extra installs, so it is
imported when first used and never by ``import kamrules``.
"""

from __future__ import annotations

from typing import Any

from kamrules.monitor.events import EVENT_TYPES, Event, RefusedEvent, events_json_schema, parse_event, parse_event_line

__all__ = [
    "EVENT_TYPES",
    "Event",
    "RefusedEvent",
    "events_json_schema",
    "parse_event",
    "parse_event_line",
]


def __getattr__(name: str) -> Any:
    if name in ("Monitor", "Alert"):
        from kamrules.monitor import monitor

        return getattr(monitor, name)
    raise AttributeError(name)
