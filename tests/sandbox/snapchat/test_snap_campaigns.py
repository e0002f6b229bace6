"""Campaigns: create (recorded defaults), validation, PUT semantics, DELETE and deleted visibility."""

from __future__ import annotations

from typing import Any

import pytest

from .support import ACCOUNT, FUTURE_START, Snap, entity, item_error

PATH = f"/v1/adaccounts/{ACCOUNT}/campaigns"


def campaign_item(**overrides: Any) -> dict[str, Any]:
    item = {
        "name": "ar-1f3c9a Spring",
        "ad_account_id": ACCOUNT,
        "status": "PAUSED",
        "start_time": FUTURE_START,
    }
    item.update(overrides)
    return item


async def test_create_answers_with_the_recorded_defaults(snap: Snap) -> None:
    r = await snap.post(PATH, {"campaigns": [campaign_item(daily_budget_micro=25_000_000)]})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["request_status", "request_id", "campaigns"]
    assert body["request_status"] == "SUCCESS"
    assert body["campaigns"][0]["sub_request_status"] == "SUCCESS"
    campaign = entity(body, "campaigns")
    assert campaign["objective_v2_properties"] == {
        "objective_v2_type": "AWARENESS_AND_ENGAGEMENT",
        "is_auto_generated": True,
    }
    assert campaign["objective"] == "BRAND_AWARENESS"
    assert campaign["creation_state"] == "PUBLISHED"
    assert campaign["pacing_properties_version"] == 0
    assert campaign["start_time"] == FUTURE_START
    assert campaign["daily_budget_micro"] == 25_000_000
    assert "INVALID_START_TIME" in campaign["delivery_status"]
    assert "INVALID_NOT_ACTIVE" in campaign["delivery_status"]
    assert "created_by_app_id" not in campaign  # only update answers carry the writer keys
    assert "buy_model" not in campaign  # not echoed unless sent (recorded)


async def test_create_without_ad_account_id_in_body_succeeds_as_recorded(snap: Snap) -> None:
    item = campaign_item()
    del item["ad_account_id"]
    created = entity((await snap.post(PATH, {"campaigns": [item]})).json(), "campaigns")
    assert created["ad_account_id"] == ACCOUNT


async def test_objective_v2_is_kept_and_times_are_echoed_in_utc_ms(snap: Snap) -> None:
    item = campaign_item(
        objective_v2_properties={"objective_v2_type": "SALES"},
        start_time="2030-01-01T02:00:00+02:00",
        end_time="2030-02-01T00:00:00.5Z",
    )
    campaign = entity((await snap.post(PATH, {"campaigns": [item]})).json(), "campaigns")
    assert campaign["objective_v2_properties"] == {"objective_v2_type": "SALES"}
    assert campaign["start_time"] == "2030-01-01T00:00:00.000Z"
    assert campaign["end_time"] == "2030-02-01T00:00:00.500Z"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"name": None}, "name is required"),
        ({"name": "x" * 376}, "at most 375"),
        ({"status": "RUNNING"}, "Invalid status"),
        ({"status": None}, "status is required"),
        ({"start_time": None}, "start_time is required"),
        ({"start_time": "2030-01-01T00:00:00"}, "time zone"),
        ({"start_time": "2030-01-01"}, "time zone"),
        ({"start_time": "tomorrow"}, "not a valid ISO-8601"),
        ({"end_time": None}, "must not be null"),
        ({"end_time": "2029-12-31T00:00:00Z"}, "end_time must be after start_time"),
        ({"objective": "BRAND_AWARENESS"}, "legacy objective"),
        ({"objective_v2_properties": {"objective_v2_type": "CONVERSIONS"}}, "Invalid objective_v2_type"),
        ({"daily_budget_micro": 20.5}, "integer amount in micro-currency"),
        ({"daily_budget_micro": 19_999_999}, "at least 20000000"),
        ({"lifetime_spend_cap_micro": "100"}, "integer amount"),
        ({"lifetime_spend_cap_micro": 10_000_000}, "at least 20000000"),
        ({"ad_account_id": "00000000-0000-4000-8000-000000000000"}, "does not match"),
    ],
)
async def test_invalid_campaigns_are_refused_per_item(
    snap: Snap, overrides: dict[str, Any], fragment: str
) -> None:
    r = await snap.post(PATH, {"campaigns": [campaign_item(**overrides)]})
    assert r.status_code == 200  # per-item error: HTTP 200 with request_status ERROR (switch)
    reason = item_error(r.json(), "campaigns")
    assert reason.startswith("Error code: E")
    assert fragment in reason
    assert await snap.objects(kind="campaign") == []


async def test_a_batch_applies_the_valid_items_and_reports_the_invalid_one(snap: Snap) -> None:
    r = await snap.post(PATH, {"campaigns": [campaign_item(name="ok one"), campaign_item(status="NOPE")]})
    body = r.json()
    assert body["request_status"] == "ERROR"
    assert body["campaigns"][0]["sub_request_status"] == "SUCCESS"
    assert body["campaigns"][1]["sub_request_status"] == "ERROR"
    assert [o["name"] for o in await snap.objects(kind="campaign")] == ["ok one"]


async def test_batch_error_status_switch(snap: Snap) -> None:
    await snap.switches(batch_item_error_status=400)
    r = await snap.post(PATH, {"campaigns": [campaign_item(status="NOPE")]})
    assert r.status_code == 400
    assert r.json()["request_status"] == "ERROR"


async def test_malformed_bodies_are_request_level_errors(snap: Snap) -> None:
    no_list = await snap.post(PATH, {"campaign": campaign_item()})
    empty = await snap.post(PATH, {"campaigns": []})
    not_json = await snap.http.post(
        PATH, content=b"{oops", headers={**snap.auth(), "Content-Type": "application/json"}
    )
    for r in (no_list, empty, not_json):
        assert r.status_code == 400
        body = r.json()
        assert set(body) == {"request_status", "request_id", "debug_message", "display_message", "error_code"}
        assert body["error_code"] == "E1008"


async def test_legacy_objective_switch_allows_it(snap: Snap) -> None:
    await snap.switches(reject_legacy_objective=False)
    campaign = entity(
        (await snap.post(PATH, {"campaigns": [campaign_item(objective="WEB_CONVERSION")]})).json(),
        "campaigns",
    )
    assert campaign["objective"] == "WEB_CONVERSION"
    assert campaign["objective_v2_properties"]["objective_v2_type"] == "SALES"


async def test_put_replaces_the_whole_campaign_and_omitted_attributes_reset(snap: Snap) -> None:
    created = await snap.campaign(
        daily_budget_micro=30_000_000,
        lifetime_spend_cap_micro=90_000_000,
        end_time="2030-06-01T00:00:00.000Z",
    )
    r = await snap.put(
        PATH,
        {
            "campaigns": [
                {
                    "id": created["id"],
                    "name": "renamed",
                    "status": "PAUSED",
                    "start_time": created["start_time"],
                    "ad_account_id": ACCOUNT,
                }
            ]
        },
    )
    assert r.status_code == 200
    updated = entity(r.json(), "campaigns")
    assert updated["name"] == "renamed"
    for dropped in ("daily_budget_micro", "lifetime_spend_cap_micro", "end_time"):
        assert dropped not in updated
    assert updated["created_at"] == created["created_at"]
    assert updated["objective_v2_properties"] == created["objective_v2_properties"]
    for key in ("created_by_app_id", "created_by_user", "last_updated_by_app_id", "last_updated_by_user"):
        assert key in updated
    read = entity((await snap.get(f"/v1/campaigns/{created['id']}")).json(), "campaigns")
    assert "daily_budget_micro" not in read and read["name"] == "renamed"


async def test_put_echoing_a_read_entity_succeeds_and_immutable_changes_fail(snap: Snap) -> None:
    created = await snap.campaign()
    read = entity((await snap.get(f"/v1/campaigns/{created['id']}")).json(), "campaigns")
    echoed = await snap.put(PATH, {"campaigns": [read]})
    assert echoed.json()["request_status"] == "SUCCESS"
    changed = dict(read, objective_v2_properties={"objective_v2_type": "SALES"})
    reason = item_error((await snap.put(PATH, {"campaigns": [changed]})).json(), "campaigns")
    assert "E2023" in reason
    unknown = await snap.put(PATH, {"campaigns": [dict(read, id="00000000-0000-4000-8000-000000000000")]})
    assert "E3004" in item_error(unknown.json(), "campaigns")
    no_id = await snap.put(PATH, {"campaigns": [{k: v for k, v in read.items() if k != "id"}]})
    assert "id is required" in item_error(no_id.json(), "campaigns")


async def test_delete_hides_the_campaign_unless_read_deleted_entities(snap: Snap) -> None:
    created = await snap.campaign()
    r = await snap.delete(f"/v1/campaigns/{created['id']}")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["request_status", "request_id", "campaigns"]
    assert body["campaigns"] == []
    assert (await snap.get(f"/v1/campaigns/{created['id']}")).status_code == 404
    shown = entity(
        (await snap.get(f"/v1/campaigns/{created['id']}", read_deleted_entities="true")).json(), "campaigns"
    )
    assert shown["deleted"] is True
    listed = (await snap.get(PATH)).json()["campaigns"]
    assert listed == []
    with_deleted = (await snap.get(PATH, read_deleted_entities="true")).json()["campaigns"]
    assert [c["campaign"]["deleted"] for c in with_deleted] == [True]
    assert (await snap.delete(f"/v1/campaigns/{created['id']}")).status_code == 404
    [row] = await snap.objects(kind="campaign")
    assert row["deleted"] is True
