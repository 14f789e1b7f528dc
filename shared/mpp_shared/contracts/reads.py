"""Audit events: a service served citizens' personal data to staff or a partner.

Each service that serves personal data publishes one such event per read on its own topic; the
gateway keeps them in the mall's one audit log (`GET /api/v1/auth/audit`). They name who read
which resource, never the data read.
"""

from __future__ import annotations

from datetime import datetime

from mpp_shared import topics
from mpp_shared.contracts import Contract, contract


class PersonalDataRead(Contract):
    """Who read which resource here, when, with which answer."""

    at: datetime
    actor: str
    actor_role: str
    actor_agency: str | None = None
    method: str
    resource: str  # the path
    query: str | None = None
    status: int
    request_id: str | None = None


@contract("applications.personal_data.read.v1", topic=topics.APPLICATIONS)
class ApplicationsDataRead(PersonalDataRead):
    """Staff or a partner read applications, complaints or bookings of citizens."""


@contract("documents.personal_data.read.v1", topic=topics.DOCUMENTS)
class DocumentsDataRead(PersonalDataRead):
    """Staff or a partner read citizens' documents or their metadata."""


# What each service's reads are published as, by service name.
READ_CONTRACTS: dict[str, type[PersonalDataRead]] = {
    "applications": ApplicationsDataRead,
    "documents": DocumentsDataRead,
}
