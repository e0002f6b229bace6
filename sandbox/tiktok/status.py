"""`/campaign/status/update/`, `/adgroup/status/update/`, `/ad/status/update/`.

The only way to delete on TikTok: `operation_status: DELETE` (there is no delete endpoint). A deleted
object can never change status again; deleting a campaign or ad group deletes its children too
(switch `cascade_delete`). Ad groups support `allow_partial_success` with an `error_list`.
"""

from __future__ import annotations

from typing import Any

from sandbox.common.store import SandboxObject
from sandbox.tiktok import enums, errors
from sandbox.tiktok.api import Ctx, Reply
from sandbox.tiktok.errors import ApiError, param_error
from sandbox.tiktok.objects import AD, ADGROUP, CAMPAIGN, LABEL, find, set_operation_status

_MAX_IDS = {CAMPAIGN: 20, ADGROUP: 100, AD: 100}
_IDS_FIELD = {CAMPAIGN: "campaign_ids", ADGROUP: "adgroup_ids", AD: "ad_ids"}
_ID_FIELD = {CAMPAIGN: "campaign_id", ADGROUP: "adgroup_id", AD: "ad_id"}


def _check(ctx: Ctx, kind: str, advertiser_id: str, object_id: str) -> SandboxObject:
    obj = find(ctx.sb, kind, advertiser_id, object_id, field=_IDS_FIELD[kind])
    if obj.deleted:
        raise param_error(
            _IDS_FIELD[kind], f"{LABEL[kind]} {object_id} has been deleted and its status cannot be changed."
        )
    return obj


def _apply(ctx: Ctx, obj: SandboxObject, status: str) -> None:
    set_operation_status(obj, status, ctx.now)
    if status != "DELETE" or not ctx.switch("cascade_delete"):
        return
    child_kind = {CAMPAIGN: ADGROUP, ADGROUP: AD}.get(obj.kind)
    if child_kind is None:
        return
    for child in ctx.store.children(obj.id, child_kind):
        if not child.deleted:
            set_operation_status(child, "DELETE", ctx.now, reason=obj.kind)
        if child_kind == ADGROUP:
            for ad in ctx.store.children(child.id, AD):
                if not ad.deleted:
                    set_operation_status(ad, "DELETE", ctx.now, reason=CAMPAIGN)


async def _update(ctx: Ctx, kind: str, partial_allowed: bool) -> Any:
    p = ctx.params
    extra = ("allow_partial_success",) if partial_allowed else ()
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(("advertiser_id", _IDS_FIELD[kind], "operation_status", *extra))
    adv = ctx.advertiser()
    object_ids = p.id_list(_IDS_FIELD[kind], required=True, min_items=1, max_items=_MAX_IDS[kind])
    status = p.enum("operation_status", enums.OPERATION_STATUS_UPDATE, required=True)
    partial = bool(p.boolean("allow_partial_success", default=False)) if partial_allowed else False
    assert object_ids is not None and status is not None
    ok: list[SandboxObject] = []
    error_list: list[dict[str, Any]] = []
    for object_id in object_ids:
        try:
            ok.append(_check(ctx, kind, adv.advertiser_id, object_id))
        except ApiError as err:
            if not partial:
                raise
            error_list.append(
                {_ID_FIELD[kind]: object_id, "error_code": err.code, "error_message": err.message}
            )
    for obj in ok:
        _apply(ctx, obj, status)
    data: dict[str, Any] = {_IDS_FIELD[kind]: [o.id for o in ok], "status": status}
    if kind == CAMPAIGN:
        data["campaign_list"] = [{"campaign_id": o.id, "status": status} for o in ok]
    if partial:
        data["error_list"] = error_list
        if error_list:
            code = int(ctx.switch("partial_success_code"))
            return Reply(data, code=code, message="OK" if code == errors.OK else "Partial success")
    return data


async def campaign(ctx: Ctx) -> Any:
    return await _update(ctx, CAMPAIGN, partial_allowed=False)


async def adgroup(ctx: Ctx) -> Any:
    return await _update(ctx, ADGROUP, partial_allowed=True)


async def ad(ctx: Ctx) -> Any:
    return await _update(ctx, AD, partial_allowed=False)
