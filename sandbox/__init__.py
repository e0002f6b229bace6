"""Platform sandboxes."""
