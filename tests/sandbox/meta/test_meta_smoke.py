"""Smoke: the whole tree can be created with real-shaped requests."""

from __future__ import annotations

from tests.sandbox.meta.conftest import Graph


async def test_full_tree_is_created_and_read_back(graph: Graph) -> None:
    ids = await graph.tree()
    resp = await graph.get(ids["adset"], fields="id,name,daily_budget,effective_status,campaign{id,name}")
    body = resp.json()
    assert resp.status_code == 200, body
    assert body["daily_budget"] == "2000"
    assert body["campaign"]["id"] == ids["campaign"]
