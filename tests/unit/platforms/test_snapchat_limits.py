"""Snapchat rate limits: which scopes a call takes and how X-Rate-Limit-* answers block them."""

from __future__ import annotations

import httpx
import pytest

from adrelay.model import Platform
from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import SnapchatSettings
from adrelay.platforms.snapchat.limits import EndpointClass, SnapLimits, UsageHeaders

NOW = 1_753_789_990.0


class RecordingLimiter(Limiter):
    """A limiter that remembers what it was told to block."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, float, float | None]] = []

    async def block(
        self, platform: Platform, scope: str, seconds: float, usage_pct: float | None = None
    ) -> None:
        assert platform is Platform.SNAPCHAT
        self.blocks.append((scope, seconds, usage_pct))


def limits(limiter: Limiter | None = None) -> SnapLimits:
    return SnapLimits(SnapchatSettings(client_id="app-1", token_rps=10), limiter or Limiter())


def test_recorded_headers_parse_with_reset_in_milliseconds() -> None:
    usage = UsageHeaders.of(
        {"X-Rate-Limit-Limit": "83", "X-Rate-Limit-Remaining": "82", "X-Rate-Limit-Reset": "1753789995000"},
        NOW,
    )
    assert (usage.limit, usage.remaining) == (83, 82)
    assert usage.seconds_until_reset(NOW) == pytest.approx(5.0)
    assert usage.usage_pct == pytest.approx(100 / 83)


def test_missing_or_garbled_headers_are_none() -> None:
    usage = UsageHeaders.of({"X-Rate-Limit-Remaining": "lots"}, NOW)
    assert usage.remaining is None and usage.seconds_until_reset(NOW) is None


def test_every_call_takes_token_and_app_allowances_writes_also_the_endpoint_window() -> None:
    read = limits().for_call("conn-1", "GET /adaccounts/{id}/campaigns", EndpointClass.READ)
    assert [x.scope for x in read] == ["snapchat:token:conn-1", "snapchat:app:app-1"]
    assert read[0].rate_per_s == 10
    write = limits().for_call("conn-1", "POST /adaccounts/{id}/media", EndpointClass.MEDIA_CREATE)
    assert write[-1].scope == "snapchat:endpoint:conn-1:POST /adaccounts/{id}/media"
    assert (write[-1].rate_per_s, write[-1].burst) == (5.0, 1.0)


async def test_exhausted_endpoint_window_blocks_that_endpoint_until_the_reset() -> None:
    limiter = RecordingLimiter()
    headers = {
        "X-Rate-Limit-Limit": "83",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": "1753789993000",
    }
    await limits(limiter).observe(httpx.Response(200, headers=headers), "conn-1", "POST /x", NOW)
    assert limiter.blocks == [("snapchat:endpoint:conn-1:POST /x", pytest.approx(3.0), 100.0)]


async def test_throttled_answer_blocks_the_whole_connection() -> None:
    limiter = RecordingLimiter()
    headers = {
        "X-Rate-Limit-Limit": "10",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": "1753789991000",
    }
    await limits(limiter).observe(httpx.Response(429, headers=headers), "conn-1", "GET /x", NOW)
    assert limiter.blocks == [("snapchat:token:conn-1", pytest.approx(1.0), 100.0)]


async def test_headroom_left_blocks_nothing() -> None:
    limiter = RecordingLimiter()
    headers = {
        "X-Rate-Limit-Limit": "83",
        "X-Rate-Limit-Remaining": "5",
        "X-Rate-Limit-Reset": "1753789993000",
    }
    await limits(limiter).observe(httpx.Response(200, headers=headers), "conn-1", "POST /x", NOW)
    assert limiter.blocks == []
