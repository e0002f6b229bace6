"""Meta's error classification against the real error bodies quoted in platform-apis.md §1.5 (and the
messages Meta sends for the codes listed there)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adrelay.events.payloads import ErrorCategory
from adrelay.platforms.meta.classify import classify, review_violations


def graph_error(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, **extra}}


# platform-apis.md §1.5, verbatim.
GOAL_VS_OBJECTIVE = {
    "error": {
        "message": "Invalid parameter",
        "type": "OAuthException",
        "code": 100,
        "error_subcode": 2490408,
        "is_transient": False,
        "error_user_title": "…",
        "error_user_msg": "…",
        "error_data": '{"blame_field_specs":[["optimization_goal"]]}',
        "fbtrace_id": "AqmV8CUdtJHXr2MOUl4l8cS",
    }
}


def test_the_reference_envelope_is_a_validation_error_blaming_the_optimization_goal() -> None:
    exc = classify(400, GOAL_VS_OBJECTIVE)
    assert exc.category is ErrorCategory.VALIDATION
    assert not exc.retryable
    assert exc.error.blamed_fields == ["optimization_goal"]
    assert (exc.error.platform_code, exc.error.platform_subcode) == ("100", "2490408")
    assert exc.error.trace_id == "AqmV8CUdtJHXr2MOUl4l8cS"
    assert exc.http_status == 400


def test_error_data_as_an_object_is_read_too() -> None:
    body = graph_error(
        100,
        "Invalid parameter",
        error_subcode=1870227,
        error_data={"blame_field_specs": [["targeting", "targeting_automation"]]},
        error_user_title="Advantage Audience Flag Required",
    )
    exc = classify(400, body)
    assert exc.category is ErrorCategory.VALIDATION
    assert exc.error.blamed_fields == ["targeting.targeting_automation"]
    assert exc.error.title == "Advantage Audience Flag Required"


def test_budget_too_low_carries_the_minimum_meta_states() -> None:
    body = graph_error(
        100,
        "Invalid parameter",
        error_subcode=1885272,
        is_transient=False,
        error_user_title="Budget is too low",
        error_user_msg="Your ad set budget must be more than MYR4.12 or your ads may not be delivered.",
        error_data='{"blame_field_specs":[["daily_budget"]]}',
    )
    exc = classify(400, body)
    assert exc.category is ErrorCategory.BUDGET
    assert exc.error.minimum_budget == "MYR4.12"
    assert exc.error.blamed_fields == ["daily_budget"]
    assert not exc.retryable


@pytest.mark.parametrize("shown", ["$1.00", "¥150", "NT$32", "Ft3,600"])
def test_the_minimum_is_taken_as_written_in_any_currency(shown: str) -> None:
    msg = f"Your ad set budget must be more than {shown} or your ads may not be delivered."
    exc = classify(400, graph_error(100, "Invalid parameter", error_subcode=1885272, error_user_msg=msg))
    assert exc.error.minimum_budget == shown


def test_budget_on_campaign_and_ad_set_and_missing_payment_method_are_budget_errors() -> None:
    both = classify(400, graph_error(100, "Invalid parameter", error_subcode=1885621))
    unfunded = classify(400, graph_error(100, "Invalid parameter", error_subcode=1359188))
    assert both.category is ErrorCategory.BUDGET
    assert unfunded.category is ErrorCategory.BUDGET


def test_budget_sharing_flag_missing_is_validation() -> None:
    body = graph_error(
        100,
        "Invalid parameter",
        error_subcode=4834011,
        error_user_title="Must specify True or False in is_adset_budget_sharing_enabled field",
    )
    assert classify(400, body).category is ErrorCategory.VALIDATION


@pytest.mark.parametrize(
    ("code", "subcode", "message"),
    [
        (190, 463, "Error validating access token: Session has expired on Monday, 01-Jan-24 00:00:00 PST."),
        (
            190,
            467,
            "Error validating access token: The session has been invalidated because the user changed",
        ),
        (
            190,
            460,
            "Error validating access token: The session has been invalidated because the user changed",
        ),
        (190, None, "Invalid OAuth access token - Cannot parse access token"),
        (102, None, "Session key invalid or no longer valid"),
        (104, None, "(#104) An access token is required to request this resource."),
    ],
)
def test_token_problems_are_auth(code: int, subcode: int | None, message: str) -> None:
    extra = {"error_subcode": subcode} if subcode else {}
    exc = classify(400 if code != 190 else 401, graph_error(code, message, **extra))
    assert exc.category is ErrorCategory.AUTH
    assert not exc.error.retryable


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (10, "(#10) Application does not have permission for this action"),
        (200, "(#200) Ad account owner has NOT grant ads_management or ads_read permission"),
        (294, "(#294) Managing advertisements requires the extended permission ads_management"),
    ],
)
def test_permission_codes(code: int, message: str) -> None:
    exc = classify(403, graph_error(code, message))
    assert exc.category is ErrorCategory.PERMISSION
    assert not exc.retryable


def test_business_use_case_throttle_waits_for_metas_estimate() -> None:
    body = graph_error(
        80004,
        "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
        error_subcode=2446079,
        is_transient=True,
    )
    usage = {"1000": [{"type": "ads_management", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    exc = classify(400, body, {"X-Business-Use-Case-Usage": json.dumps(usage)})
    assert exc.category is ErrorCategory.RATE_LIMIT
    assert exc.retryable
    assert exc.retry_after_s == 7 * 60


@pytest.mark.parametrize(
    ("code", "subcode", "message", "wait_s"),
    [
        (17, 2446079, "(#17) User request limit reached", 60.0),
        (613, 1487742, "(#613) Calls to this api have exceeded the rate limit.", 60.0),
        (4, None, "(#4) Application request limit reached", 300.0),
        (341, None, "(#341) Application limit reached", 300.0),
        (32, None, "(#32) Page request limit reached", 60.0),
        (80000, 2446079, "(#80000) There have been too many calls from this ad-account.", 60.0),
        (80014, None, "(#80014) There have been too many calls", 60.0),
    ],
)
def test_throttle_codes_without_an_estimate_use_a_default_wait(
    code: int, subcode: int | None, message: str, wait_s: float
) -> None:
    extra = {"error_subcode": subcode} if subcode else {}
    exc = classify(400, graph_error(code, message, is_transient=True, **extra))
    assert exc.category is ErrorCategory.RATE_LIMIT
    assert exc.retry_after_s == wait_s


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, graph_error(1, "An unknown error occurred", error_subcode=99, is_transient=True)),
        (500, graph_error(2, "(#2) Service temporarily unavailable", is_transient=True)),
        (400, graph_error(9007, "Something Meta marks transient", is_transient=True)),
    ],
)
def test_temporary_failures_are_transient(status: int, body: dict[str, Any]) -> None:
    exc = classify(status, body)
    assert exc.category is ErrorCategory.TRANSIENT
    assert exc.retryable


def test_1487390_is_retried_although_meta_says_it_is_not_transient() -> None:
    body = graph_error(
        100,
        "Invalid parameter",
        error_subcode=1487390,
        is_transient=False,
        error_user_title="Adcreative Create Failed",
        error_user_msg="The Adcreative Create Failed for the following reason: Oops, something went wrong.",
    )
    exc = classify(400, body)
    assert exc.category is ErrorCategory.TRANSIENT
    assert exc.retryable


def test_policy_block_carries_a_violation_and_a_suggestion() -> None:
    body = graph_error(
        368,
        "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
        error_user_title="Ad text violates policy",
        error_user_msg="Your ad text mentions personal attributes.",
    )
    exc = classify(400, body)
    assert exc.category is ErrorCategory.POLICY_VIOLATION
    assert not exc.retryable
    assert [v.kind for v in exc.error.violations] == ["text"]
    assert exc.error.violations[0].message == "Your ad text mentions personal attributes."
    assert exc.error.suggestions == ["Modify the ad text to comply with Meta's Advertising Policies"]


@pytest.mark.parametrize(
    ("code", "message", "blamed"),
    [
        (2635, "(#2635) You are calling a deprecated version of the Ads API.", []),
        (506, "(#506) Duplicate status message", []),
        (100, "(#100) param filtering must be an array.", ["filtering"]),
        (100, "(#100) The parameter special_ad_categories is required.", ["special_ad_categories"]),
        (
            100,
            "(#100) Param targeting[geo_locations][countries][0] must be a valid country code",
            ["targeting.geo_locations.countries.0"],
        ),
    ],
)
def test_parameter_errors_are_validation_with_the_named_parameter(
    code: int, message: str, blamed: list[str]
) -> None:
    exc = classify(400, graph_error(code, message))
    assert exc.category is ErrorCategory.VALIDATION
    assert exc.error.blamed_fields == blamed


def test_object_missing_is_validation_not_retried() -> None:
    body = {
        "error": {
            "message": "Unsupported get request. Object with ID '120210000000000001' does not exist",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
            "fbtrace_id": "AbCd",
        }
    }
    exc = classify(400, body)
    assert exc.category is ErrorCategory.VALIDATION
    assert exc.error.platform_subcode == "33"


def test_an_unknown_code_stays_unknown() -> None:
    exc = classify(400, graph_error(1234567, "Something new"))
    assert exc.category is ErrorCategory.UNKNOWN
    assert not exc.retryable


def test_answers_without_a_graph_envelope() -> None:
    assert classify(502, "<html>Bad Gateway</html>").category is ErrorCategory.TRANSIENT
    assert classify(429, "").category is ErrorCategory.TRANSIENT
    assert classify(404, "<html>Not Found</html>").category is ErrorCategory.UNKNOWN


def test_the_user_facing_text_is_part_of_the_message() -> None:
    exc = classify(
        400, graph_error(100, "Invalid parameter", error_user_msg="The end time is before the start.")
    )
    assert exc.error.message == "Invalid parameter: The end time is before the start."


def test_review_feedback_becomes_violations() -> None:
    feedback = {"global": {"Personal Attributes": "Your ad text asserts personal attributes."}}
    violations = review_violations(feedback)
    assert [(v.kind, v.message) for v in violations] == [
        ("text", "Personal Attributes: Your ad text asserts personal attributes.")
    ]
