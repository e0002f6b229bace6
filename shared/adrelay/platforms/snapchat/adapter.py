"""Snapchat as the publishing engine sees it: create, find by tag, wait for media, delete, activate.

Exactly-once rests on names: every object's `name` carries `ctx.tag(step)` and Snap has no
server-side filter (lookup-by-tag §3), so `lookup` reads the parent's whole child list (or the
account's list for campaigns, creatives and media) with `read_deleted_entities=true`, page by page,
and matches the tag on the client. A media record is created first and filled second; a record found
without its bytes is filled, never created again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adrelay.events.payloads import ErrorCategory, ValidationIssue
from adrelay.model import Campaign, Platform, PlatformTarget, SnapchatTarget
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
from adrelay.platforms.errors import LookupIncomplete, NotFound, OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limiter, PlatformHttp
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.snapchat import mapper, rules
from adrelay.platforms.snapchat.classify import is_not_found
from adrelay.platforms.snapchat.client import WRAPPERS, Caller, SnapClient
from adrelay.platforms.snapchat.limits import EndpointClass, SnapLimits
from adrelay.platforms.snapchat.mapper import Unmappable

READY = "READY"
PENDING_UPLOAD = "PENDING_UPLOAD"
# Attributes Snap computes: sending them back on a PUT risks E1001 (read-only attribute) [S].
READ_ONLY = frozenset(
    """id updated_at created_at created_by_app_id created_by_user last_updated_by_app_id last_updated_by_user
    delivery_status review_status review_status_reasons creation_state targeting_reach_status semantic_id
    deleted auto_bid target_bid pacing_properties_version render_type packaging_status objective""".split()
)
# Categories a lookup passes on as they are: the engine refreshes the token or waits, then looks again.
LOOKUP_PASSTHROUGH = frozenset({ErrorCategory.AUTH, ErrorCategory.RATE_LIMIT})


class SnapchatAdapter(PlatformAdapter):
    platform = Platform.SNAPCHAT
    video_poll_s = 5.0  # between media status checks while a video transcodes

    def __init__(self, settings: PlatformSettings, limiter: Limiter) -> None:
        self.http = PlatformHttp(
            Platform.SNAPCHAT, settings.snapchat.api_url, timeout_s=settings.http_timeout_s, limiter=limiter
        )
        self.client = SnapClient(self.http, SnapLimits(settings.snapchat, limiter))

    # ---- planning (pure) --------------------------------------------------------------------------
    def plan(self, campaign: Campaign) -> list[Step]:
        """The default plan without video covers: a Snap top snap is the video itself."""
        steps = default_plan(campaign)
        used = {f"media:{ad.creative.media_id}" for _, ad in campaign.ads()}
        kept = [s for s in steps if s.kind is not StepKind.MEDIA or s.key in used]
        return [
            Step(
                s.key,
                s.kind,
                s.ref,
                tuple(d for d in s.depends_on if not d.startswith("media:") or d in used),
            )
            for s in kept
        ]

    def validate(
        self, campaign: Campaign, target: PlatformTarget, account: AccountStatus | None
    ) -> list[ValidationIssue]:
        if not isinstance(target, SnapchatTarget):
            return [
                ValidationIssue(path="targets", message="not a Snapchat target", platform=Platform.SNAPCHAT)
            ]
        return rules.validate(campaign, target, account)

    def preview(self, campaign: Campaign, target: PlatformTarget, publish_id: str) -> list[PlannedObject]:
        if not isinstance(target, SnapchatTarget):
            raise TypeError("the Snapchat adapter previews for Snapchat targets only")
        planned = []
        for step in self.plan(campaign):
            endpoint, kind, payload = self._payload(
                step, campaign, target, make_tag(publish_id, step.key), _placeholder
            )
            planned.append(PlannedObject(step.key, step.kind, endpoint, {WRAPPERS[kind][0]: [payload]}))
        return planned

    def _payload(
        self, step: Step, campaign: Campaign, target: SnapchatTarget, tag: str, id_of: Callable[[str], str]
    ) -> tuple[str, str, dict[str, Any]]:
        """(endpoint, Snap kind, item) of a step's create; `id_of(step_key)` gives earlier objects' ids."""
        if step.kind is StepKind.MEDIA:
            asset = campaign.media_by_id()[_ref(step)]
            return "POST /adaccounts/{ad_account_id}/media", "media", mapper.media_payload(asset, target, tag)
        if step.kind is StepKind.CAMPAIGN:
            return (
                "POST /adaccounts/{ad_account_id}/campaigns",
                "campaign",
                mapper.campaign_payload(campaign, target, tag),
            )
        if step.kind is StepKind.AD_SET:
            index = next(i for i, s in enumerate(campaign.ad_sets) if s.id == step.ref)
            payload = mapper.ad_squad_payload(campaign, index, target, id_of("campaign"), tag)
            return "POST /campaigns/{campaign_id}/adsquads", "adsquad", payload
        ad_set, ad = next((s, a) for s, a in campaign.ads() if a.id == step.ref)
        if step.kind is StepKind.CREATIVE:
            media_id = id_of(f"media:{ad.creative.media_id}")
            payload = mapper.creative_payload(campaign, ad, target, media_id, tag)
            return "POST /adaccounts/{ad_account_id}/creatives", "creative", payload
        payload = mapper.ad_payload(ad, id_of(f"ad_set:{ad_set.id}"), id_of(f"creative:{ad.id}"), tag)
        return "POST /adsquads/{ad_squad_id}/ads", "ad", payload

    # ---- create -----------------------------------------------------------------------------------
    async def create(self, step: Step, ctx: PublishContext) -> StepOutcome:
        target = _target(ctx)
        caller = Caller(ctx.tokens, target.connection_id)
        if step.kind is StepKind.MEDIA:
            return await self._create_media(step, ctx, caller, target)
        try:
            endpoint, kind, item = self._payload(step, ctx.campaign, target, ctx.tag(step), ctx.external_id)
        except Unmappable as exc:  # validate() reports these; a publish that skipped it fails here, unsent
            raise PlatformCallError.of(
                ErrorCategory.VALIDATION, exc.message, blamed_fields=[exc.path]
            ) from exc
        path = endpoint.split(" ", 1)[1].format(
            ad_account_id=target.ad_account_id,
            campaign_id=item.get("campaign_id"),
            ad_squad_id=item.get("ad_squad_id"),
        )
        try:
            created = await self.client.create(caller, path, kind, item, endpoint=endpoint)
        except PlatformCallError as exc:
            blamed = _blamed(exc, step, ctx.campaign)
            if blamed is exc:
                raise
            raise blamed from exc
        return _outcome(step.kind, created)

    async def _create_media(
        self, step: Step, ctx: PublishContext, caller: Caller, target: SnapchatTarget
    ) -> StepOutcome:
        """Download first (a failure there writes nothing), create the tagged record, then fill it.
        Once the record exists, an upload that may be retried is left to `check_ready`: raising it
        would make the engine create a second record."""
        media = await ctx.media_file(_ref(step))
        item = mapper.media_payload(media.asset, target, ctx.tag(step))
        endpoint = "POST /adaccounts/{ad_account_id}/media"
        record = await self.client.create(
            caller,
            f"/adaccounts/{target.ad_account_id}/media",
            "media",
            item,
            endpoint=endpoint,
            klass=EndpointClass.MEDIA_CREATE,
        )
        try:
            record = await self.client.upload(caller, str(record["id"]), media)
        except OutcomeUnknown:
            pass
        except PlatformCallError as exc:
            if not (exc.retryable or exc.category is ErrorCategory.AUTH):
                raise
        return _outcome(StepKind.MEDIA, record)

    # ---- readiness --------------------------------------------------------------------------------
    async def check_ready(
        self, step: Step, ctx: PublishContext, outcome: StepOutcome
    ) -> StepOutcome | NotReady:
        """Media only: fill a record that has no bytes yet, then wait until Snap says READY."""
        if step.kind is not StepKind.MEDIA:
            return outcome
        caller = Caller(ctx.tokens, _target(ctx).connection_id)
        record = await self.client.get(
            caller, f"/media/{outcome.external_id}", "media", endpoint="GET /media/{media_id}"
        )
        if not _uploaded(record):
            try:
                record = await self.client.upload(
                    caller, outcome.external_id, await ctx.media_file(_ref(step))
                )
            except OutcomeUnknown:
                return NotReady(self.lookup_settle_s, "upload unanswered: checking whether it landed")
        status = str(record.get("media_status", "")).upper()
        if status == READY:
            return _outcome(StepKind.MEDIA, record)
        if status not in {PENDING_UPLOAD, "PROCESSING", "TRANSCODING"}:
            raise PlatformCallError.of(
                ErrorCategory.VALIDATION,
                f"Snap could not process media {outcome.external_id}: media_status {status}",
                platform_code=status,
                blamed_fields=[f"media.{step.ref}"],
            )
        return NotReady(self.video_poll_s, f"media {outcome.external_id} is {status.lower()}")

    # ---- lookup -----------------------------------------------------------------------------------
    async def lookup(self, step: Step, ctx: PublishContext) -> StepOutcome | None:
        """The object this step may have created, by its tag in `name`; deleted ones count.

        Auth and rate-limit refusals pass through (the engine refreshes or waits, then asks again);
        any other failure of the scan raises LookupIncomplete: absence is not proven.
        """
        target = _target(ctx)
        caller = Caller(ctx.tokens, target.connection_id)
        tag = ctx.tag(step)
        try:
            entities = await self._candidates(step, ctx, caller, target)
        except PlatformCallError as exc:
            if exc.category in LOOKUP_PASSTHROUGH:
                raise
            raise LookupIncomplete(
                f"{step.key}: list failed ({exc.category.value}: {exc.error.message})"
            ) from exc
        matches = [e for e in entities if tag in str(e.get("name", ""))]
        if not matches:
            return None
        if len(matches) > 1:
            if step.kind is not StepKind.MEDIA:
                ids = ", ".join(str(m.get("id")) for m in matches)
                raise LookupIncomplete(
                    f"{step.key}: {len(matches)} objects carry tag {tag} ({ids}): a conflict"
                )
            # Media records are inert (never deliver, never spend, never deleted): a spare one left by
            # a refused upload must not stall the publish, so the most usable record is taken.
            matches.sort(key=_media_preference)
        return _outcome(step.kind, matches[0])

    async def _candidates(
        self, step: Step, ctx: PublishContext, caller: Caller, target: SnapchatTarget
    ) -> list[dict[str, Any]]:
        """Every object that could carry the step's tag: the known parent's children, else the
        account's whole list of that kind."""
        kind, account_list = LISTS[step.kind]
        parent = self._parent(step, ctx)
        if parent is not None:
            parent_kind, parent_id = parent
            resource = RESOURCES[parent_kind]
            path = resource.one(parent_id) + "/" + WRAPPERS[kind][0]
            try:
                return await self.client.list_all(
                    caller, path, kind, endpoint=f"GET {resource.one_path}/{WRAPPERS[kind][0]}"
                )
            except PlatformCallError as exc:
                if not is_not_found(exc):
                    raise
        return await self.client.list_all(
            caller, _fill(account_list, target.ad_account_id), kind, endpoint="GET " + account_list
        )

    @staticmethod
    def _parent(step: Step, ctx: PublishContext) -> tuple[StepKind, str] | None:
        """The parent whose child list holds the step's object, when its id is known."""
        if step.kind is StepKind.AD_SET:
            key, kind = "campaign", StepKind.CAMPAIGN
        elif step.kind is StepKind.AD:
            ad_set, _ = ctx.ad(_ref(step))
            key, kind = f"ad_set:{ad_set.id}", StepKind.AD_SET
        else:
            return None
        outcome = ctx.outcomes.get(key)
        return (kind, outcome.external_id) if outcome is not None else None

    # ---- delete -----------------------------------------------------------------------------------
    def deletes(self, kind: StepKind) -> bool:
        """Snap documents DELETE for campaigns, ad squads and ads only (no creative or media delete)."""
        return kind in RESOURCES

    async def delete(self, kind: StepKind, external_id: str, ctx: PublishContext) -> None:
        resource = RESOURCES.get(kind)
        if resource is None:
            return
        caller = Caller(ctx.tokens, _target(ctx).connection_id)
        try:
            await self.client.delete(
                caller, resource.one(external_id), endpoint="DELETE " + resource.one_path
            )
        except NotFound:
            return

    # ---- activation -------------------------------------------------------------------------------
    async def activate(self, ctx: PublishContext, objects: Mapping[str, str]) -> None:
        """PUT each object back with status ACTIVE, children first so that nothing delivers before the
        whole tree is live (a paused campaign holds its ad squads and ads back). The objects of one level
        go concurrently (the rate limiter paces them); the first failure is raised once all settled."""
        caller = Caller(ctx.tokens, _target(ctx).connection_id)
        order = [StepKind.AD, StepKind.AD_SET, StepKind.CAMPAIGN]
        for kind in order:
            keys = sorted(k for k in objects if k.partition(":")[0] == kind.value)
            outcomes = await asyncio.gather(
                *(self._activate_one(caller, RESOURCES[kind], objects[key]) for key in keys),
                return_exceptions=True,
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome

    async def _activate_one(self, caller: Caller, resource: Resource, external_id: str) -> None:
        try:
            entity = await self.client.get(
                caller,
                resource.one(external_id),
                resource.kind,
                endpoint="GET " + resource.one_path,
                params=resource.read_params,
            )
        except NotFound as exc:
            raise PlatformCallError.of(
                ErrorCategory.VALIDATION,
                f"{resource.kind} {external_id} no longer exists on Snapchat",
                http_status=404,
            ) from exc
        if str(entity.get("status", "")).upper() == "ACTIVE":
            return
        body = resource.editable(entity)
        body["status"] = "ACTIVE"
        parent = str(entity.get(resource.parent_field))
        await self.client.update(
            caller,
            resource.collection(parent),
            resource.kind,
            body,
            endpoint="PUT " + resource.collection_path,
        )

    async def close(self) -> None:
        await self.http.close()


@dataclass(frozen=True)
class Resource:
    """A deletable, activatable Snap entity: read by id, replaced by a PUT on its parent's collection."""

    kind: str
    one_path: str  # e.g. "/campaigns/{campaign_id}"
    collection_path: str  # e.g. "/adaccounts/{ad_account_id}/campaigns"
    parent_field: str  # the entity attribute holding the collection's parent id
    read_params: Mapping[str, str] = field(default_factory=dict)

    def one(self, external_id: str) -> str:
        return _fill(self.one_path, external_id)

    def collection(self, parent_id: str) -> str:
        return _fill(self.collection_path, parent_id)

    def editable(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        """The entity as a full PUT body: everything but what Snap computes."""
        body = {k: v for k, v in entity.items() if k == "id" or k not in READ_ONLY}
        if self.kind == "adsquad":
            # A squad created with placement_v2 must be PUT with it (E2025) [S live]; adrelay creates
            # AUTOMATIC placements, so that is the value when a read does not show it.
            body.setdefault("placement_v2", {"config": "AUTOMATIC"})
            body.pop("placement", None)
        if self.kind == "campaign" and "objective_v2_properties" not in entity and "objective" in entity:
            body["objective"] = entity["objective"]  # a legacy campaign keeps its only objective
        return body


RESOURCES: dict[StepKind, Resource] = {
    StepKind.AD: Resource("ad", "/ads/{ad_id}", "/adsquads/{ad_squad_id}/ads", "ad_squad_id"),
    StepKind.AD_SET: Resource(
        "adsquad",
        "/adsquads/{ad_squad_id}",
        "/campaigns/{campaign_id}/adsquads",
        "campaign_id",
        {"return_placement_v2": "true"},  # plain reads hide placement_v2 [S live]
    ),
    StepKind.CAMPAIGN: Resource(
        "campaign", "/campaigns/{campaign_id}", "/adaccounts/{ad_account_id}/campaigns", "ad_account_id"
    ),
}


# Step kind → (Snap kind, the ad account's list of that kind).
LISTS: dict[StepKind, tuple[str, str]] = {
    StepKind.MEDIA: ("media", "/adaccounts/{ad_account_id}/media"),
    StepKind.CAMPAIGN: ("campaign", "/adaccounts/{ad_account_id}/campaigns"),
    StepKind.AD_SET: ("adsquad", "/adaccounts/{ad_account_id}/adsquads"),
    StepKind.CREATIVE: ("creative", "/adaccounts/{ad_account_id}/creatives"),
    StepKind.AD: ("ad", "/adaccounts/{ad_account_id}/ads"),
}


def _media_preference(media: Mapping[str, Any]) -> tuple[int, str]:
    """READY first, then records holding bytes, then the oldest."""
    status = str(media.get("media_status", "")).upper()
    return (0 if status == READY else 1 if _uploaded(media) else 2, str(media.get("created_at", "")))


def _fill(template: str, value: str) -> str:
    return re.sub(r"\{[a-z_]+\}", lambda _: value, template, count=1)


def _target(ctx: PublishContext) -> SnapchatTarget:
    if not isinstance(ctx.target, SnapchatTarget):
        raise TypeError("the Snapchat adapter needs a Snapchat target")
    return ctx.target


def _ref(step: Step) -> str:
    if step.ref is None:
        raise ValueError(f"step {step.key} has no ref")
    return step.ref


def _placeholder(step_key: str) -> str:
    return "{" + step_key + "}"


def _uploaded(media: Mapping[str, Any]) -> bool:
    """Snap fills `file_name` / `file_size_in_bytes` once bytes arrived (a video then transcodes)."""
    return str(media.get("media_status", "")).upper() == READY or bool(media.get("file_name"))


def _outcome(kind: StepKind, entity: Mapping[str, Any]) -> StepOutcome:
    data: dict[str, Any] = {"name": entity.get("name")}
    if entity.get("deleted"):
        data["deleted"] = True
    if kind is StepKind.MEDIA:
        data.update(
            type=entity.get("type"), media_status=entity.get("media_status"), uploaded=_uploaded(entity)
        )
    elif kind is StepKind.AD_SET:
        data["campaign_id"] = entity.get("campaign_id")
    elif kind is StepKind.AD:
        data.update(ad_squad_id=entity.get("ad_squad_id"), creative_id=entity.get("creative_id"))
    elif kind is StepKind.CREATIVE:
        data["top_snap_media_id"] = entity.get("top_snap_media_id")
    return StepOutcome(str(entity["id"]), data)


def _blamed(exc: PlatformCallError, step: Step, campaign: Campaign) -> PlatformCallError:
    """The same error, blaming our campaign's fields where Snap named its own."""
    if not exc.error.blamed_fields:
        return exc
    fields = mapper.our_fields(exc.error.blamed_fields, step.kind.value, campaign, step.ref)
    error = exc.error.model_copy(update={"blamed_fields": fields})
    return type(exc)(error, retry_after_s=exc.retry_after_s, http_status=exc.http_status)
