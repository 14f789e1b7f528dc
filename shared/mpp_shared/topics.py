"""Topic names: one per producing service, never versioned in the name."""

IDENTITY = "identity.events"
# One-time codes for the notifications service alone; kept one hour, then gone.
IDENTITY_OTP = "identity.otp"
# PINs of issued outputs for the notifications service alone; kept one day, then gone.
DOCUMENTS_PINS = "documents.pins"
CATALOG = "catalog.events"
APPLICATIONS = "applications.events"
DOCUMENTS = "documents.events"
NOTIFICATIONS = "notifications.events"

ALL = (IDENTITY, IDENTITY_OTP, CATALOG, APPLICATIONS, DOCUMENTS, DOCUMENTS_PINS, NOTIFICATIONS)

# Topics whose latest event per key is the entity's state: compacted, so they can be replayed.
COMPACTED = frozenset({CATALOG})

# Topics whose records must not outlive their use: retention in milliseconds.
SHORT_LIVED = {IDENTITY_OTP: 3_600_000, DOCUMENTS_PINS: 86_400_000}

# Which service produces to which topic, and which source it names in its envelopes.
PRODUCERS = {
    "gateway": IDENTITY,
    "catalog": CATALOG,
    "applications": APPLICATIONS,
    "documents": DOCUMENTS,
    "notifications": NOTIFICATIONS,
}


def source_of(service_name: str) -> str:
    """The CloudEvents `source` of a service's events."""
    return f"/services/{service_name}"


def dlq_of(consumer: str) -> str:
    """A consumer's dead-letter topic."""
    return f"{consumer}.dlq"
