"""Where a publisher's runs get their tokens: the connections module, by the target's connection id."""

from __future__ import annotations

from adrelay.connections import ConnectionManager, ConnectionTokens
from adrelay.engine.journal import RunRecord
from adrelay.engine.runner import TokensFor
from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings
from adrelay.storage.db import Database


def tokens_factory(db: Database, settings: PlatformSettings, limiter: Limiter) -> TokensFor:
    manager = ConnectionManager(db, settings, limiter=limiter)

    def tokens_for(run: RunRecord) -> ConnectionTokens:
        return ConnectionTokens(
            manager, run.target.connection_id, campaign_id=run.campaign_id, publish_id=run.publish_id
        )

    return tokens_for
