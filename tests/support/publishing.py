"""Driving publishes end to end through the orchestrator's HTTP API, and reading the sandboxes."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from tests.support.processes import ServiceProcess
from tests.support.samples import campaign_dict

TERMINAL = {"published", "partially_published", "rejected", "failed", "rolled_back", "needs_manual_cleanup"}


def command(
    stack: Any, *, campaign_id: str | None = None, key: str | None = None, **campaign: Any
) -> dict[str, Any]:
    body = campaign_dict(campaign_id=campaign_id, media_base=stack.media.base_url, **campaign)
    return {"idempotency_key": key or f"key-{uuid.uuid4().hex}", "campaign": body, "targets": stack.targets()}


async def submit(orchestrator: ServiceProcess, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=orchestrator.url, timeout=30) as client:
        response = await client.post("/publishes", json=body)
    assert response.status_code in (200, 202), response.text
    result: dict[str, Any] = response.json()
    return result


async def view(orchestrator: ServiceProcess, publish_id: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(base_url=orchestrator.url, timeout=30) as client:
        response = await client.get(f"/publishes/{publish_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def wait_status(
    orchestrator: ServiceProcess, publish_id: str, wanted: set[str] | None = None, timeout: float = 120.0
) -> dict[str, Any]:
    wanted = wanted or TERMINAL
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        last = await view(orchestrator, publish_id)
        if last is not None and last["status"] in wanted:
            return last
        await asyncio.sleep(0.25)
    raise AssertionError(f"publish {publish_id} never reached {sorted(wanted)}; last: {last}")


async def objects(url: str, **query: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{url}/_sandbox/objects", params=query)
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()["objects"]
    return rows


async def requests_log(url: str, since: int = 0) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{url}/_sandbox/requests", params={"since": str(since)})
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()["requests"]
    return rows


async def fault(url: str, rule: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        (await client.post(f"{url}/_sandbox/faults", json=rule)).raise_for_status()


async def clear_faults(url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        (await client.delete(f"{url}/_sandbox/faults")).raise_for_status()


# Paths of the creates and writes the e2e tests put faults on (regular expressions on the path).
AD_CREATE = {
    "meta": r"/v\d+\.0/act_\d+/ads$",
    "tiktok": r"/open_api/v1\.3/ad/create/$",
    "snapchat": r"/v1/adsquads/[^/]+/ads$",
}
AD_SET_CREATE = {
    "meta": r"/v\d+\.0/act_\d+/adsets$",
    "tiktok": r"/open_api/v1\.3/adgroup/create/$",
    "snapchat": r"/v1/campaigns/[^/]+/adsquads$",
}
WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}


def live(rows: list[dict[str, Any]], kinds: set[str]) -> list[dict[str, Any]]:
    """Objects of these kinds that still run or could run (not deleted)."""
    return [
        o for o in rows if o["kind"] in kinds and not o["deleted"] and str(o["status"]).upper() != "DELETED"
    ]


TREE_KINDS = {
    "meta": {"campaign", "adset", "ad"},
    "tiktok": {"campaign", "adgroup", "ad"},
    "snapchat": {"campaign", "adsquad", "ad"},
}


async def tree_of(stack: Any, platform: str, publish_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The sandbox's campaign, ad set/group/squad and ad objects of one publish (found by their tags)."""
    from adrelay.platforms.base import make_tag

    keys = ["campaign"] + [f"ad_set:{s['id']}" for s in body["campaign"]["ad_sets"]]
    keys += [f"ad:{a['id']}" for s in body["campaign"]["ad_sets"] for a in s["ads"]]
    tags = {make_tag(publish_id, key) for key in keys}
    rows = await objects(stack.sandbox(platform))
    return [
        o for o in rows if o["kind"] in TREE_KINDS[platform] and any(t in (o["name"] or "") for t in tags)
    ]


async def writes_since(stack: Any, marks: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Write calls (POST/PUT/DELETE) each sandbox received after `marks` (its request log sequence)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for platform, url in stack.urls.by_platform().items():
        entries = await requests_log(url, marks.get(platform, 0))
        out[platform] = [e for e in entries if e["method"] in WRITE_METHODS]
    return out


async def log_marks(stack: Any) -> dict[str, int]:
    marks = {}
    for platform, url in stack.urls.by_platform().items():
        entries = await requests_log(url)
        marks[platform] = max((e["seq"] for e in entries), default=0)
    return marks
