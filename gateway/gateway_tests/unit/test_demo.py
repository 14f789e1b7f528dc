"""The development accounts `make up` creates: every staff member can be reached by e-mail, in
Mailpit (an SLA breach is mailed to the agency's administrators)."""

from __future__ import annotations

from gateway.demo import staff_accounts
from gateway.identity.models import StaffInput


def test_every_demo_staff_account_has_a_sandbox_address_the_api_accepts() -> None:
    accounts = staff_accounts(["DISDUKCAPIL", "SAMSAT"])
    made = [StaffInput.model_validate(account) for account in accounts]
    assert {a.role for a in made} == {"agency_admin", "officer", "ops_viewer"}
    assert [a.email for a in made] == [f"{a.username}@staff.sandbox" for a in made]
    admins = [a for a in made if a.role == "agency_admin"]
    assert [a.agency for a in admins] == ["DISDUKCAPIL", "SAMSAT"]
