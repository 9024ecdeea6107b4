"""How a rulebook travels to Spark executors: as the text of its YAML files, with its hash.

Nothing kamrules builds is pickled: an executor gets plain strings (each rule file's name and
text, the CRM profile's text, the rulebook's content hash, the kamrules version and the as-of
date), loads the rulebook from them exactly as ``kamrules validate`` would, and checks that
its content hash is the one the driver computed. A kamrules on the executor that reads the
same files differently (another version, say) stops the job with both hashes named, instead
of deciding with other rules. The compiled engine is kept per executor process by hash, so a
Python worker compiles the rulebook once, whatever the number of partitions it runs.

This module needs neither pyspark nor polars; the payload is a plain ``dict``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamrules._version import __version__
from kamrules.errors import KamrulesError

if TYPE_CHECKING:
    from kamrules.columnar.engine import ColumnarEngine
    from kamrules.evaluation.engine import Engine
    from kamrules.rulebook import Rulebook

Payload = dict[str, Any]
"""What a Spark task receives: ``files`` ([name, text] pairs in load order), ``hash``,
``profile`` ([name, text] or None), ``profile_hash``, ``version`` and ``as_of`` (ISO date)."""


class ShippingError(KamrulesError):
    """The rulebook an executor loaded is not the one the driver shipped."""


def payload(rulebook: str | Path | Rulebook, as_of: dt.date, crm: str | Path | None = None) -> Payload:
    """The payload of a rulebook folder or file (or a :class:`Rulebook` loaded from files),
    checked on the driver by loading it once."""
    from kamrules.crm.profile import load_profile
    from kamrules.rulebook import Rulebook, load_rulebook
    from kamrules.rulebook.loading import rule_files

    if isinstance(rulebook, Rulebook):
        paths = [Path(s) for s in rulebook.sources]
        if not paths or not all(p.is_file() for p in paths):
            raise ShippingError(
                "a rulebook shipped to Spark executors travels as the text of its rule files: "
                "give the rulebook's folder or file (this one was not loaded from files)"
            )
        loaded = rulebook
    else:
        paths = rule_files(Path(rulebook))
        loaded = load_rulebook(rulebook)
    files = [[p.name, p.read_bytes().decode("utf-8-sig")] for p in paths]
    if len({name for name, _ in files}) != len(files):
        raise ShippingError("the rule files of a rulebook shipped to Spark must have different names")
    shipped: Payload = {
        "files": files,
        "hash": loaded.content_hash,
        "profile": None,
        "profile_hash": None,
        "version": __version__,
        "as_of": as_of.isoformat(),
    }
    if crm is not None:
        profile = load_profile(crm)
        text = _profile_text(crm)
        shipped["profile"] = [profile.source, text]
        shipped["profile_hash"] = profile.content_hash
    return shipped


def _profile_text(crm: str | Path) -> str:
    from importlib import resources

    from kamrules.crm.profile import SHIPPED

    path = Path(crm)
    if path.is_file():
        return path.read_text(encoding="utf-8-sig")
    return resources.files(SHIPPED).joinpath(f"{crm}.yaml").read_text(encoding="utf-8")


_CACHE: dict[tuple[str, str | None], tuple[Engine, ColumnarEngine]] = {}
_LOCK = threading.Lock()


def engines(shipped: Mapping[str, Any]) -> tuple[Engine, ColumnarEngine]:
    """The engine and its columnar form for a payload: loaded from the texts once per
    process, with the content hash checked against the driver's."""
    key = (str(shipped["hash"]), shipped.get("profile_hash"))
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            cached = _CACHE[key] = _load(shipped)
    return cached


def _load(shipped: Mapping[str, Any]) -> tuple[Engine, ColumnarEngine]:
    from kamrules.columnar.engine import ColumnarEngine
    from kamrules.crm.profile import Profile
    from kamrules.evaluation.engine import Engine
    from kamrules.rulebook import load_rulebook

    with tempfile.TemporaryDirectory(prefix="kamrules-rules-") as folder:
        for name, text in shipped["files"]:
            (Path(folder) / name).write_text(text, encoding="utf-8")
        rulebook = load_rulebook(folder)
    if rulebook.content_hash != shipped["hash"]:
        raise ShippingError(
            f"the executor's kamrules {__version__} reads the shipped rulebook with content hash "
            f"{rulebook.content_hash[:19]}..., the driver's kamrules {shipped.get('version')} with "
            f"{str(shipped['hash'])[:19]}...: install the same kamrules on the driver and the executors"
        )
    engine = Engine(rulebook)
    if shipped.get("profile") is not None:
        name, text = shipped["profile"]
        profile = Profile.from_text(text, name)
        if profile.content_hash != shipped.get("profile_hash"):
            raise ShippingError(
                f"the executor's kamrules {__version__} reads the shipped CRM profile '{name}' with another "
                "content hash than the driver: install the same kamrules on the driver and the executors"
            )
        engine = engine.with_profile(profile)
    return engine, ColumnarEngine(engine)
