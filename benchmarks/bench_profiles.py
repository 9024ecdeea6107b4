"""What reading an export through a CRM profile costs, per account and in columns.

Builds a flat Salesforce-shaped CSV of N accounts (the scalar facts of
``examples/accounts.jsonl``, repeated with fresh ids, written as ``examples/crm/generate.py``
writes them: picklist labels, "USD 1,234.00" amounts, "66.8%" shares) and the same accounts
under fact names, then times, for each:

- reading the file and the columnar evaluator (``ColumnarEngine.evaluate``), the faster of two
  passes, and how many rows went per account (0 expected: the profile keeps it columnar);
- the per-account batch (``batch.run``) over the raw records.

    .venv/bin/python benchmarks/bench_profiles.py --n 100000

Needs the dataframes extra (polars). Figures: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "crm"))

import generate  # type: ignore[import-not-found]  # noqa: E402
import kamrules  # noqa: E402
from kamrules.portfolio.api import columnar_engine  # noqa: E402
from kamrules.portfolio.batch import Summary, run  # noqa: E402
from kamrules.portfolio.frames import read_table  # noqa: E402
from kamrules.portfolio.sources import read_records  # noqa: E402

AS_OF = dt.date(2026, 11, 1)
NESTED = ("plan", "contacts", "team", "relationships", "restrictions")


def _accounts(n: int) -> list[dict[str, object]]:
    text = (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8")
    base = [json.loads(line) for line in text.splitlines()]
    flat = [{k: v for k, v in a.items() if k not in NESTED} for a in base]
    return [{**flat[i % len(flat)], "id": f"ACC-{i:07d}"} for i in range(n)]


def _write(folder: Path, accounts: list[dict[str, object]]) -> tuple[Path, Path]:
    generate.HERE = folder
    generate.salesforce(accounts)
    crm = folder / "salesforce_accounts.csv"
    with crm.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    keep = [c for c in rows[0] if c not in ("Plan_Last_Reviewed__c", "Account_Plan__c", "Contacts")]
    flat = folder / "flat.csv"
    with flat.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, keep, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    plain = folder / "plain.csv"
    columns = sorted({k for a in accounts for k in a})
    with plain.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(accounts)
    return flat, plain


def _time(label: str, engine: kamrules.Engine, path: Path) -> None:
    compiled = columnar_engine(engine)
    times = []
    for _ in range(2):  # the first pass also compiles the rulebook's columnar form
        start = time.perf_counter()
        table = read_table(path, None, compiled.nested)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = compiled.evaluate(table, AS_OF)
        times.append(time.perf_counter() - start)
    columnar = min(times)
    start = time.perf_counter()
    summary = Summary()
    for _ in run(engine, read_records(path), AS_OF, summary):
        pass
    per_account = time.perf_counter() - start
    print(
        f"{label:<28} columnar {columnar:6.2f} s ({result.per_account_rows:,} rows per account, "
        f"{result.summary.decided:,} decided)   per-account {per_account:6.2f} s ({summary.decided:,} decided)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    engine = kamrules.Engine(kamrules.load_rulebook(ROOT / "rules"))
    with tempfile.TemporaryDirectory() as tmp:
        flat, plain = _write(Path(tmp), _accounts(args.n))
        print(f"{args.n:,} flat accounts, as of {AS_OF}")
        _time("fact names, no profile", engine, plain)
        _time("Salesforce export, --crm", engine.with_profile("salesforce"), flat)


if __name__ == "__main__":
    main()
