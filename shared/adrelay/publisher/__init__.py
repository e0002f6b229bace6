"""A publisher service: the shared engine wired to one platform adapter."""
