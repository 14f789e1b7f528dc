"""Events the catalog service publishes on `catalog.events`."""

from __future__ import annotations

from mpp_shared import topics
from mpp_shared.contracts import Contract, contract


class LocalizedText(Contract):
    """Text shown to people, in Indonesian and English."""

    id: str
    en: str


@contract("catalog.agency.upserted.v1", topic=topics.CATALOG)
class AgencyUpserted(Contract):
    """An agency of the mall was created or changed; carries its current public facts."""

    agency_id: str
    code: str
    name: LocalizedText
    kind: str
    version: int
