"""The Meta sandbox: Graph routes, dispatch, handlers and the `PlatformSandbox` hooks.

Routes: `/oauth/access_token`, `/debug_token` (with or without a `v{N}.0` prefix), and
`/v{N}.0/{node}` and `/v{N}.0/{node}/{edge}` for every Graph object; `node` is `me`, `act_<n>`, an
app id or an object id. Every Graph call is authenticated, checked against the token's accounts and
scopes, counted for rate limiting, and answered in Meta's shapes (`sandbox.meta.errors`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.common.faults import FaultRule
from sandbox.common.server import FIELDS, PlatformSandbox, json_response
from sandbox.common.store import SandboxObject
from sandbox.meta import media, money, spec
from sandbox.meta import validation as v
from sandbox.meta.auth import Auth, Token, token_string
from sandbox.meta.errors import (
    GraphError,
    bad_enum,
    deprecated_version,
    invalid,
    nonexisting_field,
    required,
    throttle,
    token_expired,
    token_invalidated,
    unsupported,
)
from sandbox.meta.insights import Insights, Rates
from sandbox.meta.listing import (
    Resolver,
    matches,
    page,
    parse_filtering,
    parse_status_list,
    visible_after_lag,
)
from sandbox.meta.objects import (
    DISABLED_STATUSES,
    EU_COUNTRIES,
    IdGenerator,
    Objects,
    Renderer,
    SandboxObjectRef,
    check_name_length,
    format_time,
    parse_fields,
    parse_time,
    tz_offset_hours,
)
from sandbox.meta.settings import setting
from sandbox.meta.usage import Usage
from sandbox.meta.webhooks import Webhooks, delivery_body, sign

# The usage a call counts against (ad account, app) and a disapproval to apply, left on the request.
META_USAGE = web.RequestKey("meta_usage", tuple[Any, Any])
META_DISAPPROVE = web.RequestKey("meta_disapprove", dict[str, Any])

log = logging.getLogger("sandbox.meta")
VERSION = r"{version:v\d+\.\d+}"
LIST_STATUS_ENUMS = {
    "campaign": spec.enums()["adaccountcampaigns_effective_status_enum_param"],
    "adset": spec.enums()["adaccountadsets_effective_status_enum_param"],
    "ad": spec.enums()["Ad_effective_status"],
}
EDGE_KIND = {"campaigns": "campaign", "adsets": "adset", "ads": "ad", "adcreatives": "adcreative"}
NODE_OF = {"campaign": "Campaign", "adset": "AdSet", "ad": "Ad", "adcreative": "AdCreative"}
PAGE_GOALS = {"LEAD_GENERATION", "PAGE_LIKES", "QUALITY_LEAD"}
APP_GOALS = {"APP_INSTALLS", "APP_INSTALLS_AND_OFFSITE_CONVERSIONS", "IN_APP_VALUE"}
PIXEL_GOALS = {"OFFSITE_CONVERSIONS", "VALUE"}
CUSTOM_EVENT_TYPES = spec.enums()["AdPromotedObject_custom_event_type"]


@dataclass
class Call:
    """One authenticated Graph call."""

    request: web.Request
    method: str
    version: str
    params: dict[str, Any]
    token: Token
    base_url: str

    @property
    def write(self) -> bool:
        return self.method != "GET"


class MetaSandbox(PlatformSandbox):
    """Graph API / Marketing API sandbox (see the package docstring for the full behaviour)."""

    platform = "meta"

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.auth = Auth()
        self.webhooks = Webhooks()
        self.ids = IdGenerator()
        self.sessions: dict[str, media.UploadSession] = {}
        self._pending_faults: dict[int, dict[str, Any]] = {}
        super().__init__(config)
        self.objects = Objects(self.store)
        self.renderer = Renderer(self.objects, self._full)
        self.resolver = Resolver(self._ancestor, self.objects.effective_status, self._label_names)
        self.usage = Usage(self.limiter, self.config)
        self.app.on_response_prepare.append(self._usage_headers)

    def setting(self, name: str) -> Any:
        return setting(self.config, name)

    # ---- PlatformSandbox hooks ----------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/oauth/access_token", self.h_oauth),
            web.get(f"/{VERSION}/oauth/access_token", self.h_oauth),
            web.get("/debug_token", self.h_debug),
            web.get(f"/{VERSION}/debug_token", self.h_debug),
            web.route("*", f"/{VERSION}/{{node}}", self.h_graph),
            web.route("*", f"/{VERSION}/{{node}}/{{edge}}", self.h_graph),
        ]

    def error_response(self, effect: str, rule: FaultRule, request: web.Request) -> web.StreamResponse:
        account = _account_in_path(request.path)
        err: GraphError
        if effect == "expired_token":
            now = time.time()
            err = token_expired("Monday, 01-Jan-24 00:00:00 PST", time.strftime("%c", time.localtime(now)))
        elif effect == "invalid_token":
            err = token_invalidated()
        elif effect == "permission":
            err = GraphError("(#200) Permissions error", 200, is_transient=False)
        elif effect == "rate_limit":
            kind = str(rule.params.get("code", "80004"))
            regain = int(rule.params.get("regain_minutes", 5))
            headers = self.usage.headers(account, None, throttled=True) if account else {}
            if account:
                buc = headers["X-Business-Use-Case-Usage"]
                headers["X-Business-Use-Case-Usage"] = buc.replace(
                    '"estimated_time_to_regain_access":' + str(self.usage.regain_minutes(account)),
                    f'"estimated_time_to_regain_access":{regain}',
                )
            err = throttle(kind, regain, headers)
        elif effect == "transient":
            if rule.params.get("code") == 1:
                err = GraphError("An unknown error occurred", 1, subcode=99, is_transient=True, status=500)
            else:
                err = GraphError(
                    "(#2) Service temporarily unavailable",
                    2,
                    is_transient=True,
                    status=int(rule.params.get("status", 500)),
                )
        elif effect == "meta_1487390":
            err = invalid(
                "Adcreative Create Failed",
                "The Adcreative Create Failed for the following reason: Oops, something went wrong. "
                "Please try "
                "again later",
                subcode=1487390,
            )
        elif effect == "budget_too_low":
            err = v.budget_too_low("daily_budget", str(rule.params.get("minimum", "$1.00")))
        elif effect == "deprecated_version":
            match = request.match_info.get("version", "v0.0")
            err = deprecated_version(match)
        elif effect == "not_found":
            obj_id = (
                request.match_info.get("edge") and request.match_info.get("node")
            ) or request.match_info.get("node", "")
            err = unsupported(request.method, obj_id)
        elif effect == "validation":
            err = GraphError(str(rule.params.get("message", "(#100) Invalid parameter")), 100)
        else:
            raise web.HTTPBadRequest(text=f"meta sandbox does not support effect {effect}")
        request[META_USAGE] = (account, None)
        return json_response(err.body(), status=err.status, headers=err.headers)

    def apply_state_fault(self, effect: str, rule: FaultRule, request: web.Request) -> None:
        if effect == "disapprove":
            request[META_DISAPPROVE] = dict(rule.params)
            return
        if effect == "unfund":
            account = _account_in_path(request.path) or self._account_of_path_object(request)
            if account is None:
                raise web.HTTPBadRequest(text="unfund: the request names no ad account")
            acct = self.objects.account(account)
            if acct is None:
                return
            if rule.params.get("mode") == "no_payment_method":
                acct.fields["has_payment_method"] = False
            else:
                acct.fields["account_status"] = int(rule.params.get("account_status", 3))
            self.objects.refresh_activity(account)
            return
        raise web.HTTPBadRequest(text=f"meta sandbox does not support effect {effect}")

    def reset(self) -> None:
        super().reset()
        self.auth.clear()
        self.webhooks.clear()
        self.sessions.clear()

    def extra_state(self) -> dict[str, Any]:
        return {"auth": self.auth.to_json(), "webhooks": self.webhooks.to_json()}

    def restore_extra_state(self, state: dict[str, Any]) -> None:
        self.auth.restore(state.get("auth", {}))
        self.webhooks.restore(state.get("webhooks", {}))
        for obj in self.store.all():
            self.ids.bump(obj.id)

    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        from sandbox.meta.seeding import apply_seed

        return apply_seed(self, payload)

    # ---- usage headers -------------------------------------------------------------------------
    async def _usage_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if request.path.startswith("/_sandbox/") or "X-Business-Use-Case-Usage" in response.headers:
            return
        account, app_id = request.get(META_USAGE, (None, None))
        for key, value in self.usage.headers(account, app_id).items():
            response.headers[key] = value

    # ---- token endpoints -------------------------------------------------------------------------
    async def h_oauth(self, request: web.Request) -> web.Response:
        try:
            return json_response(self.auth.exchange(request[FIELDS]))
        except GraphError as err:
            return json_response(err.body(), status=err.status)

    async def h_debug(self, request: web.Request) -> web.Response:
        params = request[FIELDS]
        try:
            return json_response(self.auth.debug(params, token_string(request, params)))
        except GraphError as err:
            return json_response(err.body(), status=err.status)

    # ---- Graph dispatch ----------------------------------------------------------------------------
    async def h_graph(self, request: web.Request) -> web.Response:
        try:
            self._tick()
            result = await self._dispatch(request)
            return json_response(result)
        except GraphError as err:
            return json_response(err.body(), status=err.status, headers=err.headers)
        except asyncio.CancelledError:
            raise
        except Exception:  # a sandbox bug answers like Graph's own internal errors, and is logged
            log.exception("meta sandbox handler failed")
            internal = GraphError("An unknown error occurred", 1, subcode=99, is_transient=True, status=500)
            return json_response(internal.body(), status=500)

    async def _dispatch(self, request: web.Request) -> Any:
        version = request.match_info["version"]
        if version in self.setting("deprecated_versions"):
            raise deprecated_version(version)
        fields: dict[str, Any] = request[FIELDS]
        params = dict(fields)
        method = request.method.upper()
        override = str(params.pop("method", "")).upper()
        if method in {"GET", "POST"} and override in {"GET", "POST", "DELETE"}:
            method = override
        if method not in {"GET", "POST", "DELETE"}:
            raise GraphError(f"(#100) Unsupported method {method}", 100)
        node = request.match_info["node"]
        edge = request.match_info.get("edge")
        caller = token_string(request, params)
        if node in self.auth.apps:
            return await self._app_node(node, edge, method, params, caller, version, request)
        token = self.auth.check(caller)
        request[META_USAGE] = (None, token.app_id)
        call = Call(request, method, version, params, token, self.base_url(request))
        if node == "me":
            return self._me(call, edge)
        if node.startswith("act_"):
            number = node[4:]
            acct = self.objects.account(number)
            if acct is None or not number.isdigit():
                raise unsupported(method, node)
            self._enter_account(call, number, edge)
            return await self._account_edge(call, acct, edge)
        obj = self.store.get(node)
        if obj is None:
            raise unsupported(method, node)
        if obj.account_id is not None:
            if "*" not in token.accounts and obj.account_id not in token.accounts:
                raise unsupported(method, node)
            self._enter_account(call, obj.account_id, edge)
        return await self._object_edge(call, obj, edge)

    def _enter_account(self, call: Call, number: str, edge: str | None) -> None:
        Auth.require_account(call.token, number, call.write)
        call.request[META_USAGE] = (number, call.token.app_id)
        usage_type = "ads_insights" if edge == "insights" else "ads_management"
        self.usage.count(number, usage_type, call.token.app_id)
        acct = self.objects.account(number)
        if (
            call.write
            and acct is not None
            and edge != "insights"
            and acct.fields.get("account_status") in DISABLED_STATUSES
            and self.setting("disabled_account_blocks_writes")
        ):
            raise GraphError(
                f"(#200) Ad account act_{number} is disabled (account_status "
                f"{acct.fields.get('account_status')}); its ad objects can't be created or changed",
                200,
            )

    def _tick(self) -> None:
        """Finish reviews that are due (also after a restart, when no timer is pending)."""
        now = time.time()
        for ad in self.store.all("ad"):
            if ad.fields.get("_review") == "pending" and ad.fields.get("_review_due", 0) <= now:
                self._complete_review(ad)

    # ---- /me and apps ------------------------------------------------------------------------------
    def _me(self, call: Call, edge: str | None) -> Any:
        token = call.token
        if edge is None:
            return self.renderer.render(_user(token), parse_fields(call.params.get("fields")) or None)
        if edge == "adaccounts":
            accounts = [
                a
                for a in self.store.all("adaccount")
                if "*" in token.accounts or a.account_id in token.accounts
            ]
            return self._list(call, accounts, "adaccount")
        if edge == "permissions":
            return {"data": [{"permission": s, "status": "granted"} for s in token.scopes]}
        raise nonexisting_field(edge, "User")

    async def _app_node(
        self,
        app_id: str,
        edge: str | None,
        method: str,
        params: dict[str, Any],
        caller: str | None,
        version: str,
        request: web.Request,
    ) -> Any:
        app = self.auth.apps[app_id]
        request[META_USAGE] = (None, app_id)
        if edge != "subscriptions":
            if edge is None and method == "GET":
                return {"id": app.app_id, "name": app.name}
            raise unsupported(method, app_id)
        if caller is None or self.auth.app_token(caller) is not app:
            raise GraphError(
                "(#15) This method must be called with an app access_token.", 15, type_="OAuthException"
            )
        if method == "GET":
            return self.webhooks.list(app_id)
        if method == "DELETE":
            return self.webhooks.unsubscribe(app_id, params)
        return await self.webhooks.subscribe(app_id, params, version)

    # ---- ad account edges -----------------------------------------------------------------------
    async def _account_edge(self, call: Call, acct: SandboxObject, edge: str | None) -> Any:
        m = call.method
        if edge is None:
            if m == "GET":
                return self._render(call, acct)
            if m == "POST":
                p = v.coerce("AdAccount", "POST", None, call.params)
                if "name" in p:
                    acct.name = str(p["name"])
                if "spend_cap" in p:
                    acct.fields["spend_cap"] = int(float(p["spend_cap"]) * self._offset(acct))
                self.store.touch(acct)
                return {"success": True}
            raise unsupported(m, acct.id)
        if edge == "minimum_budgets" and m == "GET":
            mins = acct.fields["_minimums"]
            return {"data": [{"currency": acct.fields["currency"], **mins}]}
        if edge in {"campaigns", "adsets", "ads"}:
            kind = EDGE_KIND[edge]
            if m == "GET":
                rows = [o for o in self.store.all(kind) if o.account_id == acct.account_id]
                return self._list_adobjects(call, rows, kind, filtering=True)
            if m == "POST":
                return self._create(call, acct, kind)
        if edge == "adcreatives":
            if m == "GET":
                rows = [
                    o
                    for o in self.store.all("adcreative")
                    if o.account_id == acct.account_id and not o.deleted
                ]
                return self._list(call, _newest(rows), "adcreative")
            if m == "POST":
                return self._create(call, acct, "adcreative")
        if edge == "adimages":
            return self._adimages(call, acct)
        if edge == "advideos":
            return self._advideos(call, acct)
        if edge == "adlabels":
            if m == "GET":
                rows = [
                    o for o in self.store.all("adlabel") if o.account_id == acct.account_id and not o.deleted
                ]
                return self._list(call, _newest(rows), "adlabel")
            if m == "POST":
                p = v.coerce("AdAccount", "POST", "adlabels", call.params)
                if any(lbl.name == p["name"] for lbl in self._account_labels(acct)):
                    raise GraphError(f"(#100) An ad label with the name {p['name']!r} already exists", 100)
                label = self._new("adlabel", str(p["name"]), acct, None, "ACTIVE", {})
                return {"id": label.id}
        if (
            edge in {"campaignsbylabels", "adsetsbylabels", "adsbylabels", "adcreativesbylabels"}
            and m == "GET"
        ):
            return self._by_labels(call, acct, edge)
        if edge == "insights":
            return self._insights(call, acct)
        if edge == "subscribed_apps":
            return self._subscribed_apps(call, acct)
        if m == "GET":
            raise nonexisting_field(edge, "AdAccount")
        raise unsupported(m, acct.id)

    # ---- object edges --------------------------------------------------------------------------------
    async def _object_edge(self, call: Call, obj: SandboxObject, edge: str | None) -> Any:
        m = call.method
        kind = obj.kind
        if kind in {"page", "instagram_account", "pixel"}:
            if edge is None and m == "GET":
                return self._render(call, obj)
            raise unsupported(m, obj.id)
        if edge is None:
            if m == "GET":
                return self._render(call, obj)
            if m == "POST" and kind in {"campaign", "adset", "ad", "adcreative"}:
                return self._update(call, obj)
            if m == "POST" and kind == "advideo":
                v.coerce("AdVideo", "POST", None, call.params)
                for key in ("name", "title", "description"):
                    if key in call.params:
                        obj.fields[key if key != "name" else "title"] = str(call.params[key])
                self.store.touch(obj)
                return {"success": True}
            if m == "DELETE" and kind in {"campaign", "adset", "ad", "adcreative", "advideo", "adlabel"}:
                self._delete(obj)
                return {"success": True}
            raise unsupported(m, obj.id)
        if edge == "insights" and kind in {"campaign", "adset", "ad"}:
            return self._insights(call, obj)
        if edge == "insights" and kind == "adreportrun" and m == "GET":
            return self._report_rows(call, obj)
        if (
            edge == "adlabels"
            and kind in {"campaign", "adset", "ad", "adcreative"}
            and m in {"POST", "DELETE"}
        ):
            acct = self.objects.account_of(obj)
            assert acct is not None
            labels = self._resolve_labels(call.params.get("adlabels"), acct, create=m == "POST")
            current: list[str] = obj.fields.setdefault("_labels", [])
            for label in labels:
                if m == "POST" and label.id not in current:
                    current.append(label.id)
                if m == "DELETE" and label.id in current:
                    current.remove(label.id)
            self.store.touch(obj)
            return {"success": True}
        if m == "GET" and kind == "campaign" and edge in {"adsets", "ads"}:
            child = EDGE_KIND[edge]
            rows = [o for o in self.store.all(child) if (self.objects.campaign_of(o) or o).id == obj.id]
            return self._list_adobjects(call, rows, child, filtering=True)
        if m == "GET" and kind == "adset" and edge == "ads":
            rows = [o for o in self.store.all("ad") if o.parent_id == obj.id]
            return self._list_adobjects(call, rows, "ad", filtering=True)
        if m == "GET" and kind in {"ad", "adset"} and edge == "adcreatives":
            ads = [obj] if kind == "ad" else [o for o in self.store.all("ad") if o.parent_id == obj.id]
            ids = {a.fields.get("creative_id") for a in ads}
            rows = [o for o in self.store.all("adcreative") if o.id in ids]
            return self._list(call, rows, "adcreative")
        if m == "GET" and kind == "adlabel" and edge in EDGE_KIND:
            child = EDGE_KIND[edge]
            rows = [o for o in self.store.all(child) if obj.id in o.fields.get("_labels", [])]
            return self._list_adobjects(call, rows, child, filtering=False)
        if m == "GET":
            raise nonexisting_field(edge, spec.GRAPH_TYPE_OF_KIND.get(kind, kind))
        raise unsupported(m, obj.id)

    # ---- rendering ------------------------------------------------------------------------------------
    def _render(self, call: Call, obj: SandboxObject) -> dict[str, Any]:
        return self.renderer.finalize(self.renderer.render(obj, parse_fields(call.params.get("fields"))))

    def _list(self, call: Call, rows: list[SandboxObject], kind: str) -> dict[str, Any]:
        wanted = parse_fields(call.params.get("fields"))
        chunk, paging = page(rows, lambda o: o.id, _public(call.params, call.token), self._url(call))
        data = [self.renderer.finalize(self.renderer.render(o, wanted)) for o in chunk]
        out: dict[str, Any] = {"data": data}
        if paging:
            out["paging"] = paging
        summary = str(call.params.get("summary", "")).lower()
        if summary in {"true", "total_count", "1"} or "total_count" in summary:
            out["summary"] = {"total_count": len(rows)}
        return out

    def _url(self, call: Call) -> str:
        return f"{call.base_url}{call.request.path}"

    def _list_adobjects(
        self, call: Call, rows: list[SandboxObject], kind: str, filtering: bool
    ) -> dict[str, Any]:
        params = call.params
        lag = int(self.config.list_read_lag_ms or 0)
        rows = [o for o in rows if visible_after_lag(o, lag)]
        statuses = parse_status_list(params.get("effective_status"), LIST_STATUS_ENUMS[kind])
        rules = parse_filtering(params.get("filtering")) if filtering else []
        if not filtering and params.get("filtering"):
            rules = []
        for rule in rules:
            own = rule["field"] in {"effective_status", f"{kind}.effective_status"}
            if own and rule["operator"] in {"IN", "EQUAL"}:
                wanted = rule["value"] if isinstance(rule["value"], list) else [rule["value"]]
                statuses = list(statuses or []) + [str(w) for w in wanted]
        list_deleted = bool(self.setting("list_deleted_objects"))
        shown = []
        for obj in rows:
            eff = self.objects.effective_status(obj)
            if eff == "DELETED" or obj.deleted:
                if not (list_deleted and statuses and "DELETED" in statuses):
                    continue
            elif eff == "ARCHIVED" and not (statuses and "ARCHIVED" in statuses):
                continue
            if statuses is not None and eff not in statuses:
                continue
            if params.get("updated_since") and kind == "ad":
                if obj.updated_at < float(params["updated_since"]):
                    continue
            if all(self._rule_ok(obj, rule) for rule in rules):
                shown.append(obj)
        return self._list(call, _newest(shown), kind)

    def _rule_ok(self, obj: SandboxObject, rule: dict[str, Any]) -> bool:
        found, value = self.resolver.value(obj, rule["field"])
        if not found:
            if self.setting("unknown_filter_fields") == "reject":
                raise GraphError(
                    f"(#100) Filtering field {rule['field']} with operation "
                    f"{rule['operator'].lower()} is not "
                    "supported",
                    100,
                )
            return True
        return matches(value, rule["operator"], rule["value"], bool(self.setting("contain_case_insensitive")))

    def _ancestor(self, obj: SandboxObject, level: str) -> SandboxObject | None:
        if level == "campaign":
            return self.objects.campaign_of(obj)
        if level == "adset":
            return self.objects.adset_of(obj)
        return obj if obj.kind == "ad" else None

    def _label_names(self, obj: SandboxObject) -> list[str]:
        return [lbl.name for lbl in self.objects.labels(obj)]

    def _offset(self, acct: SandboxObject) -> int:
        return money.offset(acct.fields["currency"], self.setting("offset_one_extra_currencies"))

    def _full(self, obj: SandboxObject) -> dict[str, Any]:
        tz = self.objects.tz(obj)
        f = obj.fields

        def t(ts: Any) -> str | None:
            return format_time(float(ts), tz) if ts else None

        base: dict[str, Any] = {
            "id": obj.id,
            "created_time": t(obj.created_at),
            "updated_time": t(obj.updated_at),
        }
        labels = [{"id": lbl.id, "name": lbl.name} for lbl in self.objects.labels(obj)] or None
        if obj.kind == "adaccount":
            currency = f["currency"]
            return {
                "id": obj.id,
                "account_id": obj.account_id,
                "name": obj.name,
                "currency": currency,
                "timezone_name": f["timezone_name"],
                "timezone_offset_hours_utc": tz_offset_hours(f["timezone_name"]),
                "timezone_id": f.get("timezone_id"),
                "account_status": f["account_status"],
                "disable_reason": f.get("disable_reason", 0),
                "min_daily_budget": f["_minimums"]["min_daily_budget_imp"],
                "amount_spent": str(self._amount_spent(obj)),
                "spend_cap": str(f.get("spend_cap", 0)),
                "balance": "0",
                "business_name": f.get("business_name", ""),
                "is_prepay_account": False,
                "funding_source": f.get("funding_source") if f.get("has_payment_method", True) else None,
                "default_dsa_beneficiary": f.get("default_dsa_beneficiary"),
                "default_dsa_payor": f.get("default_dsa_payor"),
                "created_time": t(obj.created_at),
                "capabilities": [],
            }
        if obj.kind == "campaign":
            return {
                **base,
                "account_id": obj.account_id,
                "name": obj.name,
                "objective": f.get("objective"),
                "status": obj.status,
                "configured_status": obj.status,
                "effective_status": self.objects.effective_status(obj),
                "buying_type": f.get("buying_type", "AUCTION"),
                "special_ad_categories": f.get("special_ad_categories", []),
                "special_ad_category": (f.get("special_ad_categories") or ["NONE"])[0],
                "special_ad_category_country": f.get("special_ad_category_country"),
                "bid_strategy": f.get("bid_strategy"),
                "daily_budget": _money_str(f.get("daily_budget")),
                "lifetime_budget": _money_str(f.get("lifetime_budget")),
                "budget_remaining": _money_str(f.get("daily_budget") or f.get("lifetime_budget") or 0),
                "spend_cap": _money_str(f.get("spend_cap")),
                "is_adset_budget_sharing_enabled": f.get("is_adset_budget_sharing_enabled"),
                "start_time": t(f.get("start_time")),
                "stop_time": t(f.get("stop_time")),
                "promoted_object": f.get("promoted_object"),
                "pacing_type": ["standard"],
                "adlabels": labels,
                "source_campaign_id": "0",
                "can_use_spend_cap": True,
                "issues_info": None,
            }
        if obj.kind == "adset":
            return {
                **base,
                "account_id": obj.account_id,
                "campaign_id": obj.parent_id,
                "campaign": SandboxObjectRef(obj.parent_id or ""),
                "name": obj.name,
                "status": obj.status,
                "configured_status": obj.status,
                "effective_status": self.objects.effective_status(obj),
                "daily_budget": _money_str(f.get("daily_budget") or 0),
                "lifetime_budget": _money_str(f.get("lifetime_budget") or 0),
                "budget_remaining": _money_str(f.get("daily_budget") or f.get("lifetime_budget") or 0),
                "bid_amount": f.get("bid_amount"),
                "bid_strategy": f.get("bid_strategy"),
                "bid_constraints": f.get("bid_constraints"),
                "billing_event": f.get("billing_event"),
                "optimization_goal": f.get("optimization_goal"),
                "targeting": f.get("targeting"),
                "promoted_object": f.get("promoted_object"),
                "destination_type": f.get("destination_type"),
                "start_time": t(f.get("start_time") or obj.created_at),
                "end_time": t(f.get("end_time")),
                "dsa_beneficiary": f.get("dsa_beneficiary"),
                "dsa_payor": f.get("dsa_payor"),
                "pacing_type": ["standard"],
                "adlabels": labels,
                "source_adset_id": "0",
            }
        if obj.kind == "ad":
            adset = self.objects.adset_of(obj)
            campaign = self.objects.campaign_of(obj)
            review = f.get("_review")
            return {
                **base,
                "account_id": obj.account_id,
                "adset_id": obj.parent_id,
                "adset": SandboxObjectRef(obj.parent_id or ""),
                "campaign_id": campaign.id if campaign else None,
                "campaign": SandboxObjectRef(campaign.id) if campaign else None,
                "name": obj.name,
                "status": obj.status,
                "configured_status": obj.status,
                "effective_status": self.objects.effective_status(obj),
                "creative": SandboxObjectRef(f.get("creative_id", "")),
                "ad_review_feedback": f.get("ad_review_feedback") if review == "disapproved" else None,
                "issues_info": None,
                "tracking_specs": f.get("tracking_specs"),
                "conversion_domain": f.get("conversion_domain"),
                "bid_amount": adset.fields.get("bid_amount") if adset else None,
                "adlabels": labels,
                "source_ad_id": "0",
            }
        if obj.kind == "adcreative":
            oss = f.get("object_story_spec") or {}
            data = oss.get("link_data") or oss.get("video_data") or oss.get("photo_data") or {}
            cta = data.get("call_to_action") or f.get("call_to_action")
            return {
                "id": obj.id,
                "account_id": obj.account_id,
                "name": obj.name,
                "status": "DELETED" if obj.deleted else "ACTIVE",
                "object_story_spec": oss or None,
                "object_type": f.get("object_type"),
                "image_hash": data.get("image_hash") or f.get("image_hash"),
                "video_id": data.get("video_id"),
                "title": data.get("name") or data.get("title") or f.get("title"),
                "body": data.get("message") or f.get("body"),
                "link_url": data.get("link"),
                "call_to_action_type": cta.get("type") if isinstance(cta, dict) else None,
                "effective_object_story_id": f.get("_story_id"),
                "object_story_id": f.get("object_story_id"),
                "thumbnail_url": data.get("image_url"),
                "url_tags": f.get("url_tags"),
                "instagram_user_id": oss.get("instagram_user_id"),
                "adlabels": labels,
            }
        if obj.kind == "adimage":
            return {
                **base,
                "account_id": obj.account_id,
                "hash": f["hash"],
                "name": obj.name,
                "url": f["url"],
                "url_128": f["url"],
                "permalink_url": f["url"],
                "width": f.get("width", 0),
                "height": f.get("height", 0),
                "original_width": f.get("width", 0),
                "original_height": f.get("height", 0),
                "status": obj.status,
                "creatives": [
                    c.id
                    for c in self.store.all("adcreative")
                    if c.account_id == obj.account_id and f["hash"] in str(c.fields.get("object_story_spec"))
                ],
            }
        if obj.kind == "advideo":
            return {
                **base,
                "title": f.get("title"),
                "description": f.get("description"),
                "length": f.get("length", 0.0),
                "status": media.video_status(obj),
                "published": False,
                "source": f.get("source_url"),
                "picture": f.get("picture"),
                "permalink_url": f"/{obj.id}",
                "custom_labels": f.get("custom_labels"),
            }
        if obj.kind == "adlabel":
            return {**base, "name": obj.name, "account": {"id": f"act_{obj.account_id}"}}
        if obj.kind == "adreportrun":
            return self._report_status(obj)
        if obj.kind in {"page", "instagram_account", "pixel", "user"}:
            return {"id": obj.id, "name": obj.name, "username": f.get("username", obj.name), **f}
        return base

    def _amount_spent(self, acct: SandboxObject) -> int:
        rates = self._rates(acct)
        total = 0.0
        for ad in self.store.all("ad"):
            if ad.account_id == acct.account_id:
                total += self.insights_engine()._cumulative(ad, time.time(), rates)[2]
        return int(total)

    # ---- creation -----------------------------------------------------------------------------------
    def _new(
        self,
        kind: str,
        name: str,
        acct: SandboxObject,
        parent_id: str | None,
        status: str,
        fields: dict[str, Any],
        obj_id: str | None = None,
    ) -> SandboxObject:
        obj = SandboxObject(
            kind=kind,
            id=obj_id or self.ids.next(),
            name=name,
            parent_id=parent_id or acct.id,
            account_id=acct.account_id,
            status=status,
            deleted=status == "DELETED",
            fields=fields,
        )
        return self.store.put(obj)

    def _create(self, call: Call, acct: SandboxObject, kind: str) -> dict[str, Any]:
        p = v.coerce("AdAccount", "POST", f"{kind}s", call.params)
        builder = {
            "campaign": self._build_campaign,
            "adset": self._build_adset,
            "ad": self._build_ad,
            "adcreative": self._build_creative,
        }[kind]
        name, parent, status, fields = builder(call, acct, p)
        labels = self._resolve_labels(p.get("adlabels"), acct, create=not v.validate_only(p))
        if v.validate_only(p):
            return {"success": True}
        fields["_labels"] = [lbl.id for lbl in labels]
        obj = self._new(kind, name, acct, parent, status, fields)
        if kind == "ad":
            self._start_review(obj, call.request)
        if kind == "adcreative":
            obj.fields["_story_id"] = (
                f"{fields['object_story_spec'].get('page_id', '0')}_{self.ids.next()}"
                if fields.get("object_story_spec")
                else None
            )
        self.objects.refresh_activity(acct.account_id)
        return {"id": obj.id}

    def _create_status(self, p: dict[str, Any]) -> str:
        status = str(p.get("status") or "ACTIVE")
        if status not in {"ACTIVE", "PAUSED"}:
            raise bad_enum("status", ["ACTIVE", "PAUSED"])
        return status

    def _time(self, acct: SandboxObject, name: str, raw: Any) -> float | None:
        if raw is None or raw == "":
            return None
        try:
            return parse_time(
                raw, acct.fields["timezone_name"], bool(self.setting("naive_datetime_in_account_tz"))
            )
        except ValueError as exc:
            raise GraphError(
                f"(#100) Param {name} must be a valid datetime (ISO-8601 with offset or Unix time)"
            ) from exc

    def _build_campaign(
        self, call: Call, acct: SandboxObject, p: dict[str, Any]
    ) -> tuple[str, str | None, str, dict[str, Any]]:
        name = str(p.get("name", ""))
        check_name_length(name, int(self.setting("name_max_length")))
        objective = p.get("objective")
        if objective is None and self.setting("campaign_requires_objective"):
            raise required("objective")
        if objective is not None:
            v.check_objective_for_create(objective)
        if p.get("smart_promotion_type"):
            raise GraphError(
                "(#100) Param smart_promotion_type can no longer be used to create campaigns "
                "(removed in v25.0)"
            )
        status = self._create_status(p)
        fields: dict[str, Any] = {
            "objective": objective,
            "special_ad_categories": p["special_ad_categories"],
            "special_ad_category_country": p.get("special_ad_category_country"),
            "buying_type": p.get("buying_type", "AUCTION"),
        }
        self._campaign_budget_rules(acct, fields, p, new=True)
        fields["start_time"] = self._time(acct, "start_time", p.get("start_time"))
        fields["stop_time"] = self._time(acct, "stop_time", p.get("stop_time"))
        if fields["start_time"] and fields["stop_time"] and fields["stop_time"] <= fields["start_time"]:
            raise invalid(
                "Invalid Stop Time",
                "The campaign's stop time must be after its start time.",
                blame=["stop_time"],
            )
        if p.get("spend_cap") is not None:
            fields["spend_cap"] = p["spend_cap"]
        if p.get("promoted_object") is not None:
            fields["promoted_object"] = p["promoted_object"]
        return name, None, status, fields

    def _campaign_budget_rules(
        self, acct: SandboxObject, fields: dict[str, Any], p: dict[str, Any], new: bool
    ) -> None:
        for key in ("daily_budget", "lifetime_budget", "is_adset_budget_sharing_enabled", "bid_strategy"):
            if key in p:
                fields[key] = p[key]
        if fields.get("daily_budget") and fields.get("lifetime_budget"):
            raise GraphError("(#100) Only one of daily_budget or lifetime_budget can be set", 100)
        cbo = bool(fields.get("daily_budget") or fields.get("lifetime_budget"))
        if not cbo:
            if fields.get("bid_strategy") is not None:
                raise invalid(
                    "Bid Strategy Requires Campaign Budget",
                    "A bid strategy can only be set on a campaign that uses a campaign budget "
                    "(daily_budget or "
                    "lifetime_budget). Set the bid strategy on the ad sets instead.",
                    blame=["bid_strategy"],
                )
            if new and fields.get("is_adset_budget_sharing_enabled") is None:
                raise v.budget_sharing_required()
        else:
            fields.setdefault("bid_strategy", "LOWEST_COST_WITHOUT_CAP")
            if fields.get("daily_budget"):
                self._check_minimum(acct, "daily_budget", int(fields["daily_budget"]), "IMPRESSIONS", 1)

    def _check_minimum(
        self, acct: SandboxObject, field: str, amount: int, billing: str | None, days: int
    ) -> None:
        minimum = money.minimum_for(acct.fields["_minimums"], billing) * max(1, days)
        if amount < minimum:
            shown = money.display(
                minimum, acct.fields["currency"], self.setting("offset_one_extra_currencies")
            )
            raise v.budget_too_low(field, shown)

    def _live(self, obj_id: Any, kind: str, acct: SandboxObject, param: str) -> SandboxObject:
        obj = self.store.get(str(obj_id), kind)
        if obj is None or obj.account_id != acct.account_id:
            raise GraphError(
                f"(#100) Param {param} must be a valid {kind} id in ad account act_{acct.account_id}"
            )
        if obj.deleted:
            raise invalid(
                "Parent Object Deleted",
                f"The {kind} {obj.id} has been deleted; new objects can't be created under it.",
                blame=[param],
            )
        return obj

    def _build_adset(
        self, call: Call, acct: SandboxObject, p: dict[str, Any]
    ) -> tuple[str, str | None, str, dict[str, Any]]:
        name = str(p["name"])
        check_name_length(name, int(self.setting("name_max_length")))
        if p.get("campaign_id") in (None, ""):
            raise required("campaign_id")
        campaign = self._live(p["campaign_id"], "campaign", acct, "campaign_id")
        status = self._create_status(p)
        fields: dict[str, Any] = {}
        for key in (
            "billing_event",
            "optimization_goal",
            "promoted_object",
            "destination_type",
            "bid_amount",
            "bid_strategy",
            "bid_constraints",
            "daily_budget",
            "lifetime_budget",
            "dsa_beneficiary",
            "dsa_payor",
            "attribution_spec",
            "frequency_control_specs",
        ):
            if p.get(key) is not None:
                fields[key] = p[key]
        if "billing_event" not in fields and self.setting("adset_requires_billing_event"):
            raise required("billing_event")
        fields["start_time"] = self._time(acct, "start_time", p.get("start_time"))
        fields["end_time"] = self._time(acct, "end_time", p.get("end_time"))
        if p.get("targeting") is None:
            if self.setting("adset_requires_targeting"):
                raise required("targeting")
        else:
            fields["targeting"] = p["targeting"]
        self._adset_rules(acct, campaign, fields, new=True)
        return name, campaign.id, status, fields

    def _adset_rules(
        self, acct: SandboxObject, campaign: SandboxObject, f: dict[str, Any], new: bool
    ) -> None:
        objective = campaign.fields.get("objective")
        goals = v.goals_for(objective or "", self.setting("objective_goal_table"))
        if f.get("optimization_goal") is None and goals:
            f["optimization_goal"] = goals[0]
        goal = f.get("optimization_goal")
        if goal is not None and goals is not None and goal not in goals:
            raise v.goal_mismatch()
        billing = f.get("billing_event")
        if billing and billing != "IMPRESSIONS" and self.setting("billing_event_must_match_goal"):
            if v.BILLING_EVENT_GOAL.get(billing) != goal:
                raise invalid(
                    "Billing Event Not Available",
                    f"The billing event {billing} can't be used with the optimization goal {goal}. "
                    "Use IMPRESSIONS.",
                    blame=["billing_event"],
                )
        promoted = f.get("promoted_object") or {}
        if goal in PIXEL_GOALS:
            if not promoted.get("pixel_id") or not promoted.get("custom_event_type"):
                raise invalid(
                    "Promoted Object Required",
                    f"The optimization goal {goal} needs promoted_object with pixel_id and "
                    "custom_event_type.",
                    blame=["promoted_object"],
                )
            pixel = self.store.get(str(promoted["pixel_id"]), "pixel")
            if pixel is None or acct.account_id not in pixel.fields.get("_accounts", [acct.account_id]):
                raise invalid(
                    "Invalid Pixel",
                    f"The pixel {promoted['pixel_id']} is not available to ad account act_{acct.account_id}.",
                    blame=["promoted_object", "pixel_id"],
                )
            if promoted["custom_event_type"] not in CUSTOM_EVENT_TYPES:
                raise bad_enum("promoted_object[custom_event_type]", CUSTOM_EVENT_TYPES)
        if goal in APP_GOALS and not (promoted.get("application_id") and promoted.get("object_store_url")):
            raise invalid(
                "Promoted Object Required",
                f"The optimization goal {goal} needs promoted_object with application_id and "
                "object_store_url.",
                blame=["promoted_object"],
            )
        if goal in PAGE_GOALS:
            page_id = promoted.get("page_id")
            if not page_id or self.store.get(str(page_id), "page") is None:
                raise invalid(
                    "Promoted Object Required",
                    f"The optimization goal {goal} needs promoted_object with a valid page_id.",
                    blame=["promoted_object"],
                )
        cbo = bool(campaign.fields.get("daily_budget") or campaign.fields.get("lifetime_budget"))
        has_budget = bool(f.get("daily_budget") or f.get("lifetime_budget"))
        if cbo and has_budget:
            raise v.budget_on_both_levels()
        if not cbo and not has_budget:
            raise invalid(
                "Budget Required",
                "Your ad set needs a daily_budget or a lifetime_budget because its campaign doesn't use a "
                "campaign budget.",
                blame=["daily_budget"],
            )
        if f.get("daily_budget") and f.get("lifetime_budget"):
            raise GraphError("(#100) Only one of daily_budget or lifetime_budget can be set", 100)
        if f.get("lifetime_budget") and not f.get("end_time"):
            raise invalid(
                "End Time Required", "An ad set with a lifetime budget needs an end_time.", blame=["end_time"]
            )
        start = f.get("start_time") or time.time()
        if f.get("end_time") and f["end_time"] <= start:
            raise invalid(
                "Invalid End Time", "The ad set's end time must be after its start time.", blame=["end_time"]
            )
        if f.get("daily_budget"):
            self._check_minimum(acct, "daily_budget", int(f["daily_budget"]), billing, 1)
        if f.get("lifetime_budget"):
            days = math.ceil((f["end_time"] - start) / 86400)
            self._check_minimum(acct, "lifetime_budget", int(f["lifetime_budget"]), billing, days)
        strategy = f.get("bid_strategy") or (campaign.fields.get("bid_strategy") if cbo else None)
        strategy = strategy or self.setting("default_bid_strategy")
        if strategy in v.CAP_STRATEGIES and f.get("bid_amount") is None:
            subcode = 1815857 if cbo and not f.get("bid_strategy") else 2490487
            raise v.bid_amount_required(strategy, subcode)
        if strategy == "LOWEST_COST_WITH_MIN_ROAS":
            floor = (f.get("bid_constraints") or {}).get("roas_average_floor")
            if floor is None or goal != "VALUE":
                raise v.bid_amount_required(strategy)
        if (
            f.get("bid_amount") is not None
            and strategy not in v.CAP_STRATEGIES
            and self.setting("reject_bid_amount_without_cap")
        ):
            raise invalid(
                "Bid Amount Not Supported",
                "bid_amount can only be used with the bid strategies LOWEST_COST_WITH_BID_CAP or "
                "COST_CAP, not "
                f"{strategy}.",
                blame=["bid_amount"],
            )
        targeting = f.get("targeting")
        if targeting is not None:
            f["targeting"] = v.validate_targeting(
                targeting,
                advantage_required_always=bool(self.setting("advantage_audience_required_always")),
                advantage_age_limits=bool(self.setting("advantage_audience_age_limits")),
            )
            if (
                self.setting("dsa_required_for_eu")
                and v.targets_eu(targeting, EU_COUNTRIES)
                and not (f.get("dsa_beneficiary") or acct.fields.get("default_dsa_beneficiary"))
            ):
                raise invalid(
                    "No Beneficiary or Payer Provided",
                    "Ad sets that target the European Union need dsa_beneficiary and dsa_payor (or "
                    "defaults on the "
                    "ad account).",
                    blame=["dsa_beneficiary"],
                )

    def _build_ad(
        self, call: Call, acct: SandboxObject, p: dict[str, Any]
    ) -> tuple[str, str | None, str, dict[str, Any]]:
        name = str(p["name"])
        check_name_length(name, int(self.setting("name_max_length")))
        if p.get("adset_id") in (None, ""):
            raise required("adset_id")
        adset = self._live(p["adset_id"], "adset", acct, "adset_id")
        status = self._create_status(p)
        if not acct.fields.get("has_payment_method", True) and self.setting("no_payment_method_blocks_ads"):
            raise invalid(
                "No Payment Method",
                "Your ad account doesn't have a valid payment method. Add one in Billing & payments "
                "to create ads.",
                subcode=1359188,
            )
        creative_id = self._ad_creative(call, acct, p["creative"], v.validate_only(p))
        fields: dict[str, Any] = {"creative_id": creative_id}
        for key in ("tracking_specs", "conversion_domain"):
            if p.get(key) is not None:
                fields[key] = p[key]
        return name, adset.id, status, fields

    def _ad_creative(self, call: Call, acct: SandboxObject, creative: Any, dry_run: bool) -> str:
        if not isinstance(creative, dict):
            raise v.bad_type("creative", "a JSON object")
        if creative.get("creative_id") is not None:
            found = self._live(creative["creative_id"], "adcreative", acct, "creative[creative_id]")
            return found.id
        if not creative:
            raise required("creative[creative_id]")
        inline = v.coerce("AdAccount", "POST", "adcreatives", creative)
        name, _parent, _status, fields = self._build_creative(call, acct, inline)
        if dry_run:
            return ""
        return self._new("adcreative", name, acct, None, "ACTIVE", fields).id

    def _build_creative(
        self, call: Call, acct: SandboxObject, p: dict[str, Any]
    ) -> tuple[str, str | None, str, dict[str, Any]]:
        name = str(p.get("name") or "")
        check_name_length(name, int(self.setting("creative_name_max_length")))
        oss = p.get("object_story_spec")
        fields: dict[str, Any] = {}
        if oss is not None:
            fields["object_type"] = v.validate_story_spec(
                oss,
                page_exists=lambda pid: self.store.get(pid, "page") is not None,
                ig_exists=lambda ig: self.store.get(ig, "instagram_account") is not None,
                image_exists=lambda h: self._image(acct, h) is not None,
                video_state=lambda vid: media.video_state(self._video(acct, vid)),
                thumbnail_required=bool(self.setting("video_thumbnail_required")),
            )
            fields["object_story_spec"] = oss
        elif p.get("object_story_id"):
            fields["object_story_id"] = str(p["object_story_id"])
            fields["object_type"] = "SHARE"
        elif p.get("asset_feed_spec") is None:
            raise GraphError(
                "(#100) Creative spec must include object_story_spec, object_story_id or asset_feed_spec", 100
            )
        for key in (
            "url_tags",
            "asset_feed_spec",
            "degrees_of_freedom_spec",
            "call_to_action",
            "title",
            "body",
        ):
            if p.get(key) is not None:
                fields[key] = p[key]
        return name, None, "ACTIVE", fields

    def _image(self, acct: SandboxObject, image_hash: str) -> SandboxObject | None:
        img = self.store.get(f"{acct.account_id}:{image_hash}", "adimage")
        return img if img is not None and not img.deleted else None

    def _video(self, acct: SandboxObject, video_id: str) -> SandboxObject | None:
        vid = self.store.get(video_id, "advideo")
        return vid if vid is not None and vid.account_id == acct.account_id else None

    # ---- labels -------------------------------------------------------------------------------------
    def _account_labels(self, acct: SandboxObject) -> list[SandboxObject]:
        return [o for o in self.store.all("adlabel") if o.account_id == acct.account_id and not o.deleted]

    def _resolve_labels(self, raw: Any, acct: SandboxObject, create: bool) -> list[SandboxObject]:
        if raw is None or raw == "":
            return []
        specs = v.parse_json("adlabels", raw, list)
        if len(specs) > 50:
            raise GraphError("(#100) At most 50 ad labels can be set in one spec", 100)
        out = []
        for i, item in enumerate(specs):
            if not isinstance(item, dict) or not (item.get("id") or item.get("name")):
                raise GraphError(f"(#100) Param adlabels[{i}] must contain id or name", 100)
            if item.get("id"):
                label = self.store.get(str(item["id"]), "adlabel")
                if label is None or label.account_id != acct.account_id:
                    raise GraphError(f"(#100) Param adlabels[{i}][id] must be a valid ad label id", 100)
            else:
                label = next((lbl for lbl in self._account_labels(acct) if lbl.name == item["name"]), None)
                if label is None:
                    if not create:
                        continue
                    label = self._new("adlabel", str(item["name"]), acct, None, "ACTIVE", {})
            out.append(label)
        return out

    def _by_labels(self, call: Call, acct: SandboxObject, edge: str) -> dict[str, Any]:
        p = v.coerce("AdAccount", "GET", edge, call.params)
        ids = set(p["ad_label_ids"])
        operator = str(p.get("operator") or self.setting("bylabels_default_operator"))
        kind = EDGE_KIND[edge.replace("bylabels", "")]
        rows = []
        for obj in self.store.all(kind):
            if obj.account_id != acct.account_id:
                continue
            have = set(obj.fields.get("_labels", []))
            if (operator == "ALL" and ids <= have) or (operator == "ANY" and ids & have):
                rows.append(obj)
        if kind == "adcreative":
            return self._list(call, _newest([r for r in rows if not r.deleted]), kind)
        return self._list_adobjects(call, rows, kind, filtering=False)

    # ---- updates and deletes ---------------------------------------------------------------------
    def _update(self, call: Call, obj: SandboxObject) -> dict[str, Any]:
        p = v.coerce(NODE_OF[obj.kind], "POST", None, call.params)
        acct = self.objects.account_of(obj)
        assert acct is not None
        new_status = p.get("status")
        if obj.status == "DELETED":
            raise invalid(
                "Object Deleted",
                f"This {obj.kind} has been deleted and can't be edited or reactivated.",
                blame=["status"],
            )
        if obj.status == "ARCHIVED" and new_status not in (None, "ARCHIVED", "DELETED"):
            raise invalid(
                "Object Archived", f"This {obj.kind} is archived; it can only be deleted.", blame=["status"]
            )
        dry = v.validate_only(p)
        if "name" in p:
            limit = "creative_name_max_length" if obj.kind == "adcreative" else "name_max_length"
            check_name_length(str(p["name"]), int(self.setting(limit)))
        if obj.kind == "campaign":
            fields = dict(obj.fields)
            if p.get("objective") is not None:
                v.check_objective_for_create(p["objective"])
                fields["objective"] = p["objective"]
            self._campaign_budget_rules(acct, fields, p, new=False)
            for key in ("special_ad_categories", "spend_cap", "promoted_object"):
                if key in p:
                    fields[key] = p[key]
            for key in ("start_time", "stop_time"):
                if key in p:
                    fields[key] = self._time(acct, key, p[key])
            if dry:
                return {"success": True}
            obj.fields = fields
        elif obj.kind == "adset":
            fields = dict(obj.fields)
            for key in (
                "billing_event",
                "optimization_goal",
                "promoted_object",
                "destination_type",
                "bid_amount",
                "bid_strategy",
                "bid_constraints",
                "daily_budget",
                "lifetime_budget",
                "targeting",
                "dsa_beneficiary",
                "dsa_payor",
            ):
                if key in p:
                    fields[key] = p[key]
            for key in ("start_time", "end_time"):
                if key in p:
                    fields[key] = self._time(acct, key, p[key])
            campaign = self.objects.campaign_of(obj)
            assert campaign is not None
            self._adset_rules(acct, campaign, fields, new=False)
            if dry:
                return {"success": True}
            obj.fields = fields
        elif dry:
            return {"success": True}
        elif obj.kind == "ad":
            if "creative" in p:
                obj.fields["creative_id"] = self._ad_creative(call, acct, p["creative"], False)
                self._start_review(obj, call.request)
            for key in ("tracking_specs", "conversion_domain"):
                if key in p:
                    obj.fields[key] = p[key]
        if "adlabels" in p:
            obj.fields["_labels"] = [lbl.id for lbl in self._resolve_labels(p["adlabels"], acct, create=True)]
        if "name" in p:
            obj.name = str(p["name"])
        if new_status == "DELETED":
            self._delete(obj)
        elif new_status is not None:
            obj.status = str(new_status)
        if call.request.get(META_DISAPPROVE) is not None and obj.kind == "ad" and "creative" not in p:
            self._start_review(obj, call.request)
        self.store.touch(obj)
        self.objects.refresh_activity(obj.account_id)
        return {"success": True}

    def _delete(self, obj: SandboxObject) -> None:
        obj.status = "DELETED"
        obj.deleted = True
        self.store.touch(obj)
        if self.setting("campaign_delete_cascades") and obj.kind in {"campaign", "adset"}:
            for child in self.store.all():
                if child.kind in {"adset", "ad"} and not child.deleted:
                    parent = (
                        self.objects.campaign_of(child)
                        if obj.kind == "campaign"
                        else self.objects.adset_of(child)
                    )
                    if parent is not None and parent.id == obj.id and child.id != obj.id:
                        child.status = "DELETED"
                        child.deleted = True
                        self.store.touch(child)
        self.objects.refresh_activity(obj.account_id)

    # ---- review ---------------------------------------------------------------------------------------
    def _start_review(self, ad: SandboxObject, request: web.Request) -> None:
        verdict = request.get(META_DISAPPROVE)
        ad.fields["_review"] = "pending"
        ad.fields["_review_due"] = time.time() + float(self.config.review_delay_s)
        if verdict is not None:
            feedback = verdict.get("feedback") or {
                "global": {"Text": "Your ad doesn't comply with our Advertising Policies."}
            }
            ad.fields["_verdict"] = {"outcome": "disapproved", "feedback": feedback}
        else:
            ad.fields["_verdict"] = {"outcome": "approved"}
        ad_id = ad.id

        async def job() -> None:
            current = self.store.get(ad_id, "ad")
            if current is not None and current.fields.get("_review") == "pending":
                self._complete_review(current)

        self.spawn(job(), delay_s=float(self.config.review_delay_s) + 0.01)

    def _complete_review(self, ad: SandboxObject) -> None:
        verdict = ad.fields.pop("_verdict", {"outcome": "approved"})
        ad.fields.pop("_review_due", None)
        if verdict["outcome"] == "disapproved":
            ad.fields["_review"] = "disapproved"
            ad.fields["ad_review_feedback"] = verdict["feedback"]
            field = str(self.setting("webhook_field_disapproved"))
        else:
            ad.fields["_review"] = "approved"
            ad.fields.pop("ad_review_feedback", None)
            field = str(self.setting("webhook_field_approved"))
        self.store.touch(ad)
        self.objects.refresh_activity(ad.account_id)
        self._notify(ad, field)

    def _notify(self, ad: SandboxObject, field: str) -> None:
        account = ad.account_id or ""
        status = self.objects.effective_status(ad)
        if field == "with_issues_ad_objects":
            feedback = ad.fields.get("ad_review_feedback") or {}
            value: dict[str, Any] = {
                "id": ad.id,
                "level": "AD",
                "error_code": 1815869 if status != "DISAPPROVED" else 2446173,
                "error_summary": "Ad disapproved" if status == "DISAPPROVED" else "Ad has issues",
                "error_message": "; ".join(str(t) for part in feedback.values() for t in part.values())
                if isinstance(feedback, dict)
                else str(feedback),
            }
        else:
            value = {"id": ad.id, "level": "AD", "status_name": status}
        targets = self.webhooks.targets(
            account, field, bool(self.setting("webhooks_require_subscribed_apps"))
        )
        for app_id, url in targets:
            app = self.auth.apps.get(app_id)
            if app is None:
                continue
            body = delivery_body(account, field, value)
            self.spawn(self.deliver_webhook(url, body, sign(app.app_secret, body)))

    def _subscribed_apps(self, call: Call, acct: SandboxObject) -> dict[str, Any]:
        apps = self.webhooks.account_apps.setdefault(acct.account_id or "", {})
        app_id = str(call.params.get("app_id") or call.token.app_id)
        if call.method == "GET":
            return {
                "data": [
                    {
                        "name": self.auth.apps[a].name if a in self.auth.apps else a,
                        "id": a,
                        "subscribed_fields": f,
                    }
                    for a, f in apps.items()
                ]
            }
        if app_id not in self.auth.apps:
            raise GraphError("(#100) Param app_id must be a valid app id", 100)
        if call.method == "DELETE":
            apps.pop(app_id, None)
            return {"success": True}
        raw = call.params.get("subscribed_fields")
        fields = (
            v.parse_json("subscribed_fields", raw, list)
            if raw and str(raw).startswith("[")
            else ([f.strip() for f in str(raw).split(",") if f.strip()] if raw else [])
        )
        apps[app_id] = fields
        return {"success": True}

    # ---- media ---------------------------------------------------------------------------------------
    def _adimages(self, call: Call, acct: SandboxObject) -> dict[str, Any]:
        m = call.method
        if m == "GET":
            p = v.coerce("AdAccount", "GET", "adimages", call.params)
            rows = [o for o in self.store.all("adimage") if o.account_id == acct.account_id and not o.deleted]
            if p.get("hashes"):
                rows = [o for o in rows if o.fields["hash"] in set(p["hashes"])]
            if p.get("name"):
                rows = [o for o in rows if o.name == p["name"]]
            if p.get("minwidth"):
                rows = [o for o in rows if o.fields.get("width", 0) >= p["minwidth"]]
            if p.get("minheight"):
                rows = [o for o in rows if o.fields.get("height", 0) >= p["minheight"]]
            return self._list(call, _newest(rows), "adimage")
        if m == "DELETE":
            p = v.coerce("AdAccount", "DELETE", "adimages", call.params)
            img = self._image(acct, str(p["hash"]))
            if img is None:
                raise GraphError(f"(#100) Image with hash {p['hash']} was not found in this ad account", 100)
            in_use = [
                c
                for c in self.store.all("adcreative")
                if c.account_id == acct.account_id and not c.deleted and p["hash"] in str(c.fields)
            ]
            if in_use:
                raise GraphError("(#100) The image is used by ad creatives and can't be deleted", 100)
            img.status, img.deleted = "DELETED", True
            self.store.touch(img)
            return {"success": True}
        p = v.coerce("AdAccount", "POST", "adimages", call.params)
        uploads: list[tuple[str, bytes]] = []
        for _field, upload in media.uploaded_files(call.params):
            key = (upload.filename or "file").replace("\\", "/").rsplit("/", 1)[-1]
            uploads.append((key, media.file_bytes(upload)))
        if p.get("bytes"):
            uploads.append(("bytes", media.decode_bytes_param(p["bytes"])))
        if p.get("copy_from"):
            source = p["copy_from"]
            src = self.store.get(f"{_bare(source.get('source_account_id'))}:{source.get('hash')}", "adimage")
            if src is None:
                raise GraphError("(#100) Param copy_from must name an existing image", 100)
            Auth.require_account(call.token, src.account_id or "", write=False)
            img = self._store_image(
                acct, src.name, src.fields["hash"], src.fields.get("width", 0), src.fields.get("height", 0)
            )
            return {"images": {src.fields["hash"]: {"hash": img.fields["hash"], "url": img.fields["url"]}}}
        if not uploads:
            raise GraphError("(#100) Image data is required: upload a file or send bytes", 100)
        out: dict[str, Any] = {}
        for key, data in uploads:
            size = media.image_size(data)
            if not data or size is None:
                raise media.bad_image()
            image_hash = media.md5(data)
            name = str(call.params.get("name") or key)
            check_name_length(name, 100)
            img = self._store_image(acct, name, image_hash, size[0], size[1])
            out[key] = {"hash": image_hash, "url": img.fields["url"]}
        return {"images": out}

    def _store_image(
        self, acct: SandboxObject, name: str, image_hash: str, width: int, height: int
    ) -> SandboxObject:
        obj_id = f"{acct.account_id}:{image_hash}"
        existing = self.store.get(obj_id, "adimage")
        if existing is not None:
            existing.status, existing.deleted = "ACTIVE", False
            self.store.touch(existing)
            return existing
        url = f"https://scontent.sandbox.fbcdn.net/v/t45.1600-4/{image_hash}_n.png"
        fields = {"hash": image_hash, "url": url, "width": width, "height": height}
        return self._new("adimage", name, acct, None, "ACTIVE", fields, obj_id=obj_id)

    def _advideos(self, call: Call, acct: SandboxObject) -> dict[str, Any]:
        m = call.method
        if m == "GET":
            p = v.coerce("AdAccount", "GET", "advideos", call.params)
            rows = [o for o in self.store.all("advideo") if o.account_id == acct.account_id and not o.deleted]
            if p.get("title"):
                rows = [o for o in rows if o.fields.get("title") == p["title"]]
            return self._list(call, _newest(rows), "advideo")
        if m == "DELETE":
            p = v.coerce("AdAccount", "DELETE", "advideos", call.params)
            video = self._video(acct, str(p["video_id"]))
            if video is None:
                raise unsupported("delete", str(p["video_id"]))
            self._delete(video)
            return {"success": True}
        p = v.coerce("AdAccount", "POST", "advideos", call.params)
        phase = p.get("upload_phase")
        chunk = int(self.setting("video_chunk_size"))
        title = p.get("title") or p.get("name")
        if phase == "start":
            size = media.require_file_size(call.params)
            video = self._new(
                "advideo",
                str(title or ""),
                acct,
                None,
                "ACTIVE",
                {"title": title, "_uploaded": False, "_received": 0},
                obj_id=self.ids.video(),
            )
            session = media.UploadSession(media.new_session_id(), video.id, acct.account_id or "", size)
            self.sessions[session.session_id] = session
            return {
                "video_id": video.id,
                "upload_session_id": session.session_id,
                **media.chunk_window(session, chunk),
            }
        if phase in {"transfer", "finish", "cancel"}:
            sid = str(p.get("upload_session_id") or "")
            if not sid:
                raise required("upload_session_id")
            found = self.sessions.get(sid)
            if found is None or found.account != acct.account_id:
                raise GraphError("(#100) Invalid upload_session_id", 100)
            session = found
            video = self.store.get(session.video_id, "advideo")
            assert video is not None
            if phase == "cancel":
                self.sessions.pop(sid, None)
                self._delete(video)
                return {"success": True}
            if phase == "transfer":
                start = p.get("start_offset")
                if start is None:
                    raise required("start_offset")
                if int(start) != session.received:
                    window = media.chunk_window(session, chunk)
                    raise media.resume_error(session.received, int(window["end_offset"]))
                upload = call.params.get("video_file_chunk")
                if not isinstance(upload, web.FileField):
                    raise required("video_file_chunk")
                data = media.file_bytes(upload)
                if not data or session.received + len(data) > session.file_size:
                    window = media.chunk_window(session, chunk)
                    raise media.resume_error(session.received, int(window["end_offset"]))
                session.received += len(data)
                video.fields["_received"] = session.received
                return media.chunk_window(session, chunk)
            if session.received < session.file_size:
                window = media.chunk_window(session, chunk)
                raise media.resume_error(session.received, int(window["end_offset"]))
            self.sessions.pop(sid, None)
            if title:
                video.fields["title"] = title
                video.name = str(title)
            self._finish_video(video, session.file_size)
            return {"success": True}
        upload = call.params.get("source")
        if isinstance(upload, web.FileField):
            data = media.file_bytes(upload)
            if not data:
                raise GraphError("(#100) The video file is empty", 100)
            size = len(data)
        elif p.get("file_url"):
            size = 0
        else:
            raise GraphError("(#100) Video upload requires source, file_url or upload_phase", 100)
        video = self._new(
            "advideo",
            str(title or ""),
            acct,
            None,
            "ACTIVE",
            {"title": title, "description": p.get("description"), "source_url": p.get("file_url")},
            obj_id=self.ids.video(),
        )
        self._finish_video(video, size)
        return {"id": video.id}

    def _finish_video(self, video: SandboxObject, size: int) -> None:
        now = time.time()
        video.fields.update(
            _uploaded=True,
            _uploaded_at=now,
            _ready_at=now + float(self.config.video_processing_s),
            _size=size,
        )
        self.store.touch(video)

    # ---- insights -------------------------------------------------------------------------------------
    def insights_engine(self) -> Insights:
        return Insights(self.objects, self.resolver, list(self.setting("offset_one_extra_currencies")))

    def _rates(self, acct: SandboxObject) -> Rates:
        cpm = float(self.setting("cpm_minor"))
        if self._offset(acct) == 1:
            cpm = cpm  # the same number in an offset-1 currency is a plausible CPM (¥500, ₩500 …)
        return Rates(float(self.setting("impressions_per_second")), float(self.setting("ctr")), cpm)

    def _insights(self, call: Call, node: SandboxObject) -> dict[str, Any]:
        acct = node if node.kind == "adaccount" else self.objects.account_of(node)
        assert acct is not None
        node_name = {"adaccount": "AdAccount", "campaign": "Campaign", "adset": "AdSet", "ad": "Ad"}[
            node.kind
        ]
        p = v.coerce(
            node_name, call.method, "insights", {k: x for k, x in call.params.items() if k != "fields"}
        )
        p["fields"] = call.params.get("fields")
        if call.method == "POST":
            engine = self.insights_engine()
            tz = acct.fields["timezone_name"]
            since, until = engine.date_range(p, tz, time.time())
            engine.rows(node, p, time.time(), self._rates(acct))  # validate now, as Graph does
            run_params = {
                k: x
                for k, x in p.items()
                if isinstance(x, (str, int, float, list, dict)) and k != "access_token"
            }
            run = self._new(
                "adreportrun",
                "",
                acct,
                node.id,
                "ACTIVE",
                {
                    "_params": run_params,
                    "_node": node.id,
                    "_complete_at": time.time() + float(self.setting("report_run_s")),
                    "date_start": since.isoformat(),
                    "date_stop": until.isoformat(),
                },
            )
            return {"report_run_id": run.id}
        if call.method != "GET":
            raise unsupported(call.method, node.id)
        rows = self.insights_engine().rows(node, p, time.time(), self._rates(acct))
        return self._rows_page(call, rows)

    def _rows_page(self, call: Call, rows: list[dict[str, Any]]) -> dict[str, Any]:
        keyed = list(enumerate(rows))
        chunk, paging = page(keyed, lambda r: str(r[0]), _public(call.params, call.token), self._url(call))
        out: dict[str, Any] = {"data": [r for _, r in chunk]}
        if paging:
            out["paging"] = paging
        return out

    def _report_status(self, run: SandboxObject) -> dict[str, Any]:
        now = time.time()
        complete_at = float(run.fields["_complete_at"])
        span = max(float(self.setting("report_run_s")), 0.001)
        started = complete_at - span
        fraction = (now - started) / span
        if fraction >= 1:
            status, pct = "Job Completed", 100
        elif fraction < 0.2:
            status, pct = "Job Not Started", 0
        else:
            status, pct = "Job Running", int(fraction * 100)
        return {
            "id": run.id,
            "account_id": run.account_id,
            "async_status": status,
            "async_percent_completion": pct,
            "date_start": run.fields["date_start"],
            "date_stop": run.fields["date_stop"],
            "time_ref": int(run.created_at),
            "time_completed": int(complete_at) if status == "Job Completed" else None,
            "is_running": status != "Job Completed",
        }

    def _report_rows(self, call: Call, run: SandboxObject) -> dict[str, Any]:
        status = self._report_status(run)
        if status["async_status"] != "Job Completed" and self.setting("report_not_ready_is_error"):
            raise GraphError(
                f"(#100) The report run {run.id} is not finished yet (async_status: "
                f"{status['async_status']})",
                100,
            )
        node = self.store.get(run.fields["_node"])
        assert node is not None
        acct = node if node.kind == "adaccount" else self.objects.account_of(node)
        assert acct is not None
        params = dict(run.fields["_params"])
        rows = self.insights_engine().rows(node, params, float(run.fields["_complete_at"]), self._rates(acct))
        return self._rows_page(call, rows)

    def _account_of_path_object(self, request: web.Request) -> str | None:
        node = request.match_info.get("node")
        obj = self.store.get(node) if node else None
        return obj.account_id if obj else None


def _money_str(value: Any) -> str | None:
    return None if value is None else str(int(value))


def _newest(rows: list[SandboxObject]) -> list[SandboxObject]:
    return sorted(rows, key=lambda o: (o.created_at, o.id), reverse=True)


def _bare(account: Any) -> str:
    text = str(account)
    return text[4:] if text.startswith("act_") else text


def _account_in_path(path: str) -> str | None:
    for part in path.split("/"):
        if part.startswith("act_") and part[4:].isdigit():
            return part[4:]
    return None


def _public(params: dict[str, Any], token: Token) -> dict[str, Any]:
    """Params echoed into paging links (Graph includes the access token in `next`)."""
    out = {k: x for k, x in params.items() if not isinstance(x, web.FileField)}
    out["access_token"] = token.access_token
    return out


def _user(token: Token) -> SandboxObject:
    return SandboxObject(
        kind="user", id=token.user_id, name="Sandbox User", parent_id=None, account_id=None, status="ACTIVE"
    )
