"""Defaults for the TikTok sandbox's configuration switches and rate limits.

Every rule the reference marks UNCONFIRMED (or that rests on one secondary source) is a switch here,
so tests can exercise both readings; set them with `POST /_sandbox/config {"switches": {...}}`.
"""

from __future__ import annotations

from typing import Any

SWITCHES: dict[str, Any] = {
    # lookup-by-tag §2.2: same request_id within this many seconds → 40050; later → a new object ([S]).
    "request_id_window_s": 10.0,
    # lookup-by-tag §2.2: duplicate campaign / ad group names without request_id. UNCONFIRMED.
    # "allow" (default: no server-side dedupe the client could wrongly rely on) or "reject" (40002).
    "duplicate_names": "allow",
    # Unknown top-level body fields (e.g. the seed's ad group `targeting`) → 40002 "<field>: Unknown field."
    "reject_unknown_fields": True,
    # Unknown keys inside `filtering` objects: "ignore" (not honoured) or "reject" (40002).
    "unknown_filter_keys": "ignore",
    # v1.3 ids are strings; a JSON number where an id belongs → 40002.
    "strict_id_types": True,
    # Budget doc gives ranges as [min, max): the minimum itself is accepted. False → must exceed it.
    "budget_minimum_inclusive": True,
    # Objective ↔ optimization goal table and goal ↔ billing event pairing (partly UNCONFIRMED).
    "optimization_goal_check": True,
    "billing_event_check": True,
    # Video cover image must match the video's aspect ratio ([S]).
    "cover_ratio_check": True,
    # lookup-by-tag §2.1: `ad_name` filter on /ad/get/ (semantics UNCONFIRMED): fuzzy like the others.
    "ad_name_filter": True,
    # Token not authorized for the advertiser: 40001 (default) or 40106.
    "advertiser_not_authorized_code": 40001,
    # Auth codes: valid 1 h, single use ([S]); expired/used code answer.
    "auth_code_ttl_s": 3600.0,
    "auth_code_error_code": 40110,
    # /adgroup/status/update/ with allow_partial_success and some failures: code 0 or 20001.
    "partial_success_code": 0,
    # Limits ([S]).
    "max_ads_per_adgroup": 20,
    "max_campaigns_per_advertiser": 999,
    # Campaign delete cascades to its ad groups and ads (UNCONFIRMED).
    "cascade_delete": True,
    # /ad/create/ answer: need_audit true while ads wait for review (UNCONFIRMED meaning).
    "need_audit_on_create": True,
    # Webhook signature scheme (UNCONFIRMED for Marketing API): "tiktok_developers" or "none".
    "webhook_signature": "tiktok_developers",
    "webhook_require_https": False,
    # Upload limits.
    "image_max_bytes": 50 * 1024 * 1024,
    "image_max_pixels": 3_686_400,
    "video_max_bytes": 500 * 1024 * 1024,
    # UPLOAD_BY_URL fetch timeout (the platform's request timeout is 10 s).
    "url_fetch_timeout_s": 10.0,
    # Name given to an upload without file_name: "timestamped" (`<original>_<YYYY-MM-DD HH:MM:SS.mmm>`,
    # UNCONFIRMED, as seen in real answers) or "original" (the bare file name, unique → else 40911).
    "default_file_name": "timestamped",
    # Uploading the same image bytes again returns the same image_id (UNCONFIRMED) — off: a new id.
    "image_same_bytes_same_id": False,
    # File names unique per advertiser "per_type" (images and videos apart) or "shared". UNCONFIRMED.
    "file_name_scope": "per_type",
    # Async report task completes after this many seconds.
    "report_task_delay_s": 1.0,
    # Synthetic delivery: impressions per second per delivering ad is in [0.5, 2.0] x this factor.
    "metrics_rate": 1.0,
}

RATE_LIMITS: dict[str, Any] = {
    # Basic tier per app ([S] api-evangelist rate-limits v1.3).
    "default_qps": 10,
    "default_qpm": 600,
    "default_qpd": 864_000,
    "ad_create_qps": 5,
    "ad_create_qpm": 150,
    "report_task_create_qps": 2,
    # Per advertiser and path (40133); None = off.
    "advertiser_qps": None,
}
