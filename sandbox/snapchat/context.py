"""One API call as the handlers see it: who calls, when, and the lookups every handler repeats
(resolve an entity, check the caller may touch its ad account, read the batch body)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.common.server import FIELDS
from sandbox.common.store import SandboxObject
from sandbox.snapchat import errors
from sandbox.snapchat.errors import SnapError, bad_request, not_found
from sandbox.snapchat.objects import LABELS, WRAPPERS
from sandbox.snapchat.paging import parse_bool
from sandbox.snapchat.validation import Context as ValidationContext

if TYPE_CHECKING:
    from sandbox.snapchat.app import SnapchatSandbox

# Set by the `disapprove` fault on the matched request: the review reasons its ads get.
DISAPPROVE: web.RequestKey[list[str]] = web.RequestKey("snap_disapprove", list)


@dataclass
class Ctx:
    sandbox: SnapchatSandbox
    request: web.Request
    grant: dict[str, Any]
    now: float
    request_id: str

    @property
    def fields(self) -> dict[str, Any]:
        return self.request.get(FIELDS) or {}

    def param(self, name: str) -> str:
        return self.request.match_info[name]

    def show_deleted(self) -> bool:
        raw = self.request.query.get("read_deleted_entities")
        return parse_bool(raw, "read_deleted_entities") if raw is not None else False

    # ---- lookups ------------------------------------------------------------------------------
    def account(self, account_id: str) -> SandboxObject:
        account = self.sandbox.entities.get("adaccount", account_id)
        if account is None or account.deleted:
            raise not_found("AdAccount", account_id)
        self.sandbox.auth.require_account(self.grant, account)
        return account

    def entity(self, kind: str, entity_id: str, allow_deleted: bool = False) -> SandboxObject:
        obj = self.sandbox.entities.get(kind, entity_id)
        if obj is None or (obj.deleted and not allow_deleted):
            raise not_found(LABELS[kind], entity_id)
        account = self.sandbox.entities.account_of(obj)
        if account is None:
            raise not_found(LABELS[kind], entity_id)
        self.sandbox.auth.require_account(self.grant, account)
        return obj

    def items(self, kind: str) -> list[Any]:
        """The batch list of a write body (`{"campaigns": [...]}`), or a request-level 400."""
        plural = WRAPPERS[kind][0]
        body = self.fields
        if body.get("__invalid_json__"):
            raise bad_request("Request body is not valid JSON")
        if self.request.content_type != "application/json":
            raise bad_request("Content-Type must be application/json")
        items = body.get(plural)
        if not isinstance(items, list) or not items:
            raise bad_request(f"Request body must contain a non-empty '{plural}' list")
        return items

    def validation(self, account: SandboxObject) -> ValidationContext:
        s = self.sandbox
        return ValidationContext(s.config, s.entities, s.state, account, self.now)

    def writer(self) -> dict[str, Any]:
        """Who wrote: the app and user behind the access token (created_by_* / last_updated_by_*)."""
        app = self.sandbox.state.apps.get(self.grant["client_id"], {})
        return {"app": app.get("app_id") or self.grant["client_id"], "user": self.grant.get("user_id")}


def method_not_allowed(what: str) -> SnapError:
    return SnapError(405, errors.E_METHOD, f"{what} is not supported by the Snap Marketing API")
