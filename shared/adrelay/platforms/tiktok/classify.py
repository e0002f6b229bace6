"""TikTok's answers, classified once into adrelay's error taxonomy.

Every application error arrives as HTTP 200 with `{"code": <int> != 0, "message", "request_id", "data"}`
(platform-apis §2.1). Codes come in families (the official SDK's `tiktok_code.py`): 400xx parameters,
401xx auth, 402xx async tasks, 403xx advertiser, 409xx files, 5xxxx system. The family gives the
category; `OVERRIDES` holds the codes whose family would mislead (a throttle among the auth codes, a
permission refusal among the parameter codes, transcoding among the file errors). Parameter errors that
are about a budget below the platform minimum become `budget`, with the minimum the message states.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from adrelay.events.payloads import ErrorCategory, PolicyViolation
from adrelay.platforms.errors import PlatformCallError

C = ErrorCategory

# Official code names (tiktok/tiktok-business-api-sdk `tiktok_code.py` @ f809c39), shown as the title.
# 40065 (13-17 targeting restricted) and 40133 (advertiser QPS) are documented elsewhere without a name.
CODE_NAMES: dict[int, str] = {
    20001: "PARTIAL_OK", 40000: "INVALID_PARAMS", 40001: "PERMISSION_ERROR", 40002: "PARAM_ERROR",
    40003: "FORBIDDEN", 40006: "VERSION_ERROR", 40007: "NOT_EXIST", 40008: "NOT_IMPL",
    40009: "UNSUPPORTED_IN_SANDBOX", 40010: "UNSUPPORTED_DOMAIN", 40011: "ID_LIMIT_EXCEED",
    40012: "NO_UPDATE", 40013: "SANDBOX_ADV_NOT_EXIST", 40014: "INVALID_CLUSTER", 40016: "BIZ_FC_ERROR",
    40050: "DUPLICATED_REQUEST", 40051: "INVALID_API_VERSION", 40052: "ACO_MATERIAL_EXIST",
    40053: "VIDEO_ID_INVALID_ERROR", 40061: "INVALID_BATCH_SIZE", 40062: "PII_NOT_HASHED",
    40063: "INVALID_PARTNER_NAME", 40100: "REQUEST_TOO_FREQUENT", 40101: "INVALID_PARTNER",
    40102: "ACCESS_TOKEN_EXPIRE", 40103: "REFRESH_TOKEN_EXPIRE", 40104: "EMPTY_ACCESS_TOKEN",
    40105: "INVALID_ACCESS_TOKEN", 40106: "INVALID_CORE_USER", 40107: "INVALID_REFRESH_TOKEN",
    40108: "INVALID_GRANT_TYPE", 40109: "ERROR_AES_DECIPHER", 40110: "AUTH_CODE_ERROR",
    40112: "PASSWORD_ERROR", 40113: "APP_FORBIDDEN", 40114: "ADVERTISER_LOGOUT",
    40115: "AUTH_TIMESTAMP_EXPIRE", 40116: "AUTH_SIG_ERROR", 40117: "APP_METHOD_FORBIDDEN",
    40118: "NOT_IN_WHITELIST", 40119: "NOT_SAME_IDENTITY", 40120: "TIKTOK_USER_NOT_LOGGED_IN",
    40121: "NOT_A_TCM_CREATOR", 40122: "TCM_CREATOR_INVALID_COUNTRY", 40124: "DEVELOPER_REJECTED",
    40125: "DEVELOPER_NO_PERMISSION", 40126: "GARM_SINGLE_AUTH_FAILED", 40127: "GARM_DOUBLE_AUTH_FAILED",
    40128: "GARM_SINGLE_VALIDATE_ERROR", 40129: "GARM_DOUBLE_VALIDATE_ERROR", 40130: "SCOPE_NOT_AUTHORIZED",
    40131: "SCOPE_TT_USER_OAUTH_FAILED", 40132: "REQUEST_FREQUENCY_LIMITED", 40200: "GENERAL_TASK_ERROR",
    40201: "TASK_NOT_READY", 40202: "WRITE_CONFLICT", 40300: "ADVERTISER_NOT_EXIST",
    40301: "ADVERTISER_ROLE_ERROR", 40302: "CUSTOMER_ADVERTISER_NOT_EXIST", 40309: "REQUIRE_LOGIN",
    40400: "ROUTE_NOT_FOUND", 40502: "AD_NUMBER_LIMIT", 40700: "RPC_VALIDATION_ERROR",
    40900: "SIGNATURE_ERROR", 40901: "VIDEO_TRANSCODING", 40902: "URL_FETCH_TIMEOUT",
    40903: "URL_UNAVAILABLE", 40904: "IMAGE_ILLEGAL_CONTENT", 40905: "FILE_NOT_EXIST", 40906: "FILE_EMPTY",
    40907: "FILE_TOO_LARGE", 40908: "FILE_TYPE_ERROR", 40909: "FILE_CALCULATE_TYPE_ERROR",
    40910: "FILE_EXPIRED", 40911: "DUPLICATED_MATERIAL_NAME", 40912: "IMAGE_UNAVAILABLE",
    40913: "IMAGE_FETCH_TIMEOUT", 40914: "URL_FETCH_ERROR", 40915: "FILE_UPLOAD_INVALID",
    40916: "VIDEO_ILLEGAL_CONTENT", 41000: "BLOCKED", 41001: "INTERFACE_OFFLINE", 41002: "FIELDS_OFFLINE",
    50000: "SYS_ERROR", 50002: "SYS_TIMEOUT", 52000: "DB_ERROR", 60001: "MAINTENANCE",
    61000: "TOO_MANY_REQUESTS_BL", 70001: "INVALID_BIZ_AUTH_TYPE",
}  # fmt: skip

# Codes adrelay acts on by number.
DUPLICATED_REQUEST = 40050
NOT_EXIST = 40007
DUPLICATED_MATERIAL_NAME = 40911
PARTIAL_OK = 20001
TASK_NOT_READY = 40201
RATE_LIMIT_CODES = frozenset({40016, 40100, 40132, 40133, 61000})


@dataclass(frozen=True)
class Rule:
    category: ErrorCategory
    retryable: bool | None = None  # None: the category's default (rate_limit and transient retry)


# (first code, last code, rule): the code families of `tiktok_code.py`.
FAMILIES: tuple[tuple[int, int, Rule], ...] = (
    (40000, 40099, Rule(C.VALIDATION)),  # parameters, versions, sandbox-only refusals
    (40100, 40199, Rule(C.AUTH)),  # tokens, auth codes, app credentials
    (40200, 40299, Rule(C.TRANSIENT)),  # async tasks not ready / failed, write conflicts
    (40300, 40399, Rule(C.PERMISSION)),  # advertiser missing or not reachable with this token
    (40400, 40799, Rule(C.VALIDATION)),  # route, object-count limits, RPC validation
    (40900, 40999, Rule(C.VALIDATION)),  # files: signature, size, type, duplicate name
    (41000, 41099, Rule(C.PERMISSION)),  # blocked (banned client region), interface offline
    (50000, 59999, Rule(C.TRANSIENT)),  # system, RPC, database, storage errors
    (60000, 60999, Rule(C.TRANSIENT)),  # maintenance
)

# Codes whose family would classify them wrongly. Sources: platform-apis §2.8 handling column, the code
# names, and (where marked) practice rather than the name.
OVERRIDES: dict[int, Rule] = {
    40001: Rule(C.PERMISSION),  # PERMISSION_ERROR: no permission for the operation
    40003: Rule(C.PERMISSION),  # FORBIDDEN
    40016: Rule(C.RATE_LIMIT),  # BIZ_FC_ERROR: app frequency control (platform-apis: like 40100)
    # DUPLICATED_REQUEST: the same request_id ran within ~10 s. Not an error to retry and not a
    # failure: the object may exist. The adapter looks it up by tag; never retried blindly.
    40050: Rule(C.UNKNOWN, retryable=False),
    40100: Rule(C.RATE_LIMIT),  # REQUEST_TOO_FREQUENT (app QPS/QPM/QPD)
    40106: Rule(C.PERMISSION),  # token valid but not for this advertiser: a refresh cannot help
    40113: Rule(C.PERMISSION),  # APP_FORBIDDEN
    40117: Rule(C.PERMISSION),  # APP_METHOD_FORBIDDEN
    40118: Rule(C.PERMISSION),  # NOT_IN_WHITELIST
    40119: Rule(C.PERMISSION),  # NOT_SAME_IDENTITY (different company)
    40121: Rule(C.PERMISSION),  # NOT_A_TCM_CREATOR
    40122: Rule(C.PERMISSION),  # TCM_CREATOR_INVALID_COUNTRY
    40124: Rule(C.PERMISSION),  # DEVELOPER_REJECTED
    40125: Rule(C.PERMISSION),  # DEVELOPER_NO_PERMISSION
    40126: Rule(C.PERMISSION),
    40127: Rule(C.PERMISSION),
    40128: Rule(C.PERMISSION),
    40129: Rule(C.PERMISSION),
    40130: Rule(C.PERMISSION),  # SCOPE_NOT_AUTHORIZED: the grant lacks the scope
    40132: Rule(C.RATE_LIMIT),  # REQUEST_FREQUENCY_LIMITED
    40133: Rule(C.RATE_LIMIT),  # advertiser-level QPS for the path (platform-apis §2.9)
    40901: Rule(C.TRANSIENT),  # VIDEO_TRANSCODING: the video is still processing; later it works
    40902: Rule(C.TRANSIENT),  # URL_FETCH_TIMEOUT
    40904: Rule(C.POLICY_VIOLATION),  # IMAGE_ILLEGAL_CONTENT
    40913: Rule(C.TRANSIENT),  # IMAGE_FETCH_TIMEOUT
    40916: Rule(C.POLICY_VIOLATION),  # VIDEO_ILLEGAL_CONTENT
    41001: Rule(C.VALIDATION),  # INTERFACE_OFFLINE: our call is obsolete
    41002: Rule(C.VALIDATION),  # FIELDS_OFFLINE
    61000: Rule(C.RATE_LIMIT),  # TOO_MANY_REQUESTS_BL (UNCONFIRMED: a temporary block list)
    70001: Rule(C.VALIDATION),  # INVALID_BIZ_AUTH_TYPE
}

# Waits for throttles (platform-apis §2.8): QPS → the next second, QPM → ~5 minutes, QPD → 00:00 UTC.
QPS_WAIT_S = 1.0
QPM_WAIT_S = 300.0
BLOCK_LIST_WAIT_S = 60.0  # UNCONFIRMED

# Request fields a message may name without the "<field>: " prefix.
KNOWN_FIELDS = (
    "campaign_name", "adgroup_name", "ad_name", "ad_text", "budget_mode", "budget", "objective_type",
    "location_ids", "age_groups", "gender", "languages", "schedule_start_time", "schedule_end_time",
    "schedule_type", "optimization_goal", "optimization_event", "billing_event", "bid_type", "bid_price",
    "conversion_bid_price", "pacing", "pixel_id", "promotion_type", "placement_type", "landing_page_url",
    "display_name", "identity_id", "identity_type", "image_ids", "video_id", "call_to_action", "file_name",
    "image_signature", "video_signature", "request_id", "special_industries",
)  # fmt: skip

_PREFIX_FIELD = re.compile(r"^\s*([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)\s*:\s")
_MONEY = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Z]{3})\b")
_MINIMUM_WORDS = re.compile(
    r"greater than|at least|minimum|more than|not (?:be )?(?:less|lower) than|too low", re.I
)
_BARE_MINIMUM = re.compile(
    r"(?:greater than(?: or equal to)?|at least|minimum(?: is| of)?|more than|not (?:be )?(?:less|lower) than)"
    r"\s*:?\s*(\d+(?:\.\d+)?)(?![\d.]*\s*%)",
    re.I,
)
_BALANCE_WORDS = re.compile(r"insufficient (?:account )?balance|balance is (?:not enough|insufficient)", re.I)

POLICY_SUGGESTIONS = {
    "image": "Replace the image with a policy-compliant alternative.",
    "video": "Replace the video with a policy-compliant alternative.",
    "text": "Modify the ad text to comply with TikTok's advertising policies.",
}


def rule_for(code: int) -> Rule:
    """The code's rule: an override, else its family, else unknown."""
    if code in OVERRIDES:
        return OVERRIDES[code]
    for first, last, rule in FAMILIES:
        if first <= code <= last:
            return rule
    return Rule(C.UNKNOWN)


def classify(
    code: int,
    message: str,
    *,
    request_id: str | None = None,
    http_status: int = 200,
    now: datetime | None = None,
) -> PlatformCallError:
    """One TikTok error answer as a classified PlatformCallError."""
    rule = rule_for(code)
    category = rule.category
    fields = blamed_fields(message)
    extra: dict[str, object] = {}
    retry_after: float | None = None
    if category is C.VALIDATION and _is_budget_too_low(message, fields):
        category = C.BUDGET
        extra["minimum_budget"] = minimum_budget(message)
    elif category is C.VALIDATION and _BALANCE_WORDS.search(message):
        category = C.BUDGET
    if category is C.RATE_LIMIT:
        retry_after = throttle_wait_s(code, message, now or datetime.now(UTC))
    if category is C.POLICY_VIOLATION:
        kind = "video" if code == 40916 else "image" if code == 40904 else "text"
        extra["violations"] = [PolicyViolation(kind=kind, message=message)]
        extra["suggestions"] = [POLICY_SUGGESTIONS[kind]]
    error = PlatformCallError.of(
        category,
        message or CODE_NAMES.get(code, f"TikTok error {code}"),
        platform_code=str(code),
        title=CODE_NAMES.get(code),
        blamed_fields=fields,
        trace_id=request_id,
        retry_after_s=retry_after,
        http_status=http_status,
        **extra,
    )
    if rule.retryable is not None and error.error.retryable != rule.retryable:
        error = PlatformCallError(
            error.error.model_copy(update={"retryable": rule.retryable}),
            retry_after_s=retry_after,
            http_status=http_status,
        )
    return error


def classify_http(status: int, text: str, *, retry_after: str | None = None) -> PlatformCallError:
    """An answer without TikTok's envelope: the gateway, a wrong path (404 when the trailing slash is
    missing), or an overloaded front end."""
    snippet = " ".join(text.split())[:200]
    message = f"HTTP {status} without a TikTok envelope: {snippet or '(empty body)'}"
    if status == 429:
        wait = _seconds(retry_after) or QPS_WAIT_S
        return PlatformCallError.of(C.RATE_LIMIT, message, retry_after_s=wait, http_status=status)
    if status >= 500:
        return PlatformCallError.of(C.TRANSIENT, message, http_status=status)
    if status in (401, 403):
        return PlatformCallError.of(C.AUTH if status == 401 else C.PERMISSION, message, http_status=status)
    if status in (400, 404, 405, 413, 415):
        return PlatformCallError.of(C.VALIDATION, message, http_status=status)
    return PlatformCallError.of(C.UNKNOWN, message, http_status=status)


def blamed_fields(message: str) -> list[str]:
    """The request fields a message names: its `<field>: ` prefix (TikTok's parameter-error form, e.g.
    `creatives.0.ad_text: ...`), else known field names appearing as words."""
    match = _PREFIX_FIELD.match(message)
    if match:
        return [match.group(1)]
    found = []
    for name in KNOWN_FIELDS:
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message):
            found.append(name)
    # "budget" inside "budget_mode" is excluded by the word boundaries above.
    return found


def minimum_budget(message: str) -> str | None:
    """The minimum a budget message states: "<amount> <currency>" (e.g. "50.00 USD"), else the number
    right after the minimum wording (never a percentage)."""
    match = _MONEY.search(message)
    if match:
        return f"{match.group(1)} {match.group(2)}"
    bare = _BARE_MINIMUM.search(message)
    return bare.group(1) if bare else None


def throttle_wait_s(code: int, message: str, now: datetime) -> float:
    """When the throttled window reopens, from the message's wording (QPS/QPM/QPD)."""
    if code == 61000:
        return BLOCK_LIST_WAIT_S
    lowered = message.lower()
    if "qpd" in lowered or "per day" in lowered or "daily" in lowered:
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return max((midnight - now).total_seconds(), QPS_WAIT_S)
    if "qpm" in lowered or "per minute" in lowered:
        return QPM_WAIT_S
    return QPS_WAIT_S


def _is_budget_too_low(message: str, fields: list[str]) -> bool:
    about_budget = any(f.split(".")[-1] == "budget" for f in fields) or re.search(
        r"\bbudget\b", message, re.I
    )
    return bool(about_budget and _MINIMUM_WORDS.search(message))


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
