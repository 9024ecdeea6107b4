"""Plan compliance on one account with a large relationship map.

The article's own example: one account team of five held 1,000 relationships with the
client. This times a full evaluation (selection, the default plan checks, and the explained
decision) of one account as its relationship map grows from 10 to 10,000 contacts and
relationships, to show the cost per account and that it grows linearly.

    python benchmarks/bench_plan.py            # the table
    python benchmarks/bench_plan.py --json out.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import kamrules

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 1)
TEAM = ["Ana Ruiz", "Ben Okafor", "Chloe Martin", "Dev Patel", "Eva Novak"]
ROLES = ["decision_maker", "influencer", "specifier", "user", "gatekeeper", "executive_sponsor", "champion"]
LEVELS = ["board", "executive", "senior_management", "middle_management", "operational"]
STANCES = ["mentor", "supporter", "neutral", "non_supporter", "enemy"]


def gold_account(engine: kamrules.Engine) -> dict[str, Any]:
    """The selection facts of the first Gold account of the examples."""
    for line in (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        if engine.decide(raw, AS_OF).tier == "Gold":
            return {k: v for k, v in raw.items() if k not in ("plan", "contacts", "team", "relationships")}
    raise SystemExit("no Gold account in examples/accounts.jsonl")


def account(base: dict[str, Any], contacts: int, *, compliant: bool = False, seed: int = 7) -> dict[str, Any]:
    """A Gold account at the review stage with a full plan, ``contacts`` contacts and as
    many relationships with a team of five.

    The typical account has one relationship per contact and fails a few relationship
    checks (decision makers known to one of us only, opponents without a mitigation, key
    players not contacted lately), so those checks stop at the first failing contact. The
    compliant one passes every check, so no check can stop early: the worst case. Each of
    its decision makers knows two of us, and as many contacts who are not key players are known to nobody,
    which keeps the relationships at exactly ``contacts``.
    """
    rng = random.Random(seed)

    def day(back: int) -> str:
        return (AS_OF - dt.timedelta(days=rng.randint(0, back))).isoformat()

    people = [
        {
            "id": f"C{i:05d}",
            "name": f"Contact {i}",
            "role": rng.choice(ROLES),
            "level": rng.choice(LEVELS),
            "department": f"Dept {i % 23}",
            "location": f"Site {i % 7}",
            "stance": rng.choice(STANCES),
            "influence": rng.randint(1, 5),
            "owner": TEAM[i % 5],
            "last_contacted": day(80 if compliant else 120),
            "mitigation": "Sponsor a joint workshop" if compliant or i % 3 == 0 else None,
        }
        for i in range(contacts)
    ]
    relationships = [
        {"member": TEAM[i % 5], "contact": p["id"], "strength": rng.randint(1, 5), "last_contact": day(120)}
        for i, p in enumerate(people)
    ]
    if compliant:
        deciders = [(i, p) for i, p in enumerate(people) if p["role"] == "decision_maker"]
        others = [p["id"] for p in people if p["role"] in ("user", "specifier", "gatekeeper") and p["influence"] < 4]
        unknown = set(others[: len(deciders)])
        assert len(unknown) == len(deciders), "too few contacts who are not key players"
        relationships = [r for r in relationships if r["contact"] not in unknown] + [
            {"member": TEAM[(i + 1) % 5], "contact": p["id"], "strength": 3, "last_contact": day(120)}
            for i, p in deciders
        ]
    plan = {
        "owner": TEAM[0], "status": "active", "version": 3, "last_updated": day(30), "last_reviewed": day(50),
        "mentor": "Mia Lang", "horizon_months": 36, "buying_process": "Central procurement, board sign-off",
        "buying_process_updated": day(200), "financial_requirements": "60-day terms",
        "legal_requirements": "Framework agreement", "business_policies": "Premium pricing",
        "contract_terms": "3 years", "contract_end": "2028-06-30", "order_processing": "EDI",
        "development_plan": "Expand to two new sites", "revenue_target": 12_000_000, "margin_target_pct": 32,
        "revenue_actual": 9_000_000, "margin_actual_pct": 30, "actuals_updated": day(60),
        "objectives": [{"title": f"Objective {k}", "owner": TEAM[k % 5], "due": "2027-03-31", "status": "on_track"}
                       for k in range(6)],
        "customer_objectives": [{"description": f"Goal {k}", "updated": day(150)} for k in range(4)],
        "competitors": [{"name": f"Rival {k}", "position": "strong", "assessed": day(150)} for k in range(3)],
        "service_metrics": [{"name": "On-time delivery", "target": 98, "actual": 97, "measured": day(60)}],
        "growth_opportunities": [{"title": "New site", "value": 2_000_000, "identified": day(300)}],
        "management_feedback": [{"date": day(150), "summary": "Growth potential high"}],
        "reviews": [{"date": day(50), "kind": "mentor", "reviewer": "Mia Lang", "version": 3},
                    {"date": day(90), "kind": "joint", "reviewer": "Customer", "version": 3}],
        "sign_offs": [{"member": m, "version": 3, "date": day(40)} for m in TEAM],
    }
    return {**base, "id": f"BIG-{contacts}", "stage": "review", "team": [{"name": m} for m in TEAM],
            "contacts": [{k: v for k, v in p.items() if v is not None} for p in people],
            "relationships": relationships, "restrictions": [], "plan": plan}


def measure(engine: kamrules.Engine, raw: dict[str, Any], repeat: int) -> dict[str, float]:
    """Medians of ``repeat`` runs of each operation, in ms, each timed in its own loop so
    that one does not pay for the garbage or the cache misses of another: ``evaluate``
    (the hot path), ``explained`` (the same and the explained ``Decision``) and
    ``validate`` (turning the raw dict into a record)."""
    record = engine.validate(raw)
    engine.evaluate(record, AS_OF).decision()  # warm up

    def timed(run: Any) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    return {
        "evaluate": timed(lambda: engine.evaluate(record, AS_OF)),
        "explained": timed(lambda: engine.evaluate(record, AS_OF).decision()),
        "validate": timed(lambda: engine.validate(raw)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    engine = kamrules.Engine(kamrules.load_rulebook(ROOT / "rules"))
    print(f"default rulebook: {len(engine.checks)} plan checks; times are medians of {args.repeat} runs, in ms")
    print(
        f"{'account':>10} {'contacts':>9} {'relationships':>13} {'evaluate':>9} {'explained':>10} "
        f"{'validate':>9} {'us/contact':>11}  status"
    )
    results = []
    base = gold_account(engine)
    for compliant in (False, True):
        for size in (int(s) for s in args.sizes.split(",")):
            raw = account(base, size, compliant=compliant)
            decision = engine.decide(raw, AS_OF)
            assert decision.compliance is not None and decision.tier == "Gold", (decision.tier, decision.summary)
            status = decision.compliance.status
            assert (status == "compliant") == compliant, (compliant, status)
            figures = measure(engine, raw, args.repeat)
            per_contact = figures["explained"] * 1000 / size
            kind = "compliant" if compliant else "typical"
            print(
                f"{kind:>10} {size:>9,} {len(raw['relationships']):>13,} {figures['evaluate']:>9.3f} "
                f"{figures['explained']:>10.3f} {figures['validate']:>9.3f} {per_contact:>11.2f}  {status}"
            )
            results.append({"account": kind, "contacts": size, **figures, "status": status})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
