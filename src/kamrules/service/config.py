"""What a service process is started with: rules, register, tokens, limits."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from kamrules.errors import KamrulesError


class ConfigError(KamrulesError):
    """The service cannot start as configured; the message says which setting is wrong."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one request; each breach has its own status code and message."""

    max_body_bytes: int = 4 * 1024 * 1024
    """413 above this."""
    max_records: int = 1000
    """413 above this many accounts in one request."""
    max_depth: int = 32
    """400 when the JSON nests deeper (a contact list inside an account is 3 levels)."""
    request_seconds: float = 10.0
    """503 when deciding a request takes longer."""
    inline_bytes: int = 64 * 1024
    """A request for one account with a body up to this size is decided on the event loop
    itself: handing a ~0.2 ms decision to a worker thread and back costs more than the
    decision (two GIL hand-offs), and the size bounds how long the loop is held (a few ms
    for an account with hundreds of contacts). Larger requests and lists go to worker threads."""


@dataclass(frozen=True)
class Tokens:
    """Named bearer tokens. Only SHA-256 digests are kept, and every presented token is
    compared with every digest in constant time, so neither a token's length nor its
    position in the file leaks through timing."""

    digests: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def parse(cls, text: str, origin: str) -> Tokens:
        """``name=token`` pairs, one per line or separated by commas; ``#`` starts a comment."""
        pairs: list[tuple[str, bytes]] = []
        names: set[str] = set()
        for number, line in enumerate(text.replace(",", "\n").splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, token = line.partition("=")
            name, token = name.strip(), token.strip()
            if not sep or not name or not token:
                raise ConfigError(f"{origin}: entry {number} is not name=token")
            if len(token) < 16:
                raise ConfigError(f"{origin}: the token of '{name}' is shorter than 16 characters")
            if name in names:
                raise ConfigError(f"{origin}: the name '{name}' is given twice; each token needs its own name")
            names.add(name)
            pairs.append((name, hashlib.sha256(token.encode("utf-8")).digest()))
        return cls(tuple(pairs))

    @classmethod
    def from_sources(cls, file: Path | None, env_var: str = "KAMRULES_TOKENS") -> Tokens:
        parts: list[tuple[str, bytes]] = []
        if file is not None:
            try:
                parts.extend(cls.parse(file.read_text(encoding="utf-8"), str(file)).digests)
            except OSError as exc:
                raise ConfigError(f"cannot read the tokens file '{file}': {exc.strerror}") from None
        value = os.environ.get(env_var)
        if value:
            parts.extend(cls.parse(value, f"${env_var}").digests)
        names = [name for name, _ in parts]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise ConfigError(f"the token name '{duplicate}' is given twice (file and ${env_var})")
        return cls(tuple(parts))

    def __bool__(self) -> bool:
        return bool(self.digests)

    def caller(self, presented: str) -> str | None:
        """The name of the token presented, or None."""
        digest = hashlib.sha256(presented.encode("utf-8")).digest()
        found: str | None = None
        for name, expected in self.digests:
            if hmac.compare_digest(digest, expected) and found is None:
                found = name
        return found


@dataclass(frozen=True)
class ServiceConfig:
    rules: Path
    register: str | None = None
    """A SQLite file or database URL; None keeps no register (and serves no history)."""
    store_facts: bool = True
    tokens: Tokens = field(default_factory=Tokens)
    time_zone: str = "UTC"
    """Where "today" is when a request gives no as-of date."""
    limits: Limits = field(default_factory=Limits)
    watch: bool = True
    """Reload when a rule file changes (watchfiles); POST /v1/rulebook/reload works either way."""
    crm: str | None = None
    """A CRM profile (a shipped profile's name or a file) that posted records are read
    through, as ``evaluate --crm``; read again, and checked against the rulebook, on every
    reload."""
