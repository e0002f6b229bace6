"""Invariant 6 over the whole run: no token or secret appears in any service's log.

Runs last (chaos tests run last, and this file sorts last among them): by then every flow of the suite
has been logged — publishes, rollbacks, re-authentication, refreshes, dead letters, crashes.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from adrelay.connections import TokenCipher, TokenKeyError
from sandbox.meta import fixtures as meta
from sandbox.snapchat import fixtures as snap
from sandbox.tiktok import fixtures as tiktok
from tests.conftest import RuntimeEnv
from tests.support.processes import ServiceProcess


async def _known_secrets(db: asyncpg.Pool) -> set[str]:
    secrets = {
        meta.SYSTEM_USER_TOKEN, meta.SHORT_LIVED_USER_TOKEN, meta.APP_SECRET,
        tiktok.ACCESS_TOKEN, tiktok.AUTH_CODE_TOKEN, tiktok.APP_SECRET, tiktok.AUTH_CODE,
        snap.DEMO_ACCESS_TOKEN, snap.DEMO_REFRESH_TOKEN, snap.DEMO_CLIENT_SECRET, snap.DEMO_AUTH_CODE,
    }  # fmt: skip
    cipher = TokenCipher.from_env()
    rows = await db.fetch(
        "select access_token_enc, refresh_token_enc, key_id from platform_connections where key_id = any($1::text[])",
        cipher.key_ids,
    )  # connections tests also store rows under keys of their own: those tokens are theirs to check
    for row in rows:
        for column in ("access_token_enc", "refresh_token_enc"):
            if row[column] is None:
                continue
            try:
                secrets.add(cipher.decrypt(bytes(row[column]), row["key_id"]))
            except TokenKeyError:
                continue  # rows the key-rotation tests corrupt on purpose
    return {s for s in secrets if len(s) >= 8}


async def test_invariant_6_no_service_log_of_the_whole_run_holds_a_token_or_secret(
    runtime_env: RuntimeEnv, services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    secrets = await _known_secrets(db)
    assert len(secrets) >= 10
    logs = [p for p in Path(runtime_env["ADRELAY_LOG_DIR"]).glob("*.log") if p.name != "sandboxes.log"]
    assert {p.stem for p in logs} >= set(services), logs
    scanned = 0
    for path in logs:
        text = path.read_text(errors="replace")
        scanned += len(text)
        leaked = sorted(s[:6] + "…" for s in secrets if s in text)
        assert not leaked, f"{path.name} holds secrets starting {leaked}"
    assert scanned > 10_000, "the services logged almost nothing: the scan proves little"
