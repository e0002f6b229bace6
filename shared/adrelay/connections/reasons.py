"""The typed reasons a pre-flight gives when an ad account cannot be used (`AccountStatus.reason`).

A leaf module (no imports of its own) so each platform's auth module can name the same reasons the
orchestrator, the publishers and the CLI read.
"""

from __future__ import annotations

from enum import StrEnum


class AccountProblem(StrEnum):
    NOT_REACHABLE = "not_reachable"  # the token does not reach the account, or it does not exist
    DISABLED = "disabled"  # the platform disabled the account (policy, risk, …)
    UNFUNDED = "unfunded"  # no usable payment method / balance / credit, or an unsettled balance
    PENDING_REVIEW = "pending_review"  # the platform is reviewing the account
    PENDING_SETTLEMENT = "pending_settlement"  # Meta: a payment is being settled
    CLOSED = "closed"  # closed, or closing
    PAUSED = "paused"  # Snapchat: the account is paused
    LIMITED = "limited"  # TikTok: STATUS_LIMIT (restricted by the platform)
    REJECTED = "rejected"  # TikTok: the account's verification failed
    UNKNOWN_STATUS = "unknown_status"  # a status value adrelay does not know: refuse rather than guess
    REAUTH_REQUIRED = "reauth_required"  # the connection's token is dead: a person must re-authenticate
    REVOKED = "revoked"  # the connection was revoked in adrelay
