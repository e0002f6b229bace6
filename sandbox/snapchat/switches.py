"""Configuration switches for rules the reference marks UNCONFIRMED, plus a few tuning knobs.

Set them with `POST /_sandbox/config {"switches": {"name": value}}` (or a config file). Each default
is the reading we consider most likely for the real platform; the test suite exercises both readings
where it matters. Rate limits live in `config.rate_limits` (see `ratelimit.py`).
"""

from __future__ import annotations

from typing import Any

from sandbox.common.config import SandboxConfig

MIB = 1024 * 1024

WEB_VIEW_CTAS = [
    "APPLY_NOW",
    "BOOK_NOW",
    "BUY_TICKETS",
    "GET_NOW",
    "LISTEN",
    "MORE",
    "ORDER_NOW",
    "PLAY",
    "READ",
    "SHOP_NOW",
    "SHOW",
    "SHOWTIMES",
    "SIGN_UP",
    "VIEW",
    "VOTE",
    "WATCH",
]

DEFAULTS: dict[str, Any] = {
    # HTTP status of a batch write in which some item failed (body: request_status ERROR + per-item
    # sub_request_status ERROR). Three client codebases handle "HTTP 200 with request_status ERROR".
    "batch_item_error_status": 200,
    # Campaigns.
    "end_time_null_rejected": True,  # `"end_time": null` refused instead of ignored (campaigns, ad squads)
    "reject_legacy_objective": True,  # legacy `objective` refused for new campaigns (use v2)
    "campaign_min_daily_budget_micro": 20_000_000,  # campaign daily spend cap minimum ($20 cited)
    "campaign_min_lifetime_spend_cap_micro": 20_000_000,  # same $20 minimum cited for the lifetime cap
    "adsquad_requires_funding": True,  # ad squads need an active funding source (campaigns do not)
    # Ad squads.
    "adsquad_requires_bid_strategy": True,
    "auto_bid_with_bid_micro": "reject",  # "reject" | "ignore" bid_micro sent with AUTO_BID
    "enforce_objective_goal_eligibility": True,  # objective ↔ optimization_goal table (objects.py)
    "pixel_goals_require_pixel_id": True,  # PIXEL_* goals need pixel_id
    "multi_country_requires_language": True,  # several countries need demographics[].languages
    "lifetime_budget_requires_end_time": True,
    "adsquad_put_requires_placement_v2": True,  # PUT omitting placement_v2 → E2025 ([S] live)
    # GET / lists show `placement: UNSUPPORTED` instead of placement_v2 unless ?return_placement_v2=true
    "adsquad_plain_get_hides_placement_v2": True,
    "chat_feed_required_goals": ["PIXEL_PURCHASE"],  # CUSTOM placement must include CHAT_FEED
    # Creatives.
    "web_view_cta_values": WEB_VIEW_CTAS,  # allowed call_to_action for WEB_VIEW (VIEW_MORE refused)
    "web_view_requires_cta": True,
    "snap_ad_rejects_cta": True,  # SNAP_AD with call_to_action / web_view_properties refused
    "creative_delete_supported": False,  # no DELETE /v1/creatives/{id} documented
    # Media.
    "media_image_max_bytes": 5 * MIB,
    "media_image_min_dimensions": [1080, 1920],  # top snap images: at least 1080x1920
    "simple_upload_max_bytes": 32 * MIB,  # larger files must use multipart-upload-v2
    "multipart_part_max_bytes": 32 * MIB,
    # Lists.
    "list_default_limit": None,  # no `limit` → everything in one page (recorded lists say so)
    "sort_with_read_deleted_forbidden": True,
    "sort_values": ["created_at-asc", "created_at-desc", "updated_at-asc", "updated_at-desc"],
    "unknown_list_params": "ignore",  # "ignore" | "reject" (e.g. ?name=…) — never honoured
    # Stats.
    "stats_require_hour_alignment": True,
    "stats_day_alignment": True,  # DAY needs local midnights in the ad account's time zone
    "stats_max_days": {"DAY": 32, "HOUR": 7},
    "stats_reject_unknown_fields": True,  # fields=… outside the known metric list → 400
    # Rate limits.
    "rate_limit_retry_after": False,  # add Retry-After to 429 responses
    "rate_limit_headers_on_reads": False,  # recorded reads carry no X-Rate-Limit-* headers
    # Deletes.
    "cascade_delete": False,  # deleting a campaign / ad squad also deletes its children
    # Tuning knobs (not platform rules).
    "access_token_lifetime_s": 3600,
    "auth_code_lifetime_s": 600,
    "metrics_impressions_per_s": 2.0,  # delivery speed of one approved, active ad
    "unfund_account_status": "PAUSED",  # ad account status after the `unfund` fault (UNCONFIRMED)
}


def switch(config: SandboxConfig, name: str) -> Any:
    """The switch's current value (config overrides the default)."""
    return config.switches.get(name, DEFAULTS[name])
