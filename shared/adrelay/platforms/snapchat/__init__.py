"""Snapchat Marketing API: client, error classification, mapper, adapter and auth."""
