"""What happens to Snap entities after the call that wrote them: ad review, video processing and
delivery.

Nothing runs on timers: each API request first *settles* every due event (review outcome, video
ready) in time order, at the time it was due. So the history is exact and survives a restart from
the state file. An ad delivers while it is ACTIVE and APPROVED under an ACTIVE ad squad and campaign
in an ACTIVE, funded, non-test ad account; its delivery intervals (`_delivery`) drive the metrics.
Snap has no ads webhooks: consumers poll `review_status` (PENDING → APPROVED | REJECTED).
"""

from __future__ import annotations

from typing import Any

from sandbox.common.config import SandboxConfig
from sandbox.common.store import SandboxObject
from sandbox.snapchat.objects import Entities, account_can_serve, sync_row
from sandbox.snapchat.times import utc_ms

DEFAULT_REJECTION = ["Ad does not comply with Snap's Advertising Policies"]


class Lifecycle:
    def __init__(self, entities: Entities, config: SandboxConfig) -> None:
        self.entities = entities
        self.config = config

    # ---- review ---------------------------------------------------------------------------------
    def start_review(self, ad: SandboxObject, now: float, reject_reasons: list[str] | None = None) -> None:
        ad.fields["review_status"] = "PENDING"
        ad.fields["_review_due"] = now + float(self.config.review_delay_s)
        ad.fields["_review_outcome"] = "REJECTED" if reject_reasons is not None else "APPROVED"
        ad.fields["_review_reasons"] = list(reject_reasons or [])

    # ---- settling -------------------------------------------------------------------------------
    def settle(self, now: float) -> None:
        events: list[tuple[float, str, SandboxObject]] = []
        for ad in self.entities.all("ad"):
            due = ad.fields.get("_review_due")
            if due is not None and due <= now:
                events.append((float(due), "review", ad))
        for media in self.entities.all("media"):
            ready = media.fields.get("_ready_at")
            if ready is not None and ready <= now:
                events.append((float(ready), "media", media))
        for at, kind, obj in sorted(events, key=lambda e: e[0]):
            if kind == "review":
                self._finish_review(obj, at)
            else:
                self._finish_processing(obj, at)

    def _finish_review(self, ad: SandboxObject, at: float) -> None:
        outcome = ad.fields.pop("_review_outcome", "APPROVED")
        ad.fields.pop("_review_due", None)
        if ad.deleted:
            return
        ad.fields["review_status"] = outcome
        if outcome == "REJECTED" and not ad.fields.get("_review_reasons"):
            ad.fields["_review_reasons"] = list(DEFAULT_REJECTION)
        touch(ad, at)
        if ad.account_id:
            self.refresh_account(ad.account_id, at)

    def _finish_processing(self, media: SandboxObject, at: float) -> None:
        media.fields.pop("_ready_at", None)
        if media.fields.get("media_status") != "READY":
            media.fields["media_status"] = "READY"
            touch(media, at)

    # ---- delivery -------------------------------------------------------------------------------
    def delivering(self, ad: SandboxObject) -> bool:
        if ad.deleted or ad.fields.get("status") != "ACTIVE" or ad.fields.get("review_status") != "APPROVED":
            return False
        squad = self.entities.squad_of(ad)
        campaign = self.entities.campaign_of(ad)
        for parent in (squad, campaign):
            if parent is None or parent.deleted or parent.fields.get("status") != "ACTIVE":
                return False
        return account_can_serve(self.entities, self.entities.account_of(ad))

    def refresh_account(self, account_id: str, at: float) -> None:
        """Open or close the delivery interval of every ad of the account at time `at`."""
        for ad in self.entities.all("ad"):
            if ad.account_id != account_id:
                continue
            intervals: list[list[Any]] = ad.fields.setdefault("_delivery", [])
            open_now = bool(intervals) and intervals[-1][1] is None
            if self.delivering(ad) and not open_now:
                intervals.append([at, None])
            elif not self.delivering(ad) and open_now:
                intervals[-1][1] = at


def touch(obj: SandboxObject, at: float) -> None:
    obj.updated_at = at
    if "updated_at" in obj.fields:
        obj.fields["updated_at"] = utc_ms(at)
    sync_row(obj)
