"""TikTok's published limits as token buckets: the app for every call, `/ad/create/` and report tasks
on top, each refilling at the lower of QPS and QPM/60 and bursting to its QPS."""

from __future__ import annotations

from adrelay.platforms.settings import TikTokSettings
from adrelay.platforms.tiktok.limits import TikTokLimits

LIMITS = TikTokLimits(
    TikTokSettings(api_url="https://business-api.tiktok.com", app_id="7300", app_qps=10, ad_create_qps=5)
)


def test_every_call_respects_the_app_limit() -> None:
    (app,) = LIMITS.for_path("/campaign/get/")
    assert (app.scope, app.rate_per_s, app.burst, app.kind) == ("tiktok:app:7300", 10.0, 10.0, "app")


def test_ad_create_also_respects_its_own_qps_and_qpm() -> None:
    app, endpoint = LIMITS.for_path("/ad/create/")
    assert app.scope == "tiktok:app:7300"
    assert (endpoint.scope, endpoint.rate_per_s, endpoint.burst) == (
        "tiktok:endpoint:7300:/ad/create/",
        2.5,
        5.0,
    )
    assert endpoint.kind == "endpoint"


def test_report_tasks_have_their_own_two_qps() -> None:
    _, task = LIMITS.for_path("/report/task/create/")
    assert (task.rate_per_s, task.burst) == (2.0, 2.0)


def test_a_throttle_blocks_the_app_and_the_endpoint_it_hit() -> None:
    assert LIMITS.scopes_to_block("/campaign/create/") == ["tiktok:app:7300"]
    assert LIMITS.scopes_to_block("/ad/create/") == ["tiktok:app:7300", "tiktok:endpoint:7300:/ad/create/"]
