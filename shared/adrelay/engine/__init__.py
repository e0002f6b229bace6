"""The publishing engine every publisher shares: steps, journal, runner, retries, rate limits, rollback."""
