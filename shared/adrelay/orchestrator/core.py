"""The orchestrator's behaviour: take a command, validate and pre-flight it, fan out, aggregate the
platforms' results, go live or roll back, report.

Kafka handlers only record (inside their inbox transaction). Validation and pre-flight, which call
the platforms, run in a background loop over `publishes` due for a check, outside any transaction;
their verdict is then applied in a short transaction that re-reads the publish. Deadlines are a loop
over `publish_runs.deadline_at`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import asyncpg

from adrelay.events import (
    ActivateRequested,
    AdReviewChanged,
    CampaignPublishRequested,
    Envelope,
    NotificationRequested,
    PlatformActivated,
    PlatformPublishFailed,
    PlatformPublishProgressed,
    PlatformPublishSucceeded,
    PlatformRolledBack,
    PublishCampaign,
    PublishStatusChanged,
    RollbackRequested,
    stable_event_id,
)
from adrelay.events.payloads import PlatformState, PublishStatus, ValidationIssue
from adrelay.messaging.outbox import MAX_EVENT_BYTES, event_size
from adrelay.messaging.service import ServiceRuntime
from adrelay.model import Platform
from adrelay.orchestrator import domain, store
from adrelay.orchestrator.domain import Decision, PublishState, RequestActivate, RequestRollback
from adrelay.orchestrator.notify import Sink
from adrelay.orchestrator.validation import ConnectionsPort, SpendCaps, Verdict, validate
from adrelay.platforms.base import PlatformAdapter

log = logging.getLogger(__name__)

TERMINAL_NOTIFICATIONS = {
    PublishStatus.PUBLISHED: ("published", "Campaign published"),
    PublishStatus.PARTIALLY_PUBLISHED: ("partially_published", "Campaign partly published"),
    PublishStatus.ROLLED_BACK: ("rolled_back", "Publish rolled back"),
    PublishStatus.NEEDS_MANUAL_CLEANUP: ("needs_manual_cleanup", "Publish needs manual cleanup"),
    PublishStatus.FAILED: ("failed", "Publish failed"),
    PublishStatus.REJECTED: ("rejected", "Publish rejected"),
}


class Orchestrator:
    def __init__(
        self,
        runtime: ServiceRuntime,
        adapters: dict[Platform, PlatformAdapter],
        connections: ConnectionsPort,
        sinks: list[Sink],
        caps: SpendCaps | None = None,
    ) -> None:
        self.runtime = runtime
        self.adapters = adapters
        self.connections = connections
        self.sinks = sinks
        self.caps = caps or SpendCaps()
        self.deadline_s = float(os.environ.get("ADRELAY_PLATFORM_DEADLINE_S", "300"))
        self.reauth_recheck_s = float(os.environ.get("ADRELAY_REAUTH_RECHECK_S", "30"))
        self.check_poll_s = float(os.environ.get("ADRELAY_ORCHESTRATOR_POLL_S", "0.5"))
        self._wake = asyncio.Event()

    # ---- emission helpers --------------------------------------------------------------------------
    async def _emit(
        self,
        conn: asyncpg.Connection,
        state: PublishState | str,
        payload: Any,
        *id_parts: str,
        campaign_id: str | None = None,
        causation: Envelope | None = None,
    ) -> None:
        """Emit through the outbox. Ids are random except where given: emission happens inside the
        transaction that applies the causing event, which the inbox applies once."""
        publish_id = state if isinstance(state, str) else state.publish_id
        campaign = campaign_id or (state.campaign_id if isinstance(state, PublishState) else None)
        assert campaign is not None
        event = Envelope.new(
            payload,
            campaign_id=campaign,
            publish_id=publish_id,
            causation=causation,
            event_id=stable_event_id(publish_id, *id_parts) if id_parts else None,
        )
        await self.runtime.emit(conn, event)

    async def _status_changed(
        self,
        conn: asyncpg.Connection,
        state: PublishState,
        previous: PublishStatus | None,
        *,
        reason: str | None = None,
        issues: list[ValidationIssue] | None = None,
        causation: Envelope | None = None,
    ) -> None:
        command = await store.command_of(conn, state.publish_id)
        payload = PublishStatusChanged(
            status=state.status,
            previous_status=previous,
            platforms={p: r.state for p, r in state.runs.items()},
            reason=reason,
            issues=issues or [],
            errors={p: r.error for p, r in state.runs.items() if r.error is not None},
            external_ids={p: r.external_ids for p, r in state.runs.items() if not r.external_ids.empty},
            campaign_end_time=command.campaign.schedule.end_time,
        )
        await self._emit(conn, state, payload, causation=causation)
        await store.timeline(conn, state.publish_id, "status", status=state.status.value, reason=reason)
        note = TERMINAL_NOTIFICATIONS.get(state.status)
        if note is not None:
            kind, title = note
            message = self._summary(state, reason, issues)
            notification = NotificationRequested(
                kind=kind,
                title=f"{title}: {command.campaign.name}",
                message=message,
                platform_errors={p: r.error for p, r in state.runs.items() if r.error is not None},
            )
            await self._emit(conn, state, notification)

    @staticmethod
    def _summary(state: PublishState, reason: str | None, issues: list[ValidationIssue] | None) -> str:
        parts = [reason] if reason else []
        for platform, run in state.runs.items():
            if run.error is not None:
                parts.append(f"{platform.value}: {run.error.category.value} — {run.error.message}")
            elif run.state in {PlatformState.ACTIVE, PlatformState.SUCCEEDED} and run.external_ids.campaign:
                parts.append(f"{platform.value}: campaign {run.external_ids.campaign}")
            elif run.left:
                parts.append(f"{platform.value}: {len(run.left)} object(s) left for manual cleanup")
        for issue in (issues or [])[:10]:
            parts.append(f"{issue.path}: {issue.message}")
        return "; ".join(parts) or state.status.value

    async def _apply(
        self,
        conn: asyncpg.Connection,
        state: PublishState,
        previous: PublishStatus,
        decisions: list[Decision],
        causation: Envelope | None = None,
        reason: str | None = None,
    ) -> None:
        await store.save(conn, state, reason=reason)
        for decision in decisions:
            if isinstance(decision, RequestRollback):
                await self._emit(
                    conn,
                    state,
                    RollbackRequested(platform=decision.platform, reason=decision.reason),
                    causation=causation,
                )
                await store.timeline(
                    conn, state.publish_id, "rollback_requested", decision.platform, reason=decision.reason
                )
            elif isinstance(decision, RequestActivate):
                await self._emit(
                    conn, state, ActivateRequested(platform=decision.platform), causation=causation
                )
                await store.timeline(conn, state.publish_id, "activate_requested", decision.platform)
        if state.status is not previous:
            await self._status_changed(conn, state, previous, reason=reason, causation=causation)

    # ---- commands ---------------------------------------------------------------------------------
    async def on_command(self, envelope: Envelope, conn: asyncpg.Connection) -> None:
        command = envelope.payload
        assert isinstance(command, PublishCampaign)
        publish_id = store.publish_id_for(command.idempotency_key)
        existing = await store.find_by_key(conn, command.idempotency_key)
        if existing is not None:
            if existing["payload_hash"] == store.payload_hash(command):
                await store.timeline(conn, publish_id, "duplicate_command", event_id=str(envelope.event_id))
                return
            rejection = f"rej-{envelope.event_id.hex[:24]}"
            reason = (
                f"idempotency key {command.idempotency_key!r} was already used by publish "
                f"{existing['publish_id']} with a different payload"
            )
            payload = PublishStatusChanged(status=PublishStatus.REJECTED, reason=reason)
            await self._emit(conn, rejection, payload, campaign_id=command.campaign.id, causation=envelope)
            log.warning("%s", reason)
            return
        await store.create_publish(conn, publish_id, command)
        await store.timeline(
            conn,
            publish_id,
            "received",
            event_id=str(envelope.event_id),
            targets=[t.platform.value for t in command.targets],
        )
        state = await store.load(conn, publish_id)
        assert state is not None
        await self._status_changed(conn, state, None, causation=envelope)
        too_large = fanout_too_large(command)
        if too_large:
            # The fan-out event could never travel: refuse now, before any platform is touched.
            issue = ValidationIssue(path="campaign", message=too_large)
            await store.set_issues(conn, publish_id, [issue.model_dump(mode="json")])
            state.status = PublishStatus.REJECTED
            await store.save(conn, state, reason=too_large)
            await self._status_changed(conn, state, PublishStatus.RECEIVED, reason=too_large, issues=[issue])
            return
        await conn.execute("select pg_notify('adrelay_orchestrator', $1)", publish_id)

    # ---- validation, pre-flight, fan-out (background) ------------------------------------------------
    async def check_loop(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while True:
                try:
                    async with self.runtime.db.transaction() as conn:
                        due = await store.claim_checks(conn, 20, lease_s=60)
                    await asyncio.gather(*(self._check(pid) for pid in due))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("publish check pass failed")
                    due = []
                if not due:
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=self.check_poll_s)
                    except TimeoutError:
                        pass
                    self._wake.clear()
        finally:
            listener.cancel()

    async def _listen(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.runtime.settings.database_url, timeout=5)
                await conn.add_listener("adrelay_orchestrator", lambda *_: self._wake.set())
                while not conn.is_closed():
                    await asyncio.sleep(5)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(1)
            finally:
                if conn is not None:
                    try:
                        await asyncio.wait_for(conn.close(), timeout=2)
                    except Exception:
                        pass

    async def _check(self, publish_id: str) -> None:
        async with self.runtime.db.connection() as conn:
            command = await store.command_of(conn, publish_id)
        try:
            verdict = await validate(command, self.adapters, self.connections, self.caps, publish_id)
        except Exception as exc:  # a platform or the database is unavailable: check again soon
            log.warning("check of %s could not finish (%r); retrying", publish_id, exc)
            async with self.runtime.db.transaction() as conn:
                await store.schedule_check(conn, publish_id, 5.0)
            return
        async with self.runtime.db.transaction() as conn:
            state = await store.load(conn, publish_id)
            if state is None or state.status not in {PublishStatus.RECEIVED, PublishStatus.AWAITING_REAUTH}:
                return
            await self._decide(conn, state, command, verdict)

    async def _decide(
        self, conn: asyncpg.Connection, state: PublishState, command: PublishCampaign, verdict: Verdict
    ) -> None:
        previous = state.status
        issues = [i.model_dump(mode="json") for i in verdict.issues()]
        await store.set_issues(conn, state.publish_id, issues)
        if verdict.errors:
            state.status = PublishStatus.REJECTED
            reason = f"{len(verdict.errors)} validation error(s)"
            await store.save(conn, state, reason=reason)
            await store.timeline(conn, state.publish_id, "rejected", issues=issues)
            await self._status_changed(conn, state, previous, reason=reason, issues=verdict.issues())
            return
        if verdict.reauth:
            first_time = previous is not PublishStatus.AWAITING_REAUTH
            state.status = PublishStatus.AWAITING_REAUTH
            for platform in verdict.reauth:
                state.runs[platform].state = PlatformState.AWAITING_REAUTH
            await store.save(conn, state, reason="re-authentication required")
            await store.schedule_check(conn, state.publish_id, self.reauth_recheck_s)
            if first_time:
                # ReauthRequired itself comes from the connections module, once per connection, when
                # it marks the connection (with this campaign's id when this pre-flight found it).
                for platform, (connection_id, reason) in verdict.reauth.items():
                    await store.timeline(
                        conn,
                        state.publish_id,
                        "reauth_required",
                        platform,
                        connection_id=connection_id,
                        reason=reason,
                    )
                    notification = NotificationRequested(
                        kind="reauth_required",
                        title=f"Re-authenticate {platform.value} connection {connection_id}",
                        message=f"publish {state.publish_id} of {command.campaign.name!r} waits: {reason}",
                    )
                    await self._emit(conn, state, notification)
                await self._status_changed(
                    conn, state, previous, reason="re-authentication required", issues=verdict.warnings
                )
            return
        domain.start_publishing(state)
        await store.save(conn, state)
        await store.schedule_check(conn, state.publish_id, None)
        await store.start_deadlines(conn, state.publish_id, self.deadline_s)
        requested = CampaignPublishRequested(campaign=command.campaign, targets=command.targets)
        await self._emit(conn, state, requested, "requested", "1")
        await store.timeline(conn, state.publish_id, "fanned_out", platforms=[p.value for p in state.runs])
        await self._status_changed(conn, state, previous, issues=verdict.warnings)

    # ---- results from the publishers ------------------------------------------------------------------
    async def on_result(self, envelope: Envelope, conn: asyncpg.Connection) -> None:
        if envelope.publish_id is None:
            return
        payload = envelope.payload
        if isinstance(payload, PlatformPublishProgressed):
            await self._on_progress(envelope, payload, conn)
            return
        if isinstance(payload, AdReviewChanged):
            await self._on_review(envelope, payload, conn)
            return
        state = await store.load(conn, envelope.publish_id)
        if state is None or getattr(payload, "platform", None) not in state.runs:
            log.warning("result for an unknown publish or platform: %s", envelope.type)
            return
        previous = state.status
        reason: str | None = None
        if isinstance(payload, PlatformPublishSucceeded):
            decisions = domain.on_succeeded(state, payload.platform, payload.external_ids)
            await store.timeline(
                conn,
                state.publish_id,
                "succeeded",
                payload.platform,
                external_ids=payload.external_ids.model_dump(mode="json"),
            )
        elif isinstance(payload, PlatformPublishFailed):
            decisions = domain.on_failed(
                state, payload.platform, payload.error, payload.created_anything, payload.external_ids
            )
            reason = f"{payload.platform.value} failed: {payload.error.message}"
            await store.timeline(
                conn,
                state.publish_id,
                "failed",
                payload.platform,
                error=payload.error.model_dump(mode="json"),
            )
        elif isinstance(payload, PlatformRolledBack):
            decisions = domain.on_rolled_back(state, payload.platform, payload.outcome, payload.left)
            await store.timeline(
                conn,
                state.publish_id,
                payload.outcome,
                payload.platform,
                deleted=payload.deleted,
                left=[x.model_dump(mode="json") for x in payload.left],
            )
        elif isinstance(payload, PlatformActivated):
            decisions = domain.on_activated(state, payload.platform, payload.ok, payload.error)
            await store.timeline(
                conn, state.publish_id, "activated" if payload.ok else "activation_failed", payload.platform
            )
        else:
            return
        await self._apply(conn, state, previous, decisions, causation=envelope, reason=reason)

    async def _on_progress(
        self, envelope: Envelope, payload: PlatformPublishProgressed, conn: asyncpg.Connection
    ) -> None:
        assert envelope.publish_id is not None
        if not await store.exists(conn, envelope.publish_id):
            return  # about a publish this orchestrator never recorded: nothing to update
        await store.heartbeat(
            conn,
            envelope.publish_id,
            payload.platform,
            payload.step,
            payload.steps_done,
            payload.steps_total,
            payload.wait_until,
            self.deadline_s,
        )
        if payload.step_state in {"succeeded", "waiting", "retrying", "failed"} and payload.step != "run":
            await store.timeline(
                conn,
                envelope.publish_id,
                f"step_{payload.step_state}",
                payload.platform,
                step=payload.step,
                done=payload.steps_done,
                total=payload.steps_total,
                detail=payload.detail,
                wait_until=payload.wait_until.isoformat() if payload.wait_until else None,
            )

    async def _on_review(
        self, envelope: Envelope, payload: AdReviewChanged, conn: asyncpg.Connection
    ) -> None:
        assert envelope.publish_id is not None
        if not await store.exists(conn, envelope.publish_id):
            return
        review = payload.model_dump(
            mode="json", include={"review", "violations", "suggestions", "source", "external_ad_id"}
        )
        await store.record_review(
            conn, envelope.publish_id, payload.platform, payload.ad_id or payload.external_ad_id, review
        )
        await store.timeline(
            conn,
            envelope.publish_id,
            f"review_{payload.review}",
            payload.platform,
            ad_id=payload.ad_id,
            external_ad_id=payload.external_ad_id,
            violations=[v.model_dump(mode="json") for v in payload.violations],
        )
        if payload.review == "disapproved":
            violations = "; ".join(v.message for v in payload.violations) or "no reason given"
            notification = NotificationRequested(
                kind="policy_violation",
                title=f"Ad disapproved on {payload.platform.value}",
                message=f"ad {payload.ad_id or payload.external_ad_id} of publish {envelope.publish_id}: {violations}"
                + (f". Suggestions: {'; '.join(payload.suggestions)}" if payload.suggestions else ""),
            )
            await self._emit(conn, envelope.publish_id, notification, campaign_id=envelope.campaign_id)

    # ---- deadlines -----------------------------------------------------------------------------------
    async def deadline_loop(self) -> None:
        while True:
            try:
                async with self.runtime.db.connection() as conn:
                    overdue = await store.overdue(conn)
                for row in overdue:
                    async with self.runtime.db.transaction() as conn:
                        state = await store.load(conn, row["publish_id"])
                        if state is None:
                            continue
                        previous = state.status
                        platform = Platform(row["platform"])
                        decisions = domain.on_deadline(state, platform, float(row["silent_s"]))
                        await store.timeline(
                            conn,
                            state.publish_id,
                            "deadline_passed",
                            platform,
                            silent_s=float(row["silent_s"]),
                        )
                        await self._apply(
                            conn,
                            state,
                            previous,
                            decisions,
                            reason=f"{platform.value} silent past its deadline",
                        )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("deadline pass failed")
            await asyncio.sleep(1.0)

    # ---- retry -------------------------------------------------------------------------------------
    async def retry(self, publish_id: str, platform: Platform | None) -> dict[str, Any]:
        """Finish only the unfinished work of a publish that was not rolled back."""
        async with self.runtime.db.transaction() as conn:
            state = await store.load(conn, publish_id)
            if state is None:
                return {"error": f"no publish {publish_id}", "status": 404}
            platforms = domain.retryable_platforms(state, platform)
            if not platforms:
                return {
                    "error": f"publish {publish_id} is {state.status.value}: nothing to retry"
                    + (
                        " (a rolled-back campaign is republished under a new idempotency key)"
                        if state.status in {PublishStatus.ROLLED_BACK, PublishStatus.NEEDS_MANUAL_CLEANUP}
                        else ""
                    ),
                    "status": 409,
                }
            previous = state.status
            attempt = await conn.fetchval(
                "update publishes set attempt = attempt + 1 where publish_id = $1 returning attempt",
                publish_id,
            )
            decisions = domain.on_retry(state, platforms)
            command = await store.command_of(conn, publish_id)
            await store.save(conn, state)
            await store.start_deadlines(conn, publish_id, self.deadline_s)
            requested = CampaignPublishRequested(
                campaign=command.campaign, targets=command.targets, only_platforms=platforms, attempt=attempt
            )
            await self._emit(conn, state, requested, "requested", str(attempt))
            await store.timeline(
                conn, publish_id, "retry", platforms=[p.value for p in platforms], attempt=attempt
            )
            await self._apply(conn, state, previous, decisions)
            return {"publish_id": publish_id, "retried": [p.value for p in platforms], "attempt": attempt}

    async def cleanup_retry(self, publish_id: str, platform: Platform) -> dict[str, Any]:
        async with self.runtime.db.transaction() as conn:
            state = await store.load(conn, publish_id)
            if state is None or platform not in state.runs:
                return {"error": f"no publish {publish_id} on {platform.value}", "status": 404}
            previous = state.status
            decisions = domain.on_cleanup_retry(state, platform)
            if not decisions:
                return {"error": f"{platform.value} of {publish_id} does not need cleanup", "status": 409}
            await store.timeline(conn, publish_id, "cleanup_retry", platform)
            await self._apply(conn, state, previous, decisions)
            return {
                "publish_id": publish_id,
                "platform": platform.value,
                "publish_status": state.status.value,
            }

    # ---- notifications -------------------------------------------------------------------------------
    async def on_notification(self, envelope: Envelope, conn: asyncpg.Connection) -> None:
        for sink in self.sinks:
            await sink.deliver(envelope)


def fanout_too_large(command: PublishCampaign) -> str | None:
    """Why the publish's CampaignPublishRequested could not travel on Kafka, or None."""
    requested = CampaignPublishRequested(campaign=command.campaign, targets=command.targets)
    size = event_size(Envelope.new(requested, campaign_id=command.campaign.id, publish_id="pub-size-check"))
    if size + 4096 > MAX_EVENT_BYTES:
        return f"the campaign is too large to publish in one event ({size} bytes; the limit is {MAX_EVENT_BYTES})"
    return None
