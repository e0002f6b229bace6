"""Which account days a sync reads, when the next one is due, and the attribution of each ad."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from adrelay.model import Platform
from adrelay.tracker.attribution import landings
from adrelay.tracker.schedule import Job
from adrelay.tracker.sync import next_run, sync_range
from adrelay.tracker.tracking import TrackedCampaign
from tests.support.samples import campaign

NEW_YORK = ZoneInfo("America/New_York")


def _campaign(since: datetime, until: datetime | None, synced: date | None = None) -> TrackedCampaign:
    return TrackedCampaign(
        publish_id="pub-1",
        platform="meta",
        campaign_id="cmp-1",
        connection_id="conn-1",
        account_id="act_1",
        external_campaign_id="120",
        since=since,
        track_until=until,
        currency="USD",
        time_zone="America/New_York",
        state="active",
        synced_from=None,
        synced_through=synced,
        last_synced_at=None,
    )


def _job(interval_s: float = 3600.0) -> Job:
    return Job("pub-1", "meta", "performance", 1, interval_s, 0, 0, datetime.now(UTC))


def test_days_are_the_accounts_days() -> None:
    # 02:30 UTC on 10 March is still 9 March in New York: both ends of the range are New York days.
    since = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
    now = datetime(2026, 3, 12, 3, 0, tzinfo=UTC)
    assert sync_range(_campaign(since, None), NEW_YORK, now, 8) == (date(2026, 3, 9), date(2026, 3, 11))


def test_later_syncs_reread_the_attribution_window_only() -> None:
    since = datetime(2026, 1, 1, 12, tzinfo=UTC)
    now = datetime(2026, 3, 12, 12, tzinfo=UTC)
    first = sync_range(_campaign(since, None), NEW_YORK, now, 8)
    later = sync_range(_campaign(since, None, synced=date(2026, 3, 12)), NEW_YORK, now, 8)
    after_a_gap = sync_range(_campaign(since, None, synced=date(2026, 2, 1)), NEW_YORK, now, 8)
    assert first == (date(2026, 1, 1), date(2026, 3, 12))
    assert later == (date(2026, 3, 4), date(2026, 3, 12))
    assert after_a_gap == (date(2026, 2, 1), date(2026, 3, 12))  # nothing missed while trackers were down


def test_tracking_ends_with_a_last_sync_at_the_end_of_the_window() -> None:
    now = datetime(2026, 3, 12, 12, tzinfo=UTC)
    until = now + timedelta(minutes=10)
    tracked = _campaign(now - timedelta(days=3), until)
    assert next_run(tracked, _job(3600), now) == until  # never past the end
    assert next_run(tracked, _job(60), now) == now + timedelta(seconds=60)
    assert next_run(tracked, _job(60), until) is None  # the sync at the end was the last
    assert sync_range(tracked, NEW_YORK, now + timedelta(days=30), 8)[1] == until.astimezone(NEW_YORK).date()


def test_attribution_is_the_url_each_mapper_sends() -> None:
    sample = campaign(campaign_id="cmp-attr")
    tiktok = {r.ad_id: r for r in landings(Platform.TIKTOK, sample)}
    meta = {r.ad_id: r for r in landings(Platform.META, sample)}
    assert set(tiktok) == {"ad-1-1", "ad-1-2", "ad-2-1", "ad-2-2"}
    row = tiktok["ad-2-1"]
    assert row.landing_url == "https://example.com/coffee"
    assert row.utm == {
        "utm_source": "tiktok",
        "utm_medium": "paid_social",
        "utm_campaign": "cmp-attr",
        "utm_content": "ad-2-1",
    }
    assert "ttclid=__CLICKID__" in row.tracked_url and row.click_id_parameter == "ttclid"
    assert "__CLICKID__" not in meta["ad-2-1"].tracked_url and meta["ad-2-1"].click_id_parameter == "fbclid"
