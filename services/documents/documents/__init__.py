"""MPP Elektronik documents service."""
