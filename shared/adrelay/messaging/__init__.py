"""Kafka plumbing: faust app factory, consumers with dead letters, inbox, outbox relay."""
