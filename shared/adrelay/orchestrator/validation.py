"""Validation before any platform write: our model, each target platform's rules, the accounts'
pre-flight, a per-account spend cap, and schedule sanity. Errors block (status `rejected`, each with a
field path and a message); warnings are reported and do not block."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from adrelay.connections import ConnectionNotFound, ConnectionRevoked, Context
from adrelay.events import PublishCampaign
from adrelay.events.payloads import ValidationIssue
from adrelay.model import Campaign, Platform, PlatformTarget
from adrelay.platforms.auth import AccountStatus, ReauthNeeded
from adrelay.platforms.base import PlatformAdapter


class ConnectionsPort(Protocol):
    """What the orchestrator needs from the connections module (a ConnectionManager)."""

    async def preflight(
        self, connection_id: str, account_id: str, context: Context = ...
    ) -> AccountStatus: ...

    async def get(self, connection_id: str) -> Any: ...


@dataclass
class Verdict:
    errors: list[ValidationIssue] = field(default_factory=list)
    warnings: list[ValidationIssue] = field(default_factory=list)
    reauth: dict[Platform, tuple[str, str]] = field(default_factory=dict)  # platform → (connection, reason)
    accounts: dict[Platform, AccountStatus] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.reauth

    def add(self, issues: list[ValidationIssue]) -> None:
        for issue in issues:
            (self.errors if issue.severity == "error" else self.warnings).append(issue)

    def issues(self) -> list[ValidationIssue]:
        return [*self.errors, *self.warnings]


def account_of(target: PlatformTarget) -> str:
    return target.account_id


class SpendCaps:
    """A ceiling on the daily spend one publish may configure per ad account: the guard against a unit
    slip (cents sent as dollars). `ADRELAY_DAILY_SPEND_CAP` (major units, default 10 000) applies to
    every account; `ADRELAY_DAILY_SPEND_CAPS` ('{"act_123": 500}') overrides per account."""

    def __init__(self, default: Decimal | None = None, per_account: dict[str, Decimal] | None = None) -> None:
        self.default = (
            default if default is not None else Decimal(os.environ.get("ADRELAY_DAILY_SPEND_CAP", "10000"))
        )
        raw = json.loads(os.environ.get("ADRELAY_DAILY_SPEND_CAPS", "{}") or "{}")
        self.per_account = (
            per_account if per_account is not None else {k: Decimal(str(v)) for k, v in raw.items()}
        )

    def check(self, campaign: Campaign, target: PlatformTarget, path: str) -> list[ValidationIssue]:
        cap = self.per_account.get(account_of(target), self.default)
        daily = daily_spend(campaign)
        if daily > cap:
            return [
                ValidationIssue(
                    path=path,
                    platform=target.platform,
                    message=f"the campaign would spend up to {daily} {campaign.currency} a day on account "
                    f"{account_of(target)}, above its cap of {cap} {campaign.currency} "
                    "(ADRELAY_DAILY_SPEND_CAP[S]); check the budget's units",
                )
            ]
        return []


def daily_spend(campaign: Campaign) -> Decimal:
    """The most the campaign can spend in a day (lifetime budgets spread over their schedule)."""
    budgets = [(campaign.budget, campaign.schedule)] if campaign.budget else []
    budgets += [(s.budget, campaign.schedule_for(s)) for s in campaign.ad_sets if s.budget]
    total = Decimal(0)
    for budget, schedule in budgets:
        assert budget is not None
        if budget.period == "daily":
            total += budget.amount.major
        else:
            assert schedule.end_time is not None
            days = max(Decimal((schedule.end_time - schedule.start_time).total_seconds()) / 86400, Decimal(1))
            total += budget.amount.major / days
    return total.quantize(Decimal("0.01"))


def schedule_issues(campaign: Campaign, now: datetime | None = None) -> list[ValidationIssue]:
    now = now or datetime.now(UTC)
    issues: list[ValidationIssue] = []
    schedules = [("schedule", campaign.schedule)] + [
        (f"ad_sets[{i}].schedule", s.schedule) for i, s in enumerate(campaign.ad_sets) if s.schedule
    ]
    for path, schedule in schedules:
        assert schedule is not None
        if schedule.end_time is not None and schedule.end_time <= now:
            issues.append(ValidationIssue(path=f"{path}.end_time", message="the schedule has already ended"))
        if schedule.start_time < now - timedelta(minutes=5):
            issues.append(
                ValidationIssue(
                    path=f"{path}.start_time",
                    severity="warning",
                    message="start_time is in the past: delivery starts as soon as the campaign is activated",
                )
            )
        if schedule.end_time is not None and schedule.end_time - schedule.start_time > timedelta(days=366):
            issues.append(
                ValidationIssue(
                    path=f"{path}.end_time", severity="warning", message="the schedule runs over a year"
                )
            )
    if campaign.schedule.end_time is not None:
        for i, ad_set in enumerate(campaign.ad_sets):
            if (
                ad_set.schedule
                and ad_set.schedule.end_time
                and ad_set.schedule.end_time > campaign.schedule.end_time
            ):
                issues.append(
                    ValidationIssue(
                        path=f"ad_sets[{i}].schedule.end_time",
                        message="an ad set cannot end after its campaign",
                    )
                )
    return issues


async def validate(
    command: PublishCampaign,
    adapters: dict[Platform, PlatformAdapter],
    connections: ConnectionsPort,
    caps: SpendCaps,
    publish_id: str | None = None,
) -> Verdict:
    verdict = Verdict()
    campaign = command.campaign
    platforms = [t.platform for t in command.targets]
    if len(set(platforms)) != len(platforms):
        verdict.add(
            [ValidationIssue(path="targets", message="each platform may be targeted once per publish")]
        )
    verdict.add(schedule_issues(campaign))
    for i, target in enumerate(command.targets):
        path = f"targets[{i}]"
        account: AccountStatus | None = None
        try:
            connection = await connections.get(target.connection_id)
            if Platform(connection.platform) is not target.platform:
                raise ConnectionNotFound(
                    f"connection {target.connection_id} is a {Platform(connection.platform).value} connection"
                )
            account = await connections.preflight(
                target.connection_id, account_of(target), Context(campaign.id, publish_id)
            )
        except ReauthNeeded as exc:
            verdict.reauth[target.platform] = (target.connection_id, str(exc))
        except (ConnectionNotFound, ConnectionRevoked) as exc:
            verdict.add(
                [ValidationIssue(path=f"{path}.connection_id", platform=target.platform, message=str(exc))]
            )
            continue
        if account is not None:
            verdict.accounts[target.platform] = account
            if not account.reachable or not account.can_spend:
                reason = account.reason or ("not_reachable" if not account.reachable else "cannot_spend")
                detail = f": {account.detail}" if account.detail else ""
                verdict.add(
                    [
                        ValidationIssue(
                            path=f"{path}.{'ad_account_id' if target.platform is not Platform.TIKTOK else 'advertiser_id'}",
                            platform=target.platform,
                            message=f"account {account_of(target)} cannot be published to ({reason}){detail}",
                        )
                    ]
                )
            if account.currency and account.currency != campaign.currency:
                verdict.add(
                    [
                        ValidationIssue(
                            path=f"{path}",
                            platform=target.platform,
                            message=f"the campaign's money is in {campaign.currency} but account "
                            f"{account_of(target)} spends in {account.currency}",
                        )
                    ]
                )
        adapter = adapters[target.platform]
        verdict.add(
            [_with_platform(issue, target.platform) for issue in adapter.validate(campaign, target, account)]
        )
        verdict.add(caps.check(campaign, target, path))
    return verdict


def _with_platform(issue: ValidationIssue, platform: Platform) -> ValidationIssue:
    return issue if issue.platform is not None else issue.model_copy(update={"platform": platform})
