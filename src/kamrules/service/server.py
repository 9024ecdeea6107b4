"""Running the service under uvicorn, in one process or several workers.

Workers are separate processes, so each builds its own app from the same settings, passed
through an environment variable (uvicorn starts workers by import string, not by object).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kamrules.service.config import ConfigError, Limits, ServiceConfig, Tokens

SETTINGS_VARIABLE = "KAMRULES_SERVICE_SETTINGS"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def settings_json(config: ServiceConfig, tokens_file: Path | None) -> str:
    return json.dumps(
        {
            "rules": str(config.rules),
            "register": config.register,
            "store_facts": config.store_facts,
            "tokens_file": str(tokens_file) if tokens_file else None,
            "time_zone": config.time_zone,
            "limits": asdict(config.limits),
            "watch": config.watch,
            "crm": config.crm,
        }
    )


def config_from_settings(text: str) -> ServiceConfig:
    data: dict[str, Any] = json.loads(text)
    tokens_file = Path(data["tokens_file"]) if data.get("tokens_file") else None
    return ServiceConfig(
        rules=Path(data["rules"]),
        register=data.get("register"),
        store_facts=bool(data.get("store_facts", True)),
        tokens=Tokens.from_sources(tokens_file),
        time_zone=data.get("time_zone", "UTC"),
        limits=Limits(**data.get("limits", {})),
        watch=bool(data.get("watch", True)),
        crm=data.get("crm"),
    )


def app_from_environment() -> Any:
    """The uvicorn factory each worker process calls."""
    from kamrules.service.app import create_app

    text = os.environ.get(SETTINGS_VARIABLE)
    if not text:
        raise ConfigError(f"${SETTINGS_VARIABLE} is not set; start the service with `kamrules serve`")
    return create_app(config_from_settings(text))


def check_binding(host: str, config: ServiceConfig, allow_unauthenticated: bool) -> None:
    """Without tokens, only this machine may connect, unless the operator said otherwise
    with a flag whose name says what it does."""
    if config.tokens or host in LOOPBACK or allow_unauthenticated:
        return
    raise ConfigError(
        f"no bearer token is configured, so the service binds to loopback only, not '{host}': give tokens "
        "(--tokens-file or $KAMRULES_TOKENS) or, to serve everyone on the network without authentication, "
        "--allow-unauthenticated-network-access"
    )


def serve(
    config: ServiceConfig,
    tokens_file: Path | None,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
) -> None:
    import uvicorn

    os.environ[SETTINGS_VARIABLE] = settings_json(config, tokens_file)
    if workers == 1:
        from kamrules.service.app import create_app

        app = create_app(config)  # errors at start-up surface here, before binding
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, server_header=False)
        return
    app_from_environment()  # fail fast, once, before the workers start
    uvicorn.run(
        "kamrules.service.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        server_header=False,
    )
