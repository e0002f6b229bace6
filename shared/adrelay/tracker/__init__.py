"""The tracker: performance syncs, review outcomes, platform webhooks."""
