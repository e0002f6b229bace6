"""Per-item validation of Snap batch writes, as strict as the platform.

Each `*_fields` function takes one item of a `{"campaigns": [...]}`-style body and returns the
entity's platform JSON (without id/timestamps), or raises ItemError with Snap's reason text.
Unknown and read-only attributes (ids, timestamps, delivery_status, review_status, …) are ignored,
as recorded PUTs that echo a whole entity succeed. Sources: SNAPDOC campaigns / ad-squads /
creatives / ads / media / targeting pages [C], recorded traffic [O], live client notes [S];
everything UNCONFIRMED is behind a switch (switches.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sandbox.common.config import SandboxConfig
from sandbox.common.store import SandboxObject
from sandbox.snapchat import errors
from sandbox.snapchat.errors import ItemError
from sandbox.snapchat.objects import Entities, account_is_funded
from sandbox.snapchat.state import SnapState
from sandbox.snapchat.switches import switch
from sandbox.snapchat.times import TimeFormatError, normalize_utc, parse_zoned, utc_ms

NAME_MAX = 375
STATUSES = ("ACTIVE", "PAUSED")
OBJECTIVE_V2 = ("AWARENESS_AND_ENGAGEMENT", "TRAFFIC", "LEADS", "APP_PROMOTION", "SALES")  # only A&E [O]
LEGACY_OBJECTIVES = (
    "BRAND_AWARENESS",
    "APP_CONVERSION",
    "APP_INSTALL",
    "CATALOG_SALES",
    "ENGAGEMENT",
    "LEAD_GENERATION",
    "VIDEO_VIEW",
    "WEB_CONVERSION",
    "PROMOTE_STORIES",
    "PROMOTE_PLACES",
)
LEGACY_FOR_V2 = {"AWARENESS_AND_ENGAGEMENT": "BRAND_AWARENESS"}  # [O]; other pairs unknown → omitted
V2_FOR_LEGACY = {
    "BRAND_AWARENESS": "AWARENESS_AND_ENGAGEMENT",
    "VIDEO_VIEW": "AWARENESS_AND_ENGAGEMENT",
    "ENGAGEMENT": "AWARENESS_AND_ENGAGEMENT",
    "PROMOTE_STORIES": "AWARENESS_AND_ENGAGEMENT",
    "PROMOTE_PLACES": "AWARENESS_AND_ENGAGEMENT",
    "WEB_CONVERSION": "SALES",
    "CATALOG_SALES": "SALES",
    "APP_INSTALL": "APP_PROMOTION",
    "APP_CONVERSION": "APP_PROMOTION",
    "LEAD_GENERATION": "LEADS",
}

ADSQUAD_TYPES = ("SNAP_ADS",)
BID_STRATEGIES = ("AUTO_BID", "LOWEST_COST_WITH_MAX_BID", "TARGET_COST")
DEPRECATED_BID_STRATEGIES = ("MIN_ROAS",)
PIXEL_GOALS = ("PIXEL_PAGE_VIEW", "PIXEL_ADD_TO_CART", "PIXEL_PURCHASE", "PIXEL_SIGNUP")
APP_GOALS = ("APP_INSTALLS", "APP_ADD_TO_CART", "APP_PURCHASE", "APP_SIGNUP", "APP_REENGAGE_OPEN")
OPTIMIZATION_GOALS = (
    "IMPRESSIONS",
    "SWIPES",
    "VIDEO_VIEWS",
    "VIDEO_VIEWS_15_SEC",
    "USES",
    "STORY_OPENS",
    "LANDING_PAGE_VIEW",
    "LEAD_FORM_SUBMISSIONS",
    *PIXEL_GOALS,
    *APP_GOALS,
)
# objective_v2_type → optimization goals it accepts. Only AWARENESS_AND_ENGAGEMENT + IMPRESSIONS is
# observed ([O] recorded ad squads); every other pair is UNCONFIRMED (switch
# `enforce_objective_goal_eligibility`; Snap validates eligibility at creation since 2025-09-23 [C]).
GOAL_ELIGIBILITY: dict[str, tuple[str, ...]] = {
    "AWARENESS_AND_ENGAGEMENT": ("IMPRESSIONS", "VIDEO_VIEWS", "VIDEO_VIEWS_15_SEC", "STORY_OPENS", "USES"),
    "TRAFFIC": ("SWIPES", "LANDING_PAGE_VIEW"),
    "LEADS": ("LEAD_FORM_SUBMISSIONS", "SWIPES", "PIXEL_SIGNUP"),
    "APP_PROMOTION": APP_GOALS,
    "SALES": (*PIXEL_GOALS, "APP_PURCHASE", "APP_ADD_TO_CART", "APP_SIGNUP", "LANDING_PAGE_VIEW"),
}
PLACEMENT_CONFIGS = ("AUTOMATIC", "CUSTOM")
# A squad created without placement_v2 keeps Snap's legacy `placement` (value UNCONFIRMED; older docs
# show SNAP_ADS). One created with placement_v2 reads back as `placement: UNSUPPORTED` (recorded UI squads).
LEGACY_PLACEMENT = "SNAP_ADS"
PLACEMENT_PLATFORMS = ("SNAPCHAT", "AUDIENCE_NETWORK")
SNAPCHAT_POSITIONS = (
    "INTERSTITIAL_USER",
    "INTERSTITIAL_CONTENT",
    "INSTREAM",
    "FEED",
    "CHAT_FEED",
    "INTERSTITIAL_SPOTLIGHT",
    "INSTREAM_SPOTLIGHT",
    "CAMERA",
)
AGE_GROUPS = ("13-17", "18-20", "21-24", "25-34", "35-44", "45-49", "50+", "18-24", "35+")
GENDERS = ("MALE", "FEMALE")
OPERATIONS = ("INCLUDE", "EXCLUDE")
COUNTRY_RE = re.compile(r"^[a-z]{2}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
DEFAULT_EXPANSION = {
    "interest_expansion_option": {"enabled": True},
    "custom_audience_expansion_option": {"enabled": True},
}

CREATIVE_TYPES = (
    "SNAP_AD",
    "APP_INSTALL",
    "WEB_VIEW",
    "DEEP_LINK",
    "AD_TO_LENS",
    "AD_TO_CALL",
    "AD_TO_MESSAGE",
    "PREVIEW",
    "COMPOSITE",
    "COLLECTION",
    "LENS",
    "LENS_WEB_VIEW",
    "LENS_APP_INSTALL",
    "LENS_DEEP_LINK",
    "DYNAMIC",
    "LEAD_GENERATION",
)
TOP_SNAP_TYPES = frozenset(CREATIVE_TYPES) - {"PREVIEW", "COMPOSITE", "DYNAMIC", "LENS"}
CROP_POSITIONS = ("OPTIMIZED", "MIDDLE", "TOP", "BOTTOM")
APP_CTAS = (
    "INSTALL_NOW",
    "DOWNLOAD",
    "PLAY",
    "GET_NOW",
    "SIGN_UP",
    "SHOP_NOW",
    "BOOK_NOW",
    "ORDER_NOW",
    "LISTEN",
)
DEEP_LINK_CTAS = (
    "OPEN_APP",
    "PLAY",
    "SHOP_NOW",
    "BOOK_NOW",
    "LISTEN",
    "WATCH",
    "VIEW",
    "GET_NOW",
    "ORDER_NOW",
)
# Ad type ↔ creative type: SNAPDOC ads "Ad Type <-> Creative Type Mapping" [C].
AD_TYPE_FOR_CREATIVE = {
    "SNAP_AD": "SNAP_AD",
    "WEB_VIEW": "REMOTE_WEBPAGE",
    "APP_INSTALL": "APP_INSTALL",
    "DEEP_LINK": "DEEP_LINK",
    "COMPOSITE": "STORY",
    "AD_TO_LENS": "AD_TO_LENS",
    "AD_TO_CALL": "AD_TO_CALL",
    "AD_TO_MESSAGE": "AD_TO_MESSAGE",
    "COLLECTION": "COLLECTION",
    "LENS": "LENS",
    "LENS_WEB_VIEW": "LENS_WEB_VIEW",
    "LENS_APP_INSTALL": "LENS_APP_INSTALL",
    "LENS_DEEP_LINK": "LENS_DEEP_LINK",
    "LEAD_GENERATION": "LEAD_GENERATION",
}
AD_TYPES = (*sorted(set(AD_TYPE_FOR_CREATIVE.values())), "FILTER", "REMINDER")
MEDIA_TYPES = ("VIDEO", "IMAGE", "LENS_PACKAGE", "PLAYABLE")


@dataclass
class Context:
    """What a validator may consult: the account written to, its tree, profiles and switches."""

    config: SandboxConfig
    entities: Entities
    state: SnapState
    account: SandboxObject
    now: float


# ---- primitives ----------------------------------------------------------------------------------
def _present(item: dict[str, Any], key: str) -> bool:
    return key in item and item[key] is not None and item[key] != ""


def text(item: dict[str, Any], key: str, max_len: int, required: bool = True) -> str | None:
    if not _present(item, key):
        if required:
            raise ItemError(f"{key} is required")
        return None
    value = item[key]
    if not isinstance(value, str):
        raise ItemError(f"{key} must be a string")
    if len(value) > max_len:
        raise ItemError(f"{key} must be at most {max_len} characters, got {len(value)}")
    return value


def enum(item: dict[str, Any], key: str, values: tuple[str, ...], required: bool = True) -> str | None:
    if not _present(item, key):
        if required:
            raise ItemError(f"{key} is required")
        return None
    value = item[key]
    if value not in values:
        raise ItemError(f"Invalid {key} {value!r}; allowed values: {', '.join(values)}")
    return str(value)


def micro(item: dict[str, Any], key: str, minimum: int = 1) -> int | None:
    """Money in micro-currency: a JSON integer (never a float), at least `minimum`."""
    if not _present(item, key):
        return None
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ItemError(
            f"{key} must be an integer amount in micro-currency (1 unit = 1000000), got {value!r}"
        )
    if value < minimum:
        raise ItemError(f"{key} must be at least {minimum} micro-currency, got {value}")
    return value


def zoned(item: dict[str, Any], key: str, required: bool = False) -> str | None:
    if not _present(item, key):
        if required:
            raise ItemError(f"{key} is required")
        return None
    try:
        return normalize_utc(item[key], key)
    except TimeFormatError as exc:
        raise ItemError(str(exc)) from None


def end_time(item: dict[str, Any], ctx: Context) -> str | None:
    """`end_time: null` is refused (switch `end_time_null_rejected`); omit it instead."""
    if "end_time" in item and item["end_time"] is None:
        if switch(ctx.config, "end_time_null_rejected"):
            raise ItemError("end_time must not be null; omit the attribute when there is no end time")
        return None
    return zoned(item, "end_time")


def _order(start: str | None, end: str | None) -> None:
    if start and end and parse_zoned(end, "end_time") <= parse_zoned(start, "start_time"):
        raise ItemError("end_time must be after start_time")


def immutable(existing: dict[str, Any] | None, key: str, value: Any) -> None:
    if existing is not None and key in existing and value is not None and existing[key] != value:
        raise ItemError(f"{key} cannot be changed after creation", errors.E_ITEM_IMMUTABLE)


def same_parent(item: dict[str, Any], key: str, parent_id: str) -> None:
    if _present(item, key) and str(item[key]) != parent_id:
        raise ItemError(f"{key} {item[key]} does not match the {key} of the request path {parent_id}")


# ---- campaigns -----------------------------------------------------------------------------------
def campaign_fields(
    item: dict[str, Any], ctx: Context, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    name = text(item, "name", NAME_MAX)
    status = enum(item, "status", STATUSES)
    same_parent(item, "ad_account_id", ctx.account.id)
    start = zoned(item, "start_time", required=True)
    end = end_time(item, ctx)
    _order(start, end)
    daily = micro(item, "daily_budget_micro", int(switch(ctx.config, "campaign_min_daily_budget_micro")))
    cap = micro(
        item, "lifetime_spend_cap_micro", int(switch(ctx.config, "campaign_min_lifetime_spend_cap_micro"))
    )
    buy_model = enum(item, "buy_model", ("AUCTION", "RESERVED"), required=False)
    objective, v2 = _objectives(item, ctx, existing)
    out: dict[str, Any] = {"name": name, "ad_account_id": ctx.account.id}
    if daily is not None:
        out["daily_budget_micro"] = daily
    out["status"] = status
    if objective:
        out["objective"] = objective
    out["start_time"] = start
    if end:
        out["end_time"] = end
    if cap is not None:
        out["lifetime_spend_cap_micro"] = cap
    if buy_model:
        out["buy_model"] = buy_model
    for passthrough in ("measurement_spec", "regulations"):
        if isinstance(item.get(passthrough), dict):
            out[passthrough] = item[passthrough]
    out["delivery_status"] = []
    out["creation_state"] = "PUBLISHED"
    out["objective_v2_properties"] = v2
    out["pacing_properties_version"] = 0
    return out


def _objectives(
    item: dict[str, Any], ctx: Context, existing: dict[str, Any] | None
) -> tuple[str | None, dict[str, Any]]:
    """(legacy `objective` echo, `objective_v2_properties`). Both are fixed at creation."""
    legacy = item.get("objective")
    v2_raw = item.get("objective_v2_properties")
    if existing is not None:
        if legacy is not None and legacy != existing.get("objective"):
            raise ItemError("objective cannot be changed after creation", errors.E_ITEM_IMMUTABLE)
        if isinstance(v2_raw, dict):
            kept = existing.get("objective_v2_properties") or {}
            if v2_raw.get("objective_v2_type") not in (None, kept.get("objective_v2_type")):
                raise ItemError(
                    "objective_v2_properties cannot be changed after creation", errors.E_ITEM_IMMUTABLE
                )
        return existing.get("objective"), dict(existing.get("objective_v2_properties") or {})
    if v2_raw is not None:
        if not isinstance(v2_raw, dict):
            raise ItemError("objective_v2_properties must be an object with objective_v2_type")
        v2_type = enum(v2_raw, "objective_v2_type", OBJECTIVE_V2)
        if legacy is not None:
            raise ItemError("Set either objective_v2_properties or the legacy objective, not both")
        return LEGACY_FOR_V2.get(str(v2_type)), {"objective_v2_type": v2_type}
    if legacy is not None:
        if switch(ctx.config, "reject_legacy_objective"):
            raise ItemError(
                "The legacy objective is no longer supported for new campaigns; "
                "use objective_v2_properties.objective_v2_type"
            )
        value = enum(item, "objective", LEGACY_OBJECTIVES)
        return value, {"objective_v2_type": V2_FOR_LEGACY[str(value)], "is_auto_generated": True}
    return "BRAND_AWARENESS", {"objective_v2_type": "AWARENESS_AND_ENGAGEMENT", "is_auto_generated": True}


# ---- ad squads -----------------------------------------------------------------------------------
def adsquad_fields(
    item: dict[str, Any],
    ctx: Context,
    campaign: SandboxObject,
    existing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if not _present(item, "campaign_id"):
        raise ItemError("campaign_id is required")
    same_parent(item, "campaign_id", campaign.id)
    if switch(ctx.config, "adsquad_requires_funding") and not account_is_funded(ctx.entities, ctx.account):
        raise ItemError("The ad account has no active funding source; ad squads cannot be created or updated")
    name = text(item, "name", NAME_MAX)
    squad_type = enum(item, "type", ADSQUAD_TYPES)
    immutable(existing, "type", squad_type)
    status = enum(item, "status", STATUSES, required=False) or "PAUSED"
    billing = enum(item, "billing_event", ("IMPRESSION",))
    targeting = _targeting(item.get("targeting"), ctx)
    goal = enum(item, "optimization_goal", OPTIMIZATION_GOALS)
    _eligibility(ctx, campaign, str(goal))
    pixel_id = text(item, "pixel_id", 64, required=False)
    if goal in PIXEL_GOALS and not pixel_id and switch(ctx.config, "pixel_goals_require_pixel_id"):
        raise ItemError(f"pixel_id is required for optimization_goal {goal}")
    placement = _placement(item, str(goal), ctx, existing)
    bid_strategy, bid = _bidding(item, ctx)
    daily, lifetime = _budgets(item, ctx)
    start = zoned(item, "start_time") or (existing or {}).get("start_time") or utc_ms(ctx.now)
    end = end_time(item, ctx)
    _order(start, end)
    if lifetime is not None and not end and switch(ctx.config, "lifetime_budget_requires_end_time"):
        raise ItemError("end_time is required when lifetime_budget_micro is set")
    constraint = "DAILY_BUDGET" if daily is not None else "LIFETIME_BUDGET"
    given = enum(item, "delivery_constraint", ("DAILY_BUDGET", "LIFETIME_BUDGET"), required=False)
    if given and given != constraint:
        raise ItemError(f"delivery_constraint {given} does not match the budget attribute set")
    pacing = enum(item, "pacing_type", ("STANDARD", "ACCELERATED"), required=False) or "STANDARD"

    out: dict[str, Any] = {
        "name": name,
        "status": status,
        "campaign_id": campaign.id,
        "type": squad_type,
        "targeting": targeting,
        "targeting_reach_status": "VALID",
    }
    if placement is not None:
        out["placement_v2"] = placement
    else:
        out["placement"] = (existing or {}).get("placement", LEGACY_PLACEMENT)
    out["billing_event"] = billing
    if bid is not None:
        out["bid_micro"] = bid
    out["auto_bid"] = bid_strategy == "AUTO_BID"
    out["target_bid"] = bid_strategy == "TARGET_COST"
    out["bid_strategy"] = bid_strategy
    if daily is not None:
        out["daily_budget_micro"] = daily
    else:
        out["lifetime_budget_micro"] = lifetime
    out["start_time"] = start
    if end:
        out["end_time"] = end
    out["optimization_goal"] = goal
    if isinstance(item.get("conversion_window"), str):
        out["conversion_window"] = item["conversion_window"]
    if pixel_id:
        out["pixel_id"] = pixel_id
    out["delivery_constraint"] = constraint
    out["pacing_type"] = pacing
    if existing and existing.get("child_ad_type"):
        out["child_ad_type"] = existing["child_ad_type"]
    out["creation_state"] = "PUBLISHED"
    out["delivery_status"] = []
    out["skadnetwork_properties"] = {"status": "NEVER_ENROLLED"}
    return out


def _targeting(raw: Any, ctx: Context) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ItemError("targeting is required and must contain geos")
    geos = raw.get("geos")
    if not isinstance(geos, list) or not geos:
        raise ItemError("targeting.geos is required: at least one geo with a country_code")
    countries: set[str] = set()
    clean_geos = []
    for geo in geos:
        if not isinstance(geo, dict) or not _present(geo, "country_code"):
            raise ItemError("Each targeting.geos entry needs a country_code")
        code = geo["country_code"]
        if not isinstance(code, str) or not COUNTRY_RE.match(code):
            raise ItemError(
                f"Invalid country_code {code!r}: use a lowercase two-letter country code (e.g. 'us')"
            )
        enum(geo, "operation", OPERATIONS, required=False)
        if geo.get("operation", "INCLUDE") == "INCLUDE":
            countries.add(code)
        clean_geos.append(geo)
    demographics = raw.get("demographics")
    languages = False
    if demographics is not None:
        if not isinstance(demographics, list):
            raise ItemError("targeting.demographics must be a list")
        for demo in demographics:
            languages = _demographic(demo) or languages
    if len(countries) > 1 and not languages and switch(ctx.config, "multi_country_requires_language"):
        raise ItemError("Targeting several countries requires a demographics entry with one languages value")
    out: dict[str, Any] = {"regulated_content": bool(raw.get("regulated_content", False))}
    if demographics is not None:
        out["demographics"] = demographics
    out["geos"] = clean_geos
    for key in ("devices", "interests", "segments", "locations"):
        if key in raw:
            out[key] = raw[key]
    out["enable_targeting_expansion"] = bool(raw.get("enable_targeting_expansion", True))
    out["auto_expansion_options"] = raw.get("auto_expansion_options") or DEFAULT_EXPANSION
    return out


def _demographic(demo: Any) -> bool:
    """Validate one demographics entry; True when it carries languages."""
    if not isinstance(demo, dict):
        raise ItemError("Each targeting.demographics entry must be an object")
    groups = demo.get("age_groups")
    if groups is not None and (not isinstance(groups, list) or any(g not in AGE_GROUPS for g in groups)):
        raise ItemError(f"Invalid age_groups {groups!r}; allowed values: {', '.join(AGE_GROUPS)}")
    for key in ("min_age", "max_age"):
        if key in demo:
            value = demo[key]
            number = int(value) if isinstance(value, str) and value.isdigit() else value
            if isinstance(number, bool) or not isinstance(number, int) or not 13 <= number <= 50:
                raise ItemError(f"{key} must be an age between 13 and 50, got {value!r}")
    if "min_age" in demo and "max_age" in demo and int(demo["min_age"]) > int(demo["max_age"]):
        raise ItemError("min_age must not exceed max_age")
    enum(demo, "gender", GENDERS, required=False)
    enum(demo, "operation", OPERATIONS, required=False)
    languages = demo.get("languages")
    if languages is not None and (
        not isinstance(languages, list)
        or any(not isinstance(x, str) or not LANGUAGE_RE.match(x) for x in languages)
    ):
        raise ItemError("languages must be a list of lowercase two-letter language codes")
    return bool(languages)


def _eligibility(ctx: Context, campaign: SandboxObject, goal: str) -> None:
    if not switch(ctx.config, "enforce_objective_goal_eligibility"):
        return
    v2 = (campaign.fields.get("objective_v2_properties") or {}).get("objective_v2_type")
    allowed = GOAL_ELIGIBILITY.get(str(v2))
    if allowed is not None and goal not in allowed:
        raise ItemError(f"optimization_goal {goal} is not eligible for campaign objective {v2}")


def _placement(
    item: dict[str, Any], goal: str, ctx: Context, existing: dict[str, Any] | None
) -> dict[str, Any] | None:
    raw = item.get("placement_v2")
    if raw is None:
        if (
            existing is not None
            and "placement_v2" in existing
            and switch(ctx.config, "adsquad_put_requires_placement_v2")
        ):
            raise ItemError(
                "Update is not supported for this entity : [AdSquad was created with placement v2, "
                "please update the placement in Ads Manager]",
                errors.E_ITEM_UPDATE_UNSUPPORTED,
            )
        if existing is not None:
            return existing.get("placement_v2")
        return None  # an "ordinary" squad with the legacy placement
    if not isinstance(raw, dict):
        raise ItemError("placement_v2 must be an object with config")
    config = enum(raw, "config", PLACEMENT_CONFIGS)
    if config == "CUSTOM":
        platforms = raw.get("platforms")
        positions = raw.get("snapchat_positions")
        if (
            not isinstance(platforms, list)
            or not platforms
            or any(p not in PLACEMENT_PLATFORMS for p in platforms)
        ):
            raise ItemError(f"placement_v2.platforms must list values from {', '.join(PLACEMENT_PLATFORMS)}")
        if (
            not isinstance(positions, list)
            or not positions
            or any(p not in SNAPCHAT_POSITIONS for p in positions)
        ):
            raise ItemError(
                f"placement_v2.snapchat_positions must list values from {', '.join(SNAPCHAT_POSITIONS)}"
            )
        if goal in switch(ctx.config, "chat_feed_required_goals") and "CHAT_FEED" not in positions:
            raise ItemError(
                f"CHAT_FEED must be included in custom placements for optimization_goal {goal}",
                errors.E_ITEM_CHAT_FEED,
            )
    return raw


def _bidding(item: dict[str, Any], ctx: Context) -> tuple[str, int | None]:
    raw = item.get("bid_strategy")
    if raw in DEPRECATED_BID_STRATEGIES:
        raise ItemError(f"bid_strategy {raw} is deprecated and can no longer be used")
    strategy = enum(
        item,
        "bid_strategy",
        BID_STRATEGIES,
        required=bool(switch(ctx.config, "adsquad_requires_bid_strategy")),
    )
    bid = micro(item, "bid_micro")
    if strategy is None:
        strategy = "LOWEST_COST_WITH_MAX_BID" if bid is not None else "AUTO_BID"
    if strategy == "AUTO_BID":
        if bid is not None:
            if switch(ctx.config, "auto_bid_with_bid_micro") == "reject":
                raise ItemError("bid_micro must not be set when bid_strategy is AUTO_BID")
            bid = None
    elif bid is None:
        raise ItemError("Bid is required on ad squad", errors.E_ITEM_BID_REQUIRED)
    return strategy, bid


def _budgets(item: dict[str, Any], ctx: Context) -> tuple[int | None, int | None]:
    minimum = int(ctx.account.fields.get("_min_daily_budget_micro") or 5_000_000)
    has_daily, has_lifetime = _present(item, "daily_budget_micro"), _present(item, "lifetime_budget_micro")
    if has_daily and has_lifetime:
        raise ItemError("Only one of daily_budget_micro or lifetime_budget_micro can be set")
    if not has_daily and not has_lifetime:
        raise ItemError("One of daily_budget_micro or lifetime_budget_micro is required")
    return micro(item, "daily_budget_micro", minimum), micro(item, "lifetime_budget_micro", minimum)


def budget_message(account: SandboxObject) -> str:
    minimum = int(account.fields.get("_min_daily_budget_micro") or 5_000_000)
    return f"daily_budget_micro must be at least {minimum} micro-currency (budget too low)"


# ---- creatives -----------------------------------------------------------------------------------
def creative_fields(
    item: dict[str, Any], ctx: Context, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    if not _present(item, "ad_account_id"):
        raise ItemError("ad_account_id is required")
    same_parent(item, "ad_account_id", ctx.account.id)
    name = text(item, "name", NAME_MAX)
    kind = enum(item, "type", CREATIVE_TYPES)
    immutable(existing, "type", kind)
    headline = text(item, "headline", 34, required=kind in TOP_SNAP_TYPES)
    profile = _profile(item, ctx)
    brand = text(item, "brand_name", 32, required=profile is None)
    media_id = _top_snap(item, ctx, required=kind in TOP_SNAP_TYPES)
    shareable = item.get("shareable", True)
    if not isinstance(shareable, bool):
        raise ItemError("shareable must be true or false")
    crop = enum(item, "top_snap_crop_position", CROP_POSITIONS, required=False) or "MIDDLE"
    cta, extras = _type_properties(item, str(kind), ctx)
    out: dict[str, Any] = {
        "name": name,
        "ad_account_id": ctx.account.id,
        "type": kind,
        "packaging_status": "SUCCESS",
        "review_status": "PENDING_REVIEW",
        "shareable": shareable,
    }
    if headline is not None:
        out["headline"] = headline
    if brand is not None:
        out["brand_name"] = brand
    if cta is not None:
        out["call_to_action"] = cta
    out["render_type"] = "STATIC"
    if media_id is not None:
        out["top_snap_media_id"] = media_id
    out["top_snap_crop_position"] = crop
    out.update(extras)
    out["ad_product"] = "SNAP_AD"
    if profile is not None:
        out["profile_properties"] = {"profile_id": profile}
    return out


def _profile(item: dict[str, Any], ctx: Context) -> str | None:
    props = item.get("profile_properties")
    if props is None:
        return None
    if not isinstance(props, dict) or not _present(props, "profile_id"):
        raise ItemError("profile_properties.profile_id is required when profile_properties is set")
    profile_id = str(props["profile_id"])
    owner = ctx.state.public_profiles.get(profile_id)
    allowed = owner is not None and (
        owner.get("ad_account_id") == ctx.account.id or owner.get("organization_id") == ctx.account.parent_id
    )
    if not allowed:
        raise ItemError(f"Public profile {profile_id}: {errors.NOT_FOUND_MESSAGE}", errors.E_ITEM_NOT_FOUND)
    return profile_id


def _top_snap(item: dict[str, Any], ctx: Context, required: bool) -> str | None:
    if not _present(item, "top_snap_media_id"):
        if required:
            raise ItemError("top_snap_media_id is required")
        return None
    media_id = str(item["top_snap_media_id"])
    media = ctx.entities.live("media", media_id)
    if media is None or media.account_id != ctx.account.id:
        raise ItemError(f"Media {media_id}: {errors.NOT_FOUND_MESSAGE}", errors.E_ITEM_NOT_FOUND)
    if media.fields.get("media_status") != "READY":
        raise ItemError(
            f"Media {media_id} hasn't been uploaded yet or is still processing (media_status is not READY)"
        )
    if media.fields.get("type") not in ("IMAGE", "VIDEO"):
        raise ItemError(f"Media {media_id} of type {media.fields.get('type')} cannot be used as a top snap")
    return media_id


def _type_properties(item: dict[str, Any], kind: str, ctx: Context) -> tuple[str | None, dict[str, Any]]:
    """call_to_action and the type's *_properties, per Snap's creative-type ↔ CTA rules."""
    cta = item.get("call_to_action")
    extras: dict[str, Any] = {}
    if kind == "SNAP_AD":
        if switch(ctx.config, "snap_ad_rejects_cta") and (cta is not None or item.get("web_view_properties")):
            raise ItemError("SNAP_AD creatives take no call_to_action and no web_view_properties")
        return None, extras
    if kind == "WEB_VIEW":
        props = item.get("web_view_properties")
        url = props.get("url") if isinstance(props, dict) else None
        parsed = urlparse(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ItemError(
                "web_view_properties.url is required for WEB_VIEW creatives (absolute http(s) URL)"
            )
        allowed = tuple(switch(ctx.config, "web_view_cta_values"))
        if cta is None and switch(ctx.config, "web_view_requires_cta"):
            raise ItemError("call_to_action is required for WEB_VIEW creatives")
        if cta is not None and cta not in allowed:
            raise ItemError(
                f"call_to_action {cta!r} is not allowed for WEB_VIEW; allowed: {', '.join(allowed)}"
            )
        assert isinstance(props, dict)
        extras["web_view_properties"] = {
            "url": url,
            "allow_snap_javascript_sdk": bool(props.get("allow_snap_javascript_sdk", False)),
            "use_immersive_mode": bool(props.get("use_immersive_mode", False)),
            "deep_link_urls": list(props.get("deep_link_urls") or []),
            "block_preload": bool(props.get("block_preload", True)),
        }
        return cta, extras
    if kind == "APP_INSTALL":
        props = item.get("app_install_properties")
        if not isinstance(props, dict) or not _present(props, "app_name"):
            raise ItemError("app_install_properties with app_name is required for APP_INSTALL creatives")
        if not (_present(props, "ios_app_id") or _present(props, "android_app_url")):
            raise ItemError("app_install_properties needs ios_app_id or android_app_url")
        if cta is not None and cta not in APP_CTAS:
            raise ItemError(
                f"call_to_action {cta!r} is not allowed for APP_INSTALL; allowed: {', '.join(APP_CTAS)}"
            )
        extras["app_install_properties"] = props
        return cta, extras
    if kind == "DEEP_LINK":
        props = item.get("deep_link_properties")
        if not isinstance(props, dict) or not _present(props, "deep_link_uri"):
            raise ItemError("deep_link_properties with deep_link_uri is required for DEEP_LINK creatives")
        if cta is not None and cta not in DEEP_LINK_CTAS:
            raise ItemError(
                f"call_to_action {cta!r} is not allowed for DEEP_LINK; allowed: {', '.join(DEEP_LINK_CTAS)}"
            )
        extras["deep_link_properties"] = props
        return cta, extras
    for key in (
        "composite_properties",
        "preview_properties",
        "collection_properties",
        "ad_to_lens_properties",
    ):
        if isinstance(item.get(key), dict):
            extras[key] = item[key]
    return (str(cta) if isinstance(cta, str) else None), extras


# ---- ads -----------------------------------------------------------------------------------------
def ad_fields(
    item: dict[str, Any], ctx: Context, squad: SandboxObject, existing: dict[str, Any] | None = None
) -> tuple[dict[str, Any], SandboxObject]:
    if not _present(item, "ad_squad_id"):
        raise ItemError("ad_squad_id is required")
    same_parent(item, "ad_squad_id", squad.id)
    name = text(item, "name", NAME_MAX)
    if not _present(item, "creative_id"):
        raise ItemError("creative_id is required")
    creative = ctx.entities.live("creative", str(item["creative_id"]))
    if creative is None or creative.account_id != ctx.account.id:
        raise ItemError(
            f"Creative {item['creative_id']}: {errors.NOT_FOUND_MESSAGE}", errors.E_ITEM_NOT_FOUND
        )
    ad_type = enum(item, "type", AD_TYPES)
    expected = AD_TYPE_FOR_CREATIVE.get(str(creative.fields.get("type")))
    if ad_type != expected:
        raise ItemError(
            f"Ad type {ad_type} is not compatible with creative type {creative.fields.get('type')}"
            + (f"; use {expected}" if expected else "")
        )
    child = squad.fields.get("child_ad_type")
    if child and child != ad_type:
        raise ItemError(f"Ad type {ad_type} does not match the ad squad's child_ad_type {child}")
    status = enum(item, "status", STATUSES)
    out = {
        "name": name,
        "ad_squad_id": squad.id,
        "creative_id": creative.id,
        "status": status,
        "type": ad_type,
        "render_type": "STATIC",
        "review_status": (existing or {}).get("review_status", "PENDING"),
        "delivery_status": [],
    }
    return out, creative


# ---- media ---------------------------------------------------------------------------------------
def media_fields(item: dict[str, Any], ctx: Context) -> dict[str, Any]:
    same_parent(item, "ad_account_id", ctx.account.id)
    name = text(item, "name", NAME_MAX)
    media_type = enum(item, "type", MEDIA_TYPES)
    return {
        "name": name,
        "ad_account_id": ctx.account.id,
        "type": media_type,
        "media_status": "PENDING_UPLOAD",
        "is_demo_media": False,
        "visibility": "VISIBLE",
    }
