"""Access tokens as Graph issues and checks them.

Tokens come from the seed (short-lived user tokens, system-user tokens with `expires_at` 0) or from
the long-lived exchange (`/oauth/access_token?grant_type=fb_exchange_token`, 5183944 s). A call's
token is taken from `access_token` (query or form) or `Authorization: Bearer`. App access tokens are
`<app_id>|<app_secret>`. Expired tokens fail with 190/463, invalidated ones with 190/467, strings the
sandbox never issued with 190 "Cannot parse access token".
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from sandbox.meta.errors import (
    GraphError,
    ads_management_missing,
    no_account_access,
    no_token,
    token_expired,
    token_invalidated,
    token_unparseable,
)

LONG_LIVED_S = 5183944
SHORT_LIVED_S = 3600 * 2
DATA_ACCESS_S = 90 * 86400
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class App:
    app_id: str
    app_secret: str
    name: str = "adrelay"


@dataclass
class Token:
    access_token: str
    app_id: str
    type: str = "USER"  # USER | SYSTEM_USER | PAGE
    user_id: str = "100000000000001"
    scopes: list[str] = field(default_factory=lambda: ["ads_management", "ads_read"])
    accounts: list[str] = field(default_factory=lambda: ["*"])  # bare account numbers, "*" = all seeded
    issued_at: int = field(default_factory=lambda: int(time.time()))
    expires_at: int = 0  # 0 = never expires
    data_access_expires_at: int = 0
    valid: bool = True
    short_lived: bool = False

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at != 0 and (now or time.time()) >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def new_token_string() -> str:
    return "EAA" + "".join(secrets.choice(_ALPHABET) for _ in range(180))


def token_from_seed(raw: dict[str, Any], default_app: str | None) -> Token:
    now = int(time.time())
    app_id = str(raw.get("app_id") or default_app or "")
    if not app_id:
        raise ValueError("token needs app_id (or seed one app first)")
    token_type = str(raw.get("type", "USER"))
    short = bool(raw.get("short_lived", False))
    if "expires_at" in raw:
        expires_at = int(raw["expires_at"])
    elif "expires_in" in raw:
        expires_at = now + int(raw["expires_in"])
    elif token_type == "SYSTEM_USER":
        expires_at = 0
    else:
        expires_at = now + (SHORT_LIVED_S if short else LONG_LIVED_S)
    accounts = [_bare(a) for a in raw.get("accounts", ["*"])]
    return Token(
        access_token=str(raw.get("access_token") or new_token_string()),
        app_id=app_id,
        type=token_type,
        user_id=str(raw.get("user_id", "100000000000001")),
        scopes=list(raw.get("scopes", ["ads_management", "ads_read"])),
        accounts=accounts,
        issued_at=int(raw.get("issued_at", now)),
        expires_at=expires_at,
        data_access_expires_at=int(
            raw.get("data_access_expires_at", 0 if expires_at == 0 else now + DATA_ACCESS_S)
        ),
        valid=bool(raw.get("valid", True)),
        short_lived=short,
    )


def _bare(account: Any) -> str:
    text = str(account)
    return text[4:] if text.startswith("act_") else text


def _pst(ts: float) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo("America/Los_Angeles")).strftime("%A, %d-%b-%y %H:%M:%S %Z")


def token_string(request: web.Request, params: dict[str, Any]) -> str | None:
    token = params.get("access_token")
    if token:
        return str(token)
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") or header.lower().startswith("oauth "):
        return header.split(" ", 1)[1].strip()
    return None


class Auth:
    """Token and app registry with Graph's checks."""

    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self.tokens: dict[str, Token] = {}

    def clear(self) -> None:
        self.apps.clear()
        self.tokens.clear()

    def app_token(self, token: str) -> App | None:
        if "|" not in token:
            return None
        app_id, secret = token.split("|", 1)
        app = self.apps.get(app_id)
        return app if app is not None and app.app_secret == secret else None

    def check(self, token: str | None) -> Token:
        """The user/system token of a call, or the Graph error for it."""
        if not token:
            raise no_token()
        if self.app_token(token) is not None:
            # An app token cannot manage ads: Graph answers with a permission error.
            raise GraphError("(#200) Provide valid app ID", 200)
        found = self.tokens.get(token)
        if found is None:
            raise token_unparseable()
        if not found.valid:
            raise token_invalidated()
        now = time.time()
        if found.expired(now):
            raise token_expired(_pst(found.expires_at), _pst(now))
        return found

    @staticmethod
    def require_account(token: Token, account: str, write: bool) -> None:
        if "*" not in token.accounts and account not in token.accounts:
            raise no_account_access(f"act_{account}")
        if write and "ads_management" not in token.scopes:
            raise ads_management_missing()
        if not write and not {"ads_management", "ads_read"} & set(token.scopes):
            raise ads_management_missing()

    # ---- token endpoints -----------------------------------------------------------------
    def exchange(self, params: dict[str, Any]) -> dict[str, Any]:
        grant = params.get("grant_type")
        app = self._client(params)
        if grant == "client_credentials":
            return {"access_token": f"{app.app_id}|{app.app_secret}", "token_type": "bearer"}
        if grant != "fb_exchange_token":
            raise GraphError(
                "(#100) Invalid grant_type: must be fb_exchange_token or client_credentials", 100
            )
        short = params.get("fb_exchange_token")
        if not short:
            raise GraphError("(#100) The parameter fb_exchange_token is required.", 100)
        source = self.check(str(short))
        if source.app_id != app.app_id:
            raise GraphError("Error validating application. Application ID does not match the token.", 100)
        now = int(time.time())
        long_lived = Token(
            access_token=new_token_string(),
            app_id=app.app_id,
            type=source.type,
            user_id=source.user_id,
            scopes=list(source.scopes),
            accounts=list(source.accounts),
            issued_at=now,
            expires_at=now + LONG_LIVED_S,
            data_access_expires_at=now + DATA_ACCESS_S,
        )
        self.tokens[long_lived.access_token] = long_lived
        return {"access_token": long_lived.access_token, "token_type": "bearer", "expires_in": LONG_LIVED_S}

    def _client(self, params: dict[str, Any]) -> App:
        client_id = str(params.get("client_id") or "")
        app = self.apps.get(client_id)
        if app is None:
            raise GraphError("Error validating application. Invalid application ID.", 101)
        if str(params.get("client_secret") or "") != app.app_secret:
            raise GraphError("Error validating client secret.", 1)
        return app

    def debug(self, params: dict[str, Any], caller: str | None) -> dict[str, Any]:
        if not caller:
            raise GraphError(
                "(#100) You must provide an app access token, or a user access token that is an owner or "
                "developer of the app",
                100,
            )
        app = self.app_token(caller)
        if app is None:
            app_id = self.check(caller).app_id
            app = self.apps.get(app_id)
        if app is None:
            raise token_unparseable()
        input_token = params.get("input_token")
        if not input_token:
            raise GraphError("(#100) The parameter input_token is required", 100)
        found = self.tokens.get(str(input_token))
        if found is None:
            return {
                "data": {
                    "error": {"code": 190, "message": "Invalid OAuth access token."},
                    "is_valid": False,
                    "scopes": [],
                }
            }
        data: dict[str, Any] = {
            "app_id": found.app_id,
            "type": found.type,
            "application": self.apps[found.app_id].name if found.app_id in self.apps else "",
            "data_access_expires_at": found.data_access_expires_at,
            "expires_at": found.expires_at,
            "is_valid": found.valid and not found.expired(),
            "issued_at": found.issued_at,
            "scopes": list(found.scopes),
            "granular_scopes": [
                {"scope": s, "target_ids": [] if "*" in found.accounts else list(found.accounts)}
                for s in found.scopes
                if s.startswith("ads_")
            ],
            "user_id": found.user_id,
        }
        if found.expired():
            data["error"] = {
                "code": 190,
                "message": f"Error validating access token: Session has expired on {_pst(found.expires_at)}.",
                "subcode": 463,
            }
        elif not found.valid:
            data["error"] = {"code": 190, "message": "Error validating access token.", "subcode": 467}
        return {"data": data}

    # ---- state file ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "apps": [asdict(a) for a in self.apps.values()],
            "tokens": [t.to_json() for t in self.tokens.values()],
        }

    def restore(self, raw: dict[str, Any]) -> None:
        self.apps = {a["app_id"]: App(**a) for a in raw.get("apps", [])}
        self.tokens = {t["access_token"]: Token(**t) for t in raw.get("tokens", [])}
