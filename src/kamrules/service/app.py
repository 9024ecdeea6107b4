"""The HTTP API: ``create_app(config)`` builds the FastAPI application.

Decision JSON is never re-encoded here: a decision's bytes are those of
``Decision.model_dump_json()``, the same call ``kamrules evaluate --format jsonl`` makes, and a
batch is those bytes joined. Each request takes the serving rulebook snapshot once
(:mod:`kamrules.service.state`), decides off the event loop, records its decisions in the
register and commits before the response is sent.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at
# run time, and some name aliases local to create_app.

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kamrules._version import __version__
from kamrules.collector import freeze_long_lived, long_lived_frozen
from kamrules.evaluation.engine import Outcome, account_error
from kamrules.explanation.decision import AccountError, Decision, FieldError
from kamrules.explanation.plan_reports import action_rows, plan_document
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.capacity import place_outcome
from kamrules.service.config import ConfigError, ServiceConfig
from kamrules.service.metrics import Metrics
from kamrules.service.models import (
    CrmBatch,
    CrmDecision,
    DecisionBatch,
    ErrorBody,
    Explained,
    ExplainedBatch,
    Health,
    History,
    PlanCheck,
    PlanCheckBatch,
    ReloadResult,
    RulebookInfo,
)
from kamrules.service.state import Loaded, RulebookState
from kamrules.suggestions import did_you_mean

log = logging.getLogger("kamrules.service")

HASH_HEADER = "X-Kamrules-Rulebook-Hash"
AS_OF_HEADER = "X-Kamrules-As-Of"
REQUEST_ID_HEADER = "X-Request-Id"
Decided = tuple[Outcome, str, Mapping[str, Any]]
"""A decided record: the outcome, its decision JSON, and the facts it was decided from."""
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not JSON, or nests too deep."},
    401: {"model": ErrorBody, "description": "No valid bearer token."},
    413: {"model": ErrorBody, "description": "The body or the number of records is over the limit."},
    422: {"model": ErrorBody, "description": "Invalid record(s), with the CLI's field paths and wording."},
    503: {"model": ErrorBody, "description": "Not recorded in the register, or over the time limit."},
}
ACCOUNTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "object", "description": "One account record (CRM columns or fact names)."},
                        {"type": "array", "items": {"type": "object"}, "description": "A list of account records."},
                    ]
                }
            }
        },
    }
}
ONE_ACCOUNT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "One account record."}}},
    }
}


class ApiError(Exception):
    """An error response: a status, a stable code and a message a person can act on."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = extra.pop("headers", {})


class TimedOut(TimeoutError):
    """A request's work passed its deadline; raised between records (or between "what would
    it take" searches) in the worker thread, so the thread stops."""


def past(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimedOut


class Service:
    """Everything a request needs, shared by the worker threads."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        try:
            self.zone = ZoneInfo(config.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone '{config.time_zone}' (use a name like Europe/Berlin)") from None
        self.metrics = Metrics()
        self.register: Any = None
        self.writer: Any = None  # a WriterLink once the app has started (see start)
        if config.register is not None:
            from kamrules.register import Register

            self.register = Register(config.register, store_facts=config.store_facts)
        self.state = RulebookState(config.rules, self._with_register, self._reloaded, config.crm)
        self.stop = threading.Event()

    def _with_register(self, loaded: Loaded) -> Loaded:
        """Store a new rulebook's files in the register as it is loaded (so the stored text is
        the text that was compiled), and pick the placement single accounts are placed against."""
        if self.register is None:
            return loaded
        self.register.store_rulebook(loaded.rulebook)
        if loaded.engine.has_capacity:
            placement = self.register.latest_placement(loaded.engine)
            if placement is not None:
                return Loaded(loaded.rulebook, loaded.engine, loaded.loaded_at, loaded.files, placement)
        return loaded

    def _reloaded(self, result: str) -> None:
        self.metrics.reloaded(result)
        if result == "changed":
            freeze_long_lived()  # the new rulebook out of the collector's walks, the old one freed

    def today(self) -> dt.date:
        return dt.datetime.now(self.zone).date()

    async def close(self) -> None:
        """Stop watching, let the writer process commit what was sent and exit, close the register."""
        self.stop.set()
        if self.writer is not None:
            await self.writer.close()
        if self.register is not None:
            self.register.close()

    # -- deciding ------------------------------------------------------------------------------

    def decide(
        self, loaded: Loaded, records: list[Any], as_of: dt.date, deadline: float | None = None
    ) -> tuple[list[Decided], list[AccountError]]:
        """Decide each record in order: (outcome, its decision JSON, its facts) or an error
        record. The JSON is ``Outcome.decision_json()``, the library's encoder, byte for byte
        ``decision().model_dump_json()`` and what ``evaluate --format jsonl`` writes.

        Past ``deadline`` (``time.monotonic()``) it stops before the next record: a request
        that timed out has been answered 503 already, and its worker thread must not go on
        deciding for nobody."""
        engine = loaded.engine
        placement = loaded.placement if engine.has_capacity else None
        decided: list[Decided] = []
        errors: list[AccountError] = []
        for number, raw in enumerate(records, start=1):
            past(deadline)
            if not isinstance(raw, dict):
                message = f"record {number} is not a JSON object (an account is an object of facts)"
                errors.append(
                    AccountError(
                        record=number,
                        account_id=None,
                        errors=[FieldError(field="(record)", message="is not a JSON object")],
                        message=message,
                    )
                )
                continue
            try:
                outcome = engine.evaluate(engine.validate(raw), as_of)
                if placement is not None:
                    outcome = place_outcome(engine, outcome, placement)
            except InvalidRecord as exc:
                errors.append(account_error(number, exc))
                continue
            decided.append((outcome, outcome.decision_json(), raw))
        return decided, errors

    def prepare(
        self, loaded: Loaded, decided: list[Decided], caller: str, request_id: str
    ) -> list[dict[str, Any]] | None:
        """The decisions' register rows, encoded in the thread that decided them (None
        without a register); :meth:`committed` sends them to the writer process and waits
        for their commit before anything is answered."""
        for outcome, _, _ in decided:
            self.metrics.decisions.labels(outcome.tier).inc()
        if self.register is None or not decided:
            return None
        from kamrules.register import Entry, RegisterError

        try:
            rows: list[dict[str, Any]] = self.register.rows(
                loaded.rulebook,
                [Entry.of_outcome(o, text) for o, text, _ in decided],
                source="service",
                caller=caller,
                request_id=request_id,
            )
        except RegisterError as exc:
            raise self._not_recorded(request_id, exc) from None
        return rows

    async def start(self) -> None:
        """Start the register's writer process (on the running event loop, which reads its answers)."""
        if self.register is None:
            return
        from kamrules.register.writer import WriterLink

        self.writer = WriterLink(self.register.url, self.metrics.writer_changed)
        await self.writer.start()

    async def committed(self, rows: list[dict[str, Any]] | None, request_id: str, seconds: float) -> list[int] | None:
        """The decisions' register ids once their transaction has committed: only then may
        they be answered (a decision acknowledged to a client is durable). Runs on the event
        loop, which sends the rows to the writer process and reads its answer."""
        if rows is None:
            return None
        from kamrules.register import RegisterError

        if self.writer is None:
            raise self._not_recorded(request_id, RegisterError("the register's writer process was not started"))
        sent = time.perf_counter()
        try:
            ids: list[int] = await asyncio.wait_for(self.writer.write(rows), max(seconds, 0.001))
        except RegisterError as exc:
            raise self._not_recorded(request_id, exc) from None
        self.metrics.commit_wait.observe(time.perf_counter() - sent)
        return ids

    def _not_recorded(self, request_id: str, exc: Exception) -> ApiError:
        self.metrics.register_failures.inc()
        log.error("register write failed (request %s): %s", request_id, exc)
        return ApiError(
            503,
            "not_recorded",
            "the decision could not be recorded in the register, so it is not given; try again",
            headers={"Retry-After": "1"},
        )

    def info(self, loaded: Loaded) -> RulebookInfo:
        error = self.state.last_error
        return RulebookInfo.model_validate(
            {
                "id": loaded.rulebook.id,
                "version": loaded.rulebook.version,
                "content_hash": loaded.content_hash,
                "rulebook_hash": loaded.content_hash,
                "loaded_at": loaded.loaded_at,
                "files": list(loaded.files),
                "tiers": list(loaded.rulebook.tier_names),
                "placement": loaded.placement.id if loaded.placement is not None else None,
                "profile": loaded.engine.profile,
                "last_reload_error": None
                if error is None
                else {"at": error.at, "message": error.message, "problems": error.problems},
            }
        )


def create_app(config: ServiceConfig) -> FastAPI:
    """The application; raises :class:`ConfigError`, ``RulebookError`` or ``RegisterError``
    when it cannot start (a broken rulebook at start-up is not served)."""
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await service.start()
            if config.watch:
                service.state.watch(service.stop)
            with long_lived_frozen():  # no collector pause walks the loaded heap (decision 42)
                yield
        finally:
            await service.close()

    app = FastAPI(
        title="kamrules decision service",
        version=__version__,
        description=(
            "Key account decisions for CRM workflows: tier, segment, scores and the whole explanation, "
            "from the rulebook this service watches. Every response names the rulebook that made it "
            f"(body and the `{HASH_HEADER}` header)."
        ),
        lifespan=lifespan,
    )
    app.state.kam = service
    app.add_middleware(Observe, service=service)
    _handlers(app, service)
    limits = config.limits

    async def caller(request: Request) -> str:
        # async although it awaits nothing: FastAPI runs a plain `def` dependency in the
        # thread pool, a thread hop per request for a few microseconds of work
        tokens = config.tokens
        if not tokens:
            return "anonymous"
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401,
                "unauthorized",
                "send the header Authorization: Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        name = tokens.caller(token.strip())
        if name is None:
            raise ApiError(
                401,
                "unauthorized",
                "the bearer token is not valid",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return name

    Caller = Annotated[str, Depends(caller)]
    AsOf = Annotated[
        dt.date | None,
        Query(description=f"The date to decide for, YYYY-MM-DD (default: today in {config.time_zone})."),
    ]

    def accounts_of(body: Any) -> tuple[bool, list[Any]]:
        """(one account?, the records): an object is one account, a list is a batch."""
        return _one_or_many(body, limits.max_records, "account", "not_accounts", "records", "too_many_records")

    def begin(request: Request) -> Loaded:
        """The snapshot this request decides with, to its end, whatever reloads meanwhile."""
        loaded = service.state.current
        request.state.rulebook_hash = loaded.content_hash
        return loaded

    def too_slow() -> ApiError:
        return ApiError(
            503, "timeout", f"the request took longer than {limits.request_seconds:g} s; send fewer records"
        )

    async def in_time(
        request: Request,
        work: Callable[[float], Any],
        pending: Callable[[Any], Any] = lambda _: None,
        inline: bool = False,
    ) -> Any:
        """Run ``work(deadline)`` (off the event loop unless ``inline``: see
        ``Limits.inline_bytes``), then send the register rows it made (``pending(result)``)
        to the writer process and wait for their commit, all within the request's time limit. ``work`` checks the
        deadline between records, so a worker thread whose request timed out stops within
        one record's work (one decision, or one "what would it take" search, each bounded
        by the body size limit) instead of computing on for nobody."""
        started = time.monotonic()
        deadline = started + limits.request_seconds
        try:
            if inline:
                result = work(deadline)
            else:
                result = await asyncio.wait_for(run_in_threadpool(work, deadline), limits.request_seconds)
            left = limits.request_seconds - (time.monotonic() - started)
            ids = await service.committed(pending(result), request.state.request_id, left)
        except TimeoutError:
            raise too_slow() from None
        return result, ids

    @app.post(
        "/v1/decisions",
        response_model=Decision | DecisionBatch | CrmDecision | CrmBatch,
        responses={
            **ERRORS,
            200: {"description": "One decision for one account, a batch for a list; flat with ?shape=crm."},
        },
        openapi_extra=ACCOUNTS_BODY,
        summary="Decide one account or a list of accounts",
    )
    async def decisions(
        request: Request,
        who: Caller,
        as_of: AsOf = None,
        shape: Annotated[
            Literal["full", "crm"], Query(description="full: the whole explanation; crm: one flat object per account.")
        ] = "full",
    ) -> Response:
        single, records = accounts_of(await _read_json(request, limits.max_body_bytes, limits.max_depth))
        loaded = begin(request)
        date = as_of or service.today()
        request_id = request.state.request_id

        def work(deadline: float) -> tuple[list[Decided], list[AccountError], list[dict[str, Any]] | None]:
            decided, errors = service.decide(loaded, records, date, deadline)
            return decided, errors, service.prepare(loaded, decided, who, request_id)

        inline = single and request.state.body_bytes <= limits.inline_bytes
        (decided, errors, _), ids = await in_time(request, work, lambda done: done[2], inline)
        headers = {AS_OF_HEADER: date.isoformat()}
        if single:
            if errors:
                raise ApiError(422, "invalid_record", errors[0].message, errors=errors)
            text = decided[0][1]
            if ids:
                headers["X-Kamrules-Decision-Id"] = str(ids[0])
            if shape == "crm":
                text = json.dumps(_crm(loaded, text, ids[0] if ids else None), ensure_ascii=False)
            return Response(text, media_type="application/json", headers=headers)
        if records and not decided:
            raise ApiError(
                422, "invalid_records", f"none of the {len(records):,} records could be decided", errors=errors
            )
        summary = {"records": len(records), "decided": len(decided), "errors": len(errors)}
        error_json = ",".join(e.model_dump_json() for e in errors)
        if shape == "crm":
            rows = ",".join(
                json.dumps(_crm(loaded, t, ids[i] if ids else None), ensure_ascii=False)
                for i, (_, t, _) in enumerate(decided)
            )
            text = (
                f'{{"as_of":"{date.isoformat()}","rulebook_hash":"{loaded.content_hash}","decisions":[{rows}],'
                f'"errors":[{error_json}],"summary":{json.dumps(summary)}}}'
            )
        else:
            text = (
                f'{{"as_of":"{date.isoformat()}","rulebook":{loaded.engine.ref.model_dump_json()},'
                f'"decisions":[{",".join(t for _, t, _ in decided)}],"errors":[{error_json}],'
                f'"decision_ids":{json.dumps(ids)},"summary":{json.dumps(summary)}}}'
            )
        return Response(text, media_type="application/json", headers=headers)

    def batch_text(
        loaded: Loaded,
        date: dt.date,
        items: list[str],
        errors: list[AccountError],
        records: int,
        ids: list[int] | None,
    ) -> str:
        """A list's answer: a result per decided account, an error per record that was not
        (results + errors == records), as /v1/decisions answers a list."""
        summary = {"records": records, "decided": len(items), "errors": len(errors)}
        return (
            f'{{"as_of":"{date.isoformat()}","rulebook_hash":"{loaded.content_hash}","results":[{",".join(items)}],'
            f'"errors":[{",".join(e.model_dump_json() for e in errors)}],"decision_ids":{json.dumps(ids)},'
            f'"summary":{json.dumps(summary)}}}'
        )

    async def answer_each(
        request: Request,
        who: Caller,
        as_of: dt.date | None,
        answer: Callable[[Loaded, Outcome, str, dt.date], str],
    ) -> Response:
        """Decide one account or a list, record the decisions, and answer each decided
        account with ``answer(loaded, outcome, decision JSON, date)``."""
        single, records = accounts_of(await _read_json(request, limits.max_body_bytes, limits.max_depth))
        loaded = begin(request)
        date = as_of or service.today()

        def work(deadline: float) -> tuple[list[str], list[AccountError], list[dict[str, Any]] | None]:
            decided, errors = service.decide(loaded, records, date, deadline)
            if single and errors:
                raise ApiError(422, "invalid_record", errors[0].message, errors=errors)
            pending = service.prepare(loaded, decided, who, request.state.request_id)
            items = []
            for outcome, text, _ in decided:
                past(deadline)
                items.append(answer(loaded, outcome, text, date))
            return items, errors, pending

        (items, errors, _), ids = await in_time(request, work, lambda done: done[2])
        headers = {AS_OF_HEADER: date.isoformat()}
        if single:
            return Response(items[0], media_type="application/json", headers=headers)
        if records and not items:
            raise ApiError(
                422, "invalid_records", f"none of the {len(records):,} records could be decided", errors=errors
            )
        return Response(
            batch_text(loaded, date, items, errors, len(records), ids), media_type="application/json", headers=headers
        )

    @app.post(
        "/v1/explain",
        response_model=Explained | ExplainedBatch,
        responses=ERRORS,
        openapi_extra=ACCOUNTS_BODY,
    )
    async def explain(
        request: Request,
        who: Caller,
        as_of: AsOf = None,
        to: Annotated[str | None, Query(description="A tier: say what it would take to reach (or drop to) it.")] = None,
    ) -> Response:
        """An account's decision with its whole explanation, and with ``to``, the verified
        "what would it take" (as `kamrules explain --to`); a list gets one result per account.
        The decisions are recorded like any other; the "what would it take" is advice, not a
        decision, and is not."""
        engine = service.state.current.engine
        if to is not None and to not in engine.tier_index:
            hint = did_you_mean(to, engine.tier_index)
            raise ApiError(422, "unknown_tier", f"there is no tier '{to}'" + (f"; {hint}" if hint else ""))

        def answer(loaded: Loaded, outcome: Outcome, text: str, date: dt.date) -> str:
            taken = "null"
            if to is not None:
                from kamrules.workbench.counterfactual import what_would_it_take

                result = what_would_it_take(loaded.engine, outcome.record, to, date, placement=loaded.placement)
                taken = json.dumps({**result.as_dict(), "text": result.to_text()}, ensure_ascii=False)
            return f'{{"decision":{text},"what_it_takes":{taken},"rulebook_hash":"{loaded.content_hash}"}}'

        return await answer_each(request, who, as_of, answer)

    @app.post(
        "/v1/plans/check",
        response_model=PlanCheck | PlanCheckBatch,
        responses=ERRORS,
        openapi_extra=ACCOUNTS_BODY,
    )
    async def plans_check(request: Request, who: Caller, as_of: AsOf = None) -> Response:
        """An account's plan compliance and the actions that would fix it (as `kamrules
        check-plan`); a list gets one result per account."""

        def answer(loaded: Loaded, outcome: Outcome, text: str, date: dt.date) -> str:
            decision = outcome.decision()
            document = {
                "plan": plan_document(decision),
                "actions": action_rows(decision),
                "rulebook_hash": loaded.content_hash,
            }
            return json.dumps(document, ensure_ascii=False, default=str)

        return await answer_each(request, who, as_of, answer)

    feeds: list[Any] = []  # the account monitor, made on the first POST /v1/events
    feed_lock = threading.Lock()

    @app.post("/v1/events", responses={**ERRORS, 501: {"model": ErrorBody}}, summary="Feed CRM events to the monitor")
    async def events(request: Request, who: Caller) -> Response:
        """CRM events (one object or a list; `kamrules schema --events`) into the account
        monitor, taken as `kamrules watch` takes them: the alerts they raise and each refused
        event with its fields. With a register, events and alerts are kept in it before the
        answer (`watch --register`), and an event sent again is answered its stored alerts."""
        body = await _read_json(request, limits.max_body_bytes, limits.max_depth)
        single, bodies = _one_or_many(body, limits.max_records, "event", "not_events", "events", "too_many_events")
        loaded = begin(request)
        with feed_lock:
            if not feeds:
                try:
                    from kamrules.monitor.feed import MonitorFeed

                    if service.register is None:
                        feeds.append(MonitorFeed(None))
                    else:
                        from kamrules.register.outbox import RegisterOutbox

                        outbox = RegisterOutbox(service.register)
                        feeds.append(MonitorFeed(outbox, outbox.alerts_of))
                except ImportError as exc:
                    raise ApiError(
                        501, "no_monitor", f"the monitor needs the reactive extra (kamrules[reactive]): {exc}"
                    ) from None
        taken, _ = await in_time(request, lambda _deadline: feeds[0].take(loaded.rulebook, bodies))
        if single and taken.refused:
            refused = taken.refused[0]
            errors = [FieldError(field=f, message=m) for f, m in refused.problems]
            raise ApiError(422, "invalid_event", str(refused), errors=errors)
        text = (
            f'{{"alerts":[{",".join(taken.alerts)}],"taken":{taken.taken},"duplicates":{taken.duplicates},'
            f'"refused":{json.dumps([r.as_dict() for r in taken.refused], ensure_ascii=False)},'
            f'"rulebook_hash":"{loaded.content_hash}"}}'
        )
        return Response(text, media_type="application/json")

    @app.get("/v1/rulebook", response_model=RulebookInfo, responses=ERRORS)
    async def rulebook(request: Request, who: Caller) -> RulebookInfo:
        """The rulebook serving now, and the last reload's error (with file:line) if it failed."""
        return service.info(begin(request))

    @app.post("/v1/rulebook/reload", response_model=ReloadResult, responses=ERRORS)
    async def reload(request: Request, who: Caller) -> JSONResponse:
        """Load the rule files again now; an invalid rulebook is refused (422) and the
        previous one keeps serving."""
        changed, loaded = await run_in_threadpool(service.state.reload)
        request.state.rulebook_hash = loaded.content_hash
        info = service.info(loaded)
        if info.last_reload_error is not None:
            raise ApiError(
                422,
                "invalid_rulebook",
                info.last_reload_error.message,
                problems=[p.model_dump() for p in info.last_reload_error.problems],
            )
        return JSONResponse(ReloadResult(reloaded=True, changed=changed, rulebook=info).model_dump(mode="json"))

    @app.get(
        "/v1/accounts/{account_id}/decisions", response_model=History, responses={**ERRORS, 404: {"model": ErrorBody}}
    )
    async def account_decisions(request: Request, account_id: str, who: Caller) -> JSONResponse:
        """The account's decisions from the register, oldest first, and what moved each tier change."""
        loaded = begin(request)
        if service.register is None:
            raise ApiError(404, "no_register", "this service keeps no decision register (start it with --register)")
        from kamrules.register import RegisterError, history

        try:
            entries = await run_in_threadpool(history, service.register, account_id)
        except RegisterError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        return JSONResponse(
            {
                "account_id": account_id,
                "rulebook_hash": loaded.content_hash,
                "decisions": [e.as_dict() for e in entries],
            }
        )

    @app.get("/healthz", response_model=Health)
    async def healthz(request: Request) -> Health:
        """The process answers."""
        return Health(status="ok", rulebook_hash=begin(request).content_hash)

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}})
    async def readyz(request: Request) -> JSONResponse:
        """A rulebook is loaded and the register (if any) answers, its writer process included."""
        loaded = begin(request)
        state = None
        if service.writer is not None and not service.writer.alive:
            body = Health(status="unavailable", rulebook_hash=loaded.content_hash, register_status="writer_stopped")
            return JSONResponse(body.model_dump(), status_code=503)
        if service.register is not None:
            try:
                await run_in_threadpool(service.register.count)
                state = "ok"
            except Exception:  # any failure means not ready; the reason goes to the log
                log.exception("readiness: the register does not answer")
                body = Health(status="unavailable", rulebook_hash=loaded.content_hash, register_status="unavailable")
                return JSONResponse(body.model_dump(), status_code=503)
        return JSONResponse(Health(status="ok", rulebook_hash=loaded.content_hash, register_status=state).model_dump())

    @app.get("/metrics", response_class=Response)
    async def metrics(request: Request, who: Caller) -> Response:
        """Prometheus metrics: requests and latency by route, decisions by tier, reloads,
        register write failures."""
        begin(request)
        data, content_type = service.metrics.export()
        return Response(data, media_type=content_type)

    return app


def _crm(loaded: Loaded, decision_json: str, decision_id: int | None) -> dict[str, Any]:
    """The flat CRM shape, read from the decision's own JSON (so it cannot say otherwise)."""
    d = json.loads(decision_json)
    row: dict[str, Any] = {
        "account_id": d["account_id"],
        "account_name": d["account_name"],
        "tier": d["tier"],
        "tier_rank": d["tier_rank"],
        "key_account": d["key_account"],
        "segment": d["segment"],
        "score": d["scores"][loaded.engine.primary]["score"],
    }
    for card, result in d["scores"].items():
        row[f"score_{card}"] = result["score"]
    compliance = d.get("compliance")
    capacity = d.get("capacity")
    row.update(
        {
            "compliance_status": compliance["status"] if compliance else None,
            "why": d["summary"],
            "capacity_applied": capacity["applied"] if capacity else None,
            "rulebook_id": d["rulebook"]["id"],
            "rulebook_version": d["rulebook"]["version"],
            "rulebook_hash": d["rulebook"]["content_hash"],
            "as_of": d["as_of"],
            "decision_id": decision_id,
        }
    )
    return row


def _one_or_many(
    body: Any, limit: int, noun: str, not_a_list: str, counted: str, too_many: str
) -> tuple[bool, list[Any]]:
    """(one item?, the items): a JSON object is one item, a list is a batch of at most
    ``limit``; anything else is the client's mistake, named with the endpoint's codes."""
    single = isinstance(body, dict)
    items = [body] if single else body
    if not isinstance(items, list):
        raise ApiError(400, not_a_list, f"send one {noun} as a JSON object, or a list of them")
    if len(items) > limit:
        raise ApiError(413, too_many, f"{len(items):,} {counted} in one request; the limit is {limit:,}")
    return single, items


async def _read_json(request: Request, max_bytes: int, max_depth: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "too_large", f"the body is {int(declared):,} bytes; the limit is {max_bytes:,}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "too_large", f"the body is over the limit of {max_bytes:,} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    request.state.body_bytes = len(raw)
    if not raw.strip():
        raise ApiError(400, "empty_body", "the request has no body: send one account as a JSON object, or a list")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ApiError(400, "too_deep", f"the JSON nests deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if _depth(data) > max_depth:
        raise ApiError(400, "too_deep", f"the JSON nests deeper than {max_depth} levels")
    return data


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest


def _handlers(app: FastAPI, service: Service) -> None:
    def body(request: Request, code: str, message: str, **extra: Any) -> dict[str, Any]:
        state = request.scope.get("state", {})
        return {
            "error": code,
            "message": message,
            "rulebook_hash": state.get("rulebook_hash") or service.state.current.content_hash,
            "request_id": state.get("request_id"),
            **extra,
        }

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        extra = dict(exc.extra)
        if "errors" in extra:
            extra["errors"] = [e.model_dump(mode="json") for e in extra["errors"]]
        return JSONResponse(body(request, exc.code, exc.message, **extra), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
            parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
        return JSONResponse(body(request, "invalid_parameter", "; ".join(parts)), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(body(request, code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error in request %s", request.scope.get("state", {}).get("request_id"), exc_info=exc)
        return JSONResponse(
            body(request, "internal", "an internal error; it is logged with this request id"), status_code=500
        )


class Observe:
    """A plain ASGI middleware (no per-request task, unlike BaseHTTPMiddleware): request id,
    the rulebook hash header, and the request metrics by route template."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        given = _header(scope, b"x-request-id")
        state["request_id"] = given if given and _REQUEST_ID.match(given) else _new_request_id()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                served = state.get("rulebook_hash") or self.service.state.current.content_hash
                headers = list(message.get("headers", []))
                headers.append((HASH_HEADER.lower().encode(), served.encode()))
                headers.append((REQUEST_ID_HEADER.lower().encode(), state["request_id"].encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics = self.service.metrics
            metrics.requests.labels(path, str(status)).inc()
            metrics.latency.labels(path).observe(time.perf_counter() - started)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None


def _new_request_id() -> str:
    """A random 32-hex-digit id from the process's own generator, not ``uuid.uuid4()``.

    ``uuid4`` reads ``os.urandom``, which lets go of the GIL for its system call; with the
    register's writer thread running Python (a process of its own since decision 47), the
    event loop then waited for the GIL again (up
    to the 5 ms switch interval, sometimes twice): stalls of 8 to 10 ms, traced to that line,
    on every few requests at 500 requests/s. A request id must be unique, not secret;
    ``random`` is seeded from the system at start-up and again in each forked worker."""
    return random.getrandbits(128).to_bytes(16, "big").hex()
