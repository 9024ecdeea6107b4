"""The HTTP decision service (``kamrules serve``): FastAPI on uvicorn, hot reload, register.

Needs the ``service`` extra::

    from kamrules.service import ServiceConfig, create_app
    app = create_app(ServiceConfig(rules=Path("rules/"), register="decisions.db"))
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("the decision service needs the service extra: pip install 'kamrules[service]'") from exc

from kamrules.service.app import HASH_HEADER, create_app
from kamrules.service.config import ConfigError, Limits, ServiceConfig, Tokens

__all__ = ["HASH_HEADER", "ConfigError", "Limits", "ServiceConfig", "Tokens", "create_app"]
