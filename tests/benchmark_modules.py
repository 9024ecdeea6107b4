"""The benchmark scripts' data generators, for the tests that check them or share them.

`benchmarks/` is a folder of scripts, not a package: a test loads one by its file name,
registered under that name so that the modules it imports in turn (bench_portfolio imports
nested_portfolio) and pickling by module name find the same module."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.conftest import ROOT


def load_benchmark(name: str) -> ModuleType:
    """The module ``benchmarks/<name>.py``, loaded once per process."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
