"""Lookup surface per lookup-by-tag.md §1.6: filtering, effective_status, paging, labels, deletes."""

from __future__ import annotations

import asyncio

from sandbox.meta import fixtures as fx
from tests.sandbox.meta.conftest import Graph, error_of

ACT = fx.AD_ACCOUNT_ID


def names(resp_json: dict) -> list[str]:
    return [row["name"] for row in resp_json["data"]]


async def test_filtering_operators_and_fields(graph: Graph) -> None:
    a = await graph.campaign(name="ar-aaa one")
    b = await graph.campaign(name="ar-bbb two", status="ACTIVE")
    await graph.campaign(name="other three")
    get = graph.get

    async def listed(filtering: object, **extra: object) -> list[str]:
        resp = await get(f"{ACT}/campaigns", fields="name", filtering=filtering, **extra)
        assert resp.status_code == 200, resp.text
        return sorted(names(resp.json()))

    assert await listed([{"field": "name", "operator": "CONTAIN", "value": "ar-"}]) == [
        "ar-aaa one",
        "ar-bbb two",
    ]
    assert await listed([{"field": "name", "operator": "NOT_CONTAIN", "value": "ar-"}]) == ["other three"]
    assert await listed([{"field": "name", "operator": "EQUAL", "value": "ar-aaa one"}]) == ["ar-aaa one"]
    assert await listed([{"field": "id", "operator": "EQUAL", "value": b}]) == ["ar-bbb two"]
    assert await listed([{"field": "campaign.id", "operator": "IN", "value": [a, b]}]) == [
        "ar-aaa one",
        "ar-bbb two",
    ]
    assert await listed([{"field": "id", "operator": "NOT_IN", "value": [a, b]}]) == ["other three"]
    assert await listed([{"field": "campaign.effective_status", "operator": "IN", "value": ["ACTIVE"]}]) == [
        "ar-bbb two"
    ]
    both = [
        {"field": "name", "operator": "CONTAIN", "value": "ar-"},
        {"field": "campaign.effective_status", "operator": "IN", "value": ["PAUSED"]},
    ]
    assert await listed(both) == ["ar-aaa one"]  # AND
    assert await listed([{"field": "objective", "operator": "IN", "value": ["OUTCOME_TRAFFIC"]}]) == [
        "ar-aaa one",
        "ar-bbb two",
        "other three",
    ]
    assert await listed([{"field": "id", "operator": "GREATER_THAN", "value": a}]) != []
    assert await listed([{"field": "id", "operator": "IN_RANGE", "value": [a, a]}]) == ["ar-aaa one"]


async def test_filtering_must_be_an_array_and_operators_checked(graph: Graph) -> None:
    resp = await graph.get(
        f"{ACT}/campaigns", filtering={"field": "name", "operator": "CONTAIN", "value": "x"}
    )
    assert error_of(resp)["message"] == "(#100) param filtering must be an array."
    resp = await graph.get(
        f"{ACT}/campaigns", filtering=[{"field": "name", "operator": "LIKE", "value": "x"}]
    )
    assert "must be one of" in error_of(resp)["message"]
    resp = await graph.get(f"{ACT}/campaigns", filtering=[{"field": "name", "value": "x"}])
    assert error_of(resp)["message"] == "(#100) The parameter filtering[0][operator] is required"


async def test_filters_on_children_and_parent_edges(graph: Graph) -> None:
    ids = await graph.tree()
    other_campaign = await graph.campaign(name="other")
    await graph.adset(other_campaign, name="other adset")
    resp = await graph.get(
        f"{ACT}/adsets",
        fields="name",
        filtering=[{"field": "campaign.id", "operator": "EQUAL", "value": ids["campaign"]}],
    )
    assert names(resp.json()) == ["ar-s1 us"]
    resp = await graph.get(f"{ids['campaign']}/adsets", fields="name")
    assert names(resp.json()) == ["ar-s1 us"]
    resp = await graph.get(f"{ids['adset']}/ads", fields="name,effective_status")
    assert names(resp.json()) == ["ar-a1 ad"]
    resp = await graph.get(
        f"{ACT}/ads",
        fields="name",
        filtering=[{"field": "adset.id", "operator": "EQUAL", "value": ids["adset"]}],
    )
    assert names(resp.json()) == ["ar-a1 ad"]
    resp = await graph.get(
        f"{ACT}/ads",
        fields="name",
        filtering=[{"field": "ad.effective_status", "operator": "IN", "value": ["ACTIVE"]}],
    )
    assert names(resp.json()) == []  # still PENDING_REVIEW


async def test_filtering_not_honoured_on_adcreatives_and_advideos(graph: Graph) -> None:
    image_hash = await graph.image()
    await graph.creative(image_hash, name="ar-k1")
    await graph.creative(image_hash, name="zzz")
    resp = await graph.get(
        f"{ACT}/adcreatives",
        fields="name",
        filtering=[{"field": "name", "operator": "CONTAIN", "value": "ar-"}],
    )
    assert sorted(names(resp.json())) == ["ar-k1", "zzz"]  # a superset: the client must re-check


async def test_unknown_filter_field_is_ignored_or_rejected_by_switch(graph: Graph) -> None:
    await graph.campaign(name="one")
    rule = [{"field": "campaign.name", "operator": "EQUAL", "value": "nope"}]
    rule_unknown = [{"field": "spend", "operator": "GREATER_THAN", "value": 1}]
    resp = await graph.get(f"{ACT}/campaigns", fields="name", filtering=rule_unknown)
    assert names(resp.json()) == ["one"]
    assert names((await graph.get(f"{ACT}/campaigns", fields="name", filtering=rule)).json()) == []
    await graph.config(switches={"unknown_filter_fields": "reject"})
    assert error_of(await graph.get(f"{ACT}/campaigns", filtering=rule_unknown))["code"] == 100


async def test_effective_status_param_and_archived_deleted_visibility(graph: Graph) -> None:
    live = await graph.campaign(name="live")
    archived = await graph.campaign(name="archived")
    deleted = await graph.campaign(name="deleted")
    assert (await graph.post(archived, {"status": "ARCHIVED"})).json() == {"success": True}
    assert (await graph.delete(deleted)).json() == {"success": True}
    assert names((await graph.get(f"{ACT}/campaigns", fields="name")).json()) == ["live"]
    resp = await graph.get(
        f"{ACT}/campaigns", fields="name", effective_status=["ACTIVE", "PAUSED", "ARCHIVED"]
    )
    assert sorted(names(resp.json())) == ["archived", "live"]
    resp = await graph.get(f"{ACT}/campaigns", fields="name", effective_status=["DELETED"])
    assert names(resp.json()) == []
    await graph.config(switches={"list_deleted_objects": True})
    resp = await graph.get(f"{ACT}/campaigns", fields="name", effective_status=["DELETED"])
    assert names(resp.json()) == ["deleted"]
    err = error_of(await graph.get(f"{ACT}/campaigns", effective_status="ACTIVE"))
    assert err["message"] == "(#100) param effective_status must be an array."
    err = error_of(await graph.get(f"{ACT}/campaigns", effective_status=["RUNNING"]))
    assert "must be one of" in err["message"]
    body = (await graph.get(deleted, fields="status,effective_status,configured_status")).json()
    assert body == {
        "status": "DELETED",
        "effective_status": "DELETED",
        "configured_status": "DELETED",
        "id": deleted,
    }
    assert live


async def test_deleted_objects_stay_readable_cascade_and_cannot_be_reactivated(graph: Graph) -> None:
    ids = await graph.tree()
    assert (await graph.delete(ids["campaign"])).json() == {"success": True}
    for key in ("campaign", "adset", "ad"):
        body = (await graph.get(ids[key], fields="effective_status")).json()
        assert body["effective_status"] == "DELETED", key
    err = error_of(await graph.post(ids["campaign"], {"status": "ACTIVE"}))
    assert err["code"] == 100 and err["error_user_title"] == "Object Deleted"
    rows = await graph.objects()
    deleted = {r["id"] for r in rows if r["deleted"]}
    assert {ids["campaign"], ids["adset"], ids["ad"]} <= deleted


async def test_cursor_paging(graph: Graph) -> None:
    created = [await graph.campaign(name=f"c{i}") for i in range(5)]
    first = (await graph.get(f"{ACT}/campaigns", fields="name", limit=2)).json()
    assert names(first) == ["c4", "c3"]
    assert set(first["paging"]["cursors"]) == {"before", "after"}
    assert first["paging"]["next"].startswith("http://127.0.0.1")
    second = (await graph.http.get(first["paging"]["next"])).json()
    assert names(second) == ["c2", "c1"]
    third = (
        await graph.get(
            f"{ACT}/campaigns", fields="name", limit=2, after=second["paging"]["cursors"]["after"]
        )
    ).json()
    assert names(third) == ["c0"] and "next" not in third["paging"]
    summary = (await graph.get(f"{ACT}/campaigns", summary="total_count", limit=1)).json()
    assert summary["summary"]["total_count"] == 5
    assert len(created) == 5


async def test_list_read_lag(graph: Graph) -> None:
    await graph.config(list_read_lag_ms=300)
    cid = await graph.campaign(name="fresh")
    assert names((await graph.get(f"{ACT}/campaigns", fields="name")).json()) == []
    assert (await graph.get(cid, fields="name")).json()["name"] == "fresh"  # readable by id at once
    await asyncio.sleep(0.35)
    assert names((await graph.get(f"{ACT}/campaigns", fields="name")).json()) == ["fresh"]


async def test_adlabels_bylabels_and_label_edges(graph: Graph) -> None:
    c1 = await graph.campaign(name="one", adlabels=[{"name": "ar-tag1"}, {"name": "shared"}])
    c2 = await graph.campaign(name="two", adlabels=[{"name": "shared"}])
    labels = (await graph.get(f"{ACT}/adlabels", fields="id,name")).json()["data"]
    by_name = {row["name"]: row["id"] for row in labels}
    assert set(by_name) == {"ar-tag1", "shared"}
    any_resp = await graph.get(
        f"{ACT}/campaignsbylabels",
        fields="name",
        ad_label_ids=[by_name["ar-tag1"], by_name["shared"]],
        operator="ANY",
    )
    assert sorted(names(any_resp.json())) == ["one", "two"]
    all_resp = await graph.get(
        f"{ACT}/campaignsbylabels",
        fields="name",
        ad_label_ids=[by_name["ar-tag1"], by_name["shared"]],
        operator="ALL",
    )
    assert names(all_resp.json()) == ["one"]
    assert error_of(await graph.get(f"{ACT}/campaignsbylabels"))["message"].startswith(
        "(#100) The parameter ad_label_ids is required"
    )
    edge = await graph.get(f"{by_name['shared']}/campaigns", fields="name")
    assert sorted(names(edge.json())) == ["one", "two"]
    flt = [{"field": "campaign.adlabels", "operator": "ANY", "value": ["ar-tag1"]}]
    assert names((await graph.get(f"{ACT}/campaigns", fields="name", filtering=flt)).json()) == ["one"]
    none = [{"field": "campaign.adlabels", "operator": "NONE", "value": ["ar-tag1"]}]
    assert names((await graph.get(f"{ACT}/campaigns", fields="name", filtering=none)).json()) == ["two"]
    body = (await graph.get(c1, fields="adlabels")).json()
    assert {row["name"] for row in body["adlabels"]} == {"ar-tag1", "shared"}
    assert c2


async def test_images_by_hashes_and_name_and_videos_by_title(graph: Graph) -> None:
    first = await graph.image(name="a.png")
    again = await graph.image(name="b.png")
    assert first == again  # same bytes, same hash
    import hashlib

    from tests.sandbox.meta.conftest import PNG

    assert first == hashlib.md5(PNG).hexdigest()
    rows = (await graph.get(f"{ACT}/adimages", fields="hash,name,id", hashes=[first])).json()["data"]
    assert len(rows) == 1 and rows[0]["id"] == f"{fx.AD_ACCOUNT_NUMBER}:{first}"
    assert (await graph.get(f"{ACT}/adimages", name="a.png")).json()["data"]
    assert not (await graph.get(f"{ACT}/adimages", name="a")).json()["data"]
    for title in ("ar-v1", "ar-v1 longer"):
        await graph.post(
            f"{ACT}/advideos", {"title": title}, files={"source": ("v.mp4", b"\x01" * 32, "video/mp4")}
        )
    titles = (await graph.get(f"{ACT}/advideos", fields="title", title="ar-v1")).json()["data"]
    assert [row["title"] for row in titles] == ["ar-v1"]  # exact match, not substring
