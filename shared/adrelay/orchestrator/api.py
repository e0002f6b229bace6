"""The orchestrator's HTTP API, for people and for services that do not speak Kafka.

POST /publishes              submit a PublishCampaign command (202; same key + same payload → the
                             existing publish; same key + other payload → 409)
POST /plan                   what a publish would create, its validation and Meta's own verdict;
                             writes nothing
GET  /publishes/{id}         state per platform, every external id, every error, the timeline
GET  /publishes?campaign_id= the publishes of a campaign
POST /publishes/{id}/retry   finish the unfinished platforms of a publish that was not rolled back
POST /publishes/{id}/cleanup-retry  retry the deletes a rollback could not do ({"platform": ...})
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from adrelay.connections import ConnectionTokens
from adrelay.engine.media import MediaStore
from adrelay.events import Envelope, PublishCampaign
from adrelay.events.payloads import ValidationIssue
from adrelay.model import Platform
from adrelay.orchestrator import store
from adrelay.orchestrator.core import Orchestrator, fanout_too_large
from adrelay.orchestrator.validation import account_of, validate
from adrelay.platforms.base import PublishContext

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _problem(status: int, message: str, **extra: Any) -> web.Response:
    return _json({"error": message, **extra}, status=status)


async def _command(request: web.Request) -> PublishCampaign | web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _problem(413, f"request body over {MAX_BODY} bytes")
    raw = await request.read()
    if len(raw) > MAX_BODY:
        return _problem(413, f"request body over {MAX_BODY} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _problem(400, f"body is not JSON: {exc}")
    if not isinstance(data, dict):
        return _problem(400, "body must be a JSON object (a PublishCampaign command)")
    data.setdefault("type", "PublishCampaign")
    try:
        return PublishCampaign.model_validate(data)
    except ValidationError as exc:
        issues = [
            {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return _problem(422, "invalid PublishCampaign", issues=issues)


def routes(orchestrator: Orchestrator) -> list[web.RouteDef]:
    runtime = orchestrator.runtime

    async def submit(request: web.Request) -> web.Response:
        command = await _command(request)
        if isinstance(command, web.Response):
            return command
        publish_id = store.publish_id_for(command.idempotency_key)
        too_large = fanout_too_large(command)
        if too_large:
            return _problem(413, too_large)
        async with runtime.db.transaction() as conn:
            existing = await store.find_by_key(conn, command.idempotency_key)
            if existing is not None:
                if existing["payload_hash"] != store.payload_hash(command):
                    return _problem(
                        409,
                        f"idempotency key already used by publish {existing['publish_id']} with a different payload",
                        publish_id=existing["publish_id"],
                    )
                return _json(
                    {"publish_id": existing["publish_id"], "status": existing["status"], "duplicate": True}
                )
            envelope = Envelope.new(command, campaign_id=command.campaign.id)
            await runtime.emit(conn, envelope)
        return _json(
            {"publish_id": publish_id, "event_id": str(envelope.event_id), "status": "accepted"}, 202
        )

    async def plan(request: web.Request) -> web.Response:
        command = await _command(request)
        if isinstance(command, web.Response):
            return command
        return _json(await plan_of(orchestrator, command))

    async def get_publish(request: web.Request) -> web.Response:
        async with runtime.db.connection() as conn:
            view = await store.view(conn, request.match_info["publish_id"])
        if view is None:
            return _problem(404, f"no publish {request.match_info['publish_id']}")
        return _json(view)

    async def list_publishes(request: web.Request) -> web.Response:
        campaign_id = request.query.get("campaign_id")
        async with runtime.db.connection() as conn:
            rows = await conn.fetch(
                """
                select publish_id, campaign_id, status, created_at from publishes
                where $1::text is null or campaign_id = $1 order by created_at desc limit 100
                """,
                campaign_id,
            )
        return _json({"publishes": [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]})

    async def retry(request: web.Request) -> web.Response:
        platform: Platform | None = None
        if request.body_exists:
            try:
                body = orjson.loads(await request.read() or b"{}")
            except orjson.JSONDecodeError:
                return _problem(400, "body is not JSON")
            name = body.get("platform") if isinstance(body, dict) else None
            if name:
                try:
                    platform = Platform(name)
                except ValueError:
                    return _problem(422, f"unknown platform {name!r}")
        result = await orchestrator.retry(request.match_info["publish_id"], platform)
        status = int(result.pop("status", 200))
        return _json(result, status=status if "error" in result else 200)

    async def cleanup_retry(request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read() or b"{}")
            platform = Platform(body["platform"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return _problem(422, 'body must be {"platform": "meta" | "tiktok" | "snapchat"}')
        result = await orchestrator.cleanup_retry(request.match_info["publish_id"], platform)
        status = int(result.pop("status", 200))
        return _json(result, status=status if "error" in result else 200)

    return [
        web.post("/publishes/{publish_id}/cleanup-retry", cleanup_retry),
        web.post("/publishes", submit),
        web.post("/plan", plan),
        web.get("/publishes", list_publishes),
        web.get("/publishes/{publish_id}", get_publish),
        web.post("/publishes/{publish_id}/retry", retry),
    ]


async def plan_of(orchestrator: Orchestrator, command: PublishCampaign) -> dict[str, Any]:
    """Every object a publish would create with its exact payload, the minimums that apply, the
    validation errors and warnings, and Meta's own validate_only verdict. Writes nothing."""
    verdict = await validate(command, orchestrator.adapters, orchestrator.connections, orchestrator.caps)
    platforms: dict[str, Any] = {}
    media = MediaStore()
    try:
        for target in command.targets:
            adapter = orchestrator.adapters[target.platform]
            account = verdict.accounts.get(target.platform)
            remote: list[ValidationIssue] = []
            if target.platform not in verdict.reauth and not verdict.errors:
                ctx = PublishContext(
                    publish_id="plan",
                    campaign=command.campaign,
                    target=target,
                    tokens=ConnectionTokens(orchestrator.connections, target.connection_id),  # type: ignore[arg-type]
                    media_store=media,
                )
                try:
                    remote = await adapter.remote_validate(ctx)
                except Exception as exc:  # the platform's verdict is advisory in a plan
                    remote = [
                        ValidationIssue(
                            path="",
                            platform=target.platform,
                            severity="warning",
                            message=f"the platform's own validation could not run: {exc}",
                        )
                    ]
            platforms[target.platform.value] = {
                "account_id": account_of(target),
                "account": None
                if account is None
                else {
                    "currency": account.currency,
                    "timezone": account.timezone,
                    "status": account.status,
                    "can_spend": account.can_spend,
                    "reason": account.reason,
                },
                "minimums": {} if account is None else account.minimums,
                "objects": [
                    {
                        "step": o.step_key,
                        "kind": o.kind.value,
                        "endpoint": o.endpoint,
                        "payload": dict(o.payload),
                    }
                    for o in adapter.preview(command.campaign, target, "plan")
                ],
                "platform_verdict": [i.model_dump(mode="json") for i in remote],
                "awaiting_reauth": target.platform in verdict.reauth,
            }
    finally:
        await media.close()
    return {
        "valid": not verdict.errors,
        "errors": [i.model_dump(mode="json") for i in verdict.errors],
        "warnings": [i.model_dump(mode="json") for i in verdict.warnings],
        "platforms": platforms,
    }
