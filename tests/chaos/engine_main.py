"""One platform's engine alone in a process — the runner, no Kafka — for crash tests.

    python -m tests.chaos.engine_main <platform>

Runs are recorded straight into PostgreSQL by the test; events go to the outbox as in a publisher.
`ADRELAY_CRASH_AT` names where to die (see adrelay.messaging.crash).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from adrelay.config import Settings
from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.messaging.outbox import Outbox
from adrelay.model import Platform
from adrelay.observability import logging as obs_logging
from adrelay.platforms.settings import PlatformSettings
from adrelay.publisher.tokens import tokens_factory
from adrelay.publisher.wiring import build_engine
from adrelay.storage.db import Database


async def main(platform: Platform) -> None:
    settings = Settings()
    db = Database(settings.database_url)
    outbox = Outbox(f"{platform.value}-publisher")
    platform_settings = PlatformSettings()
    tokens = tokens_factory(db, platform_settings, PostgresLimiter(db))
    engine = build_engine(platform, db, outbox.add, platform_settings, tokens)
    await engine.runner.run()


if __name__ == "__main__":
    obs_logging.setup(f"engine-{sys.argv[1]}", "INFO")
    logging.getLogger("adrelay").setLevel(logging.INFO)
    asyncio.run(main(Platform(sys.argv[1])))
