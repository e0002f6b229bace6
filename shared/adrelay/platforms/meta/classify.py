"""Graph API errors → adrelay's one taxonomy, decided here and nowhere else.

The order of the checks matters: Meta marks throttles `is_transient`, answers plain parameter errors
with type `OAuthException`, and is sometimes wrong about transience (1487390), so an override table
comes first, then throttles, auth, permission, policy, transient, and the code-100 family. The
official SDK's rules are the base (platform-apis §1.5); anything not recognised is `unknown`, never a
silent retry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from adrelay.events.payloads import ErrorCategory, PolicyViolation
from adrelay.platforms.errors import PlatformCallError

THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
AUTH_CODES = frozenset({102, 104, 190})  # 104: no token at all
AUTH_SUBCODES = frozenset({458, 459, 460, 463, 464, 467})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
POLICY_CODES = frozenset({368})
VALIDATION_CODES = frozenset({100, 506, 2500, 2635, 3018})

ViolationKind = Literal["text", "image", "video", "targeting", "landing_page", "other"]

SUBCODE_BUDGET_TOO_LOW = 1885272
SUBCODE_BUDGET_ON_BOTH_LEVELS = 1885621
SUBCODE_GOAL_VS_OBJECTIVE = 2490408
SUBCODE_NO_PAYMENT_METHOD = 1359188
SUBCODE_OBJECT_MISSING = 33

# (code, subcode) → category where the generic rules would be wrong. Subcode None: any subcode.
OVERRIDES: Mapping[tuple[int, int | None], ErrorCategory] = {
    # "Adcreative Create Failed … Oops, something went wrong": is_transient false, but a retry succeeds.
    (100, 1487390): ErrorCategory.TRANSIENT,
    (100, SUBCODE_BUDGET_TOO_LOW): ErrorCategory.BUDGET,
    # Budget on both the campaign (Advantage campaign budget) and an ad set: a budget-placement error.
    (100, SUBCODE_BUDGET_ON_BOTH_LEVELS): ErrorCategory.BUDGET,
    # The account has no valid payment method: nothing can run until it is funded.
    (100, SUBCODE_NO_PAYMENT_METHOD): ErrorCategory.BUDGET,
    (2635, None): ErrorCategory.VALIDATION,  # deprecated API version: a configuration error
}

# Without the platform's own estimate, wait this long after a throttle (seconds).
DEFAULT_THROTTLE_WAIT_S = {4: 300.0, 17: 60.0, 32: 60.0, 341: 300.0, 613: 60.0}
DEFAULT_BUC_THROTTLE_WAIT_S = 60.0

POLICY_SUGGESTIONS: Mapping[str, str] = {
    "text": "Modify the ad text to comply with Meta's Advertising Policies",
    "image": "Replace the image with a policy-compliant alternative",
    "video": "Replace the video with a policy-compliant alternative",
    "targeting": "Adjust the targeting parameters",
    "landing_page": "Check that the landing page complies with Meta's Advertising Policies",
    "other": "Review the ad against Meta's Advertising Policies, then request a review or edit it",
}


class GraphCallError(PlatformCallError):
    """A classified Graph error that keeps Meta's parsed error, for callers that act on its details
    (a resumable upload reads the offsets Meta puts in `error_data`)."""

    graph: GraphError | None = None


@dataclass(frozen=True)
class GraphError:
    """The `error` object of a Graph answer, parsed (error_data decoded when it is a JSON string)."""

    message: str
    code: int | None = None
    subcode: int | None = None
    type: str | None = None
    is_transient: bool = False
    user_title: str | None = None
    user_msg: str | None = None
    error_data: Mapping[str, Any] = field(default_factory=dict)
    trace_id: str | None = None

    @classmethod
    def parse(cls, body: Any) -> GraphError | None:
        """None when `body` is not a Graph error envelope."""
        if not isinstance(body, Mapping) or not isinstance(body.get("error"), Mapping):
            return None
        err = body["error"]
        return cls(
            message=str(err.get("message") or "Graph API error"),
            code=_int(err.get("code")),
            subcode=_int(err.get("error_subcode")),
            type=_str(err.get("type")),
            is_transient=bool(err.get("is_transient", False)),
            user_title=_str(err.get("error_user_title")),
            user_msg=_str(err.get("error_user_msg")),
            error_data=_error_data(err.get("error_data")),
            trace_id=_str(err.get("fbtrace_id")),
        )


def classify(status: int, body: Any, headers: Mapping[str, str] | None = None) -> GraphCallError:
    """The classified error for one failed Graph answer (`body` already JSON-decoded, or raw text)."""
    error = GraphError.parse(body)
    if error is None:
        return _without_envelope(status, body)
    category = category_of(error)
    fields: dict[str, Any] = {
        "platform_code": None if error.code is None else str(error.code),
        "platform_subcode": None if error.subcode is None else str(error.subcode),
        "title": error.user_title,
        "trace_id": error.trace_id,
        "blamed_fields": blamed_fields(error),
        "http_status": status,
    }
    if category is ErrorCategory.RATE_LIMIT:
        fields["retry_after_s"] = throttle_wait_s(error, headers or {})
    elif category is ErrorCategory.BUDGET and error.subcode == SUBCODE_BUDGET_TOO_LOW:
        fields["minimum_budget"] = minimum_budget(error)
    elif category is ErrorCategory.POLICY_VIOLATION:
        violation = PolicyViolation(kind=violation_kind(error), message=error.user_msg or error.message)
        fields["violations"] = [violation]
        fields["suggestions"] = [POLICY_SUGGESTIONS[violation.kind]]
    base = PlatformCallError.of(category, _message(error), **fields)
    exc = GraphCallError(base.error, retry_after_s=base.retry_after_s, http_status=base.http_status)
    exc.graph = error
    return exc


def category_of(error: GraphError) -> ErrorCategory:
    code, subcode = error.code, error.subcode
    if code is not None:
        for key in ((code, subcode), (code, None)):
            if key in OVERRIDES:
                return OVERRIDES[key]
    if code in THROTTLE_CODES:
        return ErrorCategory.RATE_LIMIT
    if code in AUTH_CODES or subcode in AUTH_SUBCODES:
        return ErrorCategory.AUTH
    if code in PERMISSION_CODES:
        return ErrorCategory.PERMISSION
    if code in POLICY_CODES:
        return ErrorCategory.POLICY_VIOLATION
    if code in TRANSIENT_CODES or error.is_transient:
        return ErrorCategory.TRANSIENT
    if code in VALIDATION_CODES:
        return ErrorCategory.VALIDATION
    return ErrorCategory.UNKNOWN


def blamed_fields(error: GraphError) -> list[str]:
    """Meta's `blame_field_specs` ([["targeting", "geo_locations"]]) as dotted paths; otherwise the
    parameter a plain `(#100) Param x must be …` / `The parameter x is required` message names."""
    specs = error.error_data.get("blame_field_specs")
    if isinstance(specs, list):
        out = []
        for spec in specs:
            parts = spec if isinstance(spec, list) else [spec]
            path = ".".join(str(p) for p in parts if p not in (None, ""))
            if path:
                out.append(path)
        if out:
            return out
    named = _PARAM_IN_MESSAGE.search(error.message)
    if named:
        return [re.sub(r"\[(\w+)\]", r".\1", named.group(1))]
    return []


def throttle_wait_s(error: GraphError, headers: Mapping[str, str]) -> float:
    """Seconds until the throttled bucket has room: Meta's `estimated_time_to_regain_access` (minutes)
    when a usage header carries one, else a per-code default."""
    regain_min = max(regain_minutes(headers), 0)
    if regain_min > 0:
        return float(regain_min * 60)
    if error.code is not None and error.code in DEFAULT_THROTTLE_WAIT_S:
        return DEFAULT_THROTTLE_WAIT_S[error.code]
    return DEFAULT_BUC_THROTTLE_WAIT_S


def regain_minutes(headers: Mapping[str, str]) -> int:
    """The largest `estimated_time_to_regain_access` in `X-Business-Use-Case-Usage` (0 when absent)."""
    raw = _header(headers, "x-business-use-case-usage")
    if not raw:
        return 0
    try:
        usage = json.loads(raw)
    except ValueError:
        return 0
    minutes = 0
    if isinstance(usage, Mapping):
        for entries in usage.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, Mapping):
                    minutes = max(minutes, _int(entry.get("estimated_time_to_regain_access")) or 0)
    return minutes


_AMOUNT = r"([^\s\d]{0,4}\s?\d[\d.,]*\d|[^\s\d]{0,4}\s?\d)"
_MINIMUM_IN_MESSAGE = re.compile(r"(?:more than|at least|minimum(?: budget)?(?: of| is)?)\s+" + _AMOUNT, re.I)
_PARAM_IN_MESSAGE = re.compile(r"\(#\d+\) (?:param|the parameter) ([A-Za-z_][\w\[\]]*)", re.IGNORECASE)


def minimum_budget(error: GraphError) -> str | None:
    """The minimum as Meta wrote it ("$1.00", "MYR4.12", "¥150") in the user message."""
    for text in (error.user_msg, error.message):
        if text:
            match = _MINIMUM_IN_MESSAGE.search(text)
            if match:
                return match.group(1).strip()
    return None


def violation_kind(error: GraphError) -> ViolationKind:
    """Which part of the ad a policy error is about, from the blamed fields and the message."""
    text = " ".join(
        [*blamed_fields(error), error.user_title or "", error.user_msg or "", error.message]
    ).lower()
    checks: tuple[tuple[ViolationKind, tuple[str, ...]], ...] = (
        ("image", ("image", "picture", "photo")),
        ("video", ("video",)),
        ("landing_page", ("landing page", "link", "url", "destination")),
        ("targeting", ("targeting", "audience")),
        ("text", ("text", "message", "headline", "body", "title")),
    )
    for kind, words in checks:
        if any(word in text for word in words):
            return kind
    return "other"


def review_violations(feedback: Any) -> list[PolicyViolation]:
    """An ad's `ad_review_feedback` ({"global": {"<policy>": "<text>"}, "placement_specific": …}) as
    violations: Meta's review is asynchronous, so disapprovals arrive here, not as create errors."""
    out: list[PolicyViolation] = []
    if not isinstance(feedback, Mapping):
        return out
    for section in feedback.values():
        if not isinstance(section, Mapping):
            continue
        for policy, text in section.items():
            message = f"{policy}: {text}" if text else str(policy)
            kind = violation_kind(GraphError(message=message))
            out.append(PolicyViolation(kind=kind, message=message))
    return out


def _without_envelope(status: int, body: Any) -> GraphCallError:
    """An answer that is not Graph's JSON (a proxy's HTML page, an empty 502)."""
    snippet = (body if isinstance(body, str) else json.dumps(body, default=str))[:200]
    category = ErrorCategory.TRANSIENT if status >= 500 or status == 429 else ErrorCategory.UNKNOWN
    base = PlatformCallError.of(category, f"HTTP {status} without a Graph error: {snippet}")
    return GraphCallError(base.error, http_status=status)


def _message(error: GraphError) -> str:
    if error.user_msg and error.user_msg not in error.message:
        return f"{error.message}: {error.user_msg}"
    return error.message


def _error_data(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            decoded = json.loads(raw)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, Mapping) else {}
    return {}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
