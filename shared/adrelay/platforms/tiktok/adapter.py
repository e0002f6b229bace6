"""TikTok as the publishing engine sees it: create, find by tag, delete, activate.

Exactly-once rests on the tag in every name (lookup-by-tag §2.4): campaigns are found through
`/campaign/get/` with the `campaign_name` filter, ad groups through `/adgroup/get/` by campaign and
`adgroup_name`, ads by listing their ad group — all with `primary_status=STATUS_ALL` so deleted objects
count as found — and always matched exactly on the client, because TikTok's name filters are fuzzy.
Campaign and ad group creates also carry a `request_id` derived from the tag: a retry inside TikTok's
~10 s window answers 40050, which is resolved by lookup, never by a second create. Deleting is a status
change to DELETE; activation is a status change to ENABLE, ads first and the campaign last.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from adrelay.events.payloads import ErrorCategory, ValidationIssue
from adrelay.model import Campaign, MediaKind, Platform, PlatformTarget, TikTokTarget
from adrelay.platforms.auth import AccountStatus
from adrelay.platforms.base import (
    NotReady,
    PlannedObject,
    PlatformAdapter,
    PublishContext,
    Step,
    StepKind,
    StepOutcome,
    default_plan,
    make_tag,
)
from adrelay.platforms.errors import LookupIncomplete, OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.tiktok import mapper, rules
from adrelay.platforms.tiktok.classify import DUPLICATED_REQUEST, NOT_EXIST
from adrelay.platforms.tiktok.client import TikTokClient
from adrelay.platforms.tiktok.files import IMAGE_UPLOAD, VIDEO_UPLOAD, TikTokFiles
from adrelay.platforms.tiktok.mapper import AdMedia, MappingError
from adrelay.platforms.tiktok.reporting import TikTokReporting


class Level:
    """One object level's endpoints and field names."""

    def __init__(self, name: str, batch: int) -> None:
        self.create = f"/{name}/create/"
        self.get = f"/{name}/get/"
        self.status = f"/{name}/status/update/"
        self.id_field = f"{name}_id"
        self.ids_field = f"{name}_ids"
        self.name_field = f"{name}_name"
        self.batch = batch  # ids per status update (campaigns 20, ad groups and ads 100)


LEVELS = {
    StepKind.CAMPAIGN: Level("campaign", 20),
    StepKind.AD_SET: Level("adgroup", 100),
    StepKind.AD: Level("ad", 100),
}
ACTIVATION_ORDER = (StepKind.AD, StepKind.AD_SET, StepKind.CAMPAIGN)  # the campaign switches the tree on last
STEP_KINDS = {"campaign": StepKind.CAMPAIGN, "ad_set": StepKind.AD_SET, "ad": StepKind.AD}
# Refusals that say nothing about the object (the engine retries or re-authenticates instead).
RETRIED = frozenset({ErrorCategory.AUTH, ErrorCategory.RATE_LIMIT, ErrorCategory.TRANSIENT})


class TikTokAdapter(PlatformAdapter):
    platform = Platform.TIKTOK
    # TikTok says some fields of a new file "may lag ~10 s" (platform-apis §2.7): after an unanswered
    # create, wait that long before trusting a lookup that finds nothing.
    lookup_settle_s = 10.0

    def __init__(
        self,
        settings: PlatformSettings,
        limiter: Limiter,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client = TikTokClient(
            settings.tiktok, timeout_s=settings.http_timeout_s, limiter=limiter, transport=transport
        )
        self.files = TikTokFiles(self.client)
        self.reporting = TikTokReporting(self.client)  # for the tracker: same client, same limits

    def plan(self, campaign: Campaign) -> list[Step]:
        return default_plan(campaign, separate_creatives=False)  # creatives are inline in /ad/create/

    def deletes(self, kind: StepKind) -> bool:
        return kind in LEVELS

    # ---- pure ----------------------------------------------------------------------------------------
    def validate(
        self, campaign: Campaign, target: PlatformTarget, account: AccountStatus | None
    ) -> list[ValidationIssue]:
        return rules.validate(campaign, target, account)

    def preview(self, campaign: Campaign, target: PlatformTarget, publish_id: str) -> list[PlannedObject]:
        """The exact payloads; ids of objects not created yet are placeholders ("{campaign}",
        "{ad_set:as-1}", "{media:img-1}", "{md5:img-1}"). Raises MappingError where rules has errors."""
        tiktok = _tiktok(target)
        media = campaign.media_by_id()
        out = []
        for step in self.plan(campaign):
            tag = make_tag(publish_id, step.key)
            if step.kind is StepKind.MEDIA:
                assert step.ref is not None
                asset = media[step.ref]
                upload = IMAGE_UPLOAD if asset.kind is MediaKind.IMAGE else VIDEO_UPLOAD
                payload: dict[str, Any] = mapper.upload_fields(tiktok, asset, tag, f"{{md5:{asset.id}}}")
                payload["file"] = str(asset.url)
                out.append(PlannedObject(step.key, step.kind, f"POST {upload}", payload))
            elif step.kind is StepKind.CAMPAIGN:
                payload = mapper.campaign_payload(campaign, tiktok, tag)
                out.append(PlannedObject(step.key, step.kind, f"POST {LEVELS[step.kind].create}", payload))
            elif step.kind is StepKind.AD_SET:
                ad_set = next(s for s in campaign.ad_sets if s.id == step.ref)
                payload = mapper.adgroup_payload(campaign, ad_set, tiktok, tag, "{campaign}")
                out.append(PlannedObject(step.key, step.kind, f"POST {LEVELS[step.kind].create}", payload))
            elif step.kind is StepKind.AD:
                ad_set, ad = next((s, a) for s, a in campaign.ads() if a.id == step.ref)
                media_id, cover_id = mapper.ad_media_refs(campaign, ad)
                placeholders = (
                    AdMedia(image_id=f"{{media:{media_id}}}")
                    if cover_id is None
                    else AdMedia(video_id=f"{{media:{media_id}}}", cover_image_id=f"{{media:{cover_id}}}")
                )
                payload = mapper.ad_payload(
                    campaign, ad, tiktok, tag, f"{{ad_set:{ad_set.id}}}", placeholders
                )
                out.append(PlannedObject(step.key, step.kind, f"POST {LEVELS[step.kind].create}", payload))
        return out

    # ---- create ----------------------------------------------------------------------------------------
    async def create(self, step: Step, ctx: PublishContext) -> StepOutcome:
        target = _tiktok(ctx.target)
        try:
            if step.kind is StepKind.MEDIA:
                assert step.ref is not None
                media = await ctx.media_file(step.ref)
                token = await ctx.tokens.access_token()
                return await self.files.upload(
                    target, ctx.media(step.ref), ctx.tag(step), token, str(media.path), media.md5
                )
            body = self._create_body(step, ctx, target)
        except MappingError as exc:
            raise PlatformCallError.of(
                ErrorCategory.VALIDATION, exc.message, blamed_fields=[exc.path]
            ) from exc
        level = LEVELS[step.kind]
        token = await ctx.tokens.access_token()
        try:
            data = await self.client.post(level.create, token, body)
        except PlatformCallError as exc:
            if exc.error.platform_code != str(DUPLICATED_REQUEST):
                raise
            # The same request_id ran moments ago: that create may have succeeded. Find it by tag.
            found = await self.lookup(step, ctx)
            if found is None:
                raise OutcomeUnknown(
                    f"{level.create}: duplicated request and nothing found by tag yet"
                ) from exc
            return found
        return _created(step.kind, data, body)

    def _create_body(self, step: Step, ctx: PublishContext, target: TikTokTarget) -> dict[str, Any]:
        tag = ctx.tag(step)
        if step.kind is StepKind.CAMPAIGN:
            return mapper.campaign_payload(ctx.campaign, target, tag)
        assert step.ref is not None
        if step.kind is StepKind.AD_SET:
            campaign_id = ctx.external_id("campaign")
            return mapper.adgroup_payload(ctx.campaign, ctx.ad_set(step.ref), target, tag, campaign_id)
        if step.kind is StepKind.AD:
            ad_set, ad = ctx.ad(step.ref)
            outcomes = {key: outcome.data for key, outcome in ctx.outcomes.items()}
            media = mapper.ad_media(ctx.campaign, ad, outcomes)
            adgroup_id = ctx.external_id(f"ad_set:{ad_set.id}")
            return mapper.ad_payload(ctx.campaign, ad, target, tag, adgroup_id, media)
        raise MappingError("steps", f"TikTok has no {step.kind.value} objects (creatives are inline in ads)")

    # ---- lookup ----------------------------------------------------------------------------------------
    async def lookup(self, step: Step, ctx: PublishContext) -> StepOutcome | None:
        target = _tiktok(ctx.target)
        token = await ctx.tokens.access_token()
        tag = ctx.tag(step)
        if step.kind is StepKind.MEDIA:
            assert step.ref is not None
            return await self.files.find(target, ctx.media(step.ref), tag, token)
        if step.kind is StepKind.CREATIVE:
            return None  # never planned on TikTok
        level = LEVELS[step.kind]
        rows: list[dict[str, Any]] = []
        for params in self._queries(step, ctx, target):
            rows = [row async for row in self._scan(level.get, token, params) if has_tag(row, level, tag)]
            if rows:
                break
        ids = {str(row[level.id_field]) for row in rows}
        if len(ids) > 1:
            raise LookupIncomplete(f"{len(ids)} TikTok objects carry the tag {tag}: {sorted(ids)}")
        if not ids:
            return None
        row = rows[0]
        return StepOutcome(
            str(row[level.id_field]), {"name": row.get(level.name_field), "deleted": _deleted(row)}
        )

    def _queries(self, step: Step, ctx: PublishContext, target: TikTokTarget) -> list[dict[str, Any]]:
        """List queries that may return the step's object, deleted ones included, tried in turn.
        Campaigns and ad groups use the name filter, first with the tag, then with the whole expected
        name: TikTok's "fuzzy" matching is UNCONFIRMED and the whole name matches under any reading.
        Ads are listed per ad group without a name filter (`ad_name` semantics are UNCONFIRMED)."""
        level = LEVELS[step.kind]
        base: dict[str, Any] = {"primary_status": "STATUS_ALL"}
        needles: list[str | None]
        if step.kind is StepKind.AD:
            assert step.ref is not None
            ad_set, _ = ctx.ad(step.ref)
            base["adgroup_ids"] = [self._parent_id(ctx, f"ad_set:{ad_set.id}")]
            needles = [None]
        else:
            if step.kind is StepKind.AD_SET:
                base["campaign_ids"] = [self._parent_id(ctx, "campaign")]
            needles = [ctx.tag(step), self._expected_name(step, ctx)]
        fields = [level.id_field, level.name_field, "operation_status", "secondary_status"]
        return [
            {
                "advertiser_id": target.advertiser_id,
                "filtering": base if needle is None else {**base, level.name_field: needle},
                "fields": fields,
            }
            for needle in needles
        ]

    def _expected_name(self, step: Step, ctx: PublishContext) -> str:
        if step.kind is StepKind.CAMPAIGN:
            return mapper.object_name(ctx.campaign.name, ctx.tag(step))
        assert step.ref is not None
        return mapper.object_name(ctx.ad_set(step.ref).name, ctx.tag(step))

    def _parent_id(self, ctx: PublishContext, step_key: str) -> str:
        outcome = ctx.outcomes.get(step_key)
        if outcome is None:
            raise LookupIncomplete(f"the parent step {step_key} has no outcome: cannot search under it")
        return outcome.external_id

    async def _scan(self, path: str, token: str, params: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Every row of a paged list. A failure after the first page cannot prove absence."""
        pages = 0
        try:
            async for rows in self.client.pages(path, token, params):
                pages += 1
                for row in rows:
                    yield row
        except PlatformCallError as exc:
            if pages == 0:
                raise
            raise LookupIncomplete(f"{path}: the scan failed after {pages} page(s): {exc}") from exc

    # ---- readiness -------------------------------------------------------------------------------------
    async def check_ready(
        self, step: Step, ctx: PublishContext, outcome: StepOutcome
    ) -> StepOutcome | NotReady:
        if step.kind is not StepKind.MEDIA or "video_id" not in outcome.data:
            return outcome
        token = await ctx.tokens.access_token()
        return await self.files.check_video(_tiktok(ctx.target), outcome, token)

    # ---- delete and activate ------------------------------------------------------------------------------
    async def delete(self, kind: StepKind, external_id: str, ctx: PublishContext) -> None:
        """Status DELETE; an object already deleted or gone counts as deleted."""
        if kind not in LEVELS:
            return  # media are shared and kept; TikTok has no creative objects
        target = _tiktok(ctx.target)
        token = await ctx.tokens.access_token()
        try:
            await self._set_status(kind, [external_id], "DELETE", target, token)
        except PlatformCallError as exc:
            if exc.error.platform_code == str(NOT_EXIST):
                return
            # A deleted object "cannot change status again": TikTok refuses (a parameter error in
            # practice; the code is UNCONFIRMED). Whatever the refusal, it is fine if the object is gone.
            if exc.category not in RETRIED and await self._gone(kind, external_id, target, token):
                return
            raise

    async def _gone(self, kind: StepKind, external_id: str, target: TikTokTarget, token: str) -> bool:
        level = LEVELS[kind]
        params = {
            "advertiser_id": target.advertiser_id,
            "filtering": {level.ids_field: [external_id], "primary_status": "STATUS_ALL"},
            "fields": [level.id_field, "operation_status", "secondary_status"],
        }
        data = await self.client.get(level.get, token, params)
        rows = [r for r in (data or {}).get("list") or [] if str(r.get(level.id_field)) == external_id]
        return not rows or _deleted(rows[0])

    async def activate(self, ctx: PublishContext, objects: Mapping[str, str]) -> None:
        target = _tiktok(ctx.target)
        token = await ctx.tokens.access_token()
        by_kind: dict[StepKind, list[str]] = {kind: [] for kind in ACTIVATION_ORDER}
        for key, external_id in objects.items():
            kind = STEP_KINDS.get(key.split(":", 1)[0])
            if kind is not None:
                by_kind[kind].append(external_id)
        for kind in ACTIVATION_ORDER:
            ids = by_kind[kind]
            batch = LEVELS[kind].batch
            for start in range(0, len(ids), batch):
                await self._set_status(kind, ids[start : start + batch], "ENABLE", target, token)

    async def _set_status(
        self, kind: StepKind, ids: Sequence[str], status: str, target: TikTokTarget, token: str
    ) -> None:
        level = LEVELS[kind]
        body = {"advertiser_id": target.advertiser_id, level.ids_field: list(ids), "operation_status": status}
        await self.client.post(level.status, token, body)

    async def close(self) -> None:
        await self.client.close()


def _tiktok(target: PlatformTarget) -> TikTokTarget:
    if not isinstance(target, TikTokTarget):
        raise PlatformCallError.of(ErrorCategory.VALIDATION, "a TikTok publish needs a TikTok target")
    return target


def has_tag(row: Mapping[str, Any], level: Level, tag: str) -> bool:
    return mapper.has_tag(str(row.get(level.name_field) or ""), tag)


def _deleted(row: Mapping[str, Any]) -> bool:
    """Deleted by itself or with a parent (e.g. AD_STATUS_CAMPAIGN_DELETE)."""
    return row.get("operation_status") == "DELETE" or str(row.get("secondary_status") or "").endswith(
        "_DELETE"
    )


def _created(kind: StepKind, data: Any, body: Mapping[str, Any]) -> StepOutcome:
    if kind is StepKind.AD:
        ad_ids = [str(i) for i in (data or {}).get("ad_ids") or []]
        if len(ad_ids) != 1:
            raise OutcomeUnknown(f"/ad/create/ answered {len(ad_ids)} ad ids for one creative")
        name = body["creatives"][0]["ad_name"]
        return StepOutcome(ad_ids[0], {"name": name, "need_audit": bool((data or {}).get("need_audit"))})
    level = LEVELS[kind]
    return StepOutcome(str(data[level.id_field]), {"name": body[level.name_field]})
