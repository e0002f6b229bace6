"""The orchestrator: validation, connections pre-flight, fan-out, aggregation, rollback, go-live."""
