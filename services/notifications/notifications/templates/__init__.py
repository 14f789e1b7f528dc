"""Message templates: versioned, per event type, channel and language, rendered in a sandbox."""
