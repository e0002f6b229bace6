"""Meta as the publishing engine sees it: create, find by tag, check, delete and activate each object.

Where each tag lives and how it is found again (docs/lookup-by-tag.md §1.4):
* campaign / ad set / ad: in the name; found on the parent's list edge with `filtering` name CONTAIN
  the tag and an explicit effective_status list that includes ARCHIVED and DELETED (Meta lists DELETED
  only where it chooses to; an object deleted and unlisted is simply not found), then checked exactly.
* creative: in the name and as an ad label; found by scanning `/act_/adlabels` for the label's id and
  reading `/act_/adcreativesbylabels` (creatives have no name filter).
* image: Meta's image hash is a content hash, so an upload is idempotent by nature; found through
  `/act_/adimages?hashes=[md5 of the bytes]` (md5 = Meta's hash is UNCONFIRMED: if it is not, the
  lookup finds nothing and the re-upload returns the same image).
* video: in the title; found through `/act_/advideos?title=<tagged title>`, checked exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from adrelay.events.payloads import ErrorCategory, ValidationIssue
from adrelay.model import Campaign, MediaKind, MetaTarget, Platform, PlatformTarget
from adrelay.model.campaign import MediaAsset
from adrelay.platforms.auth import AccountStatus
from adrelay.platforms.base import (
    NotReady,
    PlannedObject,
    PlatformAdapter,
    PublishContext,
    Step,
    StepKind,
    StepOutcome,
    make_tag,
)
from adrelay.platforms.errors import LookupIncomplete, OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limiter
from adrelay.platforms.meta import mapper, rules
from adrelay.platforms.meta.classify import SUBCODE_OBJECT_MISSING
from adrelay.platforms.meta.client import Json, MetaClient
from adrelay.platforms.meta.mapper import MappingError
from adrelay.platforms.meta.media import MetaMedia, new_id, video_outcome
from adrelay.platforms.settings import PlatformSettings

# Every status a list edge may hold an object of ours in, the gone ones included.
CAMPAIGN_STATUSES = ["ACTIVE", "PAUSED", "ARCHIVED", "DELETED", "IN_PROCESS", "WITH_ISSUES"]
AD_SET_STATUSES = [*CAMPAIGN_STATUSES, "CAMPAIGN_PAUSED"]
AD_STATUSES = [
    *AD_SET_STATUSES,
    "ADSET_PAUSED",
    "DISAPPROVED",
    "PENDING_REVIEW",
    "PREAPPROVED",
    "PENDING_BILLING_INFO",
]
ACTIVATION_ORDER = (StepKind.AD, StepKind.AD_SET, StepKind.CAMPAIGN)  # the campaign last: all at once


class MetaAdapter(PlatformAdapter):
    platform = Platform.META
    # Meta's list edges are read from replicas; give a write that went unanswered time to show up.
    lookup_settle_s = 5.0
    # Videos above this size go up in chunks (start / transfer / finish) on the video host.
    video_chunk_threshold = 20 * 1024 * 1024
    # How often a processing video is checked again.
    video_poll_s = 10.0
    # Attempts per chunk when a transfer fails transiently or goes unanswered.
    chunk_attempts = 4

    def __init__(self, settings: PlatformSettings, limiter: Limiter) -> None:
        self.client = MetaClient(settings.meta, limiter, timeout_s=settings.http_timeout_s)
        self.media = MetaMedia(self.client)

    # ---- before any write ---------------------------------------------------------------------------
    def validate(
        self, campaign: Campaign, target: PlatformTarget, account: AccountStatus | None
    ) -> list[ValidationIssue]:
        return rules.validate(campaign, _meta(target), account)

    def preview(self, campaign: Campaign, target: PlatformTarget, publish_id: str) -> list[PlannedObject]:
        meta = _meta(target)
        account = meta.ad_account_id
        media = campaign.media_by_id()
        planned = []
        for step in self.plan(campaign):
            tag = make_tag(publish_id, step.key)
            try:
                endpoint, payload = self._planned_payload(step, campaign, meta, tag, media)
            except MappingError as exc:
                endpoint, payload = f"POST /{account}/…", {"error": str(exc)}
            planned.append(
                PlannedObject(step.key, step.kind, endpoint.replace("{account}", account), payload)
            )
        return planned

    def _planned_payload(
        self, step: Step, campaign: Campaign, target: MetaTarget, tag: str, media: Mapping[str, MediaAsset]
    ) -> tuple[str, dict[str, Any]]:
        if step.kind is StepKind.MEDIA:
            asset = media[_ref(step)]
            if asset.kind is MediaKind.IMAGE:
                file = f"<{asset.size_bytes} bytes of {asset.mime_type}>"
                return "POST /{account}/adimages", {mapper.image_file_name(asset): file}
            upload = "chunked" if asset.size_bytes > self.video_chunk_threshold else "source"
            return "POST /{account}/advideos (video host)", {
                "title": mapper.video_title(asset, tag),
                "upload": upload,
            }
        if step.kind is StepKind.CAMPAIGN:
            return "POST /{account}/campaigns", mapper.campaign_payload(campaign, tag)
        if step.kind is StepKind.AD_SET:
            ad_set = next(s for s in campaign.ad_sets if s.id == step.ref)
            return "POST /{account}/adsets", mapper.ad_set_payload(
                campaign, ad_set, target, tag, "{campaign}"
            )
        ad_set, ad = next((s, a) for s, a in campaign.ads() if a.id == step.ref)
        if step.kind is StepKind.CREATIVE:
            asset = media[ad.creative.media_id]
            ids = _placeholder_media_ids(asset)
            return "POST /{account}/adcreatives", mapper.creative_payload(
                campaign, ad, target, tag, asset, ids
            )
        payload = mapper.ad_payload(ad, tag, f"{{ad_set:{ad_set.id}}}", f"{{creative:{ad.id}}}")
        return "POST /{account}/ads", payload

    async def remote_validate(self, ctx: PublishContext) -> list[ValidationIssue]:
        """Meta's own verdict through `execution_options=["validate_only"]`: the campaign always; the ad
        sets too once the campaign exists (an ad set can only be checked against a real campaign)."""
        target = _meta(ctx.target)
        account = target.ad_account_id
        token = await ctx.tokens.access_token()
        issues: list[ValidationIssue] = []
        checks: list[tuple[str, dict[str, Any], str]] = []
        try:
            checks.append(
                ("campaigns", mapper.campaign_payload(ctx.campaign, ctx.tag("campaign")), "campaign")
            )
            if "campaign" in ctx.outcomes:
                campaign_id = ctx.external_id("campaign")
                for i, ad_set in enumerate(ctx.campaign.ad_sets):
                    tag = ctx.tag(f"ad_set:{ad_set.id}")
                    payload = mapper.ad_set_payload(ctx.campaign, ad_set, target, tag, campaign_id)
                    checks.append(("adsets", payload, f"ad_sets[{i}]"))
        except MappingError as exc:
            return [ValidationIssue(path=exc.path, message=exc.message, platform=Platform.META)]
        for edge, payload, scope in checks:
            try:
                await self.client.post(
                    f"{account}/{edge}",
                    token,
                    endpoint=f"POST /act/{edge} validate_only",
                    account=account,
                    data={**payload, "execution_options": ["validate_only"]},
                )
            except PlatformCallError as exc:
                if exc.category not in VERDICTS:
                    raise
                issues.extend(_verdict_issues(exc, scope))
        return issues

    # ---- create ------------------------------------------------------------------------------------
    async def create(self, step: Step, ctx: PublishContext) -> StepOutcome:
        try:
            if step.kind is StepKind.MEDIA:
                return await self._upload(step, ctx)
            return await self._create_object(step, ctx)
        except MappingError as exc:
            raise PlatformCallError.of(
                ErrorCategory.VALIDATION, exc.message, blamed_fields=[exc.path]
            ) from exc

    async def _create_object(self, step: Step, ctx: PublishContext) -> StepOutcome:
        target = _meta(ctx.target)
        tag = ctx.tag(step)
        if step.kind is StepKind.CAMPAIGN:
            edge, payload = "campaigns", mapper.campaign_payload(ctx.campaign, tag)
        elif step.kind is StepKind.AD_SET:
            ad_set = ctx.ad_set(_ref(step))
            campaign_id = ctx.external_id("campaign")
            edge, payload = "adsets", mapper.ad_set_payload(ctx.campaign, ad_set, target, tag, campaign_id)
        elif step.kind is StepKind.CREATIVE:
            _, ad = ctx.ad(_ref(step))
            asset = ctx.media(ad.creative.media_id)
            ids = _media_ids(ctx, asset)
            edge, payload = "adcreatives", mapper.creative_payload(ctx.campaign, ad, target, tag, asset, ids)
        else:
            ad_set, ad = ctx.ad(_ref(step))
            ad_set_id, creative_id = (
                ctx.external_id(f"ad_set:{ad_set.id}"),
                ctx.external_id(f"creative:{ad.id}"),
            )
            edge, payload = "ads", mapper.ad_payload(ad, tag, ad_set_id, creative_id)
        body = await self.client.create(
            f"{target.ad_account_id}/{edge}",
            await ctx.tokens.access_token(),
            endpoint=f"POST /act/{edge}",
            account=target.ad_account_id,
            data=payload,
        )
        return StepOutcome(new_id(body, edge))

    async def _upload(self, step: Step, ctx: PublishContext) -> StepOutcome:
        account = _meta(ctx.target).ad_account_id
        media = await ctx.media_file(_ref(step))
        token = await ctx.tokens.access_token()
        if media.asset.kind is MediaKind.IMAGE:
            return await self.media.upload_image(account, token, media)
        title = mapper.video_title(media.asset, ctx.tag(step))
        return await self.media.upload_video(
            account,
            token,
            media,
            title,
            chunk_threshold=self.video_chunk_threshold,
            chunk_attempts=self.chunk_attempts,
        )

    # ---- readiness ---------------------------------------------------------------------------------
    async def check_ready(
        self, step: Step, ctx: PublishContext, outcome: StepOutcome
    ) -> StepOutcome | NotReady:
        if step.kind is not StepKind.MEDIA or ctx.media(_ref(step)).kind is not MediaKind.VIDEO:
            return outcome
        account = _meta(ctx.target).ad_account_id
        state = await self.media.video_state(account, await ctx.tokens.access_token(), outcome.external_id)
        if state.status == "ready":
            return outcome
        if state.status == "error":
            raise PlatformCallError.of(
                ErrorCategory.VALIDATION,
                f"Meta could not process video {outcome.external_id} ({_ref(step)})",
                blamed_fields=[f"media.{_ref(step)}"],
            )
        progress = f" {state.progress}%" if state.progress is not None else ""
        return NotReady(self.video_poll_s, f"video {state.status}{progress}")

    # ---- lookup ------------------------------------------------------------------------------------
    async def lookup(self, step: Step, ctx: PublishContext) -> StepOutcome | None:
        tag = ctx.tag(step)
        account = _meta(ctx.target).ad_account_id
        token = await ctx.tokens.access_token()
        if step.kind is StepKind.MEDIA:
            return await self._find_media(step, ctx, account, token)
        if step.kind is StepKind.CREATIVE:
            return await self._find_creative(tag, account, token)
        if step.kind is StepKind.CAMPAIGN:
            path, statuses, fields = f"{account}/campaigns", CAMPAIGN_STATUSES, "id,name,effective_status"
        elif step.kind is StepKind.AD_SET:
            parent = ctx.outcomes.get("campaign")
            path = f"{parent.external_id}/adsets" if parent else f"{account}/adsets"
            statuses, fields = AD_SET_STATUSES, "id,name,effective_status"
        else:
            ad_set, _ = ctx.ad(_ref(step))
            parent = ctx.outcomes.get(f"ad_set:{ad_set.id}")
            path = f"{parent.external_id}/ads" if parent else f"{account}/ads"
            statuses, fields = AD_STATUSES, "id,name,effective_status,creative{id}"
        rows = await self._named(
            path, token, account, tag, fields, statuses, f"GET /{step.kind.value} lookup"
        )
        row = _only_tagged(rows, tag, "name", step)
        if row is None:
            return None
        data = {"effective_status": str(row.get("effective_status") or "")}
        creative = row.get("creative")
        if isinstance(creative, dict) and creative.get("id"):
            data["creative_id"] = str(creative["id"])
        return StepOutcome(str(row["id"]), data)

    async def _named(
        self, path: str, token: str, account: str, tag: str, fields: str, statuses: list[str], endpoint: str
    ) -> list[Json]:
        """Objects on a list edge whose name contains the tag, in any of `statuses`. Whether an edge
        takes DELETED in that list is UNCONFIRMED: if Meta refuses the status list, ask again without
        it (a deleted object is then simply not found, as Meta's own docs describe)."""
        params: dict[str, Any] = {
            "fields": fields,
            "effective_status": statuses,
            "filtering": [{"field": "name", "operator": "CONTAIN", "value": tag}],
        }
        try:
            return await self.client.list_all(path, token, endpoint=endpoint, account=account, params=params)
        except PlatformCallError as exc:
            blamed = " ".join(exc.error.blamed_fields) + " " + exc.error.message
            if exc.category is not ErrorCategory.VALIDATION or "effective_status" not in blamed.lower():
                raise
        params["effective_status"] = [s for s in statuses if s != "DELETED"]
        return await self.client.list_all(path, token, endpoint=endpoint, account=account, params=params)

    async def _find_creative(self, tag: str, account: str, token: str) -> StepOutcome | None:
        labels = await self.client.list_all(
            f"{account}/adlabels",
            token,
            endpoint="GET /act/adlabels",
            account=account,
            params={"fields": "id,name"},
        )
        label_ids = [str(label["id"]) for label in labels if label.get("name") == tag and label.get("id")]
        if not label_ids:
            return None  # the label is made with the creative: no label, no creative
        rows = await self.client.list_all(
            f"{account}/adcreativesbylabels",
            token,
            endpoint="GET /act/adcreativesbylabels",
            account=account,
            params={"ad_label_ids": label_ids, "operator": "ANY", "fields": "id,name,status"},
        )
        row = _only_tagged(rows, tag, "name", None)
        return None if row is None else StepOutcome(str(row["id"]), {"status": str(row.get("status") or "")})

    async def _find_media(
        self, step: Step, ctx: PublishContext, account: str, token: str
    ) -> StepOutcome | None:
        asset = ctx.media(_ref(step))
        if asset.kind is MediaKind.IMAGE:
            return await self.media.find_image(account, token, await ctx.media_file(asset.id))
        title = mapper.video_title(asset, ctx.tag(step))
        row = _only_tagged(
            await self.media.videos_titled(account, token, title), ctx.tag(step), "title", step
        )
        return None if row is None else video_outcome(str(row["id"]), str(row.get("title") or title))

    # ---- delete and activate -------------------------------------------------------------------------
    def deletes(self, kind: StepKind) -> bool:
        return kind is not StepKind.MEDIA  # images and videos are shared across publishes

    async def delete(self, kind: StepKind, external_id: str, ctx: PublishContext) -> None:
        if kind is StepKind.MEDIA:
            return
        account = _meta(ctx.target).ad_account_id
        token = await ctx.tokens.access_token()
        try:
            await self.client.delete(external_id, token, endpoint=f"DELETE /{kind.value}", account=account)
        except OutcomeUnknown as exc:
            raise PlatformCallError.of(
                ErrorCategory.TRANSIENT, f"delete of {external_id} went unanswered"
            ) from exc
        except PlatformCallError as exc:
            # Deleting what is already gone may be refused (100/33 or another parameter error):
            # success if the object reads as DELETED or cannot be read at all.
            if exc.category is not ErrorCategory.VALIDATION or not await self._gone(
                external_id, token, account
            ):
                raise

    async def _gone(self, external_id: str, token: str, account: str) -> bool:
        """Deleted objects stay readable with status DELETED; one that cannot be read at all never
        existed under this account. Anything else (a live object) means the delete really failed."""
        try:
            body = await self.client.get(
                external_id,
                token,
                endpoint="GET /object status",
                account=account,
                params={"fields": "id,status"},
            )
        except PlatformCallError as exc:
            if _missing(exc):
                return True
            raise
        return str(body.get("status") or "") == "DELETED"

    async def activate(self, ctx: PublishContext, objects: Mapping[str, str]) -> None:
        account = _meta(ctx.target).ad_account_id
        token = await ctx.tokens.access_token()
        for kind in ACTIVATION_ORDER:
            ids = [external_id for key, external_id in objects.items() if _kind_of(key) is kind]
            await asyncio.gather(
                *(self._set_active(external_id, token, account, kind) for external_id in ids)
            )

    async def _set_active(self, external_id: str, token: str, account: str, kind: StepKind) -> None:
        try:
            await self.client.post(
                external_id,
                token,
                endpoint=f"POST /{kind.value} status",
                account=account,
                data={"status": "ACTIVE"},
            )
        except OutcomeUnknown as exc:
            raise PlatformCallError.of(
                ErrorCategory.TRANSIENT, f"activation of {external_id} went unanswered"
            ) from exc

    async def close(self) -> None:
        await self.client.close()


# Categories `remote_validate` reports as issues; the rest (auth, throttles, outages) are raised.
VERDICTS = frozenset(
    {ErrorCategory.VALIDATION, ErrorCategory.BUDGET, ErrorCategory.POLICY_VIOLATION, ErrorCategory.PERMISSION}
)
# Meta's fields → ours, for issues from Meta's own validation.
CAMPAIGN_FIELD_PATHS = {
    "objective": "objective",
    "daily_budget": "budget.amount",
    "lifetime_budget": "budget.amount",
    "special_ad_categories": "special_ad_categories",
    "name": "name",
    "bid_strategy": "ad_sets[0].bid_strategy",
}
AD_SET_FIELD_PATHS = {
    "optimization_goal": "optimization_goal",
    "billing_event": "optimization_goal",
    "promoted_object": "optimization_goal",
    "daily_budget": "budget.amount",
    "lifetime_budget": "budget.amount",
    "bid_amount": "bid_amount",
    "bid_strategy": "bid_strategy",
    "targeting": "targeting",
    "start_time": "schedule.start_time",
    "end_time": "schedule.end_time",
    "name": "name",
    # Meta asks for a DSA beneficiary and payer because the ad set reaches the EU.
    "dsa_beneficiary": "targeting.countries",
    "dsa_payor": "targeting.countries",
}


def _verdict_issues(exc: PlatformCallError, scope: str) -> list[ValidationIssue]:
    table = CAMPAIGN_FIELD_PATHS if scope == "campaign" else AD_SET_FIELD_PATHS
    paths = []
    for blamed in exc.error.blamed_fields or [""]:
        ours = table.get(blamed.split(".", 1)[0])
        if ours is None:
            paths.append("" if scope == "campaign" else scope)
        elif scope == "campaign":
            paths.append(ours)
        else:
            paths.append(f"{scope}.{ours}")
    message = exc.error.message if not exc.error.title else f"{exc.error.title}: {exc.error.message}"
    return [
        ValidationIssue(path=path, message=message, platform=Platform.META) for path in dict.fromkeys(paths)
    ]


def _meta(target: PlatformTarget) -> MetaTarget:
    if not isinstance(target, MetaTarget):
        raise TypeError(f"the Meta adapter got a {target.platform.value} target")
    return target


def _ref(step: Step) -> str:
    if step.ref is None:
        raise ValueError(f"step {step.key} names no object")
    return step.ref


def _kind_of(step_key: str) -> StepKind:
    return StepKind(step_key.split(":", 1)[0])


def _missing(exc: PlatformCallError) -> bool:
    """Graph's "Object with ID … does not exist, cannot be loaded due to missing permissions, or does
    not support this operation" (100/33)."""
    return exc.error.platform_code == "100" and exc.error.platform_subcode == str(SUBCODE_OBJECT_MISSING)


def _only_tagged(rows: list[Json], tag: str, field: str, step: Step | None) -> Json | None:
    """The one row whose `field` carries the tag exactly; Meta's CONTAIN is a hint, not a proof."""
    found = {str(row["id"]): row for row in rows if tag in str(row.get(field) or "") and row.get("id")}
    if len(found) > 1:
        what = step.key if step is not None else "creative"
        raise LookupIncomplete(f"{what}: {len(found)} objects carry tag {tag} ({sorted(found)})")
    return next(iter(found.values()), None)


def _media_ids(ctx: PublishContext, asset: MediaAsset) -> dict[str, str]:
    if asset.kind is MediaKind.IMAGE:
        return {"image_hash": str(ctx.outcome(f"media:{asset.id}").data["image_hash"])}
    assert asset.cover_media_id is not None  # the model requires a cover for every video
    return {
        "video_id": ctx.external_id(f"media:{asset.id}"),
        "image_hash": str(ctx.outcome(f"media:{asset.cover_media_id}").data["image_hash"]),
    }


def _placeholder_media_ids(asset: MediaAsset) -> dict[str, str]:
    if asset.kind is MediaKind.IMAGE:
        return {"image_hash": f"{{media:{asset.id}.image_hash}}"}
    return {"video_id": f"{{media:{asset.id}}}", "image_hash": f"{{media:{asset.cover_media_id}.image_hash}}"}
