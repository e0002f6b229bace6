"""Meta sandbox knobs, read from `SandboxConfig.switches` (set with `POST /_sandbox/config`).

Every rule the reference marks UNCONFIRMED is a switch here with the default the sandbox uses; the
module docstring of `sandbox.meta` lists them. Non-rule knobs (chunk size, metric rates) live here too.
"""

from __future__ import annotations

from typing import Any

from sandbox.common.config import SandboxConfig

DEFAULTS: dict[str, Any] = {
    # --- UNCONFIRMED platform rules -------------------------------------------------------
    "deprecated_versions": [],  # e.g. ["v17.0"]: calls under these prefixes get error 2635
    "campaign_delete_cascades": True,  # deleting a campaign (ad set) marks its ad sets and ads DELETED
    "list_deleted_objects": False,  # DELETED listed on edges when explicitly asked for (status/filter)
    "video_thumbnail_required": True,  # video_data needs image_hash or image_url
    "advantage_audience_required_always": False,  # flag required even for default targeting
    "advantage_audience_age_limits": True,  # advantage_audience=1 needs age_max 65 and age_min <= 25
    "reject_bid_amount_without_cap": True,  # bid_amount only with LOWEST_COST_WITH_BID_CAP / COST_CAP
    "default_bid_strategy": "LOWEST_COST_WITH_BID_CAP",  # ad set default when none is set (Meta doc)
    "adset_requires_billing_event": True,
    "adset_requires_targeting": True,
    "campaign_requires_objective": True,
    "dsa_required_for_eu": True,  # dsa_beneficiary/dsa_payor when targeting EU countries
    "no_payment_method_blocks_ads": True,  # POST /ads fails (subcode 1359188) without a payment method
    "disabled_account_blocks_writes": True,  # account_status 2/100/101: writes get a permission error
    "billing_event_must_match_goal": True,  # e.g. billing_event LINK_CLICKS needs goal LINK_CLICKS
    "objective_goal_table": None,  # override of validation.OBJECTIVE_GOALS ({objective: [goals]})
    "name_max_length": 400,  # campaign / ad set / ad names
    "creative_name_max_length": 100,
    "contain_case_insensitive": True,  # filtering CONTAIN / NOT_CONTAIN
    "unknown_filter_fields": "ignore",  # "ignore" (returns a superset, as Meta did) or "reject"
    "bylabels_default_operator": "ALL",
    "naive_datetime_in_account_tz": True,  # False: datetimes without offset are rejected
    "offset_one_extra_currencies": ["VND"],  # beyond Meta's documented offset-1 table
    "webhook_field_approved": "in_process_ad_objects",
    "webhook_field_disapproved": "in_process_ad_objects",
    "webhooks_require_subscribed_apps": True,  # the account must also POST /act_/subscribed_apps
    "report_not_ready_is_error": True,  # GET /{report_run}/insights before completion fails
    # --- knobs ----------------------------------------------------------------------------
    "video_chunk_size": 1048576,
    "report_run_s": 1.0,  # async report run: Not Started → Running → Completed over this time
    "impressions_per_second": 5.0,  # per ACTIVE ad, deterministic
    "ctr": 0.02,
    "cpm_minor": 500,  # cost per 1000 impressions in account minor units (offset-100 currencies)
}

RATE_LIMIT_DEFAULTS: dict[str, Any] = {
    "calls_per_window": 5000,  # per ad account and usage type (ads_management / ads_insights)
    "window_s": 3600,
    "app_calls_per_window": None,  # None: app usage only reported, never enforced
    "error": "80004",  # throttle error: "80004" (BUC), "17" or "613"
}


def setting(config: SandboxConfig, name: str) -> Any:
    return config.switches.get(name, DEFAULTS[name])


def rate_limit(config: SandboxConfig, name: str) -> Any:
    return config.rate_limits.get(name, RATE_LIMIT_DEFAULTS[name])
