"""Rate limits per access token, per app and per endpoint, with Snap's X-Rate-Limit-* headers."""

from __future__ import annotations

import time

from sandbox.snapchat import fixtures as fx
from tests.support.clock import early_in_fixed_window

from .support import ACCOUNT, Snap

CAMPAIGNS = f"/v1/adaccounts/{ACCOUNT}/campaigns"
ITEM = {"name": "ar-rl", "status": "PAUSED", "start_time": "2030-01-01T00:00:00Z"}


async def test_write_headers_count_down_per_endpoint_with_a_millisecond_reset(snap: Snap) -> None:
    await early_in_fixed_window(5.0, need_s=1.0)
    first = await snap.post(CAMPAIGNS, {"campaigns": [ITEM]})
    second = await snap.post(CAMPAIGNS, {"campaigns": [ITEM]})
    assert first.headers["X-Rate-Limit-Limit"] == "83"
    remaining = [int(r.headers["X-Rate-Limit-Remaining"]) for r in (first, second)]
    if first.headers["X-Rate-Limit-Reset"] == second.headers["X-Rate-Limit-Reset"]:  # same 5 s window
        assert remaining == [82, 81]
    reset = int(second.headers["X-Rate-Limit-Reset"])
    assert reset % 5000 == 0
    assert time.time() * 1000 < reset <= time.time() * 1000 + 5000
    other = await snap.put(
        CAMPAIGNS, {"campaigns": [dict(ITEM, id=first.json()["campaigns"][0]["campaign"]["id"])]}
    )
    assert other.headers["X-Rate-Limit-Remaining"] == "82"  # PUT is counted apart from POST
    read = await snap.get(CAMPAIGNS)
    assert "X-Rate-Limit-Limit" not in read.headers  # recorded reads carry none
    await snap.switches(rate_limit_headers_on_reads=True)
    assert "X-Rate-Limit-Limit" in (await snap.get(CAMPAIGNS)).headers


async def test_endpoint_limit_gives_429_with_headers(snap: Snap) -> None:
    await snap.config(rate_limits={"write": 2, "endpoint_window_s": 30.0})
    await early_in_fixed_window(30.0)
    codes = [(await snap.post(CAMPAIGNS, {"campaigns": [ITEM]})).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    refused = await snap.post(CAMPAIGNS, {"campaigns": [ITEM]})
    assert refused.status_code == 429
    body = refused.json()
    assert (body["request_status"], body["error_code"]) == ("ERROR", "E3005")
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"
    assert refused.headers["X-Rate-Limit-Limit"] == "2"
    assert "Retry-After" not in refused.headers
    assert len(await snap.objects(kind="campaign")) == 2
    await snap.switches(rate_limit_retry_after=True)
    assert int((await snap.post(CAMPAIGNS, {"campaigns": [ITEM]})).headers["Retry-After"]) >= 1


async def test_per_token_limit_is_10_per_second_by_default(snap: Snap) -> None:
    await snap.config(rate_limits={"token_per_s": 10, "app_per_s": 20, "window_s": 5.0})
    codes = [(await snap.get("/v1/me")).status_code for _ in range(60)]
    assert codes.count(200) == 50  # 10/s over a 5 s window
    assert codes[-1] == 429
    limited = await snap.get("/v1/me")
    assert limited.headers["X-Rate-Limit-Limit"] == "50"


async def test_per_app_limit_spans_tokens(snap: Snap) -> None:
    tokens = [fx.DEMO_ACCESS_TOKEN, "second-token", "third-token"]
    await snap.seed(
        {
            "tokens": [
                {"access_token": t, "client_id": fx.DEMO_CLIENT_ID, "organization_ids": [fx.DEMO_ORG_ID]}
                for t in tokens[1:]
            ]
        }
    )
    await snap.config(rate_limits={"token_per_s": 10, "app_per_s": 20, "window_s": 5.0})
    results = [(await snap.get("/v1/me", token=tokens[i % 3])).status_code for i in range(120)]
    assert results.count(200) == 100  # 20/s per app over 5 s, though each token made only 40 calls
    assert results[-1] == 429
