"""Webhook signatures, handshakes and delivery parsing, on deliveries built by the sandboxes' own code
(the bytes and headers the platforms' stand-ins send)."""

from __future__ import annotations

import json
import time

from adrelay.platforms.meta import webhooks as meta
from adrelay.platforms.tiktok import webhooks as tiktok
from sandbox.meta import webhooks as meta_sandbox
from sandbox.tiktok import webhooks as tiktok_sandbox

SECRET = "app-secret-for-tests"


def test_meta_handshake_echoes_the_challenge_only_for_our_token() -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "ours"}
    assert meta.challenge(params, "ours") == "1158201444"
    assert meta.challenge({**params, "hub.verify_token": "theirs"}, "ours") is None
    assert meta.challenge({**params, "hub.mode": "unsubscribe"}, "ours") is None
    assert meta.challenge(params, "") is None  # no verify token configured: every handshake refused


def test_meta_signature_is_an_hmac_of_the_raw_body() -> None:
    body = meta_sandbox.delivery_body(
        "123", "in_process_ad_objects", {"id": "9", "level": "AD", "status_name": "ACTIVE"}
    )
    header = meta_sandbox.sign(SECRET, body)[meta.SIGNATURE_HEADER]
    assert meta.signature_valid(SECRET, body, header)
    assert not meta.signature_valid("another-secret", body, header)
    assert not meta.signature_valid(SECRET, body + b" ", header)  # the raw bytes, not the JSON value
    assert not meta.signature_valid(SECRET, body, header.replace("sha256=", "sha1="))
    assert not meta.signature_valid(SECRET, body, None)
    reencoded = json.dumps(json.loads(body)).encode()  # same JSON, other bytes
    assert reencoded != body and not meta.signature_valid(SECRET, reencoded, header)


def test_meta_deliveries_become_review_outcomes() -> None:
    approved = meta.parse(
        meta_sandbox.delivery_body(
            "123", "in_process_ad_objects", {"id": "9", "level": "AD", "status_name": "PAUSED"}
        )
    )
    assert [(o.external_ad_id, o.review, o.account_id, o.complete) for o in approved] == [
        ("9", "approved", "123", True)
    ]
    disapproved = meta.parse(
        meta_sandbox.delivery_body(
            "123", "in_process_ad_objects", {"id": "9", "level": "AD", "status_name": "DISAPPROVED"}
        )
    )
    # No reasons in this field: the outcome is marked incomplete, so the ad is read for them.
    assert [(o.review, o.complete) for o in disapproved] == [("disapproved", False)]
    issues = meta.parse(
        meta_sandbox.delivery_body(
            "123",
            "with_issues_ad_objects",
            {
                "id": "9",
                "level": "AD",
                "error_summary": "Ad disapproved",
                "error_message": "Misleading claims",
            },
        )
    )
    assert issues[0].review == "disapproved" and issues[0].violations[0].message == "Misleading claims"
    assert (
        meta.parse(meta_sandbox.delivery_body("123", "in_process_ad_objects", {"id": "7", "level": "ADSET"}))
        == []
    )


def test_tiktok_signature_covers_timestamp_and_body_and_expires() -> None:
    body = b'{"request_id":"r1","object":3,"time":1,"entry":[]}'
    now = int(time.time())
    header = tiktok_sandbox.sign(SECRET, body, now)
    assert tiktok.signature_valid(SECRET, body, header, tolerance_s=300)
    assert not tiktok.signature_valid(SECRET, body + b"x", header, tolerance_s=300)
    assert not tiktok.signature_valid("wrong", body, header, tolerance_s=300)
    stale = tiktok_sandbox.sign(SECRET, body, now - 3600)
    assert not tiktok.signature_valid(SECRET, body, stale, tolerance_s=300)  # a replay an hour later
    forged = header.replace(f"t={now}", f"t={now + 1}")  # the timestamp is signed too
    assert not tiktok.signature_valid(SECRET, body, forged, tolerance_s=300)
    assert not tiktok.signature_valid(SECRET, body, "garbage", tolerance_s=300)


def test_tiktok_deliveries_in_both_known_shapes() -> None:
    sandbox_shape = {
        "request_id": "r1",
        "object": 3,
        "time": 1700000000,
        "entry": [
            {
                "ad_id": "71",
                "advertiser_id": "7300",
                "review_status": "REJECTED",
                "reject_reasons": ["Prohibited product"],
            },
            {"ad_id": "72", "advertiser_id": "7300", "review_status": "APPROVED", "reject_reasons": []},
        ],
    }
    payload, outcomes = tiktok.parse(json.dumps(sandbox_shape).encode())
    assert tiktok.delivery_id(payload) == "r1"
    assert [(o.external_ad_id, o.review, o.account_id) for o in outcomes] == [
        ("71", "disapproved", "7300"),
        ("72", "approved", "7300"),
    ]
    assert outcomes[0].violations[0].message == "Prohibited product"
    community_shape = {
        "request_id": "r2",
        "object": 3,
        "entry": [{"ad_id": "73", "adv_id": 7300, "reject_reason": "Spam"}],
    }
    _, outcomes = tiktok.parse(json.dumps(community_shape).encode())
    assert (outcomes[0].review, outcomes[0].account_id, outcomes[0].violations[0].message) == (
        "disapproved",
        "7300",
        "Spam",
    )
    _, none = tiktok.parse(json.dumps({"request_id": "r3", "object": 11, "entry": [{"ad_id": "1"}]}).encode())
    assert none == []  # a report-data change is no review
