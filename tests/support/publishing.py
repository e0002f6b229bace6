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
