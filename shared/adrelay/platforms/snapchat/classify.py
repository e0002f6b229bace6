"""Snapchat's error answers, classified once into adrelay's taxonomy.

Snap refuses in two shapes (platform-apis §3.11):
* request level: `{"request_status":"ERROR","request_id","debug_message","display_message","error_code"}`
  with the HTTP status telling the class (400 validation, 401 auth, 403 permission, 404 unknown
  entity, 429 throttled, 5xx server) [C]/[S];
* per item of a batch write: `{"sub_request_status":"ERROR","sub_request_error_reason":"Error code:
  E3004, message: …"}`, often under HTTP 200 with `request_status: ERROR` [S].

Known codes override the HTTP status (`CODE_TABLE`); budget, funding and policy refusals are
recognised from the message because Snap gives them no code of their own that we could confirm.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adrelay.events.payloads import ErrorCategory, PlatformError, PolicyViolation
from adrelay.platforms.errors import RETRYABLE, PlatformCallError
from adrelay.platforms.snapchat.limits import UsageHeaders

NOT_FOUND_CODE = "E3004"


@dataclass(frozen=True)
class CodeRule:
    category: ErrorCategory
    retryable: bool
    blamed: tuple[str, ...] = ()
    note: str = ""


# Snap error code → category. Confidence as in platform-apis §3.11: E3004 [S], E2023 [C changelog],
# E1001 [S], E2025 / E2771 / E21011 [S, met live by a client]; the 401/403/429/5xx codes are what
# the sandbox answers (UNCONFIRMED): the HTTP status classifies those answers anyway.
CODE_TABLE: dict[str, CodeRule] = {
    "E3002": CodeRule(ErrorCategory.AUTH, False, note="unauthorized"),
    "E3003": CodeRule(ErrorCategory.PERMISSION, False, note="no access to the ad account / organization"),
    NOT_FOUND_CODE: CodeRule(ErrorCategory.VALIDATION, False, note="entity does not exist or no permission"),
    "E3005": CodeRule(ErrorCategory.RATE_LIMIT, True, note="throttled"),
    "E5001": CodeRule(ErrorCategory.TRANSIENT, True, note="internal error"),
    "E5002": CodeRule(ErrorCategory.TRANSIENT, True, note="service unavailable"),
    "E1001": CodeRule(ErrorCategory.VALIDATION, False, note="read-only attribute sent"),
    "E2023": CodeRule(ErrorCategory.VALIDATION, False, note="immutable attribute changed"),
    "E2025": CodeRule(
        ErrorCategory.VALIDATION, False, ("placement_v2",), "update unsupported for this entity"
    ),
    "E2771": CodeRule(ErrorCategory.VALIDATION, False, ("bid_micro",), "bid required on ad squad"),
    "E21011": CodeRule(
        ErrorCategory.VALIDATION, False, ("placement_v2",), "custom placement lacks CHAT_FEED"
    ),
}

STATUS_CATEGORY: dict[int, ErrorCategory] = {
    400: ErrorCategory.VALIDATION,
    401: ErrorCategory.AUTH,
    403: ErrorCategory.PERMISSION,
    404: ErrorCategory.VALIDATION,
    405: ErrorCategory.VALIDATION,
    409: ErrorCategory.VALIDATION,
    413: ErrorCategory.VALIDATION,
    422: ErrorCategory.VALIDATION,
    429: ErrorCategory.RATE_LIMIT,
}

# Snap attribute names worth blaming when a message names them.
KNOWN_ATTRIBUTES = frozenset(
    """name status start_time end_time daily_budget_micro lifetime_budget_micro lifetime_spend_cap_micro
    bid_micro bid_strategy optimization_goal billing_event targeting geos country_code demographics
    languages min_age max_age gender placement_v2 headline brand_name call_to_action web_view_properties
    top_snap_media_id pixel_id objective objective_v2_properties creative_id ad_squad_id campaign_id
    ad_account_id type profile_properties profile_id media_id delivery_constraint""".split()
)
_ITEM_REASON = re.compile(r"Error code:\s*(?P<code>E\d+)\s*,\s*message:\s*(?P<message>.*)", re.S)
_ATTRIBUTE = re.compile(r"\b([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)\b")
_MINIMUM_MICRO = re.compile(r"(?:at least|minimum(?: of| is)?)\s*(\d+)\s*micro", re.I)
_BUDGET_TOO_LOW = re.compile(
    r"(budget|spend cap|_micro)\b.*\b(at least|minimum|too low|below|lower than)", re.I | re.S
)
_UNFUNDED = re.compile(
    r"funding source|insufficient funds|payment method|no valid payment|billing|credit limit", re.I
)
_POLICY = re.compile(r"polic(y|ies)|disapprov|prohibited|not compliant|violat", re.I)

POLICY_SUGGESTIONS = {
    "text": "Modify ad text to comply with platform policies",
    "image": "Replace image with policy-compliant alternative",
    "video": "Replace video with policy-compliant alternative",
    "targeting": "Adjust targeting parameters",
    "landing_page": "Fix the landing page so it complies with platform policies",
    "other": "Review Snap's advertising policies and edit the ad",
}


@dataclass(frozen=True)
class SnapFailure:
    """The error fields Snap gave, from either shape."""

    code: str | None
    message: str
    display: str | None
    request_id: str | None


def failure_of(body: Any, text: str = "") -> SnapFailure:
    """Pick the error out of a request-level envelope or the first failed item of a batch."""
    if not isinstance(body, dict):
        snippet = text.strip()[:300]
        return SnapFailure(None, snippet or "empty answer", None, None)
    request_id = _str(body.get("request_id"))
    code = _str(body.get("error_code"))
    message = _str(body.get("debug_message")) or _str(body.get("display_message"))
    display = _str(body.get("display_message"))
    item = _failed_item(body)
    if item is not None:
        match = _ITEM_REASON.match(item)
        item_code, item_message = (match["code"], match["message"].strip()) if match else (None, item)
        code = code or item_code
        message = message or item_message
    return SnapFailure(code, message or "request_status ERROR without a message", display, request_id)


def classify(
    status: int, body: Any, headers: Mapping[str, str], *, text: str = "", now: float | None = None
) -> PlatformCallError:
    """One refused call → a classified PlatformCallError."""
    now = time.time() if now is None else now
    failure = failure_of(body, text)
    rule = CODE_TABLE.get(failure.code or "")
    category = (
        _category(status, failure, rule) if isinstance(body, dict) or status >= 300 else ErrorCategory.UNKNOWN
    )
    retryable = category in RETRYABLE if rule is None or rule.category is not category else rule.retryable
    fields: dict[str, Any] = {
        "platform_code": failure.code,
        "title": failure.display if failure.display and failure.display != failure.message else None,
        "trace_id": failure.request_id or headers.get("X-Request-Id"),
        "blamed_fields": blamed_fields(failure.message, rule),
    }
    retry_after_s = None
    if category is ErrorCategory.RATE_LIMIT:
        retry_after_s = UsageHeaders.of(headers, now).seconds_until_reset(now) or 1.0
    if category is ErrorCategory.BUDGET:
        fields["minimum_budget"] = minimum_budget(failure.message)
    if category is ErrorCategory.POLICY_VIOLATION:
        violation = PolicyViolation(kind=_violation_kind(failure.message), message=failure.message)
        fields["violations"] = [violation]
        fields["suggestions"] = [POLICY_SUGGESTIONS[violation.kind]]
    error = PlatformError(category=category, message=failure.message, retryable=retryable, **fields)
    return PlatformCallError(error, retry_after_s=retry_after_s, http_status=status)


def _category(status: int, failure: SnapFailure, rule: CodeRule | None) -> ErrorCategory:
    if status == 401:
        return ErrorCategory.AUTH
    if status == 429:
        return ErrorCategory.RATE_LIMIT
    if status >= 500:
        return ErrorCategory.TRANSIENT
    if rule is not None:
        return rule.category
    if status == 403:
        return ErrorCategory.PERMISSION
    if _POLICY.search(failure.message):
        return ErrorCategory.POLICY_VIOLATION
    if _UNFUNDED.search(failure.message) or _BUDGET_TOO_LOW.search(failure.message):
        return ErrorCategory.BUDGET
    if status in STATUS_CATEGORY:
        return STATUS_CATEGORY[status]
    if 200 <= status < 300:  # request_status ERROR under HTTP 200: an item was refused
        return ErrorCategory.VALIDATION
    return ErrorCategory.UNKNOWN


def is_not_found(error: PlatformCallError) -> bool:
    """Snap's "does not exist or you do not have permission" (404 / E3004)."""
    return error.error.platform_code == NOT_FOUND_CODE or error.http_status == 404


def blamed_fields(message: str, rule: CodeRule | None = None) -> list[str]:
    """Snap attribute names the message mentions (plus those the code always concerns)."""
    found: list[str] = list(rule.blamed) if rule else []
    for token in _ATTRIBUTE.findall(message):
        if token.split(".")[0] in KNOWN_ATTRIBUTES and token not in found:
            found.append(token)
    return found


def minimum_budget(message: str) -> str | None:
    """The minimum a budget refusal quotes, in major units (Snap quotes micro-currency)."""
    match = _MINIMUM_MICRO.search(message)
    if match is None:
        return None
    major = Decimal(int(match.group(1))).scaleb(-6).normalize()
    return f"{major:f}"


def _violation_kind(message: str) -> str:
    lowered = message.lower()
    for kind, words in (
        ("video", ("video",)),
        ("image", ("image", "media", "top snap")),
        ("landing_page", ("url", "landing", "web_view", "website")),
        ("targeting", ("targeting", "audience", "age")),
        ("text", ("headline", "brand_name", "text", "name")),
    ):
        if any(word in lowered for word in words):
            return kind
    return "other"


def _failed_item(body: dict[str, Any]) -> str | None:
    for value in body.values():
        if not isinstance(value, list):
            continue
        for entry in value:
            if isinstance(entry, dict) and str(entry.get("sub_request_status", "")).upper() == "ERROR":
                return _str(entry.get("sub_request_error_reason")) or "sub_request_status ERROR"
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
