"""The HTTP surface (as the orchestrator mounts it) and the CLI (as a process): the same operations,
clear 4xx refusals, and never a token in a response, a listing or an error."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from aiohttp import web

from adrelay.connections import ConnectionManager
from adrelay.connections.crypto import KEYS_ENV
from adrelay.connections.http import routes
from sandbox.meta import fixtures as meta_fx
from sandbox.snapchat import fixtures as snap_fx
from tests.conftest import RuntimeEnv
from tests.integration.connections.support import Sandboxes
from tests.support.processes import REPO


@pytest_asyncio.fixture(loop_scope="session")
async def api(manager: ConnectionManager) -> AsyncIterator[httpx.AsyncClient]:
    app = web.Application()
    app.add_routes(routes(manager))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as client:
        yield client
    await runner.cleanup()


def assert_no_secret(sandboxes: Sandboxes, text: str) -> None:
    for secret in sandboxes.issued_secrets():
        assert secret not in text, f"a secret ({secret[:6]}…) in a response"


async def test_invariant_6_http_surface_connects_lists_checks_reauthenticates_and_revokes_without_tokens(
    api: httpx.AsyncClient, manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    texts: list[str] = []

    async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
        response = await api.request(method, path, **kwargs)  # type: ignore[arg-type]
        texts.append(response.text)
        return response

    created = await call(
        "POST",
        "/connections",
        json={
            "platform": "meta",
            "display_name": "Meta over HTTP",
            "id": connection_id,
            "credentials": {"system_user_token": meta_fx.SYSTEM_USER_TOKEN},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()["connection"]
    assert body["id"] == connection_id and body["status"] == "active"
    assert body["ad_account_ids"] == [meta_fx.AD_ACCOUNT_ID] and body["platform"] == "meta"

    listing = await call("GET", "/connections", params={"platform": "meta"})
    assert connection_id in [c["id"] for c in listing.json()["connections"]]
    one = await call("GET", f"/connections/{connection_id}")
    assert one.status_code == 200 and one.json()["connection"]["display_name"] == "Meta over HTTP"

    check = await call("POST", f"/connections/{connection_id}/check")
    assert check.status_code == 200 and check.json()["ok"] is True
    assert check.json()["accounts"][0]["can_spend"] is True
    assert (await call("GET", f"/connections/{connection_id}")).json()["connection"]["last_check_ok"] is True

    # The token dies; the check says so; a person re-authenticates over HTTP.
    await sandboxes.fault("meta", {"effect": "invalid_token", "match": {"path": "/act_"}})
    failed = await call("POST", f"/connections/{connection_id}/check")
    assert failed.status_code == 200 and failed.json()["ok"] is False
    assert failed.json()["connection"]["status"] == "reauth_required"
    await sandboxes.control("meta", "DELETE", "faults")
    restored = await call(
        "POST",
        f"/connections/{connection_id}/reauth",
        json={"credentials": {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}},
    )
    assert restored.status_code == 200 and restored.json()["connection"]["status"] == "active"

    gone = await call("POST", f"/connections/{connection_id}/revoke", json={"reason": "offboarded"})
    assert gone.status_code == 200, gone.text
    assert gone.json()["connection"]["status"] == "revoked"
    assert gone.json()["connection"]["status_reason"] == "offboarded"
    bare = await call("POST", f"/connections/{connection_id}/revoke")  # no body; nothing changes
    assert bare.status_code == 200 and bare.json()["connection"]["status_reason"] == "offboarded"
    back = await call(
        "POST",
        f"/connections/{connection_id}/reauth",
        json={"credentials": {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}},
    )
    assert back.status_code == 200 and back.json()["connection"]["status"] == "active"

    refusals = {
        400: [
            await call(
                "POST", "/connections", content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            await call(
                "POST",
                "/connections",
                json={"platform": "myspace", "display_name": "x", "credentials": {"a": "b"}},
            ),
            await call("POST", "/connections", json={"platform": "meta", "display_name": "x"}),
            await call("GET", "/connections", params={"platform": "myspace"}),
            await call("POST", f"/connections/{connection_id}/reauth", json={"credentials": "token"}),
            await call("POST", f"/connections/{connection_id}/revoke", json={"reason": 7}),
        ],
        404: [
            await call("GET", "/connections/nope-nope"),
            await call("POST", "/connections/nope-nope/check"),
            await call("POST", "/connections/nope-nope/revoke"),
        ],
        409: [
            await call(
                "POST",
                "/connections",
                json={
                    "platform": "meta",
                    "display_name": "again",
                    "id": connection_id,
                    "credentials": {"system_user_token": meta_fx.SYSTEM_USER_TOKEN},
                },
            )
        ],
        422: [
            await call(
                "POST",
                "/connections",
                json={
                    "platform": "meta",
                    "display_name": "bad",
                    "credentials": {"system_user_token": "EAAnotatoken1234"},
                },
            )
        ],
    }
    for status, responses in refusals.items():
        for response in responses:
            assert response.status_code == status, (status, response.text)
            assert response.json()["error"]["message"]
    for text in texts:
        assert_no_secret(sandboxes, text)
        assert "EAAnotatoken1234" not in text


async def cli(
    sandboxes: Sandboxes, env: RuntimeEnv, key: str, *args: str, stdin: str = ""
) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adrelay.cli.main",
        "connections",
        *args,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": env.database_url, KEYS_ENV: key, **sandboxes.env()},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=60)
    return proc.returncode or 0, out.decode()


async def test_invariant_6_cli_adds_lists_checks_reauthenticates_and_revokes_without_showing_tokens(
    sandboxes: Sandboxes, runtime_env: RuntimeEnv, key: str, connection_id: str
) -> None:
    outputs: list[str] = []

    async def run(*args: str, stdin: str = "", expect: int = 0) -> str:
        code, out = await cli(sandboxes, runtime_env, key, *args, stdin=stdin)
        outputs.append(out)
        assert code == expect, out
        return out

    # The token comes on standard input ('-'), not on the command line.
    out = await run(
        "add",
        "meta",
        "--system-user-token",
        "-",
        "--name",
        "Meta CLI",
        "--id",
        connection_id,
        stdin=meta_fx.SYSTEM_USER_TOKEN + "\n",
    )
    assert f"connected {connection_id} (meta): 1 ad account(s)" in out and meta_fx.AD_ACCOUNT_ID in out
    snap_id = f"{connection_id}-snap"
    await run("add", "snapchat", "--code", snap_fx.DEMO_AUTH_CODE, "--name", "Snap CLI", "--id", snap_id)

    listing = await run("list")
    assert connection_id in listing and snap_id in listing and "Meta CLI" in listing
    meta_line = next(line for line in listing.splitlines() if line.startswith(connection_id + " "))
    assert "active" in meta_line and "never" in meta_line

    report = await run("check", snap_id)
    assert "token: valid" in report and f"{snap_fx.DEMO_AD_ACCOUNT_ID}: can spend" in report

    await sandboxes.fault(
        "snapchat", {"effect": "unfund", "match": {"method": "GET", "path": "^/v1/adaccounts/"}, "count": 1}
    )
    failing = await run("check", snap_id, expect=1)
    assert "CANNOT spend: unfunded" in failing
    assert "FAIL" in next(line for line in (await run("list")).splitlines() if line.startswith(snap_id))

    await run("reauth", connection_id, "--system-user-token", meta_fx.SYSTEM_USER_TOKEN)
    unconfirmed = await run("revoke", snap_id, expect=1)  # asks first; no answer is no
    assert "Aborted" in unconfirmed
    revoked = await run("revoke", snap_id, "--reason", "offboarded", "--yes")
    assert f"{snap_id} (snapchat) is revoked: offboarded" in revoked
    snap_line = next(line for line in (await run("list")).splitlines() if line.startswith(snap_id))
    assert "revoked" in snap_line
    refused = await run("add", "meta", "--system-user-token", "EAAnotatoken5678", "--name", "bad", expect=1)
    assert "Error:" in refused and "meta refused" in refused
    usage = await run("add", "tiktok", "--name", "no credential", expect=2)
    assert "credential" in usage
    missing = await run("check", "no-such-connection", expect=1)
    assert "no connection no-such-connection" in missing

    for out in outputs:
        assert_no_secret(sandboxes, out)
        assert "EAAnotatoken5678" not in out
