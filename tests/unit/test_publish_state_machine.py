"""The orchestrator's state machine (pure): invariant 3, every publish reaches a terminal state."""

from __future__ import annotations

import pytest

from adrelay.events.payloads import (
    ErrorCategory,
    ExternalIds,
    LeftObject,
    PlatformError,
    PlatformState,
    PublishStatus,
)
from adrelay.model import GoLivePolicy, PartialFailurePolicy, Platform
from adrelay.orchestrator import domain
from adrelay.orchestrator.domain import PlatformRun, PublishState, RequestActivate, RequestRollback

ALL = (Platform.META, Platform.TIKTOK, Platform.SNAPCHAT)
IDS = ExternalIds(campaign="c1", ad_sets={"as-1": "s1"}, ads={"ad-1": "a1"})
ERROR = PlatformError(category=ErrorCategory.VALIDATION, message="bad targeting")


def publishing(
    policy: PartialFailurePolicy = PartialFailurePolicy.ROLLBACK,
    go_live: GoLivePolicy = GoLivePolicy.ACTIVATE_WHEN_ALL_SUCCEEDED,
) -> PublishState:
    state = PublishState(
        "pub-1", "cmp-1", PublishStatus.RECEIVED, policy, go_live, {p: PlatformRun(p) for p in ALL}
    )
    domain.start_publishing(state)
    return state


def test_invariant_3_all_succeeded_activates_then_publishes() -> None:
    state = publishing()
    assert domain.on_succeeded(state, Platform.META, IDS) == []
    assert domain.on_succeeded(state, Platform.TIKTOK, IDS) == []
    decisions = domain.on_succeeded(state, Platform.SNAPCHAT, IDS)
    assert set(decisions) == {RequestActivate(p) for p in ALL}
    assert state.status is PublishStatus.ACTIVATING
    for platform in ALL[:-1]:
        domain.on_activated(state, platform, True, None)
        assert state.status is PublishStatus.ACTIVATING
    domain.on_activated(state, Platform.SNAPCHAT, True, None)
    assert state.status is PublishStatus.PUBLISHED


def test_keep_paused_publishes_without_activation() -> None:
    state = publishing(go_live=GoLivePolicy.KEEP_PAUSED)
    decisions = [d for p in ALL for d in domain.on_succeeded(state, p, IDS)]
    assert decisions == []
    assert state.status is PublishStatus.PUBLISHED


def test_invariant_3_a_failure_rolls_back_every_platform_that_created_anything() -> None:
    state = publishing()
    domain.on_succeeded(state, Platform.META, IDS)
    decisions = domain.on_failed(state, Platform.TIKTOK, ERROR, created=True)
    assert state.status is PublishStatus.ROLLING_BACK
    # the failed one's partial tree, the succeeded one, and the one still working
    assert {d.platform for d in decisions if isinstance(d, RequestRollback)} == set(ALL)
    for platform in ALL:
        domain.on_rolled_back(state, platform, "rolled_back", [])
    assert state.status is PublishStatus.ROLLED_BACK


def test_a_failure_that_created_nothing_needs_no_rollback_of_itself() -> None:
    state = publishing()
    decisions = domain.on_failed(state, Platform.META, ERROR, created=False)
    assert {d.platform for d in decisions} == {Platform.TIKTOK, Platform.SNAPCHAT}


def test_anything_left_means_needs_manual_cleanup() -> None:
    state = publishing()
    domain.on_failed(state, Platform.META, ERROR, created=True)
    domain.on_rolled_back(
        state,
        Platform.META,
        "needs_manual_cleanup",
        [LeftObject(kind="ad", external_id="a1", reason="permission")],
    )
    domain.on_rolled_back(state, Platform.TIKTOK, "rolled_back", [])
    domain.on_rolled_back(state, Platform.SNAPCHAT, "rolled_back", [])
    assert state.status is PublishStatus.NEEDS_MANUAL_CLEANUP


def test_all_failed_with_nothing_created_is_failed() -> None:
    state = publishing()
    for platform in ALL:
        domain.on_failed(state, platform, ERROR, created=False)
    # the two told to roll back while still working answer that there was nothing to remove
    for platform, run in state.runs.items():
        if run.state is PlatformState.ROLLING_BACK:
            domain.on_rolled_back(state, platform, "rolled_back", [])
    assert state.status is PublishStatus.FAILED


def test_keep_successful_waits_for_every_platform_then_is_partially_published() -> None:
    state = publishing(PartialFailurePolicy.KEEP_SUCCESSFUL)
    assert domain.on_failed(state, Platform.META, ERROR, created=True) == []
    assert state.status is PublishStatus.PUBLISHING
    domain.on_succeeded(state, Platform.TIKTOK, IDS)
    domain.on_succeeded(state, Platform.SNAPCHAT, IDS)
    assert state.status is PublishStatus.PARTIALLY_PUBLISHED
    assert domain.retryable_platforms(state) == [Platform.META]
    domain.on_retry(state, [Platform.META])
    assert state.status is PublishStatus.PUBLISHING
    decisions = domain.on_succeeded(state, Platform.META, IDS)
    assert state.status is PublishStatus.ACTIVATING
    assert len(decisions) == 3


def test_a_silent_platform_fails_at_its_deadline_and_is_rolled_back_if_it_succeeds_later() -> None:
    state = publishing()
    domain.on_succeeded(state, Platform.META, IDS)
    domain.on_succeeded(state, Platform.TIKTOK, IDS)
    decisions = domain.on_deadline(state, Platform.SNAPCHAT, 300)
    assert state.status is PublishStatus.ROLLING_BACK
    assert {d.platform for d in decisions} == set(ALL)
    assert domain.on_succeeded(state, Platform.SNAPCHAT, IDS) == []  # rollback already requested
    for platform in ALL:
        domain.on_rolled_back(state, platform, "rolled_back", [])
    assert state.status is PublishStatus.ROLLED_BACK


def test_success_after_the_publish_gave_up_is_rolled_back() -> None:
    state = publishing(PartialFailurePolicy.KEEP_SUCCESSFUL)
    domain.on_deadline(state, Platform.META, 300)
    for platform in (Platform.TIKTOK, Platform.SNAPCHAT):
        domain.on_failed(state, platform, ERROR, created=False)
    assert state.status is PublishStatus.FAILED
    decisions = domain.on_succeeded(state, Platform.META, IDS)
    assert decisions == [RequestRollback(Platform.META, "reported success after it was counted as failed")]
    assert state.status is PublishStatus.ROLLING_BACK
    domain.on_rolled_back(state, Platform.META, "rolled_back", [])
    assert state.status is PublishStatus.ROLLED_BACK


def test_activation_failure_rolls_back_under_the_rollback_policy() -> None:
    state = publishing()
    for platform in ALL:
        domain.on_succeeded(state, platform, IDS)
    domain.on_activated(state, Platform.META, True, None)
    decisions = domain.on_activated(state, Platform.TIKTOK, False, ERROR)
    assert state.status is PublishStatus.ROLLING_BACK
    assert {d.platform for d in decisions} == set(ALL)


@pytest.mark.parametrize("policy", list(PartialFailurePolicy))
def test_invariant_3_every_outcome_combination_ends_terminal(policy: PartialFailurePolicy) -> None:
    import itertools

    for outcomes in itertools.product(["ok", "fail_created", "fail_nothing", "silent"], repeat=3):
        state = publishing(policy)
        for platform, outcome in zip(ALL, outcomes, strict=True):
            if outcome == "ok":
                domain.on_succeeded(state, platform, IDS)
            elif outcome == "silent":
                domain.on_deadline(state, platform, 300)
            else:
                domain.on_failed(state, platform, ERROR, created=outcome == "fail_created")
        for _ in range(3):  # the publishers answer every command they were sent
            for platform, run in state.runs.items():
                if run.state is PlatformState.ROLLING_BACK:
                    domain.on_rolled_back(state, platform, "rolled_back", [])
                elif run.state is PlatformState.ACTIVATING:
                    domain.on_activated(state, platform, True, None)
        assert state.status.terminal, (outcomes, state.status)


def test_a_result_applied_twice_changes_nothing() -> None:
    state = publishing()
    for platform in ALL:
        domain.on_succeeded(state, platform, IDS)
    assert state.status is PublishStatus.ACTIVATING
    assert domain.on_succeeded(state, Platform.META, IDS) == []
    domain.on_activated(state, Platform.META, True, None)
    assert domain.on_succeeded(state, Platform.META, IDS) == []
    assert state.runs[Platform.META].state is PlatformState.ACTIVE
    failed = publishing(PartialFailurePolicy.KEEP_SUCCESSFUL)
    domain.on_failed(failed, Platform.META, ERROR, created=True)
    assert domain.on_failed(failed, Platform.META, ERROR, created=True) == []
