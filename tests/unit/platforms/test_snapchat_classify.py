"""Snapchat error classification against the error bodies quoted in platform-apis §3.11 (and the
reasons a live client met, quoted there and in the sandbox's errors module)."""

from __future__ import annotations

import pytest

from adrelay.events.payloads import ErrorCategory
from adrelay.platforms.snapchat.classify import classify, failure_of, is_not_found, minimum_budget

NOW = 1_753_790_000.0
REQUEST_ID = "0c4e6c1a-a44a-48e0-bf51-09e227cacbfb"

# platform-apis §3.11, per-item error inside a batch (amp-labs fixture), verbatim.
ITEM_NOT_FOUND = {
    "request_status": "ERROR",
    "request_id": REQUEST_ID,
    "ads": [
        {
            "sub_request_status": "ERROR",
            "sub_request_error_reason": (
                "Error code: E3004, message: Entity does not exist or you do not have permission to access it"
            ),
        }
    ],
}


def request_error(code: str, debug: str, display: str | None = None) -> dict[str, str]:
    """platform-apis §3.11 request-level envelope (amp-labs errors.go)."""
    return {
        "request_status": "ERROR",
        "request_id": REQUEST_ID,
        "debug_message": debug,
        "display_message": display or debug,
        "error_code": code,
    }


def item_error(plural: str, code: str, message: str, status: str = "ERROR") -> dict[str, object]:
    return {
        "request_status": status,
        "request_id": REQUEST_ID,
        plural: [
            {
                "sub_request_status": status,
                "sub_request_error_reason": f"Error code: {code}, message: {message}",
            }
        ],
    }


def test_item_not_found_under_http_200_is_a_non_retryable_not_found() -> None:
    exc = classify(200, ITEM_NOT_FOUND, {})
    assert exc.category is ErrorCategory.VALIDATION
    assert not exc.retryable
    assert exc.error.platform_code == "E3004"
    assert exc.error.message == "Entity does not exist or you do not have permission to access it"
    assert exc.error.trace_id == REQUEST_ID
    assert is_not_found(exc)


def test_request_level_not_found_404() -> None:
    exc = classify(404, request_error("E3004", "Campaign c1: Entity does not exist"), {})
    assert is_not_found(exc)
    assert exc.http_status == 404


def test_request_level_invalid_request_e1008_is_validation_with_title_and_trace() -> None:
    body = request_error("E1008", "Request body must contain a non-empty 'campaigns' list", "Invalid request")
    exc = classify(400, body, {"X-Request-Id": "other"})
    assert exc.category is ErrorCategory.VALIDATION
    assert not exc.retryable
    assert exc.error.platform_code == "E1008"
    assert exc.error.title == "Invalid request"
    assert exc.error.trace_id == REQUEST_ID
    assert not is_not_found(exc)


def test_401_is_auth_and_left_to_the_engine_to_refresh() -> None:
    exc = classify(401, request_error("E3002", "The access token has expired", "Unauthorized"), {})
    assert exc.category is ErrorCategory.AUTH
    assert not exc.retryable


def test_403_is_permission() -> None:
    exc = classify(403, request_error("E3003", "No permission to access ad account 9c8b"), {})
    assert exc.category is ErrorCategory.PERMISSION
    assert not exc.retryable


def test_429_waits_until_the_reset_in_epoch_milliseconds() -> None:
    headers = {
        "X-Rate-Limit-Limit": "83",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": "1753790004500",
    }
    exc = classify(429, request_error("E3005", "Rate limit exceeded"), headers, now=NOW)
    assert exc.category is ErrorCategory.RATE_LIMIT
    assert exc.retryable
    assert exc.retry_after_s == pytest.approx(4.5)


def test_429_prefers_retry_after() -> None:
    headers = {"X-Rate-Limit-Reset": "1753790004500", "Retry-After": "12"}
    exc = classify(429, request_error("E3005", "Rate limit exceeded"), headers, now=NOW)
    assert exc.retry_after_s == 12


def test_429_without_headers_still_waits_a_little() -> None:
    exc = classify(429, None, {}, text="Too Many Requests", now=NOW)
    assert exc.category is ErrorCategory.RATE_LIMIT
    assert exc.retry_after_s == 1.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(status: int) -> None:
    exc = classify(status, request_error("E5002", "Service temporarily unavailable, please retry"), {})
    assert exc.category is ErrorCategory.TRANSIENT
    assert exc.retryable


def test_gateway_html_page_is_transient_with_the_text_as_message() -> None:
    exc = classify(502, None, {}, text="<html><body>502 Bad Gateway</body></html>")
    assert exc.category is ErrorCategory.TRANSIENT
    assert "502 Bad Gateway" in exc.error.message


def test_budget_below_minimum_reports_the_minimum_in_units() -> None:
    body = item_error(
        "adsquads", "E2002", "daily_budget_micro must be at least 5000000 micro-currency, got 1000000"
    )
    exc = classify(200, body, {})
    assert exc.category is ErrorCategory.BUDGET
    assert not exc.retryable
    assert exc.error.minimum_budget == "5"
    assert exc.error.blamed_fields == ["daily_budget_micro"]


def test_budget_too_low_sandbox_wording() -> None:
    body = item_error(
        "adsquads", "E2002", "daily_budget_micro must be at least 20000000 micro-currency (budget too low)"
    )
    exc = classify(200, body, {})
    assert exc.category is ErrorCategory.BUDGET
    assert exc.error.minimum_budget == "20"


def test_unfunded_account_is_budget() -> None:
    exc = classify(400, request_error("E1008", "The ad account has no valid funding source"), {})
    assert exc.category is ErrorCategory.BUDGET
    assert exc.error.minimum_budget is None


def test_policy_refusal_carries_violations_and_suggestions() -> None:
    body = item_error("creatives", "E2002", "The headline violates Snap's advertising policies")
    exc = classify(200, body, {})
    assert exc.category is ErrorCategory.POLICY_VIOLATION
    assert [v.kind for v in exc.error.violations] == ["text"]
    assert exc.error.suggestions == ["Modify ad text to comply with platform policies"]


def test_e2025_placement_update_met_live() -> None:
    message = (
        "Update is not supported for this entity : [AdSquad was created with placement v2, "
        "please update the placement in Ads Manager]"
    )
    exc = classify(200, item_error("adsquads", "E2025", message), {})
    assert exc.category is ErrorCategory.VALIDATION
    assert exc.error.platform_code == "E2025"
    assert "placement_v2" in exc.error.blamed_fields


def test_e2771_bid_required_blames_bid_micro() -> None:
    exc = classify(200, item_error("adsquads", "E2771", "Bid is required on ad squad"), {})
    assert exc.error.blamed_fields == ["bid_micro"]
    assert not exc.retryable


def test_statuses_compare_case_insensitively() -> None:
    body = item_error("campaigns", "E2002", "start_time must include a time zone designator", status="error")
    failure = failure_of(body)
    assert failure.code == "E2002"
    exc = classify(200, body, {})
    assert exc.category is ErrorCategory.VALIDATION
    assert exc.error.blamed_fields == ["start_time"]


def test_blames_dotted_snap_attributes() -> None:
    body = item_error("creatives", "E2002", "web_view_properties.url is required for WEB_VIEW creatives")
    assert classify(200, body, {}).error.blamed_fields == ["web_view_properties.url"]


def test_undecodable_success_status_is_unknown() -> None:
    exc = classify(200, None, {}, text="")
    assert exc.category is ErrorCategory.UNKNOWN


def test_minimum_budget_parsing_is_exact() -> None:
    assert minimum_budget("must be at least 5000000 micro-currency") == "5"
    assert minimum_budget("must be at least 1500000 micro") == "1.5"
    assert minimum_budget("too low") is None
