"""Tokens and accounts: `/oauth2/access_token/`, `/oauth2/refresh_token/` (always 40107: Marketing API
long-term tokens have no refresh), `/oauth2/advertiser/get/`, `/advertiser/info/`, and the lookups a
publisher needs before creating ads: `/identity/get/`, `/pixel/list/`, `/tool/region/`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.tiktok import enums, errors, ids
from sandbox.tiktok.api import Ctx
from sandbox.tiktok.errors import ApiError
from sandbox.tiktok.listing import page_args, paginate, select_fields
from sandbox.tiktok.params import format_datetime
from sandbox.tiktok.state import App, Token


def check_app(ctx: Ctx) -> App:
    """app_id + secret must name a registered app (40101 otherwise)."""
    app_id = ctx.params.id("app_id", required=True)
    secret = ctx.params.string("secret", required=True)
    app = ctx.state.apps.get(app_id or "")
    if app is None or app.secret != secret:
        raise ApiError(errors.INVALID_PARTNER, "app_id or secret is invalid.")
    return app


async def access_token(ctx: Ctx) -> dict[str, Any]:
    """Exchange a one-hour, single-use auth_code for a long-term access token."""
    p = ctx.params
    app = check_app(ctx)
    code_value = p.string("auth_code", required=True)
    code = ctx.state.auth_codes.get(code_value or "")
    error_code = int(ctx.switch("auth_code_error_code"))
    if code is None or code.app_id != app.app_id:
        raise ApiError(error_code, "auth_code is invalid.")
    if code.used:
        raise ApiError(error_code, "auth_code has already been used.")
    if ctx.now - code.created_at > float(ctx.switch("auth_code_ttl_s")):
        raise ApiError(error_code, "auth_code has expired.")
    code.used = True
    value = code.access_token or ids.access_token()
    token = ctx.state.tokens.get(value)
    if token is None:
        token = Token(
            access_token=value, app_id=app.app_id, advertiser_ids=list(code.advertiser_ids), scope=app.scope
        )
        ctx.state.tokens[value] = token
    else:
        token.advertiser_ids = sorted(set(token.advertiser_ids) | set(code.advertiser_ids))
        token.revoked = False
    return {
        "access_token": token.access_token,
        "advertiser_ids": list(token.advertiser_ids),
        "scope": token.scope,
    }


async def refresh_token(ctx: Ctx) -> dict[str, Any]:
    raise ApiError(errors.INVALID_REFRESH_TOKEN)


async def advertiser_get(ctx: Ctx) -> dict[str, Any]:
    app = check_app(ctx)
    token = ctx.token
    assert token is not None
    if token.app_id != app.app_id:
        raise ApiError(errors.PERMISSION_ERROR, "The access token was not issued to this app.")
    rows = []
    for advertiser_id in token.advertiser_ids:
        adv = ctx.state.advertisers.get(advertiser_id)
        if adv is not None:
            rows.append({"advertiser_id": adv.advertiser_id, "advertiser_name": adv.name})
    return {"list": rows}


ADVERTISER_FIELDS = (
    "advertiser_id",
    "name",
    "company",
    "status",
    "role",
    "currency",
    "timezone",
    "display_timezone",
    "country",
    "balance",
    "create_time",
    "language",
    "rejection_reason",
    "description",
    "industry",
)


async def advertiser_info(ctx: Ctx) -> dict[str, Any]:
    advertiser_ids = ctx.params.id_list("advertiser_ids", required=True, min_items=1, max_items=100)
    assert advertiser_ids is not None
    rows = []
    for advertiser_id in advertiser_ids:
        adv = ctx.advertiser(advertiser_id)
        currency = ctx.state.currency_of(adv)
        rows.append(
            {
                "advertiser_id": adv.advertiser_id,
                "name": adv.name,
                "company": adv.company,
                "status": adv.status,
                "role": "ROLE_ADVERTISER",
                "currency": adv.currency,
                "timezone": adv.timezone,
                "display_timezone": adv.tz(),
                "country": adv.country,
                "balance": float(Decimal(adv.balance).quantize(currency.quantum())),
                "create_time": adv.create_time,
                "language": "en",
                "rejection_reason": "",
                "description": "",
                "industry": "",
            }
        )
    return {"list": select_fields(rows, ctx.params, ADVERTISER_FIELDS)}


async def identity_get(ctx: Ctx) -> dict[str, Any]:
    adv = ctx.advertiser()
    identity_type = ctx.params.enum("identity_type", enums.IDENTITY_TYPES)
    page, size = page_args(ctx.params, default_size=10, max_size=100)
    rows = [
        {
            "identity_id": i.identity_id,
            "identity_type": i.identity_type,
            "display_name": i.display_name,
            "profile_image": i.profile_image,
            "identity_authorized_bc_id": i.identity_authorized_bc_id,
            "can_pull_video": i.identity_type != "CUSTOMIZED_USER",
            "can_push_video": i.identity_type != "CUSTOMIZED_USER",
        }
        for i in ctx.state.identities.values()
        if i.advertiser_id == adv.advertiser_id
        and (identity_type is None or i.identity_type == identity_type)
    ]
    page_rows, info = paginate(rows, page, size)
    return {"identity_list": page_rows, "page_info": info}


async def pixel_list(ctx: Ctx) -> dict[str, Any]:
    adv = ctx.advertiser()
    pixel_id = ctx.params.id("pixel_id")
    page, size = page_args(ctx.params, default_size=10, max_size=20)
    rows = [
        {
            "pixel_id": px.pixel_id,
            "pixel_code": px.pixel_code,
            "pixel_name": px.pixel_name,
            "activity_status": "ACTIVE",
            "create_time": format_datetime(0),
        }
        for px in ctx.state.pixels.values()
        if px.advertiser_id == adv.advertiser_id and (pixel_id is None or px.pixel_id == pixel_id)
    ]
    page_rows, info = paginate(rows, page, size)
    return {"pixels": page_rows, "page_info": info}


async def region(ctx: Ctx) -> dict[str, Any]:
    """Country-level locations (shape UNCONFIRMED beyond location_id/name/region_code/level)."""
    ctx.advertiser()
    ctx.params.enum_list("placements", enums.PLACEMENTS, required=True, min_items=1)
    ctx.params.enum("objective_type", enums.OBJECTIVES, required=True)
    ctx.params.string("level_range")
    rows = [
        {
            "location_id": loc.location_id,
            "name": loc.name,
            "region_code": loc.country_code,
            "level": loc.level,
            "area_type": "ADMIN",
            "parent_id": "0",
            "next_level_ids": [],
        }
        for loc in sorted(ctx.state.locations.values(), key=lambda loc: loc.name)
    ]
    return {"region_info": rows}
