"""MPP Elektronik notifications service."""
