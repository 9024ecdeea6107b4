"""The account monitor's throughput and memory: a realistic CRM event mix over 10,000 accounts.

Each of 10,000 accounts (the 300 example accounts under new ids) is first loaded through
events (``events_for_record``: facts, plan, contacts, stage). Then a mix of events runs
through ``Monitor.handle``, in the proportions a CRM feed has (fact patches and meetings
most, reviews, contact changes and stage moves less, one ``clock.tick`` per business day),
each re-deciding its account with the default rulebook and raising its alerts.

    python benchmarks/bench_monitor.py                       # 10,000 accounts, 200,000 mixed events
    python benchmarks/bench_monitor.py --events 1000000      # the memory run: RSS after 1M events
    python benchmarks/bench_monitor.py --json out.json

Single-threaded, pinned to one CPU (``--no-pin`` to leave it free). Figures: events/s of the
mixed phase, by the wall clock and by the process's CPU time (on a shared machine the CPU
time says what one free core would do), and resident memory (RSS, from /proc) after the
first load and at each quarter of the mixed phase: flat memory means no growth per event
once every account has been seen. The garbage collector is handled as ``kamrules watch``
handles it (``collector_settled``: the state frozen after the load and every
``SETTLE_EVERY`` events, and each event's young objects collected and the survivors frozen
after it, ``settle_event``); ``--gc default`` leaves CPython's defaults, for comparison.

Each event re-decides its account with ``Engine.evaluate_after``, which keeps the results of
the rules that read nothing the event changed (docs/decisions.md, entry 45);
``--full-evaluate`` decides every event with a whole ``Engine.evaluate`` instead, for
comparison (the alerts are the same: ``--digest`` prints a hash of every alert and decision).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import kamrules
from kamrules.collector import collector_settled, settle_event
from kamrules.monitor.events import events_for_record
from kamrules.monitor.monitor import EventRefusedError, Monitor
from kamrules.monitor.watch import SETTLE_EVERY

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_THRESHOLDS = gc.get_threshold()
START = dt.date(2026, 11, 1)
STAGES = ["pre_sales", "contract_negotiation", "implementation_delivery", "review", "exploitation"]
MIX = [  # (kind, weight)
    ("account.updated", 30),
    ("meeting.logged", 25),
    ("contact.updated", 15),
    ("plan.updated", 10),
    ("plan.reviewed", 8),
    ("stage.changed", 5),
    ("contact.left+added", 5),
    ("override", 2),
]


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def stored(monitor: Monitor) -> dict[str, int]:
    """What the monitor holds that events add to by design: the plans' review logs (a review
    is a fact kept in the plan), contacts, and the bounded memories of recent event ids and
    of wake dates. Memory growing with these, and not otherwise, is flat per event."""
    accounts = monitor.accounts.values()
    return {
        "reviews": sum(len((a.facts.get("plan") or {}).get("reviews") or []) for a in accounts),
        "contacts": sum(len(a.facts.get("contacts") or []) for a in accounts),
        "event_ids": sum(len(a.seen) for a in accounts),
        "wake_dates": len(monitor._wakes),
    }


def accounts(n: int) -> list[dict[str, Any]]:
    base = [
        json.loads(line) for line in (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    out = []
    for i in range(n):
        record = dict(base[i % len(base)])
        record["id"] = f"BENCH-{i:05d}"
        record["contacts"] = [{**c, "id": f"{record['id']}-{c['id']}"} for c in record.get("contacts") or []]
        out.append(record)
    return out


def targets(records: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """What the event generator needs of the accounts: ids and contact ids, not the records
    (which would count in the memory figures as if the monitor held them)."""
    return [(r["id"], [c["id"] for c in r.get("contacts") or []]) for r in records]


def mixed_events(accounts: list[tuple[str, list[str]]], count: int, per_day: int, seed: int) -> Any:
    """``count`` events of the mix; a clock.tick opens each business day of ``per_day`` events."""
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    contacts = {aid: list(people) for aid, people in accounts}
    day = START
    for n in range(count):
        if n % per_day == 0:
            day += dt.timedelta(days=1)
            yield {
                "id": f"tick-{n}",
                "type": "clock.tick",
                "occurred_at": day.isoformat(),
                "source": "b",
                "date": day.isoformat(),
            }
            continue
        aid = accounts[rng.randrange(len(accounts))][0]
        common = {"id": f"e{n}", "account_id": aid, "occurred_at": day.isoformat(), "source": "bench"}
        kind = rng.choice(kinds)
        people = contacts[aid]
        if kind == "account.updated":
            yield {
                **common,
                "type": kind,
                "facts": {
                    "annual_revenue": rng.randrange(100_000, 30_000_000),
                    "relationship_strength": rng.randint(1, 5),
                },
            }
        elif kind == "meeting.logged" and people:
            yield {**common, "type": kind, "date": day.isoformat(), "contact_ids": [rng.choice(people)]}
        elif kind == "contact.updated" and people:
            yield {
                **common,
                "type": kind,
                "contact_id": rng.choice(people),
                "changes": {"stance": rng.choice(["supporter", "neutral", "non_supporter"])},
            }
        elif kind == "plan.updated":
            yield {
                **common,
                "type": kind,
                "plan": {"revenue_actual": rng.randrange(0, 5_000_000), "actuals_updated": day.isoformat()},
            }
        elif kind == "plan.reviewed":
            yield {**common, "type": kind, "kind": rng.choice(["mentor", "joint", "team"]), "date": day.isoformat()}
        elif kind == "stage.changed":
            yield {**common, "type": kind, "to": rng.choice(STAGES)}
        elif kind == "contact.left+added" and people:
            gone = people.pop(rng.randrange(len(people)))
            yield {**common, "type": "contact.left", "contact_id": gone}
            new = f"{aid}-N{n}"
            people.append(new)
            yield {
                **common,
                "id": f"e{n}b",
                "type": "contact.added",
                "contact": {
                    "id": new,
                    "name": f"New {n}",
                    "role": rng.choice(["decision_maker", "user"]),
                    "stance": "neutral",
                    "influence": rng.randint(1, 5),
                },
            }
        elif kind == "override":
            expires = (day + dt.timedelta(days=rng.randint(5, 90))).isoformat()
            yield {
                **common,
                "type": "override.granted",
                "tier": rng.choice(["Gold", "Silver", "Bronze"]),
                "reason": "bench",
                "approver": "bench",
                "expires": expires,
            }
        else:
            yield {**common, "type": "account.updated", "facts": {"growth_potential": rng.randint(1, 5)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-day", type=int, default=5_000, help="events per business day (one tick each)")
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--gc", choices=["watch", "default"], default="watch", help="the collector as watch sets it")
    parser.add_argument("--full-evaluate", action="store_true", help="decide with Engine.evaluate, keeping nothing")
    parser.add_argument("--digest", action="store_true", help="print a hash of the alerts and final decisions")
    args = parser.parse_args()
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    monitor = Monitor(kamrules.load_rulebook(args.rules))
    if args.full_evaluate:
        engine = monitor.engine
        engine.evaluate_after = lambda previous, record, as_of: engine.evaluate(record, as_of)  # type: ignore[method-assign]
    digest = hashlib.sha256()
    records = accounts(args.accounts)
    t0 = time.perf_counter()
    loaded = 0
    with collector_settled():
        if args.gc == "default":
            gc.unfreeze()
            gc.set_threshold(*DEFAULT_THRESHOLDS)
        for record in records:
            for event in events_for_record(record, START.isoformat(), "load", f"load-{record['id']}"):
                monitor.handle(event)
                loaded += 1
    load_s = time.perf_counter() - t0
    plan = targets(records)
    del records[:]  # the generator keeps only ids and contact ids
    gc.collect()
    figures: dict[str, Any] = {
        "accounts": args.accounts,
        "load_events": loaded,
        "load_events_per_s": round(loaded / load_s),
        "rss_mb_after_load": round(rss_mb(), 1),
    }
    print(f"first load: {loaded:,} events in {load_s:.1f} s ({loaded / load_s:,.0f}/s), RSS {rss_mb():.0f} MB")
    quarters = {args.events * q // 4 for q in (1, 2, 3, 4)}
    handled = alerts = refused = 0
    memory = []
    kept: list[dict[str, int]] = []
    with collector_settled() as settle:
        if args.gc == "default":
            gc.unfreeze()
            gc.set_threshold(*DEFAULT_THRESHOLDS)
        t0, c0 = time.perf_counter(), time.process_time()
        for event in mixed_events(plan, args.events, args.per_day, seed=7):
            try:
                raised = monitor.handle(event)
            except EventRefusedError:
                refused += 1
            else:
                alerts += len(raised)
                if args.digest:
                    for alert in raised:
                        digest.update(alert.model_dump_json().encode())
            handled += 1
            if args.gc == "watch":
                settle_event()
                if handled % SETTLE_EVERY == 0:
                    settle()
            if handled in quarters:
                elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
                memory.append(round(rss_mb(), 1))
                kept.append(stored(monitor))
                print(
                    f"{handled:>10,} events  {handled / elapsed:>8,.0f} events/s  ({handled / cpu:,.0f}/s of CPU time)"
                    f"  RSS {memory[-1]:,.0f} MB  {alerts:,} alerts, {refused:,} refused; stored: {kept[-1]}"
                )
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if args.digest:
        for account_id in sorted(monitor.accounts):
            outcome = monitor.accounts[account_id].outcome
            digest.update((outcome.decision_json() if outcome is not None else "undecided").encode())
    figures.update(
        full_evaluate=args.full_evaluate,
        digest=digest.hexdigest()[:16] if args.digest else None,
        events=handled,
        events_per_s=round(handled / elapsed),
        events_per_cpu_s=round(handled / cpu),
        alerts=alerts,
        refused=refused,
        rss_mb_by_quarter=memory,
        stored_by_quarter=kept,
        gc=args.gc,
        load_average=os.getloadavg()[0],
        python=sys.version.split()[0],
    )
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
