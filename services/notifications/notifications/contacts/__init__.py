"""Contacts: how to reach citizens and staff, and citizens' own preferences."""
