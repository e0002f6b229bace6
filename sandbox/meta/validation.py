"""Request validation as strict as Graph: spec-driven param checks, then Meta's business rules.

`coerce` applies the codegen spec to one edge: every spec-required param, every type and every enum
value (Graph's own messages: `(#100) The parameter x is required.`, `(#100) Param x must be one of
{...}`). The rule functions below add what the spec cannot say (legacy objectives, objective ↔
optimization goal, budget ownership, targeting, creative specs) with the errors Meta returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.meta import spec
from sandbox.meta.errors import GraphError, bad_enum, bad_type, invalid, not_array, required

LEGACY_OBJECTIVES = frozenset(
    {
        "APP_INSTALLS",
        "BRAND_AWARENESS",
        "CONVERSIONS",
        "EVENT_RESPONSES",
        "LEAD_GENERATION",
        "LINK_CLICKS",
        "LOCAL_AWARENESS",
        "MESSAGES",
        "OFFER_CLAIMS",
        "PAGE_LIKES",
        "POST_ENGAGEMENT",
        "PRODUCT_CATALOG_SALES",
        "REACH",
        "STORE_VISITS",
        "VIDEO_VIEWS",
    }
)
ODAX_OBJECTIVES = (
    "OUTCOME_LEADS",
    "OUTCOME_SALES",
    "OUTCOME_ENGAGEMENT",
    "OUTCOME_AWARENESS",
    "OUTCOME_TRAFFIC",
    "OUTCOME_APP_PROMOTION",
)

# Objective → optimization goals accepted for its ad sets. CONFIRMED_GOALS are the pairs seen in
# official examples or several real clients; every other pair here is UNCONFIRMED (override with the
# `objective_goal_table` switch). OUTCOME_SALES + LANDING_PAGE_VIEWS is left out: Meta rejected it
# with 2490408 (facebook-java-business-sdk #446).
OBJECTIVE_GOALS: dict[str, tuple[str, ...]] = {
    "OUTCOME_AWARENESS": ("REACH", "IMPRESSIONS", "AD_RECALL_LIFT", "THRUPLAY"),
    "OUTCOME_TRAFFIC": (
        "LINK_CLICKS",
        "LANDING_PAGE_VIEWS",
        "REACH",
        "IMPRESSIONS",
        "CONVERSATIONS",
        "QUALITY_CALL",
        "VISIT_INSTAGRAM_PROFILE",
        "PROFILE_VISIT",
    ),
    "OUTCOME_ENGAGEMENT": (
        "POST_ENGAGEMENT",
        "THRUPLAY",
        "PAGE_LIKES",
        "EVENT_RESPONSES",
        "CONVERSATIONS",
        "LINK_CLICKS",
        "LANDING_PAGE_VIEWS",
        "REACH",
        "IMPRESSIONS",
        "OFFSITE_CONVERSIONS",
        "MESSAGING_PURCHASE_CONVERSION",
        "MESSAGING_APPOINTMENT_CONVERSION",
        "QUALITY_CALL",
        "REMINDERS_SET",
        "PROFILE_AND_PAGE_ENGAGEMENT",
    ),
    "OUTCOME_LEADS": (
        "LEAD_GENERATION",
        "QUALITY_LEAD",
        "OFFSITE_CONVERSIONS",
        "CONVERSATIONS",
        "QUALITY_CALL",
        "MEANINGFUL_CALL_ATTEMPT",
        "LINK_CLICKS",
        "LANDING_PAGE_VIEWS",
        "REACH",
        "IMPRESSIONS",
    ),
    "OUTCOME_APP_PROMOTION": (
        "APP_INSTALLS",
        "APP_INSTALLS_AND_OFFSITE_CONVERSIONS",
        "OFFSITE_CONVERSIONS",
        "VALUE",
        "IN_APP_VALUE",
        "LINK_CLICKS",
    ),
    "OUTCOME_SALES": (
        "OFFSITE_CONVERSIONS",
        "VALUE",
        "LINK_CLICKS",
        "CONVERSATIONS",
        "IMPRESSIONS",
        "REACH",
        "MESSAGING_PURCHASE_CONVERSION",
        "ADVERTISER_SILOED_VALUE",
        "QUALITY_CALL",
    ),
}
CONFIRMED_GOALS: dict[str, tuple[str, ...]] = {
    "OUTCOME_AWARENESS": ("REACH", "IMPRESSIONS", "AD_RECALL_LIFT"),
    "OUTCOME_TRAFFIC": ("LINK_CLICKS", "LANDING_PAGE_VIEWS"),
    "OUTCOME_ENGAGEMENT": ("POST_ENGAGEMENT", "THRUPLAY", "CONVERSATIONS"),
    "OUTCOME_LEADS": ("LEAD_GENERATION", "QUALITY_LEAD", "OFFSITE_CONVERSIONS"),
    "OUTCOME_APP_PROMOTION": ("APP_INSTALLS",),
    "OUTCOME_SALES": ("OFFSITE_CONVERSIONS", "VALUE"),
}
# Billing events that only go with the optimization goal of the same name (IMPRESSIONS goes with all).
BILLING_EVENT_GOAL = {
    "LINK_CLICKS": "LINK_CLICKS",
    "THRUPLAY": "THRUPLAY",
    "POST_ENGAGEMENT": "POST_ENGAGEMENT",
    "PAGE_LIKES": "PAGE_LIKES",
    "APP_INSTALLS": "APP_INSTALLS",
    "OFFER_CLAIMS": "OFFER_CLAIMS",
    "PURCHASE": "OFFSITE_CONVERSIONS",
    "LISTING_INTERACTION": "LISTING_INTERACTION",
}
CAP_STRATEGIES = frozenset({"LOWEST_COST_WITH_BID_CAP", "COST_CAP"})
MONEY_PARAMS = ("daily_budget", "lifetime_budget", "spend_cap", "bid_amount")
_URL = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)


# ---- spec-driven coercion ------------------------------------------------------------------
def parse_json(name: str, value: Any, want: type) -> Any:
    """Nested objects arrive as JSON strings in form posts, or as JSON values in a JSON body."""
    if isinstance(value, want):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, want):
            return parsed
    if want is list:
        raise not_array(name)
    raise bad_type(name, "a JSON object")


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise bad_type(name, "a boolean")


def _int(name: str, value: Any, unsigned: bool) -> int:
    what = "a non-negative integer" if unsigned else "an integer"
    if isinstance(value, bool) or isinstance(value, float):
        raise bad_type(name, what)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"-?\d+", text):
            raise bad_type(name, what)
        number = int(text)
    if unsigned and number < 0:
        raise bad_type(name, what)
    return number


def coerce_value(name: str, type_name: str, value: Any) -> Any:
    values = spec.enum_values(type_name)
    if type_name.startswith("list<"):
        items = parse_json(name, value, list)
        inner = spec.element_type(type_name)
        return [coerce_value(f"{name}[{i}]", inner, item) for i, item in enumerate(items)]
    if values is not None:
        text = str(value)
        if text not in values:
            raise bad_enum(name, values)
        return text
    if type_name == "unsigned int":
        return _int(name, value, unsigned=True)
    if type_name == "int":
        return _int(name, value, unsigned=False)
    if type_name == "float":
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise bad_type(name, "a number") from exc
    if type_name == "bool":
        return _bool(name, value)
    if type_name in {"string", "datetime"}:
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return value if type_name == "datetime" else str(value)
    if type_name == "file":
        if not isinstance(value, web.FileField):
            raise bad_type(name, "a file upload")
        return value
    if type_name == "Object":
        if isinstance(value, (dict, list)):
            return value
        return parse_json(name, value, dict)
    # map, map<...>, and node types (Targeting, AdCreative, AdCreativeObjectStorySpec, ...)
    return parse_json(name, value, dict)


def coerce(node: str, method: str, edge: str | None, raw: dict[str, Any]) -> dict[str, Any]:
    """Check `raw` against the spec for this edge; unknown params are ignored, as Graph does."""
    declared = spec.params(node, method, edge) or []
    for p in declared:
        if p.required and _absent(raw.get(p.name)):
            raise required(p.name)
    out = {k: v for k, v in raw.items() if k not in {"access_token", "appsecret_proof", "method"}}
    for p in declared:
        if p.name in raw and not _absent(raw[p.name]):
            out[p.name] = coerce_value(p.name, p.type, raw[p.name])
    return out


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if _absent(params.get(name)):
            raise required(name)


def validate_only(params: dict[str, Any]) -> bool:
    return "validate_only" in (params.get("execution_options") or [])


# ---- business rules --------------------------------------------------------------------------
def check_objective_for_create(objective: str) -> None:
    if objective in LEGACY_OBJECTIVES:
        raise GraphError(
            f"(#100) Objective {objective} is invalid. Use one of: {', '.join(ODAX_OBJECTIVES)}."
        )


def goals_for(objective: str, override: dict[str, list[str]] | None) -> tuple[str, ...] | None:
    table = override or OBJECTIVE_GOALS
    goals = table.get(objective)
    return tuple(goals) if goals is not None else None


def goal_mismatch() -> GraphError:
    return invalid(
        "Performance goal isn't available",
        "You can't use the selected performance goal with your campaign objective. Please select a "
        "different goal or edit your campaign.",
        subcode=2490408,
        blame=["optimization_goal"],
    )


def budget_sharing_required() -> GraphError:
    return invalid(
        "Must specify True or False in is_adset_budget_sharing_enabled field",
        "You must specify True or False in the field is_adset_budget_sharing_enabled if you are not using "
        "campaign budget. Passing in True will enable your ad sets to share 20% of their budget to optimize "
        "overall performance.",
        subcode=4834011,
    )


def bid_amount_required(strategy: str, subcode: int = 2490487) -> GraphError:
    return invalid(
        "Bid Amount Or Bid Constraints Required For Bid Strategy",
        "Bid amount or bid constraints required: For bid cap you must provide bid amount field to set a bid "
        "cap. For ROAS goal, you must provide roas average floor in bid constraints and 'VALUE' as "
        f"optimization goal. (bid strategy: {strategy})",
        subcode=subcode,
        blame=["bid_amount"],
    )


def budget_too_low(field: str, amount: str) -> GraphError:
    return invalid(
        "Budget is too low",
        f"Your ad set budget must be more than {amount} or your ads may not be delivered.",
        subcode=1885272,
        blame=[field],
    )


def budget_on_both_levels() -> GraphError:
    return invalid(
        "Budget Already Set at Campaign Level",
        "You can't set a budget on this ad set because its campaign already uses a campaign budget "
        "(Advantage campaign budget). Remove daily_budget / lifetime_budget from the ad set.",
        subcode=1885621,
    )


def validate_targeting(
    targeting: dict[str, Any],
    *,
    advantage_required_always: bool,
    advantage_age_limits: bool,
) -> dict[str, Any]:
    """Meta's targeting rules for ad set create/update; returns the spec with Meta's defaults."""
    countries_ok = spec.country_codes()
    geo = targeting.get("geo_locations")
    if not isinstance(geo, dict) or not any(
        geo.get(k) for k in ("countries", "regions", "cities", "zips", "country_groups", "custom_locations")
    ):
        if not targeting.get("custom_audiences"):
            raise invalid(
                "Location Is Required",
                "Your audience must include at least one location: set targeting.geo_locations with at least "
                "one country.",
                blame=["targeting", "geo_locations"],
            )
    if isinstance(geo, dict):
        countries = geo.get("countries") or []
        if not isinstance(countries, list):
            raise not_array("targeting[geo_locations][countries]")
        for i, code in enumerate(countries):
            if code not in countries_ok:
                raise GraphError(
                    f"(#100) Param targeting[geo_locations][countries][{i}] must be a valid country code "
                    f"(ISO 3166-1 alpha-2, uppercase): {code!r}"
                )
    age_min = targeting.get("age_min", 18)
    age_max = targeting.get("age_max", 65)
    for key, val in (("age_min", age_min), ("age_max", age_max)):
        if isinstance(val, bool) or not isinstance(val, int):
            raise bad_type(f"targeting[{key}]", "an integer")
    if age_min < 13 or age_min > 65:
        raise invalid(
            "Invalid Minimum Age", "The minimum age must be between 13 and 65.", blame=["targeting"]
        )
    if age_max > 65 or age_max < 13:
        raise invalid(
            "Invalid Maximum Age", "The maximum age must be between 13 and 65.", blame=["targeting"]
        )
    if age_min > age_max:
        raise invalid(
            "Invalid Age Range", "The minimum age can't be greater than the maximum age.", blame=["targeting"]
        )
    genders = targeting.get("genders")
    if genders is not None:
        if not isinstance(genders, list) or any(g not in (1, 2) for g in genders):
            raise GraphError("(#100) Param targeting[genders] must be a list of 1 (male) and/or 2 (female)")
    automation = targeting.get("targeting_automation")
    advantage = automation.get("advantage_audience") if isinstance(automation, dict) else None
    if advantage is not None and advantage not in (0, 1):
        raise bad_type("targeting[targeting_automation][advantage_audience]", "0 or 1")
    customised = (
        ("age_min" in targeting and age_min != 18)
        or ("age_max" in targeting and age_max != 65)
        or bool(genders and set(genders) != {1, 2})
        or bool(targeting.get("custom_audiences"))
        or bool(targeting.get("flexible_spec"))
        or bool(targeting.get("interests"))
    )
    if advantage is None and (customised or advantage_required_always):
        raise invalid(
            "Advantage Audience Flag Required",
            "To create your ad set, you need to enable or disable the Advantage audience feature. "
            "This can be "
            "done by setting the advantage_audience flag to either 1 or 0 within the targeting_automation "
            "field in the targeting spec.",
            subcode=1870227,
            blame=["targeting"],
        )
    if advantage == 1 and advantage_age_limits:
        if age_max < 65:
            raise invalid(
                "Maximum age is below threshold",
                "When Advantage+ audience is on, the maximum age must be 65.",
                subcode=1870189,
                blame=["targeting"],
            )
        if age_min > 25:
            raise invalid(
                "Advantage+ audience min age can't be > 25",
                "When Advantage+ audience is on, the minimum age can't be higher than 25.",
                subcode=1870188,
                blame=["targeting"],
            )
    normalized = dict(targeting)
    normalized.setdefault("age_min", 18)
    normalized.setdefault("age_max", 65)
    return normalized


def targets_eu(targeting: dict[str, Any], eu: frozenset[str]) -> bool:
    geo = targeting.get("geo_locations") or {}
    return any(c in eu for c in geo.get("countries") or [])


# ---- creatives -------------------------------------------------------------------------------
_OSS_KEYS = set(spec.fields("AdCreativeObjectStorySpec"))
_LINK_KEYS = set(spec.fields("AdCreativeLinkData"))
_VIDEO_KEYS = set(spec.fields("AdCreativeVideoData"))
_PHOTO_KEYS = set(spec.fields("AdCreativePhotoData"))
_CTA_KEYS = set(spec.fields("AdCreativeLinkDataCallToAction"))
_CTA_VALUE_KEYS = set(spec.fields("AdCreativeLinkDataCallToActionValue"))
_CTA_TYPES = spec.enums()["AdCreativeLinkDataCallToAction_type"]


def _check_keys(where: str, data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise GraphError(f"(#100) Param {where}[{key}] is not a valid field for {where}")


def _check_cta(where: str, cta: Any) -> None:
    if not isinstance(cta, dict):
        raise bad_type(where, "a JSON object")
    _check_keys(where, cta, _CTA_KEYS)
    if "type" not in cta:
        raise required(f"{where}[type]")
    if cta["type"] not in _CTA_TYPES:
        raise bad_enum(f"{where}[type]", _CTA_TYPES)
    value = cta.get("value")
    if value is not None:
        if not isinstance(value, dict):
            raise bad_type(f"{where}[value]", "a JSON object")
        _check_keys(f"{where}[value]", value, _CTA_VALUE_KEYS)


def validate_story_spec(
    oss: dict[str, Any],
    *,
    page_exists: Callable[[str], bool],
    ig_exists: Callable[[str], bool],
    image_exists: Callable[[str], bool],
    video_state: Callable[[str], str | None],
    thumbnail_required: bool,
) -> str:
    """Check an object_story_spec; returns the creative's object_type (SHARE, VIDEO, PHOTO)."""
    where = "object_story_spec"
    _check_keys(where, oss, _OSS_KEYS)
    page_id = oss.get("page_id")
    if _absent(page_id):
        raise required(f"{where}[page_id]")
    if not page_exists(str(page_id)):
        raise invalid(
            "Invalid Page",
            f"The page {page_id} does not exist or you don't have permission to advertise for it.",
            blame=[where, "page_id"],
        )
    ig = oss.get("instagram_user_id")
    if ig is not None and not ig_exists(str(ig)):
        raise invalid(
            "Invalid Instagram Account",
            f"The Instagram account {ig} is not connected to this Page or ad account.",
            blame=[where, "instagram_user_id"],
        )
    kinds = [k for k in ("link_data", "video_data", "photo_data", "template_data", "text_data") if oss.get(k)]
    if not kinds:
        raise GraphError(
            f"(#100) Param {where} must contain one of link_data, photo_data, video_data, template_data or "
            "text_data"
        )
    if len(kinds) > 1:
        raise GraphError(f"(#100) Param {where} must contain only one of {', '.join(kinds)}")
    kind = kinds[0]
    data = oss[kind]
    if not isinstance(data, dict):
        raise bad_type(f"{where}[{kind}]", "a JSON object")
    if kind in {"link_data", "template_data"}:
        _check_keys(f"{where}[{kind}]", data, _LINK_KEYS)
        link = data.get("link")
        if _absent(link):
            raise required(f"{where}[{kind}][link]")
        if not _URL.match(str(link)):
            raise GraphError(f"(#100) Param {where}[{kind}][link] must be a valid URL")
        if data.get("image_hash") is not None and not image_exists(str(data["image_hash"])):
            raise invalid(
                "Invalid Image Hash",
                f"The image with hash {data['image_hash']} was not found in this ad account. Upload it with "
                "/adimages first.",
                blame=[where, kind, "image_hash"],
            )
        if data.get("call_to_action") is not None:
            _check_cta(f"{where}[{kind}][call_to_action]", data["call_to_action"])
        return "SHARE"
    if kind == "video_data":
        _check_keys(f"{where}[video_data]", data, _VIDEO_KEYS)
        video_id = data.get("video_id")
        if _absent(video_id):
            raise required(f"{where}[video_data][video_id]")
        state = video_state(str(video_id))
        if state is None:
            raise invalid(
                "Invalid Video",
                f"The video {video_id} was not found in this ad account.",
                blame=[where, "video_data", "video_id"],
            )
        if state != "ready":
            raise invalid(
                "Video Not Ready",
                f"The video {video_id} is still being processed. Wait until its status is ready.",
                blame=[where, "video_data", "video_id"],
            )
        if data.get("image_hash") is not None and not image_exists(str(data["image_hash"])):
            raise invalid(
                "Invalid Image Hash",
                f"The image with hash {data['image_hash']} was not found in this ad account.",
                blame=[where, "video_data", "image_hash"],
            )
        if thumbnail_required and _absent(data.get("image_hash")) and _absent(data.get("image_url")):
            raise invalid(
                "Video Thumbnail Required",
                "Your video ad needs a thumbnail: set image_hash or image_url in video_data.",
                blame=[where, "video_data"],
            )
        if data.get("image_url") is not None and not _URL.match(str(data["image_url"])):
            raise GraphError(f"(#100) Param {where}[video_data][image_url] must be a valid URL")
        if data.get("call_to_action") is not None:
            _check_cta(f"{where}[video_data][call_to_action]", data["call_to_action"])
        return "VIDEO"
    if kind == "photo_data":
        _check_keys(f"{where}[photo_data]", data, _PHOTO_KEYS)
        if data.get("image_hash") is not None and not image_exists(str(data["image_hash"])):
            raise invalid(
                "Invalid Image Hash",
                f"The image with hash {data['image_hash']} was not found in this ad account.",
                blame=[where, "photo_data", "image_hash"],
            )
        return "PHOTO"
    return "STATUS"
