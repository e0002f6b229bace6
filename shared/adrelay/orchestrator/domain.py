"""The publish state machine: how the platforms' results become one publish status (invariant 3).

Pure: facts in (a platform succeeded, failed, rolled back, activated, went silent), decisions out
(roll back this platform, activate that one, notify). The orchestrator's handlers load the state from
PostgreSQL, apply a fact, store the state and emit the decisions through the outbox, in one
transaction.

Rules:
* all succeeded → activate every platform (go-live policy `activate_when_all_succeeded`) → published;
  with `keep_paused` → published at once.
* any failed, policy `rollback` → roll back every platform that created anything or is still working
  (the failed one's partial tree included) → rolled_back, or needs_manual_cleanup if anything was left;
  if nothing was ever created anywhere → failed.
* any failed, policy `keep_successful` → once no platform is still working: partially_published if
  any succeeded, else failed. A failed platform can then be retried alone.
* a platform silent past its deadline counts as failed; if it reports success later, it is rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adrelay.events.payloads import (
    ErrorCategory,
    ExternalIds,
    LeftObject,
    PlatformError,
    PlatformState,
    PublishStatus,
)
from adrelay.model import GoLivePolicy, PartialFailurePolicy, Platform

WORKING = frozenset({PlatformState.PENDING, PlatformState.AWAITING_REAUTH, PlatformState.PUBLISHING})
ROLLBACK_STATES = frozenset(
    {PlatformState.ROLLING_BACK, PlatformState.ROLLED_BACK, PlatformState.NEEDS_MANUAL_CLEANUP}
)
ROLLBACK_SETTLED = frozenset({PlatformState.ROLLED_BACK, PlatformState.NEEDS_MANUAL_CLEANUP})


@dataclass
class PlatformRun:
    platform: Platform
    state: PlatformState = PlatformState.PENDING
    created_anything: bool = False
    error: PlatformError | None = None
    external_ids: ExternalIds = field(default_factory=ExternalIds)
    timed_out: bool = False
    left: list[LeftObject] = field(default_factory=list)

    @property
    def settled_after_rollback(self) -> bool:
        return self.state in ROLLBACK_SETTLED or (
            self.state is PlatformState.FAILED and not self.created_anything
        )


@dataclass
class PublishState:
    publish_id: str
    campaign_id: str
    status: PublishStatus
    partial_failure_policy: PartialFailurePolicy
    go_live_policy: GoLivePolicy
    runs: dict[Platform, PlatformRun]


@dataclass(frozen=True)
class RequestRollback:
    platform: Platform
    reason: str


@dataclass(frozen=True)
class RequestActivate:
    platform: Platform


Decision = RequestRollback | RequestActivate


def start_publishing(state: PublishState) -> list[Decision]:
    state.status = PublishStatus.PUBLISHING
    for run in state.runs.values():
        if run.state in {PlatformState.PENDING, PlatformState.AWAITING_REAUTH}:
            run.state = PlatformState.PUBLISHING
    return []


def on_progress(state: PublishState, platform: Platform) -> list[Decision]:
    run = state.runs[platform]
    if run.state in {PlatformState.PENDING, PlatformState.AWAITING_REAUTH}:
        run.state = PlatformState.PUBLISHING
    return []


def on_succeeded(state: PublishState, platform: Platform, ids: ExternalIds) -> list[Decision]:
    run = state.runs[platform]
    run.external_ids = ids
    run.created_anything = run.created_anything or not ids.empty
    if run.state in ROLLBACK_STATES:
        return []  # its rollback is already under way
    if run.state in {PlatformState.SUCCEEDED, PlatformState.ACTIVATING, PlatformState.ACTIVE}:
        return []  # the same success again: nothing changes
    if run.state is PlatformState.FAILED or state.status in {
        PublishStatus.ROLLING_BACK,
        PublishStatus.ROLLED_BACK,
        PublishStatus.NEEDS_MANUAL_CLEANUP,
        PublishStatus.FAILED,
    }:
        # Success after its deadline (or after the publish gave up): it must not stay.
        run.state = PlatformState.ROLLING_BACK
        if state.status in {
            PublishStatus.ROLLED_BACK,
            PublishStatus.NEEDS_MANUAL_CLEANUP,
            PublishStatus.FAILED,
        }:
            state.status = PublishStatus.ROLLING_BACK
        return [RequestRollback(platform, "reported success after it was counted as failed"), *_settle(state)]
    run.state = PlatformState.SUCCEEDED
    run.error = None
    return _settle(state)


def on_failed(
    state: PublishState,
    platform: Platform,
    error: PlatformError,
    created: bool,
    ids: ExternalIds | None = None,
) -> list[Decision]:
    run = state.runs[platform]
    run.created_anything = run.created_anything or created
    if ids is not None and not ids.empty:
        run.external_ids = ids
    if run.state in ROLLBACK_STATES or run.state is PlatformState.FAILED:
        return []  # already being removed, or the same failure again
    run.state = PlatformState.FAILED
    run.error = error
    return _settle(state)


def on_deadline(state: PublishState, platform: Platform, silent_for_s: float) -> list[Decision]:
    """Silent past its deadline: failed; anything it may have created is unknown, so assume something."""
    run = state.runs[platform]
    if run.state not in WORKING:
        return []
    run.timed_out = True
    error = PlatformError(
        category=ErrorCategory.TRANSIENT,
        message=f"no word from the {platform.value} publisher for {silent_for_s:.0f}s (deadline passed)",
        retryable=True,
    )
    return on_failed(state, platform, error, created=True)


def on_rolled_back(
    state: PublishState, platform: Platform, outcome: str, left: list[LeftObject]
) -> list[Decision]:
    run = state.runs[platform]
    run.left = list(left)
    run.state = (
        PlatformState.NEEDS_MANUAL_CLEANUP if outcome == "needs_manual_cleanup" else PlatformState.ROLLED_BACK
    )
    return _settle(state)


def on_activated(
    state: PublishState, platform: Platform, ok: bool, error: PlatformError | None
) -> list[Decision]:
    run = state.runs[platform]
    if run.state is not PlatformState.ACTIVATING:
        return []
    if ok:
        run.state = PlatformState.ACTIVE
        return _settle(state)
    run.state = PlatformState.FAILED
    run.error = error
    return _settle(state)


def on_retry(state: PublishState, platforms: list[Platform]) -> list[Decision]:
    """Retry the unfinished platforms of a publish that was not rolled back."""
    for platform in platforms:
        run = state.runs[platform]
        if run.state is PlatformState.FAILED:
            run.state = PlatformState.PUBLISHING
            run.error = None
            run.timed_out = False
    state.status = PublishStatus.PUBLISHING
    return _settle(state)


def on_cleanup_retry(state: PublishState, platform: Platform) -> list[Decision]:
    """An operator retries the deletes a rollback could not do."""
    run = state.runs[platform]
    if run.state is not PlatformState.NEEDS_MANUAL_CLEANUP:
        return []
    run.state = PlatformState.ROLLING_BACK
    state.status = PublishStatus.ROLLING_BACK
    return [RequestRollback(platform, "retrying the cleanup an operator asked for")]


def retryable_platforms(state: PublishState, only: Platform | None = None) -> list[Platform]:
    if state.status not in {PublishStatus.PARTIALLY_PUBLISHED, PublishStatus.FAILED}:
        return []
    failed = [p for p, r in state.runs.items() if r.state is PlatformState.FAILED]
    return [p for p in failed if only is None or p is only]


def _settle(state: PublishState) -> list[Decision]:
    decisions: list[Decision] = []
    runs = list(state.runs.values())
    failed = [r for r in runs if r.state is PlatformState.FAILED]
    if state.status in {PublishStatus.PUBLISHING, PublishStatus.ACTIVATING} and failed:
        if state.partial_failure_policy is PartialFailurePolicy.ROLLBACK:
            state.status = PublishStatus.ROLLING_BACK
            reason = "; ".join(f"{r.platform.value} failed: {r.error.message}" for r in failed if r.error)
            for run in runs:
                if run.state in ROLLBACK_STATES:
                    continue
                if run.state is PlatformState.FAILED and not run.created_anything:
                    continue  # nothing to remove
                run.state = PlatformState.ROLLING_BACK
                decisions.append(RequestRollback(run.platform, reason or "another platform failed"))
        elif not any(r.state in WORKING or r.state is PlatformState.ACTIVATING for r in runs):
            live = [r for r in runs if r.state in {PlatformState.SUCCEEDED, PlatformState.ACTIVE}]
            state.status = PublishStatus.PARTIALLY_PUBLISHED if live else PublishStatus.FAILED
    if state.status is PublishStatus.ROLLING_BACK and all(r.settled_after_rollback for r in runs):
        if not any(r.created_anything for r in runs):
            state.status = PublishStatus.FAILED
        elif any(r.state is PlatformState.NEEDS_MANUAL_CLEANUP for r in runs):
            state.status = PublishStatus.NEEDS_MANUAL_CLEANUP
        else:
            state.status = PublishStatus.ROLLED_BACK
    if state.status is PublishStatus.PUBLISHING and all(r.state is PlatformState.SUCCEEDED for r in runs):
        if state.go_live_policy is GoLivePolicy.ACTIVATE_WHEN_ALL_SUCCEEDED:
            state.status = PublishStatus.ACTIVATING
            for run in runs:
                run.state = PlatformState.ACTIVATING
                decisions.append(RequestActivate(run.platform))
        else:
            state.status = PublishStatus.PUBLISHED
    if state.status is PublishStatus.ACTIVATING and all(r.state is PlatformState.ACTIVE for r in runs):
        state.status = PublishStatus.PUBLISHED
    return decisions
