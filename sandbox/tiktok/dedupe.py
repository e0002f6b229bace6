"""The only server-side deduplication TikTok offers: `request_id` on campaign and ad group creates.

Same value within the window (10 s, switch `request_id_window_s`) → 40050; after it, a new object —
it is no durable idempotency key. Whether duplicate names are refused without a request_id is
UNCONFIRMED (switch `duplicate_names`, default "allow").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.tiktok.errors import DUPLICATED_REQUEST, ApiError, param_error
from sandbox.tiktok.objects import LABEL, NAME_FIELD

if TYPE_CHECKING:
    from sandbox.tiktok.api import Ctx

_INT64_MAX = 2**63 - 1


def request_id_param(ctx: Ctx) -> str | None:
    """`request_id`: the decimal string of a 64-bit integer."""
    value = ctx.params.string("request_id")
    if value is None:
        return None
    if not value.isdigit() or int(value) > _INT64_MAX:
        raise param_error("request_id", "Must be the string form of a 64-bit integer.")
    return value


def check_request_id(ctx: Ctx, endpoint: str, advertiser_id: str, request_id: str | None) -> None:
    if request_id is None:
        return
    window = float(ctx.switch("request_id_window_s"))
    seen = ctx.state.request_ids.get((advertiser_id, endpoint, request_id))
    if seen is not None and ctx.now - seen < window:
        raise ApiError(
            DUPLICATED_REQUEST,
            f"Duplicated request: request_id {request_id} was already used in the last {window:g} seconds.",
        )


def remember_request_id(ctx: Ctx, endpoint: str, advertiser_id: str, request_id: str | None) -> None:
    if request_id is None:
        return
    window = float(ctx.switch("request_id_window_s"))
    stale = [k for k, t in ctx.state.request_ids.items() if ctx.now - t >= window]
    for key in stale:
        del ctx.state.request_ids[key]
    ctx.state.request_ids[(advertiser_id, endpoint, request_id)] = ctx.now


def check_duplicate_name(
    ctx: Ctx,
    kind: str,
    advertiser_id: str,
    parent_id: str | None,
    name: str,
    request_id: str | None,
    exclude_id: str | None = None,
) -> None:
    """With `duplicate_names: "reject"`, a live sibling with the same name is refused (no request_id)."""
    if request_id is not None or ctx.switch("duplicate_names") != "reject":
        return
    for obj in ctx.store.all(kind):
        if obj.account_id != advertiser_id or obj.deleted or obj.id == exclude_id:
            continue
        if parent_id is not None and obj.parent_id != parent_id:
            continue
        if obj.name == name:
            raise param_error(
                NAME_FIELD[kind],
                f"{LABEL[kind]} name already exists: {name!r} ({LABEL[kind].lower()} {obj.id}).",
            )
