"""MPP Elektronik's common pieces, one of each, used by every service."""
