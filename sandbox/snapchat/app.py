"""The Snapchat Marketing API v1 sandbox: routes, request plumbing, fault effects and state hooks.

Every `/v1/` call goes through `_endpoint`: settle due events (reviews, video processing), check the
Bearer token (401), count rate limits (429; X-Rate-Limit-* headers on the endpoint classes that carry
them in recorded traffic), run the handler, and answer in Snap's envelopes with `X-Request-Id`.
The OAuth token endpoint lives on the same server under `/login/oauth2/access_token`.
See the package docstring for the full behaviour list and `seeding.py` for the seed format.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.common.faults import FaultRule
from sandbox.common.server import FIELDS, PlatformSandbox, json_response
from sandbox.snapchat import accounts, entities, media, seeding, stats
from sandbox.snapchat.auth import TOKEN_PATH, Auth
from sandbox.snapchat.context import DISAPPROVE, Ctx, method_not_allowed
from sandbox.snapchat.errors import (
    E_INTERNAL,
    E_INVALID_REQUEST,
    E_ITEM_INVALID,
    E_NOT_FOUND,
    E_UNAVAILABLE,
    NOT_FOUND_MESSAGE,
    ItemError,
    OAuthError,
    SnapError,
    forbidden,
    unauthorized,
)
from sandbox.snapchat.lifecycle import DEFAULT_REJECTION, Lifecycle, touch
from sandbox.snapchat.objects import WRAPPERS, Entities
from sandbox.snapchat.ratelimit import RateLimits
from sandbox.snapchat.state import SnapState
from sandbox.snapchat.switches import switch
from sandbox.snapchat.validation import budget_message

Handler = Callable[[Ctx], tuple[int, dict[str, Any]]]
WRITE_KINDS = ("campaign", "adsquad", "ad", "creative", "media")


class SnapchatSandbox(PlatformSandbox):
    platform = "snapchat"

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.state = SnapState()
        self.upload_parts: dict[str, dict[int, bytes]] = {}  # multipart bytes (memory only)
        super().__init__(config)
        self.entities = Entities(self.store)
        self.auth = Auth(self.state, self.config)
        self.limits = RateLimits(self.limiter, self.config)
        self.lifecycle = Lifecycle(self.entities, self.config)

    # ---- routes ---------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        e = self._endpoint
        one = _read_one
        return [
            web.post(TOKEN_PATH, self._token),
            web.get("/v1/me", e(accounts.me)),
            web.get("/v1/me/organizations", e(accounts.my_organizations)),
            web.get("/v1/organizations/{org_id}", e(accounts.organization)),
            web.get("/v1/organizations/{org_id}/adaccounts", e(accounts.organization_accounts)),
            web.get("/v1/organizations/{org_id}/fundingsources", e(accounts.funding_sources)),
            web.get("/v1/fundingsources/{fs_id}", e(accounts.funding_source)),
            web.get("/v1/adaccounts/{account_id}", e(accounts.ad_account)),
            web.get("/v1/adaccounts/{account_id}/stats", e(_stats("adaccount"), "stats")),
            # campaigns
            web.get("/v1/adaccounts/{account_id}/campaigns", e(entities.list_campaigns)),
            web.post("/v1/adaccounts/{account_id}/campaigns", e(entities.create_campaigns, "write")),
            web.put("/v1/adaccounts/{account_id}/campaigns", e(entities.update_campaigns, "write")),
            web.get("/v1/campaigns/{campaign_id}", e(one("campaign", "campaign_id"))),
            web.delete("/v1/campaigns/{campaign_id}", e(_delete("campaign", "campaign_id"), "write")),
            web.get("/v1/campaigns/{campaign_id}/stats", e(_stats("campaign"), "stats")),
            # ad squads
            web.get("/v1/campaigns/{campaign_id}/adsquads", e(entities.list_campaign_adsquads)),
            web.post("/v1/campaigns/{campaign_id}/adsquads", e(entities.create_adsquads, "write")),
            web.put("/v1/campaigns/{campaign_id}/adsquads", e(entities.update_adsquads, "write")),
            web.get("/v1/adaccounts/{account_id}/adsquads", e(entities.list_account_adsquads)),
            web.get("/v1/adsquads/{adsquad_id}", e(one("adsquad", "adsquad_id"))),
            web.delete("/v1/adsquads/{adsquad_id}", e(_delete("adsquad", "adsquad_id"), "write")),
            web.get("/v1/adsquads/{adsquad_id}/stats", e(_stats("adsquad"), "stats")),
            # creatives
            web.get("/v1/adaccounts/{account_id}/creatives", e(entities.list_creatives)),
            web.post("/v1/adaccounts/{account_id}/creatives", e(entities.create_creatives, "write")),
            web.put("/v1/adaccounts/{account_id}/creatives", e(entities.update_creatives, "write")),
            web.get("/v1/creatives/{creative_id}", e(one("creative", "creative_id"))),
            web.delete("/v1/creatives/{creative_id}", e(entities.delete_creative, "write")),
            # ads
            web.get("/v1/adsquads/{adsquad_id}/ads", e(entities.list_squad_ads)),
            web.post("/v1/adsquads/{adsquad_id}/ads", e(entities.create_ads, "write")),
            web.put("/v1/adsquads/{adsquad_id}/ads", e(entities.update_ads, "write")),
            web.get("/v1/adaccounts/{account_id}/ads", e(entities.list_account_ads)),
            web.get("/v1/ads/{ad_id}", e(one("ad", "ad_id"))),
            web.delete("/v1/ads/{ad_id}", e(_delete("ad", "ad_id"), "write")),
            web.get("/v1/ads/{ad_id}/stats", e(_stats("ad"), "stats")),
            # media
            web.get("/v1/adaccounts/{account_id}/media", e(media.list_media)),
            web.post("/v1/adaccounts/{account_id}/media", e(media.create_media, "media_create")),
            web.get("/v1/media/{media_id}", e(media.get_media)),
            web.delete("/v1/media/{media_id}", e(_no_media_delete)),
            web.post("/v1/media/{media_id}/upload", e(media.upload)),
            web.post("/v1/media/{media_id}/multipart-upload-v2", e(media.multipart)),
            web.post("/us/v1/media/{media_id}/multipart-upload-v2", e(media.multipart)),
            web.route("*", "/v1/{tail:.*}", self._unknown),
        ]

    def _endpoint(self, fn: Handler, klass: str | None = None) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            request_id = str(uuid.uuid4())
            now = time.time()
            headers = {"X-Request-Id": request_id}
            try:
                self.lifecycle.settle(now)
                grant = self.auth.authenticate(request, now)
                endpoint = f"{request.method} {request.match_info.route.resource.canonical}"  # type: ignore[union-attr]
                headers.update(self.limits.check(grant, endpoint, klass, now))
                status, body = fn(Ctx(self, request, grant, now, request_id))
            except SnapError as err:
                headers.update(err.headers)
                return json_response(err.body(request_id), err.status, headers)
            return json_response(body, status, headers)

        return handle

    async def _token(self, request: web.Request) -> web.StreamResponse:
        status, body = await self.auth.token_endpoint(request, time.time())
        return json_response(body, status)

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        err = SnapError(404, E_NOT_FOUND, f"No endpoint {request.method} {request.path}", "Not found")
        return json_response(err.body(request_id), 404, {"X-Request-Id": request_id})

    # ---- fault effects --------------------------------------------------------------------------
    def error_response(self, effect: str, rule: FaultRule, request: web.Request) -> web.StreamResponse:
        if request.path == TOKEN_PATH:
            return self._oauth_fault(effect, rule)
        request_id = str(uuid.uuid4())
        headers = {"X-Request-Id": request_id}
        params = rule.params
        message = params.get("message")
        if effect in ("expired_token", "invalid_token"):
            err = unauthorized(
                message
                or ("The access token has expired" if effect == "expired_token" else "Invalid access token")
            )
        elif effect == "permission":
            err = forbidden(message or "You do not have permission to access this ad account")
        elif effect == "rate_limit":
            retry = params.get("retry_after_s")
            err = self.limits.fault(time.time(), float(retry) if retry is not None else None)
        elif effect == "transient":
            status = int(params.get("status", 503))
            code = E_UNAVAILABLE if status == 503 else E_INTERNAL
            err = SnapError(
                status, code, message or "Service temporarily unavailable, please retry", "Internal error"
            )
        elif effect == "not_found":
            err = SnapError(404, E_NOT_FOUND, message or NOT_FOUND_MESSAGE)
        elif effect in ("budget_too_low", "validation"):
            if effect == "budget_too_low":
                account = self._account_for(request)
                text = message or (
                    budget_message(account) if account else "daily_budget_micro is below the minimum"
                )
            else:
                text = message or "Invalid request"
            batch = self._batch_kind(request)
            if batch is not None:
                entries = [ItemError(text, E_ITEM_INVALID).entry() for _ in batch[1]]
                body = {"request_status": "ERROR", "request_id": request_id, WRAPPERS[batch[0]][0]: entries}
                status = int(params.get("status", switch(self.config, "batch_item_error_status")))
                return json_response(body, status, headers)
            err = SnapError(400, E_INVALID_REQUEST, text)
        else:
            raise web.HTTPBadRequest(text=f"snapchat sandbox does not support effect {effect}")
        headers.update(err.headers)
        return json_response(err.body(request_id), err.status, headers)

    def _oauth_fault(self, effect: str, rule: FaultRule) -> web.StreamResponse:
        """Faults on the token endpoint answer in OAuth2's shape (RFC 6749 §5.2; 429/5xx UNCONFIRMED)."""
        status = int(rule.params.get("status", 503)) if effect == "transient" else 0
        table = {
            "expired_token": (400, "invalid_grant", "Refresh token expired"),
            "invalid_token": (400, "invalid_grant", "Invalid refresh token"),
            "not_found": (400, "invalid_grant", "Invalid grant"),
            "validation": (400, "invalid_request", "Invalid request"),
            "budget_too_low": (400, "invalid_request", "Invalid request"),
            "permission": (401, "invalid_client", "Client authentication failed"),
            "rate_limit": (429, "too_many_requests", "Too many token requests"),
            "transient": (
                status,
                "temporarily_unavailable" if status == 503 else "server_error",
                "The authorization server is temporarily unavailable",
            ),
        }
        if effect not in table:
            raise web.HTTPBadRequest(text=f"snapchat sandbox does not support effect {effect}")
        code, error, description = table[effect]
        err = OAuthError(code, error, str(rule.params.get("message") or description))
        headers = (
            {"Retry-After": str(rule.params["retry_after_s"])} if "retry_after_s" in rule.params else None
        )
        return json_response(err.body(), err.status, headers)

    def apply_state_fault(self, effect: str, rule: FaultRule, request: web.Request) -> None:
        if effect == "disapprove":
            request[DISAPPROVE] = list(rule.params.get("reasons") or DEFAULT_REJECTION)
            return
        if effect != "unfund":
            raise web.HTTPBadRequest(text=f"snapchat sandbox does not support effect {effect}")
        now = time.time()
        self.lifecycle.settle(now)
        target = rule.params.get("account_id")
        found = self._account_for(request)
        accounts = (
            [self.entities.get("adaccount", target)]
            if target
            else [found]
            if found
            else self.entities.all("adaccount")
        )
        account_status = rule.params.get("account_status") or switch(self.config, "unfund_account_status")
        for account in accounts:
            if account is None:
                continue
            for fs_id in account.fields.get("funding_source_ids") or []:
                source = self.entities.get("fundingsource", fs_id)
                if source is None:
                    continue
                credit = source.fields.get("type") in ("LINE_OF_CREDIT", "COUPON")
                source.fields["status"] = rule.params.get("funding_status") or (
                    "SPENT" if credit else "EXPIRED"
                )
                if "available_credit_micro" in source.fields:
                    source.fields["available_credit_micro"] = 0
                touch(source, now)
            account.fields["status"] = account_status
            touch(account, now)
            self.lifecycle.refresh_account(account.id, now)

    def _account_for(self, request: web.Request) -> Any:
        info = request.match_info
        if "account_id" in info:
            return self.entities.get("adaccount", info["account_id"])
        for key, kind in (
            ("campaign_id", "campaign"),
            ("adsquad_id", "adsquad"),
            ("ad_id", "ad"),
            ("creative_id", "creative"),
            ("media_id", "media"),
        ):
            if key in info:
                obj = self.entities.get(kind, info[key])
                return self.entities.account_of(obj) if obj else None
        return None

    def _batch_kind(self, request: web.Request) -> tuple[str, list[Any]] | None:
        if request.method not in ("POST", "PUT"):
            return None
        fields = request.get(FIELDS) or {}
        for kind in WRITE_KINDS:
            items = fields.get(WRAPPERS[kind][0])
            if isinstance(items, list) and items:
                return kind, items
        return None

    # ---- state hooks ----------------------------------------------------------------------------
    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        return seeding.seed(self, payload)

    def reset(self) -> None:
        super().reset()
        self.state.clear()
        self.upload_parts.clear()

    def extra_state(self) -> dict[str, Any]:
        return self.state.to_json()

    def restore_extra_state(self, state: dict[str, Any]) -> None:
        self.state.restore(state)


def _read_one(kind: str, key: str) -> Handler:
    return lambda ctx: entities.read_one(ctx, kind, ctx.param(key))


def _delete(kind: str, key: str) -> Handler:
    return lambda ctx: entities.delete(ctx, kind, ctx.param(key))


def _stats(kind: str) -> Handler:
    return lambda ctx: stats.stats(ctx, kind)


def _no_media_delete(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    raise method_not_allowed("DELETE on media")
