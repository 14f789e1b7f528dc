"""Events the documents service publishes on `documents.events`: citizens' documents once checked,
and issued outputs. Ids and facts only; file names and contents never travel."""

from __future__ import annotations

from datetime import date, datetime

from mpp_shared import topics
from mpp_shared.contracts import Contract, contract


class DocumentFacts(Contract):
    """Whose document it is."""

    document_id: str
    owner: str  # the citizen id


@contract("documents.document.uploaded.v1", topic=topics.DOCUMENTS)
class DocumentUploaded(DocumentFacts):
    """A document passed its checks (type sniffed, size, hash) and can be attached."""

    content_type: str
    size: int
    sha256: str
    requirement: str | None = None  # the requirement code the citizen uploaded it for


@contract("documents.document.rejected.v1", topic=topics.DOCUMENTS)
class DocumentRejected(DocumentFacts):
    """A document failed its checks."""

    reason: str


@contract("documents.document.deleted.v1", topic=topics.DOCUMENTS)
class DocumentDeleted(DocumentFacts):
    """The owner deleted a document, or an unused upload expired."""


@contract("documents.output.issued.v1", topic=topics.DOCUMENTS)
class OutputIssued(Contract):
    """An electronic output was issued for an application; the citizen gets a link (the PIN that
    unlocks its download is a secret and does not travel on this topic)."""

    output_id: str
    application_id: str
    tracking_number: str
    citizen_id: str
    service_id: str
    agency: str
    verification_code: str
    valid_until: date | None = None
    issued_at: datetime
    # The public page that checks and downloads it, for the link in the holder's messages
    # (absent from events of outputs issued before it was carried).
    verify_url: str | None = None


@contract("documents.output.revoked.v1", topic=topics.DOCUMENTS)
class OutputRevoked(Contract):
    """An issued output is no longer valid."""

    output_id: str
    application_id: str
    verification_code: str
    reason: str


@contract("documents.output.pin_issued.v1", topic=topics.DOCUMENTS_PINS)
class OutputPinIssued(Contract):
    """The PIN that unlocks an output's download, for the notifications service to send to its
    holder with the verification link; on its own short-lived topic, never stored in clear."""

    output_id: str
    application_id: str
    tracking_number: str
    citizen_id: str
    verification_code: str
    verify_url: str
    pin: str
