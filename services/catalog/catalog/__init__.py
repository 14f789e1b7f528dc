"""MPP Elektronik catalog service."""
