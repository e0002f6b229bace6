"""The contract between the publishing engine and a platform adapter.

The engine owns the workflow: which step runs when, the journal, retries, rate-limit waits, crash
recovery, rollback order, activation and result events. An adapter owns one platform: how to create,
find (by tag), delete and activate each kind of object, and how the platform's answers map onto the
error taxonomy. A step's create must put `ctx.tag(step)` where `lookup` can find it again on the real
API (`docs/lookup-by-tag.md` of the reference material says where, per platform and object kind).
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from adrelay.engine.media import MediaFile, MediaStore
from adrelay.events.payloads import ValidationIssue
from adrelay.model import Campaign, Platform, PlatformTarget
from adrelay.model.campaign import Ad, AdSet, MediaAsset
from adrelay.platforms.auth import AccountStatus


class StepKind(StrEnum):
    MEDIA = "media"
    CAMPAIGN = "campaign"
    AD_SET = "ad_set"
    CREATIVE = "creative"
    AD = "ad"


# Rollback deletes children before parents; media is never deleted (shared across publishes).
DELETE_ORDER = (StepKind.AD, StepKind.CREATIVE, StepKind.AD_SET, StepKind.CAMPAIGN)


@dataclass(frozen=True)
class Step:
    key: str  # "media:img-1", "campaign", "ad_set:as-1", "creative:ad-1-1", "ad:ad-1-1"
    kind: StepKind
    ref: str | None = None  # adrelay's own id of the thing (media id, ad set id, ad id)
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepOutcome:
    """What a finished (or found) step produced: the platform id and anything later steps need."""

    external_id: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotReady:
    """A created object is not usable yet (video processing): check again after `retry_after_s`."""

    retry_after_s: float
    detail: str = ""


def make_tag(publish_id: str, step_key: str) -> str:
    """Deterministic tag for (publish, step): only [a-z0-9] after a fixed prefix, so no platform's
    case folding or LIKE wildcards can matter."""
    digest = hashlib.sha256(f"{publish_id}\x00{step_key}".encode()).hexdigest()
    return f"ar{digest[:14]}"


def tagged_name(name: str, tag: str, limit: int) -> str:
    """`name` with the tag appended, cut so the whole fits the platform's limit (the tag always fits)."""
    suffix = f" [{tag}]"
    room = max(limit - len(suffix), 1)
    return name[:room].rstrip() + suffix


class TokenSource(abc.ABC):
    """Tokens of one connection for the adapter; implemented by the connections module."""

    @abc.abstractmethod
    async def access_token(self) -> str:
        """A currently valid access token (refreshed ahead of expiry where the platform allows)."""

    @abc.abstractmethod
    async def after_auth_error(self, failed_token: str) -> str | None:
        """The call with `failed_token` was refused as unauthenticated: a fresh token if the platform
        allows a refresh (Snapchat), else None — the connection then needs re-authentication."""


@dataclass
class PublishContext:
    """Everything an adapter needs for one platform publish."""

    publish_id: str
    campaign: Campaign
    target: PlatformTarget
    tokens: TokenSource
    media_store: MediaStore
    outcomes: dict[str, StepOutcome] = field(default_factory=dict)  # finished steps so far
    steps_total: int = 0  # how many steps the plan has (for progress heartbeats)

    def tag(self, step: Step | str) -> str:
        return make_tag(self.publish_id, step if isinstance(step, str) else step.key)

    def external_id(self, step_key: str) -> str:
        return self.outcomes[step_key].external_id

    def outcome(self, step_key: str) -> StepOutcome:
        return self.outcomes[step_key]

    def ad_set(self, ref: str) -> AdSet:
        return next(s for s in self.campaign.ad_sets if s.id == ref)

    def ad(self, ref: str) -> tuple[AdSet, Ad]:
        return next((s, a) for s, a in self.campaign.ads() if a.id == ref)

    def media(self, ref: str) -> MediaAsset:
        return self.campaign.media_by_id()[ref]

    async def media_file(self, ref: str) -> MediaFile:
        """The asset's bytes, downloaded once and verified against its sha256 and size."""
        return await self.media_store.get(self.media(ref))


@dataclass(frozen=True)
class PlannedObject:
    """One object a publish would create, with the exact payload (for `adrelay plan`)."""

    step_key: str
    kind: StepKind
    endpoint: str  # e.g. "POST /act_{ad_account_id}/campaigns"
    payload: Mapping[str, Any]


def default_plan(campaign: Campaign, *, separate_creatives: bool = True) -> list[Step]:
    """media (parallel) → campaign → ad sets (parallel) → creatives and ads (parallel).

    The campaign does not wait for media: uploads run while the tree is built; a creative waits for
    its media (and a video's cover), an ad for its ad set and creative.
    """
    used: set[str] = set()
    media = campaign.media_by_id()
    for _, ad in campaign.ads():
        used.add(ad.creative.media_id)
        cover = media[ad.creative.media_id].cover_media_id
        if cover:
            used.add(cover)
    steps = [Step(f"media:{m}", StepKind.MEDIA, m) for m in sorted(used)]
    steps.append(Step("campaign", StepKind.CAMPAIGN))
    for ad_set in campaign.ad_sets:
        steps.append(Step(f"ad_set:{ad_set.id}", StepKind.AD_SET, ad_set.id, ("campaign",)))
    for ad_set, ad in campaign.ads():
        asset = media[ad.creative.media_id]
        media_deps = tuple(f"media:{m}" for m in (asset.id, asset.cover_media_id) if m)
        if separate_creatives:
            steps.append(Step(f"creative:{ad.id}", StepKind.CREATIVE, ad.id, media_deps))
            steps.append(
                Step(f"ad:{ad.id}", StepKind.AD, ad.id, (f"ad_set:{ad_set.id}", f"creative:{ad.id}"))
            )
        else:
            steps.append(Step(f"ad:{ad.id}", StepKind.AD, ad.id, (f"ad_set:{ad_set.id}", *media_deps)))
    return steps


class PlatformAdapter(abc.ABC):
    """One platform, as the engine sees it."""

    platform: Platform
    # After a create whose outcome is unknown, wait this long before trusting a lookup that finds
    # nothing: the platform's lists may trail its writes.
    lookup_settle_s: float = 2.0

    def plan(self, campaign: Campaign) -> list[Step]:
        return default_plan(campaign)

    def account_id(self, target: PlatformTarget) -> str:
        """The ad account the publish writes to (media are cached per account and content hash)."""
        return target.account_id

    @abc.abstractmethod
    def validate(
        self, campaign: Campaign, target: PlatformTarget, account: AccountStatus | None
    ) -> list[ValidationIssue]:
        """This platform's rules before any write: money minimums (per currency, and the account's own
        where known), text limits, objective and optimization support, schedule, media rules. Errors
        block; warnings (severity "warning") do not. Pure: no I/O."""

    @abc.abstractmethod
    def preview(self, campaign: Campaign, target: PlatformTarget, publish_id: str) -> list[PlannedObject]:
        """Every object the publish would create, with the exact payload the mapper produces (ids of
        objects not created yet appear as placeholders like "{campaign}"). Pure: no I/O."""

    async def remote_validate(self, ctx: PublishContext) -> list[ValidationIssue]:
        """The platform's own verdict without creating anything, where it offers one (Meta's
        execution_options=["validate_only"]). Default: none."""
        return []

    @abc.abstractmethod
    async def create(self, step: Step, ctx: PublishContext) -> StepOutcome:
        """Create the step's object with `ctx.tag(step)` placed for `lookup`. Raise PlatformCallError
        (classified) or OutcomeUnknown."""

    @abc.abstractmethod
    async def lookup(self, step: Step, ctx: PublishContext) -> StepOutcome | None:
        """Find the object a previous create of this step may have made, by its tag; exact match on the
        client. None when proven absent; raise LookupIncomplete when absence cannot be proven."""

    async def check_ready(
        self, step: Step, ctx: PublishContext, outcome: StepOutcome
    ) -> StepOutcome | NotReady:
        """For objects that become usable later (video processing). Default: ready at once."""
        return outcome

    @abc.abstractmethod
    async def delete(self, kind: StepKind, external_id: str, ctx: PublishContext) -> None:
        """Delete one object; idempotent (already gone → return normally)."""

    def deletes(self, kind: StepKind) -> bool:
        """Whether rollback deletes this kind on this platform (creatives: where the platform can)."""
        return kind is not StepKind.MEDIA

    @abc.abstractmethod
    async def activate(self, ctx: PublishContext, objects: Mapping[str, str]) -> None:
        """Set the publish's objects live (campaign, ad sets, ads); idempotent. `objects` maps step key
        to external id."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients."""
