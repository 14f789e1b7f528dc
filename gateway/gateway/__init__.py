"""MPP Elektronik gateway."""
