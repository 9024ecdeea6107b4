"""A mutation sample of the core semantics: how many small changes to the code the tests notice.

A dependency-free stand-in for a mutation tool (mutmut, cosmic-ray), written because a full
mutmut run re-runs the suite for each of several thousand mutants, which this project's two
shared CPU cores cannot do in a session. It makes the mutants such tools make (a comparison
turned into its neighbour, ``+`` into ``-``, ``and`` into ``or``, a constant moved by one,
``True`` into ``False``), draws a seeded random sample of them from the files given, and runs
the tests that state those files' rules against each mutant from a copy of ``src``. A mutant
is *killed* when a test fails, *survives* when all pass, and times out otherwise.

    nice .venv/bin/python benchmarks/mutation_sample.py --sample 40 --seed 12 \\
        src/kamrules/evaluation src/kamrules/portfolio/capacity.py

The result is written to docs/mutation.md by hand, with the date, load and commit.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/evaluation",
    "tests/portfolio/test_capacity.py",
    "tests/workbench/test_counterfactual.py",
    "tests/rulebook/test_hostile_rules.py",
]
SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


@dataclass(frozen=True)
class Mutant:
    file: Path
    index: int
    line: int
    what: str


def _sites(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    sites: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sites += [(node, f"compare {i}") for i, op in enumerate(node.ops) if type(op) in SWAPS]
        elif isinstance(node, ast.BinOp | ast.BoolOp) and type(node.op) in SWAPS:
            sites.append((node, "operator"))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites.append((node, "constant"))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            sites.append((node, "boolean"))
    return sites


def mutants(paths: list[Path]) -> list[Mutant]:
    found: list[Mutant] = []
    for path in paths:
        for file in sorted(path.rglob("*.py") if path.is_dir() else [path]):
            tree = ast.parse(file.read_text(encoding="utf-8"))
            for index, (node, kind) in enumerate(_sites(tree)):
                found.append(Mutant(file, index, getattr(node, "lineno", 0), kind))
    return found


def apply(mutant: Mutant) -> str:
    tree = ast.parse(mutant.file.read_text(encoding="utf-8"))
    node, kind = _sites(tree)[mutant.index]
    if kind.startswith("compare"):
        assert isinstance(node, ast.Compare)
        i = int(kind.split()[1])
        node.ops[i] = SWAPS[type(node.ops[i])]()
    elif kind == "operator":
        assert isinstance(node, ast.BinOp | ast.BoolOp)
        node.op = SWAPS[type(node.op)]()  # type: ignore[assignment]
    elif kind == "constant":
        assert isinstance(node, ast.Constant)
        node.value = node.value + 1
    else:
        assert isinstance(node, ast.Constant)
        node.value = not node.value
    return ast.unparse(tree)


def run(mutant: Mutant, timeout: float) -> str:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "src"
        shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__"))
        target = copy / mutant.file.relative_to(ROOT / "src")
        target.write_text(apply(mutant), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow", *TESTS]
        try:
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return "timeout"
        return "survived" if done.returncode == 0 else "killed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    every = mutants([p.resolve() for p in args.paths])
    chosen = random.Random(args.seed).sample(every, min(args.sample, len(every)))
    chosen.sort(key=lambda m: (m.file, m.line))
    print(f"{len(every)} mutants in all; sampling {len(chosen)} (seed {args.seed})", flush=True)
    counts: dict[str, int] = {}
    started = time.perf_counter()
    for mutant in chosen:
        outcome = run(mutant, args.timeout)
        counts[outcome] = counts.get(outcome, 0) + 1
        print(f"{outcome:8} {mutant.file.relative_to(ROOT)}:{mutant.line} {mutant.what}", flush=True)
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    elapsed = time.perf_counter() - started
    print(f"killed {killed} of {len(chosen)} ({killed / len(chosen):.0%}): {counts}; {elapsed:.0f} s")


if __name__ == "__main__":
    main()
