"""The lookup surface: only limit / cursor / read_deleted_entities / sort; no name filter; absolute
next_link paging; deleted objects only on request; lists trail writes by the configured lag."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

from .support import ACCOUNT, Snap

CAMPAIGNS = f"/v1/adaccounts/{ACCOUNT}/campaigns"


async def make_campaigns(snap: Snap, count: int, batch: int = 50) -> list[str]:
    """Campaigns created `batch` per request (one batch shares one created_at)."""
    items = [
        {"name": f"ar-{i:04d} Campaign", "status": "PAUSED", "start_time": "2030-01-01T00:00:00Z"}
        for i in range(count)
    ]
    ids: list[str] = []
    for start in range(0, count, batch):
        r = await snap.post(CAMPAIGNS, {"campaigns": items[start : start + batch]})
        assert r.json()["request_status"] == "SUCCESS"
        ids += [e["campaign"]["id"] for e in r.json()["campaigns"]]
    return ids


async def test_full_paging_through_absolute_next_links(snap: Snap) -> None:
    ids = await make_campaigns(snap, 120)
    seen: list[str] = []
    r = await snap.get(CAMPAIGNS, limit=50)
    pages = 0
    while True:
        body = r.json()
        assert list(body) == ["request_status", "request_id", "paging", "campaigns"]
        seen += [c["campaign"]["id"] for c in body["campaigns"]]
        pages += 1
        link = body["paging"].get("next_link")
        if not link:
            assert body["paging"] == {}
            break
        parts = urlsplit(link)
        assert link.startswith(snap.base_url + CAMPAIGNS + "?")
        assert list(parse_qs(parts.query)) == ["cursor", "limit"]
        assert parse_qs(parts.query)["limit"] == ["50"]
        r = await snap.http.get(link, headers=snap.auth())
    assert pages == 3
    assert seen == sorted(ids)  # id order, as every recorded list
    assert len(set(seen)) == 120


async def test_without_limit_everything_comes_in_one_page(snap: Snap) -> None:
    await make_campaigns(snap, 60)
    body = (await snap.get(CAMPAIGNS)).json()
    assert len(body["campaigns"]) == 60
    assert body["paging"] == {}


async def test_limit_bounds(snap: Snap) -> None:
    for bad in ("49", "1001", "0", "ten"):
        r = await snap.get(CAMPAIGNS, limit=bad)
        assert r.status_code == 400, bad
        body = r.json()
        assert body["request_status"] == "ERROR"
        assert "limit" in body["debug_message"]
    for good in ("50", "1000"):
        assert (await snap.get(CAMPAIGNS, limit=good)).status_code == 200
    assert (await snap.get(CAMPAIGNS, cursor="%%%garbage")).status_code == 400


async def test_a_name_filter_is_not_honoured(snap: Snap) -> None:
    await make_campaigns(snap, 3)
    r = await snap.get(CAMPAIGNS, name="ar-0001 Campaign")
    assert r.status_code == 200
    assert len(r.json()["campaigns"]) == 3  # ignored: the client must match names itself
    for param in ("status", "filtering", "campaign_id"):
        assert len((await snap.get(CAMPAIGNS, **{param: "x"})).json()["campaigns"]) == 3
    await snap.switches(unknown_list_params="reject")
    assert (await snap.get(CAMPAIGNS, name="ar-0001 Campaign")).status_code == 400


async def test_deleted_entities_and_sort(snap: Snap) -> None:
    ids = await make_campaigns(snap, 3, batch=1)
    await snap.delete(f"/v1/campaigns/{ids[0]}")
    visible = (await snap.get(CAMPAIGNS)).json()["campaigns"]
    assert ids[0] not in [c["campaign"]["id"] for c in visible]
    assert all("deleted" not in c["campaign"] for c in visible)
    everything = (await snap.get(CAMPAIGNS, read_deleted_entities="true")).json()["campaigns"]
    flags = {c["campaign"]["id"]: c["campaign"].get("deleted") for c in everything}
    assert flags[ids[0]] is True and len(flags) == 3
    assert (await snap.get(CAMPAIGNS, read_deleted_entities="maybe")).status_code == 400
    newest_first = (await snap.get(CAMPAIGNS, sort="created_at-desc")).json()["campaigns"]
    assert [c["campaign"]["id"] for c in newest_first] == [ids[2], ids[1]]
    assert (await snap.get(CAMPAIGNS, sort="name")).status_code == 400
    both = await snap.get(CAMPAIGNS, sort="created_at-desc", read_deleted_entities="true")
    assert both.status_code == 400
    await snap.switches(sort_with_read_deleted_forbidden=False)
    assert (
        await snap.get(CAMPAIGNS, sort="created_at-desc", read_deleted_entities="true")
    ).status_code == 200


async def test_sorted_paging(snap: Snap) -> None:
    ids = await make_campaigns(snap, 70)
    first = (await snap.get(CAMPAIGNS, sort="created_at-asc", limit=50)).json()
    link = first["paging"]["next_link"]
    assert "sort=created_at-asc" in link
    second = (await snap.http.get(link, headers=snap.auth())).json()
    got = [c["campaign"]["id"] for c in first["campaigns"] + second["campaigns"]]
    assert got == sorted(ids[:50]) + sorted(ids[50:])  # by created_at, then id within one batch
    assert second["paging"] == {}


async def test_lists_trail_writes_by_the_read_lag(snap: Snap) -> None:
    await snap.config(list_read_lag_ms=400)
    created = await snap.campaign()
    assert (await snap.get(CAMPAIGNS)).json()["campaigns"] == []
    assert (await snap.get(f"/v1/campaigns/{created['id']}")).status_code == 200  # reads by id are not lagged
    await asyncio.sleep(0.45)
    assert len((await snap.get(CAMPAIGNS)).json()["campaigns"]) == 1
    await snap.delete(f"/v1/campaigns/{created['id']}")
    stale = (await snap.get(CAMPAIGNS)).json()["campaigns"]
    assert [c["campaign"]["id"] for c in stale] == [created["id"]]  # the delete is not visible yet
    await asyncio.sleep(0.45)
    assert (await snap.get(CAMPAIGNS)).json()["campaigns"] == []


async def test_every_list_endpoint_pages(snap: Snap) -> None:
    tree = await snap.tree()
    paths = [
        f"/v1/adaccounts/{ACCOUNT}/campaigns",
        f"/v1/adaccounts/{ACCOUNT}/adsquads",
        f"/v1/campaigns/{tree['campaign']['id']}/adsquads",
        f"/v1/adaccounts/{ACCOUNT}/ads",
        f"/v1/adsquads/{tree['adsquad']['id']}/ads",
        f"/v1/adaccounts/{ACCOUNT}/creatives",
        f"/v1/adaccounts/{ACCOUNT}/media",
    ]
    for path in paths:
        body = (await snap.get(path, limit=50)).json()
        assert body["paging"] == {}, path
        assert len(body[list(body)[-1]]) == 1, path
        assert (await snap.get(path, limit=10)).status_code == 400, path
