"""The `adrelay` command."""
