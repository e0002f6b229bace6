"""`adrelay connections …`: connect ad accounts, list them, check them, re-authenticate, revoke them,
rotate keys.

Credentials given as `-` are read from standard input, so a token need not sit in shell history or
the process list. Listings and check reports never show a token.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from adrelay.config import Settings
from adrelay.connections.crypto import TokenKeyError
from adrelay.connections.errors import ConnectionsError
from adrelay.connections.manager import ConnectionManager
from adrelay.connections.models import CheckResult, Connection
from adrelay.model import Platform
from adrelay.observability.logging import redact
from adrelay.platforms.errors import PlatformException
from adrelay.platforms.settings import PlatformSettings
from adrelay.storage.db import Database

T = TypeVar("T")

# (option, credentials key, help) per platform; the first given is used.
CREDENTIALS: dict[Platform, list[tuple[str, str, str]]] = {
    Platform.META: [
        ("--system-user-token", "system_user_token", "a Business Manager system-user token (taken as is)"),
        (
            "--short-lived-token",
            "short_lived_token",
            "a short-lived user token (exchanged for a ~60-day one)",
        ),
        ("--long-lived-token", "long_lived_token", "a long-lived user token (taken as is)"),
    ],
    Platform.TIKTOK: [
        ("--auth-code", "auth_code", "the auth_code from the authorization redirect (valid 1 h, single use)"),
        ("--access-token", "access_token", "a long-term advertiser access token (taken as is)"),
    ],
    Platform.SNAPCHAT: [
        ("--code", "code", "the authorization code from the OAuth redirect"),
        ("--refresh-token", "refresh_token", "a refresh token (spent here: Snapchat rotates it)"),
    ],
}


def _run(work: Callable[[ConnectionManager], Awaitable[T]]) -> T:
    async def main() -> T:
        database = Database(Settings().database_url, max_size=4)
        manager = ConnectionManager(database, PlatformSettings())
        try:
            return await work(manager)
        finally:
            await manager.close()
            await database.close()

    try:
        return asyncio.run(main())
    except (ConnectionsError, TokenKeyError, PlatformException) as exc:
        raise click.ClickException(redact(str(exc))) from None


def _credential_values(values: dict[str, Any], platform: Platform | None = None) -> dict[str, str]:
    credentials: dict[str, str] = {}
    for candidate in [platform] if platform else list(Platform):
        for _, key, _ in CREDENTIALS[candidate]:
            value = values.get(key)
            if value:
                credentials[key] = sys.stdin.readline().strip() if value == "-" else value
    if values.get("redirect_uri"):
        credentials["redirect_uri"] = values["redirect_uri"]
    if not [k for k in credentials if k != "redirect_uri"]:
        raise click.UsageError("give one credential option (see --help); '-' reads it from standard input")
    return credentials


@click.group("connections")
def connections() -> None:
    """Platform connections: the accounts adrelay publishes as."""


@connections.group("add")
def add() -> None:
    """Connect an ad account with the credentials a person brings."""


def _add_command(platform: Platform) -> click.Command:
    def command(name: str, connection_id: str | None, **values: Any) -> None:
        credentials = _credential_values(values, platform)
        new_id = _run(lambda m: m.connect(platform, credentials, name, connection_id=connection_id))
        view = _run(lambda m: m.get(new_id))
        click.echo(f"connected {view.id} ({platform.value}): {len(view.ad_account_ids)} ad account(s)")
        for account in view.ad_account_ids:
            click.echo(f"  {account}")

    params: list[click.Parameter] = [
        click.Option(["--name", "name"], required=True, help="display name"),
        click.Option(["--id", "connection_id"], default=None, help="connection id (default: generated)"),
    ]
    params += [click.Option([opt, key], default=None, help=text) for opt, key, text in CREDENTIALS[platform]]
    if platform is Platform.SNAPCHAT:
        params.append(
            click.Option(["--redirect-uri", "redirect_uri"], default=None, help="default: configured")
        )
    return click.Command(
        platform.value, callback=command, params=params, help=f"Connect a {platform.value} ad account."
    )


for _platform in Platform:
    add.add_command(_add_command(_platform))


@connections.command("list")
@click.option("--platform", type=click.Choice([p.value for p in Platform]), default=None)
def list_connections(platform: str | None) -> None:
    """Every connection: status, accounts, expiry, last check (never a token)."""
    views: list[Connection] = _run(lambda m: m.list(Platform(platform) if platform else None))
    if not views:
        click.echo("no connections")
        return
    click.echo(f"{'ID':28} {'PLATFORM':9} {'STATUS':16} {'EXPIRES':20} {'CHECK':6} ACCOUNTS  NAME")
    for v in views:
        expires = v.expires_at.strftime("%Y-%m-%d %H:%M UTC") if v.expires_at else "never"
        check = {None: "-", True: "ok", False: "FAIL"}[v.last_check_ok]
        click.echo(
            f"{v.id:28} {v.platform.value:9} {v.status.value:16} {expires:20} {check:6} "
            f"{len(v.ad_account_ids):<9} {v.display_name}"
        )


@connections.command("check")
@click.argument("connection_id")
def check(connection_id: str) -> None:
    """Inspect the token and pre-flight every account; exit 1 when something cannot publish."""
    result: CheckResult = _run(lambda m: m.check(connection_id))
    token = result.token
    expires = token.expires_at.isoformat() if token.expires_at else "never / unknown"
    click.echo(
        f"{result.connection.id} ({result.connection.platform.value}): {result.connection.status.value}"
    )
    click.echo(
        f"  token: {'valid' if token.valid else 'INVALID'}, expires {expires}"
        + (f", {token.reason}" if token.reason else "")
    )
    for a in result.accounts:
        verdict = "can spend" if a.can_spend else f"CANNOT spend: {a.reason}"
        where = ", ".join(x for x in (a.currency, a.timezone, a.status) if x)
        click.echo(
            f"  {a.account_id}: {verdict}"
            + (f" ({where})" if where else "")
            + (f" — {a.detail}" if a.detail else "")
        )
    if not result.ok:
        sys.exit(1)


@connections.command("reauth")
@click.argument("connection_id")
@click.option("--redirect-uri", "redirect_uri", default=None, help="Snapchat: default the configured one")
@click.option("--system-user-token", "system_user_token", default=None)
@click.option("--short-lived-token", "short_lived_token", default=None)
@click.option("--long-lived-token", "long_lived_token", default=None)
@click.option("--auth-code", "auth_code", default=None)
@click.option("--access-token", "access_token", default=None)
@click.option("--code", "code", default=None)
@click.option("--refresh-token", "refresh_token", default=None)
def reauth(connection_id: str, **values: Any) -> None:
    """Replace a connection's token with fresh credentials (the options of `add <platform>`)."""
    credentials = _credential_values(values)
    view: Connection = _run(lambda m: m.reauth(connection_id, credentials))
    click.echo(f"{view.id} ({view.platform.value}) is {view.status.value}")


@connections.command("revoke")
@click.argument("connection_id")
@click.option("--reason", default=None, help="why, kept as the connection's status reason")
@click.confirmation_option(prompt="Erase this connection's tokens? Publishing with it stops until reauth.")
def revoke(connection_id: str, reason: str | None) -> None:
    """Erase a connection's tokens: new publishes naming it are rejected until `reauth`."""
    view: Connection = _run(lambda m: m.revoke(connection_id, reason))
    click.echo(f"{view.id} ({view.platform.value}) is {view.status.value}: {view.status_reason}")


@connections.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored token under the newest key of ADRELAY_TOKEN_KEYS."""
    count: int = _run(lambda m: m.rotate_keys())
    click.echo(f"{count} connection(s) re-encrypted under the newest key")
