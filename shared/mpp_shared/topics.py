"""Topic names: one per producing service, never versioned in the name."""

IDENTITY = "identity.events"
CATALOG = "catalog.events"
APPLICATIONS = "applications.events"
DOCUMENTS = "documents.events"
NOTIFICATIONS = "notifications.events"

ALL = (IDENTITY, CATALOG, APPLICATIONS, DOCUMENTS, NOTIFICATIONS)

# Topics whose latest event per key is the entity's state: compacted, so they can be replayed.
COMPACTED = frozenset({CATALOG})

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
