"""The HTTP server every platform sandbox shares.

A platform sandbox subclasses `PlatformSandbox` and supplies its routes, its error shapes for the
fault effects, its seed format and its state. This module adds what is common: request parsing into
`request["fields"]`, base latency and jitter, fault injection, the request log, the state file and
the control API under `/_sandbox/` (a path no real platform serves).
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.common.faults import STATE_EFFECTS, FaultEngine, FaultRule, FaultRuleError
from sandbox.common.store import ObjectStore, RequestLog, WindowRateLimiter

log = logging.getLogger("sandbox")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CONTROL_PREFIX = "/_sandbox/"
# What the middleware leaves on a request for the handlers: its query and body fields, merged.
FIELDS = web.RequestKey("fields", dict[str, Any])
_BODY_LOG_LIMIT = 4096


class PlatformSandbox(abc.ABC):
    """One platform's sandbox. Subclasses implement the abstract hooks below."""

    platform: str = "abstract"

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.store = ObjectStore()
        self.requests = RequestLog()
        self.faults = FaultEngine(self.config.fault_seed)
        self.limiter = WindowRateLimiter()
        self._random = random.Random(self.config.fault_seed)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._http: Any = None  # aiohttp.ClientSession for webhook deliveries, made lazily
        self.app = self._build_app()

    # ---- hooks for platforms -------------------------------------------------------------
    @abc.abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The platform's real endpoints."""

    @abc.abstractmethod
    def error_response(self, effect: str, rule: FaultRule, request: web.Request) -> web.StreamResponse:
        """The platform's real error for a fault effect (raise web.HTTPBadRequest if unsupported)."""

    def apply_state_fault(self, effect: str, rule: FaultRule, request: web.Request) -> None:
        """Record a state effect (`disapprove`, `unfund`) for the request about to be handled."""
        raise web.HTTPBadRequest(text=f"{self.platform} sandbox does not support effect {effect}")

    @abc.abstractmethod
    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Load accounts, tokens, pages, identities and objects with given ids."""

    def reset(self) -> None:
        """Forget every object, token and account. Subclasses extend and call super()."""
        self.store.clear()
        self.limiter.clear()

    def extra_state(self) -> dict[str, Any]:
        """Platform state beyond the object store, for the state file (tokens, accounts, …)."""
        return {}

    def restore_extra_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Inverse of `extra_state`."""

    # ---- helpers for platforms -----------------------------------------------------------
    def spawn(self, coro: Awaitable[Any], delay_s: float = 0.0) -> None:
        """Run `coro` in the background after `delay_s` (review outcomes, video processing)."""

        async def runner() -> None:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            try:
                await coro
            except Exception:  # a background job must not take the sandbox down
                log.exception("%s sandbox background job failed", self.platform)

        task = asyncio.get_running_loop().create_task(runner())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver_webhook(
        self, url: str, body: bytes, headers: dict[str, str], attempts: int = 5
    ) -> bool:
        """POST a signed delivery; retried while the receiver fails; extra copies per config."""
        import aiohttp

        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        copies = 1 + int(self.config.webhook_duplicate_deliveries)
        delivered = False
        for _ in range(copies):
            for attempt in range(attempts):
                try:
                    async with self._http.post(url, data=body, headers=headers) as resp:
                        if 200 <= resp.status < 300:
                            delivered = True
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(self.config.webhook_retry_s * (attempt + 1))
        return delivered

    def base_url(self, request: web.Request) -> str:
        if self.config.public_base_url:
            return self.config.public_base_url.rstrip("/")
        return f"{request.scheme}://{request.host}"

    # ---- the app -------------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024**3)
        app.add_routes(self._control_routes())
        app.add_routes(self.routes())
        app.on_cleanup.append(self._on_cleanup)
        if self.config.state_file:
            self._load_state_file()
        return app

    async def _on_cleanup(self, _app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._http is not None:
            await self._http.close()
        self.save_state()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        started = time.perf_counter()
        fields = await parse_fields(request)
        request[FIELDS] = fields
        fired = self.faults.pick(request.method, request.path, fields)
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "body": _loggable(fields, request),
            "faults": [r.effect for r in fired],
        }
        delay_ms: float = self.config.base_latency_ms
        if self.config.jitter_ms:
            delay_ms += self._random.uniform(0, self.config.jitter_ms)
        delay_ms += sum(r.latency_ms for r in fired if r.effect == "latency")
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        drop = False
        response: web.StreamResponse
        try:
            for rule in fired:
                if rule.effect in STATE_EFFECTS:
                    self.apply_state_fault(rule.effect, rule, request)
                elif rule.effect == "drop_after_apply":
                    drop = True
                elif rule.effect != "latency":
                    response = self.error_response(rule.effect, rule, request)
                    entry["status"] = response.status
                    return response
            response = await handler(request)
        except web.HTTPException as exc:
            entry["status"] = exc.status
            raise
        finally:
            entry["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 2)
            self.requests.record(entry)
        entry["status"] = response.status
        if request.method != "GET":
            self.save_state()
        if drop:
            # The write happened; the client never hears about it.
            entry["status"] = "dropped"
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError()
        return response

    # ---- control API ---------------------------------------------------------------------
    def _control_routes(self) -> list[web.RouteDef]:
        return [
            web.post("/_sandbox/faults", self._add_faults),
            web.get("/_sandbox/faults", self._list_faults),
            web.delete("/_sandbox/faults", self._clear_faults),
            web.post("/_sandbox/reset", self._reset),
            web.post("/_sandbox/seed", self._seed),
            web.get("/_sandbox/objects", self._objects),
            web.get("/_sandbox/requests", self._requests),
            web.delete("/_sandbox/requests", self._clear_requests),
            web.get("/_sandbox/config", self._get_config),
            web.post("/_sandbox/config", self._set_config),
            web.get("/_sandbox/health", self._health),
        ]

    async def _add_faults(self, request: web.Request) -> web.Response:
        raw = await request.json()
        rules = raw if isinstance(raw, list) else raw.get("rules", [raw])
        try:
            added = [self.faults.add(r).to_json() for r in rules]
        except FaultRuleError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"rules": added})

    async def _list_faults(self, _request: web.Request) -> web.Response:
        return web.json_response({"rules": self.faults.list()})

    async def _clear_faults(self, _request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"rules": []})

    async def _reset(self, _request: web.Request) -> web.Response:
        self.faults.clear()
        self.requests.clear()
        self.reset()
        self.save_state()
        return web.json_response({"reset": True})

    async def _seed(self, request: web.Request) -> web.Response:
        try:
            result = self.seed(await request.json())
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": f"bad seed: {exc}"}, status=400)
        self.save_state()
        return web.json_response(result)

    async def _objects(self, request: web.Request) -> web.Response:
        rows = self.store.inspection(request.query.get("kind"), request.query.get("account_id"))
        if "deleted" in request.query:
            want = request.query["deleted"].lower() == "true"
            rows = [r for r in rows if r["deleted"] == want]
        return web.json_response({"objects": rows})

    async def _requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        entries = self.requests.since(since)
        if "method" in request.query:
            entries = [e for e in entries if e["method"] == request.query["method"].upper()]
        return web.json_response({"requests": entries}, dumps=_dumps)

    async def _clear_requests(self, _request: web.Request) -> web.Response:
        self.requests.clear()
        return web.json_response({"requests": []})

    async def _get_config(self, _request: web.Request) -> web.Response:
        return web.json_response(self.config.to_json())

    async def _set_config(self, request: web.Request) -> web.Response:
        try:
            self.config.update(await request.json())
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(self.config.to_json())

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"platform": self.platform, "ok": True})

    # ---- state file ----------------------------------------------------------------------
    def save_state(self) -> None:
        if not self.config.state_file:
            return
        path = Path(self.config.state_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(_dumps({"objects": self.store.snapshot(), "extra": self.extra_state()}))
        os.replace(tmp, path)

    def _load_state_file(self) -> None:
        assert self.config.state_file
        path = Path(self.config.state_file)
        if not path.exists():
            return
        state = json.loads(path.read_text())
        self.store.restore(state.get("objects", []))
        self.restore_extra_state(state.get("extra", {}))


async def parse_fields(request: web.Request) -> dict[str, Any]:
    """Query parameters merged with the body (JSON object, form or multipart).

    Multipart file parts stay `aiohttp.web.FileField`s; the handler reads `.file`.
    """
    fields: dict[str, Any] = dict(request.query)
    if request.method in {"POST", "PUT", "PATCH", "DELETE"} and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                body = {"__invalid_json__": True}
            if isinstance(body, dict):
                fields.update(body)
            else:
                fields["__body__"] = body
        elif ctype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for key in form:
                values = form.getall(key)
                fields[key] = values[0] if len(values) == 1 else list(values)
        else:
            fields["__raw__"] = await request.read()
    return fields


def _loggable(fields: dict[str, Any], request: web.Request) -> Any:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in request.query:
            continue
        if isinstance(value, web.FileField):
            out[key] = {"file": value.filename, "content_type": value.content_type}
        elif isinstance(value, bytes):
            out[key] = {"bytes": len(value)}
        else:
            if isinstance(value, str) and len(value) > _BODY_LOG_LIMIT:
                value = value[:_BODY_LOG_LIMIT] + "…"
            out[key] = value
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON answer with the platform's content type."""
    return web.Response(
        text=json.dumps(data), status=status, headers=headers, content_type="application/json"
    )


async def serve(sandboxes: list[tuple[PlatformSandbox, int]], host: str = "127.0.0.1") -> None:
    """Serve several sandboxes, each on its own port, until cancelled."""
    runners = []
    for sandbox, port in sandboxes:
        runner = web.AppRunner(sandbox.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        runners.append(runner)
        log.info("%s sandbox listening on http://%s:%d", sandbox.platform, host, port)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()
