"""TikTok error classification: envelope codes (HTTP 200) and bare HTTP answers → the one taxonomy.

Real bodies: platform-apis §2.1/§2.8 quote the live 40104 answer ("Access token is null, you should set
it in http header with key Access-Token.", HTTP 200) and the 40107 description; the official code list
(shared/platform-specs/tiktok/error_codes.json) gives every code a family. Other messages follow the
`<field>: <reason>` form the platform uses for parameter errors.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adrelay.events.payloads import ErrorCategory
from adrelay.platforms.tiktok.classify import CODE_NAMES, classify, classify_http, rule_for

C = ErrorCategory

# The official code list (tiktok_code.py @ f809c39), codes only, as in error_codes.json.
OFFICIAL_CODES = sorted(CODE_NAMES)
REAL_40104 = {
    "code": 40104,
    "message": "Access token is null, you should set it in http header with key Access-Token.",
    "request_id": "2023061506253401021211403D1B0A1B2C",
    "data": {},
}


def test_the_live_40104_answer_is_auth_and_keeps_the_request_id() -> None:
    error = classify(REAL_40104["code"], REAL_40104["message"], request_id=REAL_40104["request_id"])
    assert error.category is C.AUTH and not error.retryable
    assert error.error.platform_code == "40104" and error.error.title == "EMPTY_ACCESS_TOKEN"
    assert error.error.trace_id == REAL_40104["request_id"]
    assert error.error.message == REAL_40104["message"] and error.http_status == 200


def test_the_refresh_of_a_long_term_token_is_auth() -> None:
    message = "Invalid refresh token. You are using a refresh token to refresh a long-term access token for Marketing API"
    assert classify(40107, message).category is C.AUTH


@pytest.mark.parametrize(
    "code, category, retryable",
    [
        (40102, C.AUTH, False),  # access token expired → re-authentication
        (40105, C.AUTH, False),  # invalid / revoked
        (40110, C.AUTH, False),  # auth_code invalid
        (40101, C.AUTH, False),  # app id / secret mismatch
        (40106, C.PERMISSION, False),  # token valid, not for this advertiser
        (40001, C.PERMISSION, False),
        (40130, C.PERMISSION, False),  # scope not authorized
        (40300, C.PERMISSION, False),  # advertiser does not exist
        (41000, C.PERMISSION, False),  # blocked region
        (40100, C.RATE_LIMIT, True),
        (40016, C.RATE_LIMIT, True),
        (40133, C.RATE_LIMIT, True),
        (50000, C.TRANSIENT, True),
        (50002, C.TRANSIENT, True),
        (51010, C.TRANSIENT, True),
        (52002, C.TRANSIENT, True),
        (60001, C.TRANSIENT, True),  # maintenance
        (40202, C.TRANSIENT, True),  # write conflict
        (40201, C.TRANSIENT, True),  # async task not ready
        (40901, C.TRANSIENT, True),  # video still transcoding
        (40000, C.VALIDATION, False),
        (40006, C.VALIDATION, False),
        (40007, C.VALIDATION, False),
        (40065, C.VALIDATION, False),
        (40502, C.VALIDATION, False),
        (40900, C.VALIDATION, False),  # signature mismatch
        (40907, C.VALIDATION, False),  # too large
        (40908, C.VALIDATION, False),  # wrong type
        (40911, C.VALIDATION, False),  # duplicated material name
        (40050, C.UNKNOWN, False),  # duplicated request: maybe created, resolved by lookup, never retried
        (99999, C.UNKNOWN, False),
    ],
)
def test_codes_are_classified(code: int, category: ErrorCategory, retryable: bool) -> None:
    error = classify(code, "message")
    assert (error.category, error.retryable, error.error.retryable) == (category, retryable, retryable)


def test_every_official_code_has_a_known_category() -> None:
    for code in OFFICIAL_CODES:
        if code == 20001:
            continue  # partial success is not an error
        assert rule_for(code).category is not C.UNKNOWN or code == 40050, code


def test_throttle_waits_follow_the_window_the_message_names() -> None:
    now = datetime(2030, 5, 1, 23, 59, 0, tzinfo=UTC)
    assert classify(40100, "Too many requests. Please retry in some time.", now=now).retry_after_s == 1.0
    assert classify(40100, "App reached its QPM limit.", now=now).retry_after_s == 300.0
    assert classify(40100, "App reached its QPD limit.", now=now).retry_after_s == 60.0  # 00:00 UTC
    assert classify(40133, "Too many requests for this advertiser.", now=now).retry_after_s == 1.0


@pytest.mark.parametrize(
    "message, minimum, fields",
    [
        ("budget: The budget must be greater than or equal to 50.00 USD.", "50.00 USD", ["budget"]),
        ("budget: The ad group daily budget must be greater than 2000 JPY.", "2000 JPY", ["budget"]),
        ("The budget should be at least 20.0", "20.0", ["budget"]),
    ],
)
def test_a_budget_below_the_minimum_is_budget_with_the_minimum(
    message: str, minimum: str, fields: list[str]
) -> None:
    error = classify(40002, message)
    assert error.category is C.BUDGET and not error.retryable
    assert error.error.minimum_budget == minimum and error.error.blamed_fields == fields


def test_a_budget_below_what_was_spent_is_budget_without_a_made_up_minimum() -> None:
    error = classify(
        40002, "budget: The new budget must be at least 105% of the amount already spent (12.5)."
    )
    assert error.category is C.BUDGET and error.error.minimum_budget is None


def test_a_capitalised_sentence_before_a_colon_is_not_a_field() -> None:
    assert classify(40002, "Error: budget too low, minimum 20").error.blamed_fields == ["budget"]


def test_a_budget_above_the_maximum_stays_validation() -> None:
    error = classify(40002, "budget: The campaign budget must be less than 10000000.00 USD.")
    assert error.category is C.VALIDATION and error.error.minimum_budget is None


def test_an_unfunded_account_is_budget() -> None:
    assert classify(40002, "Insufficient account balance.").category is C.BUDGET


@pytest.mark.parametrize(
    "message, fields",
    [
        ("schedule_end_time: Must be later than the current time.", ["schedule_end_time"]),
        ("creatives.0.ad_text: Length must be between 1 and 100.", ["creatives.0.ad_text"]),
        ("Invalid location_ids and age_groups combination", ["location_ids", "age_groups"]),
        ("budget_mode: BUDGET_MODE_INFINITE is not available for ad groups.", ["budget_mode"]),
        ("Something went wrong.", []),
    ],
)
def test_parameter_errors_blame_the_fields_they_name(message: str, fields: list[str]) -> None:
    error = classify(40002, message)
    assert error.category is C.VALIDATION and error.error.blamed_fields == fields


def test_illegal_content_is_a_policy_violation_with_a_suggestion() -> None:
    error = classify(40904, "The image contains prohibited content.")
    assert error.category is C.POLICY_VIOLATION and not error.retryable
    assert [(v.kind, v.message) for v in error.error.violations] == [
        ("image", "The image contains prohibited content.")
    ]
    assert error.error.suggestions and "image" in error.error.suggestions[0]
    assert classify(40916, "bad video").error.violations[0].kind == "video"


@pytest.mark.parametrize(
    "status, retry_after, category, wait",
    [
        (404, None, C.VALIDATION, None),  # a path without its trailing slash
        (405, None, C.VALIDATION, None),
        (429, "7", C.RATE_LIMIT, 7.0),
        (429, None, C.RATE_LIMIT, 1.0),
        (500, None, C.TRANSIENT, None),
        (502, None, C.TRANSIENT, None),
        (401, None, C.AUTH, None),
        (418, None, C.UNKNOWN, None),
    ],
)
def test_answers_without_an_envelope(
    status: int, retry_after: str | None, category: ErrorCategory, wait: float | None
) -> None:
    error = classify_http(status, "<html>gateway</html>", retry_after=retry_after)
    assert error.category is category and error.http_status == status and error.retry_after_s == wait
    assert "gateway" in error.error.message


def test_an_envelope_on_a_5xx_is_still_classified_by_its_code() -> None:
    error = classify(40002, "budget: The budget must be greater than or equal to 50.00 USD.", http_status=503)
    assert error.category is C.BUDGET and error.http_status == 503
