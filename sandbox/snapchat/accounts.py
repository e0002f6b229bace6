"""Who the caller is and what they may use: `/v1/me`, organizations, funding sources, ad accounts.

Shapes as recorded: `GET /v1/me/organizations` wraps organizations (with the caller's `roles`,
`my_display_name`, … only in this view) and, with `with_ad_accounts=true`, each organization carries
an `ad_accounts` list; `GET /v1/organizations/{id}` shows the organization's own view; funding sources
are listed per organization without `paging` (recorded). A token reaches the organizations it was
granted and every ad account in them, plus any ad account granted one by one.
"""

from __future__ import annotations

from typing import Any

from sandbox.common.store import SandboxObject
from sandbox.snapchat.context import Ctx
from sandbox.snapchat.entities import Result
from sandbox.snapchat.errors import not_found
from sandbox.snapchat.objects import envelope, public
from sandbox.snapchat.paging import parse_bool


def _org_ids(ctx: Ctx) -> list[str]:
    """Organizations visible to the caller: granted ones, then those of granted ad accounts."""
    ids = list(ctx.grant.get("organization_ids", []))
    for account_id in ctx.grant.get("ad_account_ids", []):
        account = ctx.sandbox.entities.get("adaccount", account_id)
        if account is not None and account.parent_id and account.parent_id not in ids:
            ids.append(account.parent_id)
    return ids


def _org(ctx: Ctx, org_id: str) -> SandboxObject:
    org = ctx.sandbox.entities.get("organization", org_id)
    if org is None or org_id not in _org_ids(ctx):
        if org is not None:
            ctx.sandbox.auth.require_org(ctx.grant, org_id)
        raise not_found("Organization", org_id)
    return org


def _accounts_of(ctx: Ctx, org_id: str) -> list[SandboxObject]:
    accounts = [a for a in ctx.sandbox.entities.children(org_id, "adaccount") if not a.deleted]
    return sorted((a for a in accounts if ctx.sandbox.auth.may_see_account(ctx.grant, a)), key=lambda a: a.id)


def me(ctx: Ctx) -> Result:
    user_id = ctx.grant.get("user_id")
    user = dict(ctx.sandbox.state.users.get(str(user_id), {"id": user_id}))
    orgs = _org_ids(ctx)
    user.setdefault("organization_id", orgs[0] if orgs else None)
    return 200, {"request_status": "SUCCESS", "request_id": ctx.request_id, "me": user}


def my_organizations(ctx: Ctx) -> Result:
    with_accounts = parse_bool(ctx.request.query.get("with_ad_accounts", "false"), "with_ad_accounts")
    items: list[dict[str, Any]] = []
    for org_id in _org_ids(ctx):
        org = ctx.sandbox.entities.get("organization", org_id)
        if org is None:
            continue
        item = {**public(org.fields), **dict(org.fields.get("_me_fields") or {})}
        if with_accounts:
            item["ad_accounts"] = [public(a.fields) for a in _accounts_of(ctx, org_id)]
        items.append(item)
    return 200, envelope(ctx.request_id, "organization", items)


def organization(ctx: Ctx) -> Result:
    org = _org(ctx, ctx.param("org_id"))
    item = {**public(org.fields), **dict(org.fields.get("_get_fields") or {})}
    return 200, envelope(ctx.request_id, "organization", [item])


def organization_accounts(ctx: Ctx) -> Result:
    org = _org(ctx, ctx.param("org_id"))
    return 200, envelope(ctx.request_id, "adaccount", [public(a.fields) for a in _accounts_of(ctx, org.id)])


def funding_sources(ctx: Ctx) -> Result:
    org = _org(ctx, ctx.param("org_id"))
    sources = ctx.sandbox.entities.children(org.id, "fundingsource")  # creation order, as recorded
    return 200, envelope(ctx.request_id, "fundingsource", [public(f.fields) for f in sources])


def funding_source(ctx: Ctx) -> Result:
    source_id = ctx.param("fs_id")
    source = ctx.sandbox.entities.get("fundingsource", source_id)
    if source is None:
        raise not_found("FundingSource", source_id)
    _org(ctx, source.parent_id or "")
    return 200, envelope(ctx.request_id, "fundingsource", [public(source.fields)])


def ad_account(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    return 200, envelope(ctx.request_id, "adaccount", [public(account.fields)])
