"""Where a publisher's runs get their tokens: the connections module, by the target's connection id."""

from __future__ import annotations

from adrelay.connections import ConnectionTokens
from adrelay.connections.wiring import connections_for
from adrelay.engine.journal import RunRecord
from adrelay.engine.runner import TokensFor
from adrelay.messaging.service import ServiceRuntime
from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings


def tokens_factory(runtime: ServiceRuntime, settings: PlatformSettings, limiter: Limiter) -> TokensFor:
    manager = connections_for(runtime, settings, limiter)

    def tokens_for(run: RunRecord) -> ConnectionTokens:
        return ConnectionTokens(
            manager, run.target.connection_id, campaign_id=run.campaign_id, publish_id=run.publish_id
        )

    return tokens_for
