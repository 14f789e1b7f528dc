"""MPP Elektronik applications service."""
