"""Partners' webhooks: signed (Standard Webhooks) deliveries of the mall's events to partner
agencies, with field selection, retries and switching off receivers that keep failing."""
