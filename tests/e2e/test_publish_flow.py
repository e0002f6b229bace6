"""End to end, every service a process, the sandboxes as the platforms: the main flows of issue 7."""

from __future__ import annotations

from tests.conftest import Stack
from tests.support.processes import ServiceProcess
from tests.support.publishing import command, submit, wait_status


async def test_happy_path_publishes_and_activates_on_all_three_platforms(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    accepted = await submit(services["orchestrator"], body)
    result = await wait_status(services["orchestrator"], accepted["publish_id"])
    assert result["status"] == "published", result
    for platform, run in result["platforms"].items():
        assert run["state"] == "active", (platform, run)
        ids = run["external_ids"]
        assert ids["campaign"]
        assert set(ids["ad_sets"]) == {"as-1", "as-2"}
        assert set(ids["ads"]) == {"ad-1-1", "ad-1-2", "ad-2-1", "ad-2-2"}
