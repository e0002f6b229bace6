"""The TikTok API for Business v1.3 sandbox: routes, fault effects, seed, reset and state file.

Seed format (`POST /_sandbox/seed`; every key optional, later seeds add to / replace earlier ones):

    {
      "apps":        [{"app_id", "secret", "name"?, "scope"?: [int, ...]}],
      "advertisers": [{"advertiser_id", "name", "currency"?: "USD", "timezone"?: "Etc/GMT",
                       "display_timezone"?, "status"?: "STATUS_ENABLE", "balance"?: 10000.0,
                       "budget_ratio"?: <number>, "company"?, "country"?}],
      "currencies":  [{"currency": "JPY", "budget_ratio": 100, "precision"?: 0}],
      "tokens":      [{"access_token", "app_id", "advertiser_ids": [...], "scope"?: [int],
                       "expires_at"?: <unix>, "revoked"?: false}],
      "auth_codes":  [{"auth_code", "app_id", "advertiser_ids": [...], "access_token"?,
                       "created_at"?: <unix>}],
      "identities":  [{"identity_id", "identity_type", "advertiser_id", "display_name",
                       "identity_authorized_bc_id"?}],
      "pixels":      [{"pixel_id", "advertiser_id", "pixel_name"?, "pixel_code"?}],
      "locations":   [{"location_id", "country_code", "name"}],
      "objects":     [{"kind": "campaign"|"adgroup"|"ad"|"image"|"video", "id", "name", "parent_id",
                       "account_id", "status"?: "ENABLE"|"DISABLE"|"DELETE", "created_at"?: <unix>,
                       "fields": {... platform fields, e.g. objective_type, budget, budget_mode,
                                  schedule_start_time, ad_format, "review_status": "APPROVED"|
                                  "REJECTED", "bytes_b64" for files ...}}]
    }

Objects are created in the order given (parents first); objects that will be updated through the API
should carry the full set of platform fields (updates re-validate the merged object). Advertisers are
funded since `active_since` (unix, default 0) so seeded history produces metrics.
Answer: `{"seeded": {"apps": n, ...}}`. Tokens never expire unless `expires_at` is given (long-term
Marketing API tokens); `revoked` tokens answer 40105. Advertisers with balance 0 or a status other than
STATUS_ENABLE cannot spend (no delivery, `*_BALANCE_EXCEED` secondary statuses).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from decimal import Decimal
from typing import Any

from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.common.faults import FaultRule
from sandbox.common.server import FIELDS, PlatformSandbox
from sandbox.common.store import SandboxObject
from sandbox.tiktok import (
    accounts,
    adgroups,
    ads,
    campaigns,
    errors,
    files,
    reporting,
    settings,
    status,
    webhooks,
)
from sandbox.tiktok.api import API_PREFIX, DISAPPROVE, Ctx, Endpoint, make_handler
from sandbox.tiktok.errors import ApiError, envelope, log_id
from sandbox.tiktok.geo import Location
from sandbox.tiktok.ids import IdFactory
from sandbox.tiktok.media import image_info, video_info
from sandbox.tiktok.money import Currency, default_currency
from sandbox.tiktok.objects import AD, ADGROUP, CAMPAIGN, IMAGE, VIDEO, new_object, set_operation_status
from sandbox.tiktok.params import format_iso, parse_datetime
from sandbox.tiktok.state import Advertiser, App, AuthCode, Identity, Pixel, TikTokState, Token

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/oauth2/access_token/", accounts.access_token, auth="app"),
    Endpoint("POST", "/oauth2/refresh_token/", accounts.refresh_token, auth="app"),
    Endpoint("GET", "/oauth2/advertiser/get/", accounts.advertiser_get, body="query"),
    Endpoint("GET", "/advertiser/info/", accounts.advertiser_info, body="query"),
    Endpoint("GET", "/identity/get/", accounts.identity_get, body="query"),
    Endpoint("GET", "/pixel/list/", accounts.pixel_list, body="query"),
    Endpoint("GET", "/tool/region/", accounts.region, body="query"),
    Endpoint("POST", "/campaign/create/", campaigns.create),
    Endpoint("GET", "/campaign/get/", campaigns.get, body="query"),
    Endpoint("POST", "/campaign/update/", campaigns.update),
    Endpoint("POST", "/campaign/status/update/", status.campaign),
    Endpoint("POST", "/adgroup/create/", adgroups.create),
    Endpoint("GET", "/adgroup/get/", adgroups.get, body="query"),
    Endpoint("POST", "/adgroup/update/", adgroups.update),
    Endpoint("POST", "/adgroup/status/update/", status.adgroup),
    Endpoint("POST", "/ad/create/", ads.create),
    Endpoint("GET", "/ad/get/", ads.get, body="query"),
    Endpoint("POST", "/ad/update/", ads.update),
    Endpoint("POST", "/ad/status/update/", status.ad),
    Endpoint("GET", "/ad/review_info/", ads.review_info, body="query"),
    Endpoint("POST", "/file/image/ad/upload/", files.upload_image, body="multipart"),
    Endpoint("GET", "/file/image/ad/info/", files.image_info_get, body="query"),
    Endpoint("GET", "/file/image/ad/search/", files.image_search, body="query"),
    Endpoint("POST", "/file/video/ad/upload/", files.upload_video, body="multipart"),
    Endpoint("GET", "/file/video/ad/info/", files.video_info_get, body="query"),
    Endpoint("GET", "/file/video/ad/search/", files.video_search, body="query"),
    Endpoint("GET", "/file/name/check/", files.name_check, body="query"),
    Endpoint("POST", "/subscription/subscribe/", webhooks.subscribe, auth="app"),
    Endpoint("GET", "/subscription/get/", webhooks.get, auth="app", body="query"),
    Endpoint("POST", "/subscription/unsubscribe/", webhooks.unsubscribe, auth="app"),
    Endpoint("GET", "/report/integrated/get/", reporting.integrated_get, body="query"),
    Endpoint("POST", "/report/task/create/", reporting.task_create),
    Endpoint("GET", "/report/task/check/", reporting.task_check, body="query"),
    Endpoint("GET", "/report/task/download/", reporting.task_download, body="query"),
)

# Fault effect → (code, message) in TikTok's envelope.
FAULT_CODES: dict[str, tuple[int, str]] = {
    "expired_token": (errors.ACCESS_TOKEN_EXPIRE, errors.MESSAGES[errors.ACCESS_TOKEN_EXPIRE]),
    "invalid_token": (errors.INVALID_ACCESS_TOKEN, errors.MESSAGES[errors.INVALID_ACCESS_TOKEN]),
    "permission": (errors.PERMISSION_ERROR, "No permission to operate this advertiser or object."),
    "rate_limit": (errors.REQUEST_TOO_FREQUENT, errors.MESSAGES[errors.REQUEST_TOO_FREQUENT]),
    "transient": (errors.SYS_ERROR, errors.MESSAGES[errors.SYS_ERROR]),
    "budget_too_low": (errors.PARAM_ERROR, "budget: The budget must be greater than or equal to 50.00 USD."),
    "not_found": (errors.NOT_EXIST, "The object does not exist."),
    "validation": (errors.PARAM_ERROR, "Invalid parameter."),
    "deprecated_version": (errors.VERSION_ERROR, errors.MESSAGES[errors.VERSION_ERROR]),
}


class TikTokSandbox(PlatformSandbox):
    """TikTok API for Business v1.3 as a strict, stateful HTTP server."""

    platform = "tiktok"

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.state = TikTokState()
        self.ids = IdFactory()
        self.generation = 0
        self.media_secret = secrets.token_bytes(16)
        config = config or SandboxConfig()
        # Show every TikTok switch and limit in GET /_sandbox/config, with its default.
        for name, value in settings.SWITCHES.items():
            config.switches.setdefault(name, value)
        for name, value in settings.RATE_LIMITS.items():
            config.rate_limits.setdefault(name, value)
        super().__init__(config)

    # ---- configuration -----------------------------------------------------------------------
    def switch(self, name: str) -> Any:
        return self.config.switch(name, settings.SWITCHES.get(name))

    def rate_limit(self, name: str) -> Any:
        return self.config.rate_limits.get(name, settings.RATE_LIMITS.get(name))

    # ---- routes ------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        defs = [
            web.route(e.method, f"{API_PREFIX}{e.path}", make_handler(self, e), name=e.rate_key)
            for e in ENDPOINTS
        ]
        defs.append(web.get("/_sandbox/media/{kind}/{object_id}", self._media))
        return defs

    async def _media(self, request: web.Request) -> web.StreamResponse:
        return await files.serve_media(self, request)

    # ---- auth and rate limits ----------------------------------------------------------------
    def authenticate(self, request: web.Request) -> Token:
        value = request.headers.get("Access-Token", "").strip()
        if not value:
            raise ApiError(errors.EMPTY_ACCESS_TOKEN)
        token = self.state.tokens.get(value)
        if token is None or token.revoked:
            raise ApiError(errors.INVALID_ACCESS_TOKEN)
        if token.expires_at is not None and time.time() >= token.expires_at:
            raise ApiError(errors.ACCESS_TOKEN_EXPIRE)
        return token

    def check_rate_limits(self, endpoint: Endpoint, ctx: Ctx) -> None:
        """Per app and endpoint (QPS/QPM/QPD → 40100), per advertiser and endpoint (QPS → 40133)."""
        app_id = ctx.token.app_id if ctx.token else str(ctx.params.raw("app_id") or "")
        key = endpoint.rate_key
        for unit, window in (("qps", 1.0), ("qpm", 60.0), ("qpd", 86400.0)):
            limit = self.rate_limit(f"{key}_{unit}") or self.rate_limit(f"default_{unit}")
            if limit and not self.limiter.hit(f"app:{app_id}:{key}:{unit}", int(limit), window, ctx.now)[0]:
                raise ApiError(errors.REQUEST_TOO_FREQUENT)
        adv_limit = self.rate_limit("advertiser_qps")
        advertiser_id = ctx.params.raw("advertiser_id")
        if adv_limit and isinstance(advertiser_id, str):
            if not self.limiter.hit(f"adv:{advertiser_id}:{key}", int(adv_limit), 1.0, ctx.now)[0]:
                raise ApiError(errors.ADVERTISER_QPS_LIMIT)

    # ---- faults ------------------------------------------------------------------------------
    def error_response(self, effect: str, rule: FaultRule, request: web.Request) -> web.StreamResponse:
        if effect not in FAULT_CODES:
            raise web.HTTPBadRequest(text=f"tiktok sandbox does not support effect {effect}")
        code, message = FAULT_CODES[effect]
        if effect == "rate_limit" and rule.params.get("scope") == "advertiser":
            code, message = errors.ADVERTISER_QPS_LIMIT, errors.MESSAGES[errors.ADVERTISER_QPS_LIMIT]
        code = int(rule.params.get("code", code))
        message = str(rule.params.get("message", message))
        response = envelope(code, message, {}, log_id())
        response.set_status(int(rule.params.get("http_status", 200)))
        return response

    def apply_state_fault(self, effect: str, rule: FaultRule, request: web.Request) -> None:
        if effect == "disapprove":
            request[DISAPPROVE] = {"reasons": rule.params.get("reasons")}
            return
        if effect == "unfund":
            fields = request.get(FIELDS) or {}
            advertiser_id = str(rule.params.get("advertiser_id") or fields.get("advertiser_id") or "")
            if not advertiser_id and fields.get("advertiser_ids"):
                listed = fields["advertiser_ids"]
                try:
                    listed = json.loads(listed) if isinstance(listed, str) else listed
                except ValueError:
                    listed = []
                advertiser_id = str(listed[0]) if isinstance(listed, list) and listed else ""
            adv = self.state.advertisers.get(advertiser_id)
            if adv is None:
                raise web.HTTPBadRequest(
                    text=f"unfund: no advertiser {advertiser_id!r} in the request or params"
                )
            adv.balance = "0"
            if rule.params.get("status"):
                adv.status = str(rule.params["status"])
            adv.refresh_active(time.time())
            return
        super().apply_state_fault(effect, rule, request)

    # ---- review notifications ----------------------------------------------------------------
    def schedule_review_notification(self, ad_id: str, done_at: float) -> None:
        ad = self.store.get(ad_id, AD)
        index = len(ad.fields.get("_reviews", [])) - 1 if ad else 0
        self.spawn(self._review_later(ad_id, index, self.generation, done_at))

    async def _review_later(self, ad_id: str, index: int, generation: int, done_at: float) -> None:
        await asyncio.sleep(max(0.0, done_at - time.time()))
        await webhooks.notify_review(self, ad_id, index, generation)

    # ---- reset / seed / state file -------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self.state = TikTokState()
        self.generation += 1

    def extra_state(self) -> dict[str, Any]:
        return {"tiktok": self.state.to_json(), "generation": self.generation}

    def restore_extra_state(self, state: dict[str, Any]) -> None:
        self.state.load_json(state.get("tiktok", {}))
        for obj in self.store.all():
            self.ids.taken(obj.id)

    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        st = self.state
        counts: dict[str, int] = {}
        for raw in payload.get("apps", []):
            app = App(
                app_id=str(raw["app_id"]), secret=str(raw["secret"]), name=str(raw.get("name", "adrelay"))
            )
            if "scope" in raw:
                app.scope = [int(s) for s in raw["scope"]]
            st.apps[app.app_id] = app
        for raw in payload.get("currencies", []):
            code = str(raw["currency"])
            base = default_currency(code)
            st.currencies[code] = Currency(
                code,
                int(raw.get("precision", base.precision)),
                Decimal(str(raw.get("budget_ratio", base.ratio))),
            )
        for raw in payload.get("advertisers", []):
            adv = Advertiser(
                advertiser_id=str(raw["advertiser_id"]),
                name=str(raw.get("name", raw["advertiser_id"])),
                currency=str(raw.get("currency", "USD")),
                timezone=str(raw.get("timezone", "Etc/GMT")),
                display_timezone=str(raw.get("display_timezone", "")),
                status=str(raw.get("status", "STATUS_ENABLE")),
                balance=str(Decimal(str(raw.get("balance", "10000")))),
                budget_ratio=str(raw["budget_ratio"]) if raw.get("budget_ratio") is not None else None,
                company=str(raw.get("company", "adrelay test company")),
                country=str(raw.get("country", "US")),
            )
            old = st.advertisers.get(adv.advertiser_id)
            if old is not None:
                adv.active, adv.create_time = old.active, old.create_time
            adv.refresh_active(float(raw.get("active_since", 0.0)) if old is None else now)
            st.advertisers[adv.advertiser_id] = adv
        for raw in payload.get("tokens", []):
            token = Token(
                access_token=str(raw["access_token"]),
                app_id=str(raw["app_id"]),
                advertiser_ids=[str(a) for a in raw.get("advertiser_ids", [])],
                expires_at=float(raw["expires_at"]) if raw.get("expires_at") is not None else None,
                revoked=bool(raw.get("revoked", False)),
            )
            if "scope" in raw:
                token.scope = [int(s) for s in raw["scope"]]
            st.tokens[token.access_token] = token
        for raw in payload.get("auth_codes", []):
            code_obj = AuthCode(
                auth_code=str(raw["auth_code"]),
                app_id=str(raw["app_id"]),
                advertiser_ids=[str(a) for a in raw.get("advertiser_ids", [])],
                access_token=raw.get("access_token"),
                created_at=float(raw.get("created_at", now)),
            )
            st.auth_codes[code_obj.auth_code] = code_obj
        for raw in payload.get("identities", []):
            identity = Identity(
                identity_id=str(raw["identity_id"]),
                identity_type=str(raw.get("identity_type", "CUSTOMIZED_USER")),
                advertiser_id=str(raw["advertiser_id"]),
                display_name=str(raw.get("display_name", "adrelay")),
                identity_authorized_bc_id=raw.get("identity_authorized_bc_id"),
            )
            st.identities[identity.identity_id] = identity
        for raw in payload.get("pixels", []):
            pixel = Pixel(
                pixel_id=str(raw["pixel_id"]),
                advertiser_id=str(raw["advertiser_id"]),
                pixel_name=str(raw.get("pixel_name", "adrelay pixel")),
                pixel_code=str(raw.get("pixel_code", f"C{raw['pixel_id'][-8:]}")),
            )
            st.pixels[pixel.pixel_id] = pixel
        for raw in payload.get("locations", []):
            loc = Location(
                str(raw["location_id"]), str(raw["country_code"]), str(raw.get("name", raw["country_code"]))
            )
            st.locations[loc.location_id] = loc
        for raw in payload.get("objects", []):
            self._seed_object(raw, now)
        for key in (
            "apps",
            "currencies",
            "advertisers",
            "tokens",
            "auth_codes",
            "identities",
            "pixels",
            "locations",
            "objects",
        ):
            counts[key] = len(payload.get(key, []))
        return {"seeded": counts}

    def _seed_object(self, raw: dict[str, Any], now: float) -> None:
        kind = str(raw["kind"])
        if kind not in (CAMPAIGN, ADGROUP, AD, IMAGE, VIDEO):
            raise ValueError(f"unknown object kind {kind!r}")
        object_id = str(raw["id"])
        created = float(raw.get("created_at", now))
        fields = dict(raw.get("fields") or {})
        advertiser_id = str(raw.get("account_id") or fields.get("advertiser_id") or "")
        if kind in (IMAGE, VIDEO):
            self._seed_file(kind, object_id, str(raw.get("name", object_id)), advertiser_id, fields, created)
            return
        id_field = {CAMPAIGN: "campaign_id", ADGROUP: "adgroup_id", AD: "ad_id"}[kind]
        name_field = {CAMPAIGN: "campaign_name", ADGROUP: "adgroup_name", AD: "ad_name"}[kind]
        name = str(raw.get("name") or fields.get(name_field) or object_id)
        parent_id = raw.get("parent_id")
        status_value = str(raw.get("status", fields.get("operation_status", "ENABLE")))
        fields.update({"advertiser_id": advertiser_id, id_field: object_id, name_field: name})
        fields["operation_status"] = "ENABLE" if status_value == "DELETE" else status_value
        if kind == ADGROUP:
            fields["campaign_id"] = parent_id
            start = fields.get("schedule_start_time")
            end = fields.get("schedule_end_time")
            fields["_schedule_start"] = (
                parse_datetime("schedule_start_time", start).timestamp() if start else created
            )
            fields["_schedule_end"] = parse_datetime("schedule_end_time", end).timestamp() if end else None
        if kind == AD:
            adgroup = self.store.get(str(parent_id), ADGROUP)
            fields["adgroup_id"] = parent_id
            fields["campaign_id"] = adgroup.parent_id if adgroup else fields.get("campaign_id")
            outcome = str(fields.pop("review_status", "APPROVED"))
            fields["_reviews"] = [
                {
                    "started_at": created,
                    "done_at": created,
                    "outcome": outcome,
                    "reasons": [],
                    "notified": True,
                }
            ]
        obj = new_object(
            kind, object_id, name, str(parent_id) if parent_id else None, advertiser_id, fields, created
        )
        if status_value == "DELETE":
            set_operation_status(obj, "DELETE", created)
        self.store.put(obj)
        self.ids.taken(object_id)

    def _seed_file(
        self, kind: str, object_id: str, name: str, advertiser_id: str, fields: dict[str, Any], created: float
    ) -> None:
        data = base64.b64decode(fields.pop("bytes_b64", "")) if fields.get("bytes_b64") else b""
        info = (image_info(data) if kind == IMAGE else video_info(data)) if data else None
        stamp = format_iso(created)
        base: dict[str, Any] = {
            f"{kind}_id": object_id,
            "material_id": str(fields.get("material_id") or self.ids.next()),
            "file_name": name,
            "format": info.format if info else fields.get("format", "png" if kind == IMAGE else "mp4"),
            "width": info.width if info else int(fields.get("width", 0)),
            "height": info.height if info else int(fields.get("height", 0)),
            "size": len(data),
            "signature": hashlib.md5(data).hexdigest(),
            "create_time": stamp,
            "modify_time": stamp,
        }
        if kind == IMAGE:
            base.update(is_carousel_usable=True, displayable=True)
        else:
            base.update(duration=info.duration if info else float(fields.get("duration", 10.0)), bit_rate=0)
            base.update(allow_upload=True, _ready_at=created)
        obj = SandboxObject(
            kind=kind, id=object_id, name=name, parent_id=None, account_id=advertiser_id, status="ENABLE",
            created_at=created, updated_at=created, fields=base,
        )  # fmt: skip
        self.store.put(obj)
        self.state.blobs[object_id] = data
