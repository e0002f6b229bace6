"""Every request of the recorded real Snap traffic, replayed to the seeded sandbox, gets the same HTTP
status, the same envelope and keys (ids and times may differ), the same value types and the same
rate-limit headers (present exactly where the platform sent them, with the recorded limits)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from sandbox.snapchat import fixtures as fx

from .support import Snap, png

INTERACTIONS = fx.recorded_interactions()
RATE_HEADERS = ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")
SAME_LENGTH_LISTS = {"timeseries"}


def _label(index: int) -> str:
    x = INTERACTIONS[index]
    path = urlsplit(x["uri"]).path.removeprefix("/v1/")
    return f"{index:02d}-{x['method']}-{path.split('/')[0]}-{path.split('/')[-1][:12]}"


def _inner(entry: dict[str, Any]) -> dict[str, Any] | None:
    values = [v for k, v in entry.items() if k != "sub_request_status" and isinstance(v, dict)]
    return values[0] if values else None


def same_shape(recorded: Any, got: Any, where: str = "$") -> None:
    """Keys equal at every level; scalar types equal; wrapped lists matched by entity id."""
    if isinstance(recorded, dict):
        assert isinstance(got, dict), f"{where}: expected an object, got {got!r}"
        missing, extra = sorted(set(recorded) - set(got)), sorted(set(got) - set(recorded))
        assert not missing and not extra, f"{where}: keys differ; missing {missing}, extra {extra}"
        for key, value in recorded.items():
            same_shape(value, got[key], f"{where}.{key}")
    elif isinstance(recorded, list):
        assert isinstance(got, list), f"{where}: expected a list, got {got!r}"
        if recorded and isinstance(recorded[0], dict) and "sub_request_status" in recorded[0]:
            _same_wrapped(recorded, got, where)
            return
        if where.rsplit(".", 1)[-1] in SAME_LENGTH_LISTS:
            assert len(got) == len(recorded), f"{where}: {len(got)} elements, recorded {len(recorded)}"
        for i, (r, g) in enumerate(zip(recorded, got, strict=False)):
            if isinstance(r, dict):
                same_shape(r, g, f"{where}[{i}]")
    elif recorded is not None:
        assert type(got) is type(recorded), (
            f"{where}: {type(got).__name__} {got!r}, recorded {type(recorded).__name__}"
        )


def _same_wrapped(recorded: list[dict[str, Any]], got: list[dict[str, Any]], where: str) -> None:
    by_id = {(_inner(g) or {}).get("id"): g for g in got}
    for i, entry in enumerate(recorded):
        inner = _inner(entry) or {}
        match = by_id.get(inner.get("id"))
        if match is None:  # a created entity: new id, same position
            assert i < len(got), f"{where}: recorded entity {inner.get('id')} missing"
            match = got[i]
        same_shape(entry, match, f"{where}[{inner.get('id', i)}]")


def _request_args(x: dict[str, Any]) -> dict[str, Any]:
    parts = urlsplit(x["uri"])
    url = parts.path + (f"?{parts.query}" if parts.query else "")
    body = x["request_body"]
    args: dict[str, Any] = {"method": x["method"], "url": url, "headers": {}}
    if parts.path.startswith("/v1/"):
        args["headers"]["Authorization"] = f"Bearer {fx.RECORDED_ACCESS_TOKEN}"
    if isinstance(body, dict):
        args["json"] = body
    elif body == "<binary body omitted>":
        args["files"] = {"file": ("test_image.png", png(), "image/png")}
    elif body:
        for placeholder, value in fx.PLACEHOLDERS.items():
            body = body.replace(placeholder, value)
        args["content"] = body.encode()
        args["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
    return args


def _expected_body(index: int) -> Any:
    body = INTERACTIONS[index]["response_body"]
    if body != "<binary body omitted>":
        return body
    supplement = fx.recorded_supplement()
    if index == 28:
        return supplement["campaign_get"]
    return None  # interaction 31: only its envelope is known (checked below)


@pytest.mark.parametrize("index", range(len(INTERACTIONS)), ids=_label)
async def test_replayed_request_matches_the_recording(snap: Snap, index: int) -> None:
    x = INTERACTIONS[index]
    await snap.http.post("/_sandbox/reset")
    await snap.seed(fx.recorded_seed())

    response = await snap.http.request(**_request_args(x))

    assert response.status_code == x["status"], response.text
    assert response.headers["Content-Type"].startswith("application/json")
    got = response.json()
    expected = _expected_body(index)
    if expected is not None:
        same_shape(expected, got)
    else:
        envelope = fx.recorded_supplement()["campaign_list_envelope"]
        assert list(got) == envelope["top_level_keys"]
        assert got["paging"] == envelope["paging"]
        for entry in got["campaigns"]:
            assert set(envelope["campaign_keys"]) <= set(entry["campaign"])
    recorded_headers = x["response_headers"]
    for name in RATE_HEADERS:
        assert (name in response.headers) == (name in recorded_headers), name
    if "X-Rate-Limit-Limit" in recorded_headers:
        assert response.headers["X-Rate-Limit-Limit"] == recorded_headers["X-Rate-Limit-Limit"][0]
        assert int(response.headers["X-Rate-Limit-Reset"]) % 5000 == 0
        assert (
            int(response.headers["X-Rate-Limit-Remaining"])
            == int(recorded_headers["X-Rate-Limit-Limit"][0]) - 1
        )


def test_all_46_recorded_interactions_are_replayed() -> None:
    assert len(INTERACTIONS) == 46
