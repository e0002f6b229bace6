"""Logs, metrics and health: what on-call engineers see."""
