"""ConnectionManager: connect, list, check, re-authenticate, hand out tokens, refresh, pre-flight.

Refresh has ONE owner: it locks the row (`SELECT … FOR UPDATE`), re-reads it, refreshes only if it is
still needed (the token still expiring, or still the one that failed), and stores the new access AND
refresh token in that transaction. Snapchat rotates refresh tokens, so two refreshers racing would
leave a dead one; the lock makes every other caller wait and then take the new token. A token that
cannot be refreshed (Meta, TikTok, or a refused Snapchat refresh) turns the connection
`reauth_required` and emits ONE ReauthRequired through the outbox in the same transaction — only the
transition from `active` emits, so concurrent discoverers produce one event.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import asyncpg

from adrelay.connections import repository as repo
from adrelay.connections.crypto import TokenCipher, TokenKeyError
from adrelay.connections.errors import (
    ConnectionExists,
    ConnectionNotFound,
    ConnectionRevoked,
    ConnectRejected,
    InvalidRequest,
    PlatformUnavailable,
)
from adrelay.connections.models import (
    CONNECTION_ID,
    CheckResult,
    Connection,
    ConnectionStatus,
)
from adrelay.connections.reasons import AccountProblem
from adrelay.events import Envelope
from adrelay.events.envelope import stable_event_id
from adrelay.events.payloads import ErrorCategory, ReauthRequired
from adrelay.messaging.outbox import Outbox
from adrelay.model import Platform
from adrelay.observability.logging import redact, register_secret
from adrelay.platforms.auth import AccountStatus, PlatformAuth, ReauthNeeded, TokenGrant, TokenInfo
from adrelay.platforms.errors import OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limiter
from adrelay.platforms.registry import auth_for
from adrelay.platforms.settings import PlatformSettings
from adrelay.storage.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")
PRODUCER = "connections"  # the outbox producer name; the orchestrator runs its relay


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


@dataclass(frozen=True)
class Context:
    """The publish a token or pre-flight is for, so a ReauthRequired lands on that campaign's key."""

    campaign_id: str | None = None
    publish_id: str | None = None


NO_CONTEXT = Context()


class ConnectionManager:
    def __init__(
        self,
        database: Database,
        settings: PlatformSettings | None = None,
        *,
        cipher: TokenCipher | None = None,
        limiter: Limiter | None = None,
        auths: Mapping[Platform, PlatformAuth] | None = None,
        refresh_margin_s: float | None = None,
        preflight_ttl_s: float | None = None,
    ) -> None:
        self.database = database
        self.settings = settings or PlatformSettings()
        self.cipher = cipher or TokenCipher.from_env()  # no key: a clear TokenKeyError at start
        self.limiter = limiter or Limiter()
        self.outbox = Outbox(PRODUCER)
        self.refresh_margin = timedelta(
            seconds=refresh_margin_s
            if refresh_margin_s is not None
            else _env_float("ADRELAY_TOKEN_REFRESH_MARGIN_S", 300.0)
        )
        self.preflight_ttl_s = (
            preflight_ttl_s if preflight_ttl_s is not None else _env_float("ADRELAY_PREFLIGHT_TTL_S", 60.0)
        )
        self._auths: dict[Platform, PlatformAuth] = dict(auths or {})
        self._preflight: dict[tuple[str, str], tuple[float, AccountStatus]] = {}

    def auth(self, platform: Platform) -> PlatformAuth:
        if platform not in self._auths:
            self._auths[platform] = auth_for(platform, self.settings, self.limiter)
        return self._auths[platform]

    async def close(self) -> None:
        for auth in self._auths.values():
            await auth.close()

    # ---- connect / list / re-authenticate ----------------------------------------------------
    async def connect(
        self,
        platform: Platform | str,
        credentials: Mapping[str, str],
        display_name: str,
        *,
        connection_id: str | None = None,
    ) -> str:
        """Turn what a person brought into a stored, encrypted connection; returns its id."""
        platform = _platform(platform)
        if not display_name or not display_name.strip():
            raise InvalidRequest("a connection needs a display name")
        connection_id = connection_id or f"{platform.value}-{uuid.uuid4().hex[:12]}"
        if not CONNECTION_ID.match(connection_id):
            raise InvalidRequest(
                "a connection id is 1-53 characters: letters, digits, '_', '.', ':', '-', starting with a "
                "letter or digit"
            )
        async with self.database.connection() as conn:
            if await repo.get(conn, connection_id) is not None:
                # Before any exchange: single-use codes (TikTok, Snapchat) must not be spent on a refusal.
                raise ConnectionExists(
                    f"connection {connection_id} already exists (use reauth to replace its token)"
                )
        grant = await self._grant(platform, credentials)
        async with self.database.transaction() as conn:
            created = await repo.insert(
                conn,
                connection_id=connection_id,
                platform=platform,
                display_name=display_name.strip(),
                access_enc=self.cipher.encrypt(grant.access_token),
                refresh_enc=self.cipher.encrypt(grant.refresh_token) if grant.refresh_token else None,
                key_id=self.cipher.current_key_id,
                token_type=grant.token_type,
                expires_at=grant.expires_at,
                refresh_expires_at=grant.refresh_expires_at,
                scopes=list(grant.scopes),
                ad_account_ids=list(grant.account_ids),
                app_id=str(grant.extra.get("app_id") or "") or None,
                details={k: v for k, v in grant.extra.items() if k != "app_id"},
            )
        if not created:
            raise ConnectionExists(
                f"connection {connection_id} already exists (use reauth to replace its token)"
            )
        log.info(
            "connection %s created (%s, %d ad accounts)",
            connection_id,
            platform.value,
            len(grant.account_ids),
        )
        return connection_id

    async def reauth(self, connection_id: str, credentials: Mapping[str, str]) -> Connection:
        """A person authorized again: new tokens replace the old ones and the connection is active."""
        current = await self.get(connection_id)
        grant = await self._grant(current.platform, credentials)
        async with self.database.transaction() as conn:
            row = await repo.get(conn, connection_id, for_update=True)
            if row is None:
                raise ConnectionNotFound(f"no connection {connection_id}")
            await repo.store_grant(
                conn,
                connection_id,
                access_enc=self.cipher.encrypt(grant.access_token),
                refresh_enc=self.cipher.encrypt(grant.refresh_token) if grant.refresh_token else None,
                key_id=self.cipher.current_key_id,
                expires_at=grant.expires_at,
                refresh_expires_at=grant.refresh_expires_at,
                refreshed=False,
                token_type=grant.token_type,
                scopes=list(grant.scopes),
                ad_account_ids=list(grant.account_ids),
            )
        self._forget_preflight(connection_id)
        log.info("connection %s re-authenticated", connection_id)
        return await self.get(connection_id)

    async def revoke(self, connection_id: str, reason: str | None = None) -> Connection:
        """Stop publishing as this connection: its tokens are erased (not kept for a later undo), new
        publishes naming it are rejected, and runs holding it fail their next call with an auth error.
        Revoking again changes nothing; `reauth` is a new authorization and makes it active again.
        The grant on the platform's side is left alone: a person withdraws it in the platform's own
        settings if the app should lose access there too."""
        text = redact((reason or "").strip())[:500] or "revoked by an operator"
        async with self.database.connection() as conn:  # one statement: atomic on its own
            revoked = await repo.revoke(conn, connection_id, text)
        self._forget_preflight(connection_id)
        if revoked is None:
            return await self.get(connection_id)  # revoked already, or ConnectionNotFound
        log.warning("connection %s revoked: %s", connection_id, text)
        return revoked

    async def _grant(self, platform: Platform, credentials: Mapping[str, str]) -> TokenGrant:
        values = {k: str(v) for k, v in credentials.items() if v not in (None, "")}
        for name, value in values.items():
            if name != "redirect_uri":
                register_secret(value)  # whatever else a person brings is a secret (tokens, codes)
        if not values:
            raise InvalidRequest(f"no credentials given for {platform.value}")
        try:
            grant = await self.auth(platform).connect(values)
        except ReauthNeeded as exc:
            raise ConnectRejected(f"{platform.value} refused the credentials: {redact(str(exc))}") from None
        except (PlatformCallError, OutcomeUnknown) as exc:
            raise _refusal(platform, exc) from None
        register_secret(grant.access_token)
        register_secret(grant.refresh_token)
        return grant

    async def get(self, connection_id: str) -> Connection:
        async with self.database.connection() as conn:
            row = await repo.get(conn, connection_id)
        if row is None:
            raise ConnectionNotFound(f"no connection {connection_id}")
        return row.view

    async def list(self, platform: Platform | None = None) -> list[Connection]:
        async with self.database.connection() as conn:
            return await repo.list_all(conn, platform)

    # ---- tokens ------------------------------------------------------------------------------
    async def access_token(self, connection_id: str, context: Context = NO_CONTEXT) -> str:
        """A currently valid access token: refreshed ahead of expiry where the platform allows;
        ReauthNeeded when only a person can help."""
        async with self.database.connection() as conn:
            row = await repo.get(conn, connection_id)
        if row is None:
            raise ConnectionNotFound(f"no connection {connection_id}")
        view = row.view
        if view.status is not ConnectionStatus.ACTIVE:
            raise ReauthNeeded(
                f"connection {connection_id} is {view.status.value}: {view.status_reason or ''}"
            )
        if self._expiring(view):
            reason = "the token is about to expire" if view.refreshable else "the token expired"
            return await self._refresh(connection_id, None, reason, context)
        assert row.access_enc is not None  # only a revoked connection has none
        return self._decrypt(row.access_enc, view.key_id)

    async def after_auth_error(
        self, connection_id: str, failed_token: str, context: Context = NO_CONTEXT, reason: str | None = None
    ) -> str | None:
        """A call with `failed_token` was refused as unauthenticated. Refresh if the platform allows and
        the token is still the current one; a newer current token is returned as is; otherwise the
        connection needs re-authentication (None)."""
        try:
            return await self._refresh(
                connection_id, failed_token, reason or "the platform refused the token", context
            )
        except ReauthNeeded:
            return None

    def _expiring(self, view: Connection) -> bool:
        return view.expires_at is not None and view.expires_at - datetime.now(UTC) <= (
            self.refresh_margin if view.refreshable else timedelta(0)
        )

    async def _refresh(
        self, connection_id: str, failed_token: str | None, reason: str, context: Context
    ) -> str:
        """The one-owner refresh (see the module docstring)."""
        outcome: str | ReauthNeeded
        async with self.database.transaction() as conn:
            row = await repo.get(conn, connection_id, for_update=True)
            if row is None:
                raise ConnectionNotFound(f"no connection {connection_id}")
            view = row.view
            if view.status is not ConnectionStatus.ACTIVE:
                raise ReauthNeeded(f"connection {connection_id} is {view.status.value}")
            assert row.access_enc is not None  # only a revoked connection has none
            current = self._decrypt(row.access_enc, view.key_id)
            needed = current == failed_token if failed_token is not None else self._expiring(view)
            if not needed:
                return current  # another caller refreshed (or re-authenticated) while we waited
            if row.refresh_enc is None:
                outcome = ReauthNeeded(f"{view.platform.value} token cannot be refreshed: {reason}")
                await self._mark(conn, connection_id, str(outcome), context)
            else:
                outcome = await self._refresh_locked(conn, row, context)
        if isinstance(outcome, ReauthNeeded):
            self._forget_preflight(connection_id)
            raise outcome
        return outcome

    async def _refresh_locked(
        self, conn: asyncpg.Connection, row: repo.StoredConnection, context: Context
    ) -> str | ReauthNeeded:
        view = row.view
        assert row.refresh_enc is not None
        refresh_token = self._decrypt(row.refresh_enc, view.key_id)
        try:
            grant = await self.auth(view.platform).refresh(refresh_token)
        except ReauthNeeded as exc:
            await self._mark(conn, view.id, f"refresh refused: {exc}", context)
            return exc
        except OutcomeUnknown as exc:
            # Sent, unanswered: the old refresh token may already be spent. Keep the row; the next
            # attempt learns the truth (a refusal then asks for re-authentication).
            raise PlatformCallError.of(
                ErrorCategory.TRANSIENT, f"token refresh of {view.id} got no answer: {exc}"
            ) from None
        register_secret(grant.access_token)
        register_secret(grant.refresh_token)
        await repo.store_grant(
            conn,
            view.id,
            access_enc=self.cipher.encrypt(grant.access_token),
            # Rotation: the new refresh token replaces the spent one (kept only if none came back).
            refresh_enc=self.cipher.encrypt(grant.refresh_token) if grant.refresh_token else row.refresh_enc,
            key_id=self.cipher.current_key_id,
            expires_at=grant.expires_at,
            refresh_expires_at=grant.refresh_expires_at or view.refresh_expires_at,
            refreshed=True,
            token_type=grant.token_type,
        )
        log.info("connection %s token refreshed", view.id)
        return grant.access_token

    async def mark_reauth_required(
        self, connection_id: str, reason: str, context: Context = NO_CONTEXT
    ) -> bool:
        """Active → reauth_required with one ReauthRequired event; False when it was not active."""
        async with self.database.transaction() as conn:
            marked = await self._mark(conn, connection_id, reason, context)
        self._forget_preflight(connection_id)
        return marked

    async def _mark(
        self, conn: asyncpg.Connection, connection_id: str, reason: str, context: Context
    ) -> bool:
        reason = redact(reason)[:500]
        view = await repo.mark_reauth_required(conn, connection_id, reason)
        if view is None:
            return False
        payload = ReauthRequired(
            connection_id=view.id,
            platform=view.platform,
            ad_account_ids=list(view.ad_account_ids),
            reason=reason,
        )
        await self.outbox.add(
            conn,
            Envelope.new(
                payload,
                campaign_id=context.campaign_id or f"connection:{view.id}",
                publish_id=context.publish_id,
                event_id=stable_event_id(PRODUCER, view.id, "reauth", str(view.version)),
            ),
        )
        log.warning("connection %s needs re-authentication: %s", view.id, reason)
        return True

    def _decrypt(self, ciphertext: bytes, key_id: str) -> str:
        token = self.cipher.decrypt(ciphertext, key_id)
        register_secret(token)
        return token

    # ---- check and pre-flight ----------------------------------------------------------------
    async def check(self, connection_id: str, context: Context = NO_CONTEXT) -> CheckResult:
        """Inspect the token and pre-flight every account it reaches; stored as the last check."""
        view = await self.get(connection_id)
        auth = self.auth(view.platform)
        info = await self._inspect(view, auth, context)
        accounts: list[AccountStatus] = []
        if info.valid:
            for account_id in info.account_ids or view.ad_account_ids:
                try:
                    accounts.append(await self.preflight(connection_id, account_id, context, fresh=True))
                except ReauthNeeded as exc:
                    # The token died between the inspection and the pre-flight: say so in both.
                    info = TokenInfo(valid=False, reason=str(exc))
                    accounts.append(
                        _refused(view.platform, account_id, AccountProblem.REAUTH_REQUIRED, str(exc))
                    )
        else:
            problem = (
                AccountProblem.REVOKED
                if view.status is ConnectionStatus.REVOKED
                else AccountProblem.REAUTH_REQUIRED
            )
            accounts = [_refused(view.platform, a, problem, info.reason) for a in view.ad_account_ids]
        result = CheckResult(connection=view, token=info, accounts=accounts)
        stored = result.to_json()
        stored.pop("connection")
        async with self.database.transaction() as conn:
            await repo.record_check(
                conn,
                connection_id,
                ok=result.ok,
                result=stored,
                scopes=list(info.scopes) if info.valid and info.scopes else None,
                ad_account_ids=list(info.account_ids) if info.valid and info.account_ids else None,
                expires_at=info.expires_at if info.valid else None,
            )
        log.info("connection %s checked: ok=%s", connection_id, result.ok)
        return CheckResult(connection=await self.get(connection_id), token=info, accounts=accounts)

    async def _inspect(self, view: Connection, auth: PlatformAuth, context: Context) -> TokenInfo:
        if view.status is not ConnectionStatus.ACTIVE:
            return TokenInfo(
                valid=False, reason=view.status_reason or f"the connection is {view.status.value}"
            )
        try:
            token = await _guard(view.platform, self.access_token(view.id, context))
            info: TokenInfo = await _guard(view.platform, auth.inspect(token))
            if info.valid:
                return info
            fresh = await self.after_auth_error(view.id, token, context, info.reason or "token invalid")
            if fresh is None:
                return info
            info = await _guard(view.platform, auth.inspect(fresh))
            if not info.valid:
                await self.mark_reauth_required(
                    view.id, f"a fresh token is invalid too: {info.reason}", context
                )
            return info
        except ReauthNeeded as exc:
            return TokenInfo(valid=False, reason=redact(str(exc)))

    async def preflight(
        self,
        connection_id: str,
        account_id: str,
        context: Context = NO_CONTEXT,
        *,
        fresh: bool = False,
        platform: Platform | None = None,
    ) -> AccountStatus:
        """Can this connection publish to `account_id` now? An account that cannot be used is a typed
        `reason` (`AccountProblem`), cached for `preflight_ttl_s` like any answer. The connection itself
        failing is not an account problem: ReauthNeeded (a person must re-authenticate; the connection
        is marked and ReauthRequired emitted), ConnectionNotFound, or PlatformUnavailable (retry later;
        nothing cached). With `platform`, a connection of another platform is ConnectionNotFound."""
        view = await self.get(connection_id)
        if platform is not None and view.platform is not Platform(platform):
            raise ConnectionNotFound(
                f"connection {connection_id} is a {view.platform.value} connection, not {Platform(platform).value}"
            )
        # The connection's own state first: a cached answer must never hide a re-auth requirement.
        if view.status is ConnectionStatus.REVOKED:
            raise ConnectionRevoked(f"{_status_text(view)} (reauth it, or name another connection)")
        if view.status is not ConnectionStatus.ACTIVE:
            raise ReauthNeeded(_status_text(view))
        key = (connection_id, _account_key(view.platform, account_id))
        cached = self._preflight.get(key)
        if cached is not None and not fresh and cached[0] > time.monotonic():
            return cached[1]
        auth = self.auth(view.platform)
        try:
            status: AccountStatus = await self._with_token(
                view, context, lambda token: auth.account_status(token, account_id)
            )
        except ReauthNeeded:
            raise ReauthNeeded(_status_text(await self.get(connection_id))) from None
        self._preflight[key] = (time.monotonic() + self.preflight_ttl_s, status)
        return status

    async def _with_token(
        self, view: Connection, context: Context, call: Callable[[str], Awaitable[AccountStatus]]
    ) -> AccountStatus:
        """`call(token)`; when the platform refuses the token, the one-owner refresh (or re-auth
        marking) and one retry with the token that comes out of it."""
        token = await _guard(view.platform, self.access_token(view.id, context))
        try:
            return await _guard(view.platform, call(token))
        except ReauthNeeded as exc:
            reason = str(exc)
        except PlatformCallError as exc:
            # AUTH on Meta/TikTok calls means adrelay's app credentials, not the person's token.
            if exc.category is not ErrorCategory.AUTH or not view.refreshable:
                raise
            reason = exc.error.message
        retry = await self.after_auth_error(view.id, token, context, reason)
        if retry is None:
            raise ReauthNeeded(reason)
        try:
            return await _guard(view.platform, call(retry))
        except (ReauthNeeded, PlatformCallError) as exc:
            if isinstance(exc, PlatformCallError) and exc.category is not ErrorCategory.AUTH:
                raise
            await self.mark_reauth_required(view.id, f"a fresh token was refused too: {exc}", context)
            raise ReauthNeeded(str(exc)) from None

    def _forget_preflight(self, connection_id: str) -> None:
        for key in [k for k in self._preflight if k[0] == connection_id]:
            del self._preflight[key]

    # ---- key rotation ------------------------------------------------------------------------
    async def rotate_keys(self, batch: int = 100) -> int:
        """Re-encrypt every row not under the newest key; returns how many. Rows under a key no longer
        configured are left as they are and reported (by connection and key id) at the end."""
        rotated, unreadable = 0, list[str]()
        while True:
            async with self.database.transaction() as conn:
                rows = await repo.under_other_keys(conn, self.cipher.current_key_id, unreadable, batch)
                for row in rows:
                    try:
                        access = self.cipher.rotate(bytes(row["access_token_enc"]))
                        refresh = row["refresh_token_enc"]
                        refresh = self.cipher.rotate(bytes(refresh)) if refresh else None
                    except TokenKeyError:
                        unreadable.append(row["id"])
                        continue
                    await repo.reencrypted(conn, row["id"], access, refresh, self.cipher.current_key_id)
                    rotated += 1
            if len(rows) < batch:
                break
        log.info("re-encrypted %d connections under key %s", rotated, self.cipher.current_key_id)
        if unreadable:
            raise TokenKeyError(
                f"{len(unreadable)} connections are under keys not configured and were left as they are: "
                + ", ".join(unreadable)
            )
        return rotated


async def _guard(platform: Platform, call: Awaitable[T]) -> T:
    """A platform outage (unreachable, throttled, 5xx, no answer) becomes PlatformUnavailable."""
    try:
        return await call
    except OutcomeUnknown as exc:
        raise PlatformUnavailable(f"{platform.value} did not answer: {redact(str(exc))}") from None
    except PlatformCallError as exc:
        if exc.category in (ErrorCategory.TRANSIENT, ErrorCategory.RATE_LIMIT):
            raise PlatformUnavailable(
                f"{platform.value} is unavailable now: {redact(exc.error.message)}"
            ) from None
        raise


def _platform(value: Platform | str) -> Platform:
    try:
        return Platform(value)
    except ValueError:
        raise InvalidRequest(f"unknown platform {value!r} (meta, tiktok, snapchat)") from None


def _account_key(platform: Platform, account_id: str) -> str:
    text = str(account_id).strip()
    if platform is Platform.META and not text.startswith("act_"):
        return f"act_{text}"
    return text


def _refused(
    platform: Platform, account_id: str, problem: AccountProblem, detail: str | None
) -> AccountStatus:
    return AccountStatus(
        account_id=_account_key(platform, account_id),
        reachable=False,
        can_spend=False,
        reason=problem,
        detail=detail,
    )


def _status_text(view: Connection) -> str:
    text = f"connection {view.id} ({view.platform.value}) is {view.status.value}"
    if view.status is ConnectionStatus.ACTIVE:
        return text + " but its token was refused"
    return text + (f": {view.status_reason}" if view.status_reason else "")


def _refusal(platform: Platform, exc: Exception) -> Exception:
    """A platform error as the module's own refusal: outages are retryable, the rest are the person's
    (or adrelay's configuration) to fix. Messages are redacted; the platforms' never carry tokens."""
    message = redact(str(exc.error.message if isinstance(exc, PlatformCallError) else exc))
    if isinstance(exc, OutcomeUnknown) or (
        isinstance(exc, PlatformCallError)
        and exc.category in (ErrorCategory.TRANSIENT, ErrorCategory.RATE_LIMIT)
    ):
        return PlatformUnavailable(f"{platform.value} is unavailable now: {message}")
    return ConnectRejected(f"{platform.value} refused: {message}")


__all__ = ["PRODUCER", "ConnectionManager", "Context"]
