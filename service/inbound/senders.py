"""Who sent a message: the tenant's contact with that e-mail address or mobile number.

A sender that matches no current contact, or contacts of several accounts, is not guessed:
the need waits in the triage queue, where a person sets its account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import F, Func, Value
from django.utils.translation import gettext as _

from accounts.models import Contact
from kam.models import Tenant
from kam.tenancy import tenant_selector

# The digits a mobile number ends with that identify it (a Chinese mobile has 11; the
# country code and any separators before them vary from one address book to the next).
MOBILE_DIGITS = 11
_MOBILE = re.compile(r"^\+?[\d\s()-]{11,20}$")


@dataclass(frozen=True)
class SenderMatch:
    contact: Contact | None
    problem: str | None = None


def _one_account(contacts: list[Contact], sender: str) -> SenderMatch:
    if not contacts:
        return SenderMatch(None)
    accounts = {contact.account_id for contact in contacts}
    if len(accounts) > 1:
        message = _("The sender %(sender)s is a contact of %(count)s accounts; choose the account by hand.")
        return SenderMatch(None, message % {"sender": sender, "count": len(accounts)})
    return SenderMatch(contacts[0])


@tenant_selector
def contact_for_email(tenant: Tenant, address: str) -> SenderMatch:
    """The current contact with this e-mail address (case-insensitive)."""
    address = (address or "").strip()
    if "@" not in address:
        return SenderMatch(None)
    contacts = list(
        Contact.objects.filter(email__iexact=address, left_on__isnull=True).select_related("account").order_by("id")
    )
    return _one_account(contacts, address)


def mobile_digits(value: str) -> str | None:
    """The identifying digits of a mobile number, or None when ``value`` is not one."""
    value = (value or "").strip()
    if not _MOBILE.match(value):
        return None
    digits = re.sub(r"\D", "", value)
    return digits[-MOBILE_DIGITS:] if len(digits) >= MOBILE_DIGITS else None


@tenant_selector
def contact_for_chat(tenant: Tenant, *identities: str) -> SenderMatch:
    """The current contact a chat user is, when its id is a mobile number or an e-mail address
    (WeCom and DingTalk accounts are often named so). Any other chat user id matches no
    contact field: the need waits in triage."""
    for identity in identities:
        if identity and "@" in identity:
            found = contact_for_email(tenant, identity)
            if found.contact is not None or found.problem:
                return found
        digits = mobile_digits(identity)
        if digits:
            contacts = list(
                Contact.objects.filter(left_on__isnull=True)
                .exclude(phone="")
                .annotate(phone_digits=Func(F("phone"), Value(r"\D"), Value(""), Value("g"), function="regexp_replace"))
                .filter(phone_digits__endswith=digits)
                .select_related("account")
                .order_by("id")
            )
            found = _one_account(contacts, identity)
            if found.contact is not None or found.problem:
                return found
    return SenderMatch(None)
