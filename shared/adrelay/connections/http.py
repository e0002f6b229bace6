"""The connections HTTP surface, mounted by the orchestrator's web server: JSON in, JSON out, clear 4xx,
and never a token in a response (views carry none; error texts are redacted).

    POST /connections                {"platform", "display_name", "credentials": {...}, "id"?}  → 201
    GET  /connections[?platform=]    → {"connections": [...]}
    GET  /connections/{id}           → {"connection": {...}}
    POST /connections/{id}/check     → {"connection", "ok", "token", "accounts"}
    POST /connections/{id}/reauth    {"credentials": {...}}                                       → 200
    POST /connections/{id}/revoke    {"reason"?}  (tokens erased; reauth makes it active again)   → 200
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adrelay.connections.crypto import TokenKeyError
from adrelay.connections.errors import ConnectionsError, InvalidRequest
from adrelay.connections.manager import ConnectionManager
from adrelay.model import Platform
from adrelay.observability.logging import redact
from adrelay.platforms.auth import ReauthNeeded
from adrelay.platforms.errors import PlatformException

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.Response]]


def routes(manager: ConnectionManager) -> list[web.RouteDef]:
    async def create(request: web.Request) -> web.Response:
        body = await _body(request)
        connection_id = await manager.connect(
            _text(body, "platform"),
            _credentials(body),
            _text(body, "display_name"),
            connection_id=_optional_text(body, "id"),
        )
        view = await manager.get(connection_id)
        return web.json_response({"connection": view.to_json()}, status=201)

    async def listing(request: web.Request) -> web.Response:
        platform = request.query.get("platform")
        try:
            chosen = Platform(platform) if platform else None
        except ValueError:
            raise InvalidRequest(f"unknown platform {platform!r} (meta, tiktok, snapchat)") from None
        return web.json_response({"connections": [c.to_json() for c in await manager.list(chosen)]})

    async def one(request: web.Request) -> web.Response:
        view = await manager.get(request.match_info["connection_id"])
        return web.json_response({"connection": view.to_json()})

    async def check(request: web.Request) -> web.Response:
        result = await manager.check(request.match_info["connection_id"])
        return web.json_response(result.to_json())

    async def reauth(request: web.Request) -> web.Response:
        body = await _body(request)
        view = await manager.reauth(request.match_info["connection_id"], _credentials(body))
        return web.json_response({"connection": view.to_json()})

    async def revoke(request: web.Request) -> web.Response:
        body = await _body(request) if request.body_exists else {}
        view = await manager.revoke(request.match_info["connection_id"], _optional_text(body, "reason"))
        return web.json_response({"connection": view.to_json()})

    return [
        web.post("/connections", _guarded(create)),
        web.get("/connections", _guarded(listing)),
        web.get("/connections/{connection_id}", _guarded(one)),
        web.post("/connections/{connection_id}/check", _guarded(check)),
        web.post("/connections/{connection_id}/reauth", _guarded(reauth)),
        web.post("/connections/{connection_id}/revoke", _guarded(revoke)),
    ]


def _guarded(handler: Handler) -> Handler:
    async def run(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except ConnectionsError as exc:
            return _error(exc.status, type(exc).__name__, str(exc))
        except ReauthNeeded as exc:
            return _error(409, "ReauthNeeded", str(exc))
        except TokenKeyError as exc:
            log.error("connections: %s", exc)
            return _error(500, "TokenKeyError", str(exc))
        except PlatformException as exc:
            return _error(502, type(exc).__name__, str(exc))

    return run


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"error": {"type": kind, "message": redact(message)}}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{key} is required (a non-empty string)")
    return value


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    return _text(body, key) if body.get(key) is not None else None


def _credentials(body: dict[str, Any]) -> dict[str, str]:
    credentials = body.get("credentials")
    if (
        not isinstance(credentials, dict)
        or not credentials
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in credentials.items())
    ):
        raise InvalidRequest(
            'credentials is required: an object of strings, e.g. {"system_user_token": "…"} (Meta), '
            '{"auth_code": "…"} (TikTok), {"code": "…"} (Snapchat)'
        )
    return credentials
