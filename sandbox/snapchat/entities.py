"""Campaigns, ad squads, creatives and ads: batch create (POST), full replace (PUT on the
collection), read by id, list, and DELETE where Snap has one.

Batch writes answer `{"request_status","request_id","<plural>":[{"sub_request_status":"SUCCESS",
"<singular>":{…}}]}`; a refused item becomes `{"sub_request_status":"ERROR","sub_request_error_reason":…}`
while the valid items are still applied, and the request then reports `request_status: ERROR` with HTTP
status `batch_item_error_status` (200 by default). PUT replaces the whole entity: attributes left out
fall back to their defaults (recorded: a PUT without budgets drops them). DELETE answers
`{"request_status":"SUCCESS","request_id","<plural>":[]}` and leaves the entity readable only with
`read_deleted_entities=true`. Creatives have no DELETE (switch `creative_delete_supported`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sandbox.common.store import SandboxObject
from sandbox.snapchat import paging, validation
from sandbox.snapchat.context import DISAPPROVE, Ctx, method_not_allowed
from sandbox.snapchat.errors import E_ITEM_NOT_FOUND, NOT_FOUND_MESSAGE, ItemError
from sandbox.snapchat.lifecycle import touch
from sandbox.snapchat.objects import LABELS, WRAPPERS, envelope, make_object, new_id, render, sync_row
from sandbox.snapchat.switches import switch
from sandbox.snapchat.times import utc_ms

Result = tuple[int, dict[str, Any]]
PRIVATE_KEEP = (
    "_created_by_app",
    "_created_by_user",
    "_delivery",
    "_review_due",
    "_review_outcome",
    "_review_reasons",
)


# ---- shared machinery ------------------------------------------------------------------------------
def create_object(
    ctx: Ctx, kind: str, fields: dict[str, Any], parent_id: str | None, account_id: str
) -> SandboxObject:
    stamp = utc_ms(ctx.now)
    writer = ctx.writer()
    full = {"id": new_id(), "updated_at": stamp, "created_at": stamp, **fields}
    full["_created_by_app"] = writer["app"]
    full["_created_by_user"] = writer["user"]
    obj = make_object(kind, full, parent_id, account_id, ctx.now)
    return ctx.sandbox.store.put(obj)


def replace_fields(ctx: Ctx, obj: SandboxObject, fields: dict[str, Any]) -> None:
    writer = ctx.writer()
    kept = {k: v for k, v in obj.fields.items() if k in PRIVATE_KEEP}
    obj.fields = {
        "id": obj.id,
        "updated_at": utc_ms(ctx.now),
        "created_at": obj.fields.get("created_at"),
        **fields,
    }
    obj.fields.update(kept)
    obj.fields.setdefault("_created_by_app", writer["app"])
    obj.fields.setdefault("_created_by_user", writer["user"])
    obj.fields["_updated_by_app"] = writer["app"]
    obj.fields["_updated_by_user"] = writer["user"]
    obj.updated_at = ctx.now
    sync_row(obj)


def target_for_update(
    ctx: Ctx, kind: str, item: dict[str, Any], parent_ok: Callable[[SandboxObject], bool]
) -> SandboxObject:
    entity_id = item.get("id")
    if not entity_id:
        raise ItemError("id is required to update an entity")
    obj = ctx.sandbox.entities.get(kind, str(entity_id))
    if obj is None or obj.deleted or not parent_ok(obj):
        raise ItemError(f"{LABELS[kind]} {entity_id}: {NOT_FOUND_MESSAGE}", E_ITEM_NOT_FOUND)
    return obj


def batch(
    ctx: Ctx, kind: str, one: Callable[[dict[str, Any]], SandboxObject], mode: str, account: SandboxObject
) -> Result:
    results: list[SandboxObject | ItemError] = []
    for item in ctx.items(kind):
        if not isinstance(item, dict):
            results.append(ItemError("Each item must be a JSON object"))
            continue
        try:
            results.append(one(item))
        except ItemError as exc:
            results.append(exc)
    ctx.sandbox.lifecycle.refresh_account(account.id, ctx.now)
    plural, singular = WRAPPERS[kind]
    entries: list[dict[str, Any]] = []
    failed = False
    for result in results:
        if isinstance(result, ItemError):
            failed = True
            entries.append(result.entry())
        else:
            rendered = render(ctx.sandbox.entities, result, ctx.now, mode=mode)
            entries.append({"sub_request_status": "SUCCESS", singular: rendered})
    body = {"request_status": "ERROR" if failed else "SUCCESS", "request_id": ctx.request_id, plural: entries}
    return (int(switch(ctx.sandbox.config, "batch_item_error_status")) if failed else 200), body


def read_one(ctx: Ctx, kind: str, entity_id: str) -> Result:
    show_deleted = ctx.show_deleted()
    obj = ctx.entity(kind, entity_id, allow_deleted=show_deleted)
    flag = ctx.request.query.get("return_placement_v2", "false").lower() == "true"
    item = render(
        ctx.sandbox.entities,
        obj,
        ctx.now,
        show_deleted=show_deleted,
        placement_v2=flag,
        hide_placement_v2=bool(switch(ctx.sandbox.config, "adsquad_plain_get_hides_placement_v2")),
    )
    return 200, envelope(ctx.request_id, kind, [item])


def list_of(ctx: Ctx, kind: str, objects: list[SandboxObject]) -> Result:
    params = paging.parse_list_params(ctx.request.query, ctx.sandbox.config)
    base = ctx.sandbox.base_url(ctx.request) + ctx.request.path
    lag = int(ctx.sandbox.config.list_read_lag_ms)
    rows, page_info = paging.select(objects, params, ctx.now, lag, base)
    items = []
    hide = bool(switch(ctx.sandbox.config, "adsquad_plain_get_hides_placement_v2"))
    for obj, deleted in rows:
        rendered = render(ctx.sandbox.entities, obj, ctx.now, hide_placement_v2=hide)
        if deleted:
            rendered["deleted"] = True
        items.append(rendered)
    return 200, envelope(ctx.request_id, kind, items, paging=page_info)


def delete(ctx: Ctx, kind: str, entity_id: str) -> Result:
    obj = ctx.entity(kind, entity_id)
    mark_deleted(ctx, obj)
    if obj.account_id:
        ctx.sandbox.lifecycle.refresh_account(obj.account_id, ctx.now)
    return 200, {"request_status": "SUCCESS", "request_id": ctx.request_id, WRAPPERS[kind][0]: []}


def mark_deleted(ctx: Ctx, obj: SandboxObject) -> None:
    obj.deleted = True
    obj.fields["_deleted_at"] = ctx.now
    touch(obj, ctx.now)
    if switch(ctx.sandbox.config, "cascade_delete"):
        child_kind = {"campaign": "adsquad", "adsquad": "ad"}.get(obj.kind)
        if child_kind:
            for child in ctx.sandbox.entities.children(obj.id, child_kind):
                if not child.deleted:
                    mark_deleted(ctx, child)


def in_account(kind: str, account: SandboxObject, ctx: Ctx) -> list[SandboxObject]:
    return [o for o in ctx.sandbox.entities.all(kind) if o.account_id == account.id]


# ---- campaigns ---------------------------------------------------------------------------------
def create_campaigns(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    vctx = ctx.validation(account)

    def one(item: dict[str, Any]) -> SandboxObject:
        fields = validation.campaign_fields(item, vctx)
        return create_object(ctx, "campaign", fields, account.id, account.id)

    return batch(ctx, "campaign", one, "create", account)


def update_campaigns(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    vctx = ctx.validation(account)

    def one(item: dict[str, Any]) -> SandboxObject:
        obj = target_for_update(ctx, "campaign", item, lambda o: o.account_id == account.id)
        replace_fields(ctx, obj, validation.campaign_fields(item, vctx, existing=obj.fields))
        return obj

    return batch(ctx, "campaign", one, "write", account)


def list_campaigns(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    return list_of(ctx, "campaign", ctx.sandbox.entities.children(account.id, "campaign"))


# ---- ad squads ---------------------------------------------------------------------------------
def create_adsquads(ctx: Ctx) -> Result:
    campaign = ctx.entity("campaign", ctx.param("campaign_id"))
    account = ctx.account(campaign.account_id or "")
    vctx = ctx.validation(account)

    def one(item: dict[str, Any]) -> SandboxObject:
        fields = validation.adsquad_fields(item, vctx, campaign)
        return create_object(ctx, "adsquad", fields, campaign.id, account.id)

    return batch(ctx, "adsquad", one, "create", account)


def update_adsquads(ctx: Ctx) -> Result:
    campaign = ctx.entity("campaign", ctx.param("campaign_id"))
    account = ctx.account(campaign.account_id or "")
    vctx = ctx.validation(account)

    def one(item: dict[str, Any]) -> SandboxObject:
        obj = target_for_update(ctx, "adsquad", item, lambda o: o.parent_id == campaign.id)
        replace_fields(ctx, obj, validation.adsquad_fields(item, vctx, campaign, existing=obj.fields))
        return obj

    return batch(ctx, "adsquad", one, "write", account)


def list_campaign_adsquads(ctx: Ctx) -> Result:
    campaign = ctx.entity("campaign", ctx.param("campaign_id"), allow_deleted=ctx.show_deleted())
    return list_of(ctx, "adsquad", ctx.sandbox.entities.children(campaign.id, "adsquad"))


def list_account_adsquads(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    return list_of(ctx, "adsquad", in_account("adsquad", account, ctx))


# ---- creatives ---------------------------------------------------------------------------------
def semantic_id() -> str:
    return str(random.randint(-(2**31), 2**31 - 1))


def create_creatives(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    vctx = ctx.validation(account)

    def one(item: dict[str, Any]) -> SandboxObject:
        fields = validation.creative_fields(item, vctx)
        fields["semantic_id"] = semantic_id()
        return create_object(ctx, "creative", fields, account.id, account.id)

    return batch(ctx, "creative", one, "create", account)


def update_creatives(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    vctx = ctx.validation(account)

    def one(item: dict[str, Any]) -> SandboxObject:
        obj = target_for_update(ctx, "creative", item, lambda o: o.account_id == account.id)
        fields = validation.creative_fields(item, vctx, existing=obj.fields)
        fields["semantic_id"] = semantic_id()  # recorded: a PUT answers with a new semantic_id
        replace_fields(ctx, obj, fields)
        return obj

    return batch(ctx, "creative", one, "write", account)


def list_creatives(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    return list_of(ctx, "creative", in_account("creative", account, ctx))


def delete_creative(ctx: Ctx) -> Result:
    if not switch(ctx.sandbox.config, "creative_delete_supported"):
        raise method_not_allowed("DELETE on creatives")
    return delete(ctx, "creative", ctx.param("creative_id"))


# ---- ads ---------------------------------------------------------------------------------------
def create_ads(ctx: Ctx) -> Result:
    squad = ctx.entity("adsquad", ctx.param("adsquad_id"))
    account = ctx.account(squad.account_id or "")
    vctx = ctx.validation(account)
    disapprove = ctx.request.get(DISAPPROVE)

    def one(item: dict[str, Any]) -> SandboxObject:
        fields, _creative = validation.ad_fields(item, vctx, squad)
        ad = create_object(ctx, "ad", fields, squad.id, account.id)
        ctx.sandbox.lifecycle.start_review(ad, ctx.now, disapprove)
        if not squad.fields.get("child_ad_type"):
            _set_child_ad_type(squad, str(fields["type"]))
        return ad

    return batch(ctx, "ad", one, "create", account)


def _set_child_ad_type(squad: SandboxObject, ad_type: str) -> None:
    """Snap fixes an ad squad's child_ad_type with its first ad [C ad-squads doc]."""
    fields: dict[str, Any] = {}
    for key, value in squad.fields.items():
        if key == "creation_state":
            fields["child_ad_type"] = ad_type
        fields[key] = value
    fields.setdefault("child_ad_type", ad_type)
    squad.fields = fields


def update_ads(ctx: Ctx) -> Result:
    squad = ctx.entity("adsquad", ctx.param("adsquad_id"))
    account = ctx.account(squad.account_id or "")
    vctx = ctx.validation(account)
    disapprove = ctx.request.get(DISAPPROVE)

    def one(item: dict[str, Any]) -> SandboxObject:
        obj = target_for_update(ctx, "ad", item, lambda o: o.parent_id == squad.id)
        old_creative = obj.fields.get("creative_id")
        fields, _creative = validation.ad_fields(item, vctx, squad, existing=obj.fields)
        replace_fields(ctx, obj, fields)
        if fields["creative_id"] != old_creative or disapprove is not None:
            ctx.sandbox.lifecycle.start_review(obj, ctx.now, disapprove)
        return obj

    return batch(ctx, "ad", one, "write", account)


def list_squad_ads(ctx: Ctx) -> Result:
    squad = ctx.entity("adsquad", ctx.param("adsquad_id"), allow_deleted=ctx.show_deleted())
    return list_of(ctx, "ad", ctx.sandbox.entities.children(squad.id, "ad"))


def list_account_ads(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    return list_of(ctx, "ad", in_account("ad", account, ctx))
