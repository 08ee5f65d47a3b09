"""Demo renewals (DESIGN section 14), after the accounts demo (RenewalsConfig.load_demo).

First what the nightly run opens by itself from the demo contracts (accounts/demo.py makes every
fourth contract end within 90 days; those that do not renew themselves are in their window).
When those are fewer than five, a few accounts get a service agreement of their own ending
within the window (the clause terms of the account's contract, so its IP state stays as it is).
Then one renewal at every stage: by the contract's end, the first is negotiating, the next
proposed, the next signed (with its next contract), the next lost (with its reason); the rest
stay preparing. Last, a renewal whose contract ended twelve days ago unsigned, so that risk's
``renewal_overdue`` shows (renewals is before risk in INSTALLED_APPS, so risk's demo runs see
it). Deterministic: no random numbers; loading it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from accounts import services as account_services
from accounts.models import Account, AccountStatus, Contract
from kam.models import Tenant
from kam.tenancy import tenant_context, tenant_today
from renewals import services
from renewals.models import Renewal, RenewalStage

WANTED = 5  # four moved to a stage of their own, at least one left preparing
OVERDUE_DAYS = 12
NOTES = {
    RenewalStage.NEGOTIATING: "客户要求单价下调 3%，并把交付周期写进附件；法务在审。",
    RenewalStage.PROPOSED: "续约方案已于上周发出，等待采购部回复。",
}
LOST_REASON = "客户改为公开招标，我方报价高于中标价。"


def load(tenant: Tenant, people: dict[str, Any]) -> None:
    today = tenant_today(tenant)
    with tenant_context(tenant):
        if Renewal.objects.exclude(stage=RenewalStage.PREPARE).exists():
            return  # loaded already
    services.renewals_open(tenant, today)
    with tenant_context(tenant):
        _top_up(tenant, today)
        services.renewals_open(tenant, today)
        renewals = list(Renewal.objects.select_related("contract", "account").order_by("contract__end_on", "id"))
        plan = [RenewalStage.NEGOTIATING, RenewalStage.PROPOSED, RenewalStage.SIGNED, RenewalStage.LOST]
        for renewal, stage in zip(renewals, plan, strict=False):
            _bring_to(tenant, renewal, stage)
        _overdue(tenant, today, people.get("manager"))


def _accounts_without_renewal(limit: int, owner: Any = None) -> list[tuple[Account, Contract]]:
    """Accounts (in order; ``owner``'s when given) not lost, with no renewal yet, and the contract
    whose clauses a new one copies."""
    found = []
    taken = set(Renewal.objects.values_list("account_id", flat=True))
    accounts = Account.objects.exclude(status=AccountStatus.LOST).order_by("id")
    if owner is not None:
        accounts = accounts.filter(owner=owner)
    for account in accounts:
        if account.pk in taken:
            continue
        contract = Contract.objects.filter(account=account).order_by("-end_on", "-id").first()
        if contract is None:
            continue
        found.append((account, contract))
        if len(found) == limit:
            break
    return found


def _service_agreement(
    tenant: Tenant, account: Account, model: Contract, *, start_on: dt.date, end_on: dt.date, notice_days: int
) -> Contract:
    return account_services.contract_create(
        tenant,
        account=account,
        title=f"{account.name}年度技术服务协议",
        start_on=start_on,
        end_on=end_on,
        value=(model.value / 4).quantize(Decimal("1")),
        auto_renew=False,
        notice_days=notice_days,
        ip_ownership=model.ip_ownership,
        confidentiality_until=model.confidentiality_until,
        non_solicit=model.non_solicit,
        liability_cap=model.liability_cap,
        actor=account.owner,
    )


def _top_up(tenant: Tenant, today: dt.date) -> None:
    """Service agreements ending within their window, until WANTED renewals can open."""
    missing = WANTED - Renewal.objects.count()
    for position, (account, model) in enumerate(_accounts_without_renewal(max(missing, 0))):
        end_on = today + dt.timedelta(days=35 + 14 * position)
        _service_agreement(
            tenant, account, model, start_on=end_on - dt.timedelta(days=364), end_on=end_on, notice_days=60
        )


def _bring_to(tenant: Tenant, renewal: Renewal, stage: str) -> None:
    actor = renewal.account.owner
    if stage == RenewalStage.LOST:
        services.renewal_move(tenant, renewal=renewal, stage=RenewalStage.LOST, reason=LOST_REASON, actor=actor)
        return
    path = [RenewalStage.PROPOSED, RenewalStage.NEGOTIATING]
    steps = path[: path.index(stage) + 1] if stage in path else path
    for step in steps:
        renewal = services.renewal_move(tenant, renewal=renewal, stage=step, actor=actor)
    if stage == RenewalStage.SIGNED:
        contract = renewal.contract
        services.renewal_sign(
            tenant, renewal=renewal, value=(contract.value * Decimal("1.05")).quantize(Decimal("1")), actor=actor
        )
    elif stage in NOTES:
        services.renewal_update(tenant, renewal=renewal, note=NOTES[stage], actor=actor)


def _overdue(tenant: Tenant, today: dt.date, manager: Any) -> None:
    """An agreement that ended twelve days ago while its renewal sat at proposed: of an account
    of the demo's manager, so that their home card shows it."""
    candidates = _accounts_without_renewal(1, manager) or _accounts_without_renewal(1)
    if not candidates:
        return
    account, model = candidates[0]
    end_on = today - dt.timedelta(days=OVERDUE_DAYS)
    contract = _service_agreement(
        tenant, account, model, start_on=end_on - dt.timedelta(days=364), end_on=end_on, notice_days=60
    )
    # The night it opened: 90 days before the end (notice 60 + 30).
    services.renewals_open(tenant, end_on - dt.timedelta(days=90), contract_ids=[contract.pk])
    renewal = Renewal.objects.get(contract=contract)
    services.renewal_move(tenant, renewal=renewal, stage=RenewalStage.PROPOSED, actor=account.owner)
    services.renewal_update(tenant, renewal=renewal, note=NOTES[RenewalStage.PROPOSED], actor=account.owner)
