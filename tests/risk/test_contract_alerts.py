"""The contract alerts of DESIGN section 14: ``ip_unprotected`` (an S or A account whose active
contracts have neither IP ownership ours or joint nor confidentiality in force) and
``renewal_overdue`` (a renewal still open after its contract ended). Each opens once, is
resolved by the next run once its condition clears, reads only its own tenant's rows, rings the
bell, goes to the webhooks and shows on the risk center, the alert page and the account's risk
tab in both languages; on the demo data ``ip_unprotected`` is open exactly where the contracts
protect nothing."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import services as account_services
from accounts.models import Account, Contract, IpOwnership, Tier
from kam import services as kam_services
from kam.models import Membership, Role
from kam.tenancy import tenant_context
from renewals.models import Renewal
from risk import presenters, services
from risk.models import Notification, RiskAlert, RiskRun, WebhookDelivery
from tests.factories import AccountFactory, ContractFactory
from tests.risk.conftest import D, all_alerts, open_alerts, run

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ALERT_EVENTS = ["alert.opened", "alert.escalated", "alert.resolved"]


def day(offset: int) -> dt.date:
    return D + dt.timedelta(days=offset)


def account(tenant, tier: str = Tier.S, **fields) -> Account:
    return AccountFactory(tenant=tenant, tier=tier, **fields)


def contract(tenant, owner: Account, *, start: int = -200, end: int = 165, **fields) -> Contract:
    """A contract from D + start to D + end (days); IP not agreed and no confidentiality unless given."""
    return ContractFactory(tenant=tenant, account=owner, start_on=day(start), end_on=day(end), **fields)


def renewal(tenant, signed: Contract, stage: str = "negotiating", owner=None, **fields) -> Renewal:
    with tenant_context(tenant):
        return Renewal.objects.create(
            tenant=tenant,
            account=signed.account,
            contract=signed,
            stage=stage,
            owner=owner,
            due_on=signed.end_on - dt.timedelta(days=90),
            opened_on=signed.end_on - dt.timedelta(days=120),
            **fields,
        )


def set_stage(tenant, item: Renewal, stage: str, **fields) -> None:
    with tenant_context(tenant):
        Renewal.objects.filter(pk=item.pk).update(stage=stage, **fields)


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- ip_unprotected: when ---------------------------------------------------------------------------

IP_CASES = {
    # name: (tier, status, [contract fields...], alert expected)
    "S, an active contract with IP not agreed": (Tier.S, "active", [{}], True),
    "A, IP the customer's, confidentiality until D (in force)": (
        Tier.A,
        "active",
        [{"ip_ownership": "customer", "confidentiality_until": day(0)}],
        False,
    ),
    "A, IP the customer's, confidentiality lapsed the day before": (
        Tier.A,
        "active",
        [{"ip_ownership": "customer", "confidentiality_until": day(-1)}],
        True,
    ),
    "S, joint IP": (Tier.S, "active", [{"ip_ownership": "joint"}], False),
    "S, our IP": (Tier.S, "active", [{"ip_ownership": "ours"}], False),
    "B, IP not agreed": (Tier.B, "active", [{}], False),
    "no tier, IP not agreed": ("", "active", [{}], False),
    "S but lost": (Tier.S, "lost", [{}], False),
    "S, no contract at all": (Tier.S, "active", [], False),
    "S, only an ended and a future unprotected contract": (
        Tier.S,
        "active",
        [{"start": -400, "end": -1}, {"start": 1, "end": 400}],
        False,
    ),
    "S, an ended and a future unprotected contract beside an active protected one": (
        Tier.S,
        "active",
        [{"start": -400, "end": -1}, {"start": 1, "end": 400}, {"ip_ownership": "ours"}],
        False,
    ),
    "S, one active contract unprotected, another protected": (
        Tier.S,
        "active",
        [{}, {"ip_ownership": "customer", "confidentiality_until": day(30)}],
        False,
    ),
    "S, an unprotected contract ending on D is still active": (Tier.S, "active", [{"start": -300, "end": 0}], True),
    "A, an unprotected contract starting on D is active": (Tier.A, "active", [{"start": 0, "end": 300}], True),
}


@pytest.mark.parametrize("case", list(IP_CASES))
def test_ip_unprotected_opens_only_on_s_and_a_accounts_whose_active_contracts_protect_nothing(tenant, policy, case):
    # given
    tier, status, contracts, expected = IP_CASES[case]
    subject = account(tenant, tier=tier, status=status, name="客户")
    for fields in contracts:
        contract(tenant, subject, **fields)
    # when
    result = run(tenant)
    # then
    assert result.status == "done", result.error
    assert (("ip_unprotected", subject.pk) in open_alerts(tenant)) is expected
    # the same rule in Python (accounts.models.Contract), for the S and A accounts not lost
    with tenant_context(tenant):
        active = [c for c in Contract.objects.filter(account=subject) if c.is_active(D)]
    unprotected = bool(active) and not any(c.ip_protected(D) for c in active)
    assert expected == (tier in (Tier.S, Tier.A) and status != "lost" and unprotected)


def test_ip_unprotected_lists_the_unprotected_contracts_largest_first_and_resolves_once_fixed(tenant, policy, admin):
    # given: two active unprotected contracts and an ended one
    subject = account(tenant, tier=Tier.A, name="华东重工")
    small = contract(tenant, subject, title="备件协议", value=Decimal("200000.00"), ip_ownership="customer")
    large = contract(
        tenant, subject, title="年度框架协议", value=Decimal("1500000.50"), confidentiality_until=day(-10), end=400
    )
    contract(tenant, subject, title="旧协议", start=-800, end=-400)
    # when
    first = run(tenant)
    # then
    alert = open_alerts(tenant)[("ip_unprotected", subject.pk)]
    assert (alert.severity, alert.status, alert.dedupe_key) == ("warning", "open", f"ip_unprotected:{subject.pk}")
    assert alert.details == {
        "as_of": "2026-06-30",
        "tier": "A",
        "contract": large.pk,
        "contracts": [
            {
                "id": large.pk,
                "title": "年度框架协议",
                "ip_ownership": "none",
                "confidentiality_until": "2026-06-20",
                "end_on": "2027-08-04",  # D + 400
                "value": "1500000.50",
            },
            {
                "id": small.pk,
                "title": "备件协议",
                "ip_ownership": "customer",
                "confidentiality_until": None,
                "end_on": "2026-12-12",  # D + 165
                "value": "200000.00",
            },
        ],
    }
    assert first.alerts_opened >= 1
    # when the job runs again: the same alert, not a second one
    second = run(tenant)
    assert [a.pk for a in all_alerts(tenant) if a.kind == "ip_unprotected"] == [alert.pk]
    assert second.alerts_opened == 0
    # when the contract to fix gets our IP, the account's IP is protected: the next run resolves the alert
    account_services.contract_update(tenant, contract=large, ip_ownership="ours", actor=admin)
    run(tenant)
    with tenant_context(tenant):
        alert.refresh_from_db()
    assert (alert.status, alert.resolution) == ("resolved", "cleared")
    assert ("ip_unprotected", subject.pk) not in open_alerts(tenant)
    # and when that contract's IP is lost again, a new alert opens
    account_services.contract_update(tenant, contract=large, ip_ownership="customer", actor=admin)
    run(tenant)
    again = open_alerts(tenant)[("ip_unprotected", subject.pk)]
    assert again.pk != alert.pk
    assert [c["id"] for c in again.details["contracts"]] == [large.pk, small.pk]


def test_ip_unprotected_resolves_when_the_account_leaves_s_and_a(tenant, policy):
    subject = account(tenant, tier=Tier.S)
    contract(tenant, subject)
    run(tenant)
    assert ("ip_unprotected", subject.pk) in open_alerts(tenant)
    with tenant_context(tenant):
        Account.objects.filter(pk=subject.pk).update(tier=Tier.B)
    run(tenant)
    assert ("ip_unprotected", subject.pk) not in open_alerts(tenant)


# --- renewal_overdue ----------------------------------------------------------------------------------


def test_renewal_overdue_opens_for_an_open_renewal_past_its_contract_and_clears_when_signed_or_lost(
    tenant, policy, manager
):
    # given: one renewal per open stage past the end, and the cases that are not overdue
    subject = account(tenant, tier=Tier.B, name="续约客户")  # any tier
    late = renewal(
        tenant,
        contract(tenant, subject, title="2025 年度协议", start=-375, end=-10, value=Decimal("880000")),
        "negotiating",
        owner=manager,
    )
    preparing = renewal(tenant, contract(tenant, subject, title="服务协议", start=-400, end=-1), "prepare")
    proposed = renewal(tenant, contract(tenant, subject, title="备件协议", start=-400, end=-40), "proposed")
    ends_today = renewal(tenant, contract(tenant, subject, start=-365, end=0), "negotiating")
    signed = renewal(tenant, contract(tenant, subject, start=-500, end=-100), "signed")
    lost = renewal(tenant, contract(tenant, subject, start=-500, end=-100), "lost", lost_reason="客户转向竞争对手")
    # when
    result = run(tenant)
    # then
    assert result.status == "done", result.error
    with tenant_context(tenant):
        overdue = {a.dedupe_key: a for a in RiskAlert.objects.filter(kind="renewal_overdue", status="open")}
    assert sorted(overdue) == sorted(f"renewal_overdue:renewal:{r.pk}" for r in (late, preparing, proposed))
    assert all(a.account_id == subject.pk and a.severity == "critical" for a in overdue.values())
    assert {ends_today.pk, signed.pk, lost.pk}.isdisjoint(a.details["renewal"] for a in overdue.values())
    alert = overdue[f"renewal_overdue:renewal:{late.pk}"]
    assert alert.details == {
        "as_of": "2026-06-30",
        "renewal": late.pk,
        "contract": late.contract_id,
        "title": "2025 年度协议",
        "end_on": "2026-06-20",
        "days_overdue": 10,
        "stage": "negotiating",
        "due_on": "2026-03-22",  # 90 days before the end
        "value": "880000.00",
        "owner": manager.pk,
        "owner_name": manager.display_name,
    }
    # when the job runs again: the same alerts
    assert run(tenant).alerts_opened == 0
    # when one is signed and another lost: both resolve at the next run, the third stays
    set_stage(tenant, late, "signed")
    set_stage(tenant, preparing, "lost", lost_reason="预算取消")
    run(tenant)
    with tenant_context(tenant):
        states = dict(RiskAlert.objects.filter(kind="renewal_overdue").values_list("dedupe_key", "status"))
    assert states == {
        f"renewal_overdue:renewal:{late.pk}": "resolved",
        f"renewal_overdue:renewal:{preparing.pk}": "resolved",
        f"renewal_overdue:renewal:{proposed.pk}": "open",
    }


def test_renewal_overdue_says_nothing_of_a_lost_account(tenant, policy):
    subject = account(tenant, status="lost")
    renewal(tenant, contract(tenant, subject, start=-400, end=-5))
    run(tenant)
    assert not [a for a in all_alerts(tenant) if a.kind == "renewal_overdue"]


# --- tenants ------------------------------------------------------------------------------------------


def test_each_tenant_gets_alerts_of_its_own_contracts_and_renewals_only(tenant, other_tenant, policy):
    # given: the same situation in both tenants
    services.risk_policy_seed_default(other_tenant)
    mine, theirs = account(tenant, name="本租户客户"), account(other_tenant, name="他人客户")
    my_contract = contract(tenant, mine, title="本租户协议")
    their_contract = contract(other_tenant, theirs, title="他人协议")
    my_renewal = renewal(tenant, contract(tenant, mine, start=-400, end=-3, ip_ownership="ours"))
    their_renewal = renewal(other_tenant, contract(other_tenant, theirs, start=-400, end=-3, ip_ownership="ours"))
    # when only this tenant runs
    run(tenant)
    # then
    contract_kinds = {"ip_unprotected", "renewal_overdue"}
    assert sorted(key for key in open_alerts(tenant) if key[0] in contract_kinds) == [
        ("ip_unprotected", mine.pk),
        ("renewal_overdue", mine.pk),
    ]
    assert all_alerts(other_tenant) == []
    # when the other runs too, each sees its own
    run(other_tenant)
    ip_mine = open_alerts(tenant)[("ip_unprotected", mine.pk)]
    ip_theirs = open_alerts(other_tenant)[("ip_unprotected", theirs.pk)]
    assert [c["id"] for c in ip_mine.details["contracts"]] == [my_contract.pk]
    assert [c["id"] for c in ip_theirs.details["contracts"]] == [their_contract.pk]
    assert open_alerts(tenant)[("renewal_overdue", mine.pk)].details["renewal"] == my_renewal.pk
    assert open_alerts(other_tenant)[("renewal_overdue", theirs.pk)].details["renewal"] == their_renewal.pk
    with tenant_context(tenant):
        assert set(RiskAlert.objects.values_list("account_id", flat=True)) == {mine.pk}


# --- the bell, e-mail and webhooks ---------------------------------------------------------------------


def test_the_bell_and_the_webhooks_carry_both_kinds(tenant, other_tenant, policy, manager, member, outsider):
    # given: the manager owns the account, the member owns the renewal; an endpoint wants alert events
    subject = account(tenant, name="华东重工", owner=manager)
    contract(tenant, subject, title="年度框架协议")
    renewal(
        tenant, contract(tenant, subject, title="2025 服务协议", start=-400, end=-12, ip_ownership="ours"), owner=member
    )
    services.webhook_endpoint_create(tenant, url="https://hooks.acme.example/kam", events=ALERT_EVENTS)
    services.webhook_endpoint_create(other_tenant, url="https://hooks.globex.example/kam", events=ALERT_EVENTS)
    # when
    run(tenant)
    # then: the account's owner hears of both, the renewal's owner of the renewal
    with tenant_context(tenant):
        bell = sorted(
            (n.user.email, n.kind, n.title, n.body)
            for n in Notification.objects.filter(alert__kind__in=["ip_unprotected", "renewal_overdue"])
        )
        deliveries = [(d.event, d.payload["data"]["alert"]) for d in WebhookDelivery.objects.order_by("id")]
    assert bell == [
        (
            "bob@acme.test",
            "alert.opened",
            "Renewal overdue: 华东重工",
            "“2025 服务协议” ended on 2026-06-18, 12 days ago; its renewal is still at the Negotiating stage.",
        ),
        (
            "mark@acme.test",
            "alert.opened",
            "IP unprotected: 华东重工",
            "The active contract protects no IP (neither ours nor joint, no confidentiality in force): “年度框架协议”.",
        ),
        (
            "mark@acme.test",
            "alert.opened",
            "Renewal overdue: 华东重工",
            "“2025 服务协议” ended on 2026-06-18, 12 days ago; its renewal is still at the Negotiating stage.",
        ),
    ]
    kinds = {(event, alert["kind"]) for event, alert in deliveries}
    assert {("alert.opened", "ip_unprotected"), ("alert.opened", "renewal_overdue")} <= kinds
    ip = next(alert for _event, alert in deliveries if alert["kind"] == "ip_unprotected")
    assert (ip["account"], ip["details"]["contracts"][0]["title"]) == (
        {"id": subject.pk, "name": "华东重工"},
        "年度框架协议",
    )
    # nothing of this tenant reaches the other tenant's endpoint or people
    with tenant_context(other_tenant):
        assert WebhookDelivery.objects.count() == 0
        assert Notification.objects.count() == 0
    assert not Membership.objects.filter(tenant=tenant, user=outsider).exists()


def test_the_email_lists_both_kinds_with_their_sentences(
    tenant, policy, manager, member, django_capture_on_commit_callbacks
):
    subject = account(tenant, name="华东重工", owner=manager)
    contract(tenant, subject, title="年度框架协议")
    renewal(
        tenant, contract(tenant, subject, title="2025 服务协议", start=-400, end=-12, ip_ownership="ours"), owner=member
    )
    with django_capture_on_commit_callbacks(execute=True):
        run(tenant)
    by_address = {message.to[0]: message.body for message in mail.outbox}
    assert "[Warning] IP unprotected: 华东重工" in by_address["mark@acme.test"]
    assert "“年度框架协议”" in by_address["mark@acme.test"]
    assert "[Critical] Renewal overdue: 华东重工" in by_address["bob@acme.test"]
    assert "its renewal is still at the Negotiating stage." in by_address["bob@acme.test"]
    assert "IP unprotected" not in by_address["bob@acme.test"]


def test_the_summaries_in_chinese(tenant, policy):
    from risk.notifications import alert_summary

    subject = account(tenant)
    for n, value in enumerate(("1", "5", "4", "3", "2")):
        contract(tenant, subject, title=f"协议{n}", value=Decimal(value))
    late = renewal(
        tenant, contract(tenant, subject, title="旧协议", start=-400, end=-1, ip_ownership="ours"), "prepare"
    )
    run(tenant)
    alerts = open_alerts(tenant)
    with translation.override("zh-hans"):
        ip = alert_summary("ip_unprotected", alerts[("ip_unprotected", subject.pk)].details)
        overdue = alert_summary("renewal_overdue", alerts[("renewal_overdue", subject.pk)].details)
    # the largest three by value (5, 4, 3), then the count of the others
    assert ip == (
        "5 份生效合同未保护知识产权（既不归我方也非双方共有，且无有效保密条款）：《协议1》、《协议2》、《协议3》及另外 2 份。"
    )
    assert overdue == "合同《旧协议》已于 2026-06-29 到期（逾期 1 天），续约仍在“准备中”阶段。"
    assert alerts[("renewal_overdue", subject.pk)].details["renewal"] == late.pk


# --- pages --------------------------------------------------------------------------------------------


@pytest.fixture
def alerted(tenant, policy, manager):
    """An S account with an unprotected contract and an overdue renewal, assessed on D."""
    subject = account(tenant, name="华东重工", owner=manager)
    contract(tenant, subject, title="年度框架协议", value=Decimal("1200000"))
    renewal(tenant, contract(tenant, subject, title="2025 服务协议", start=-400, end=-12, ip_ownership="ours"))
    run(tenant)
    return subject


PAGE_WORDS = {
    "en": ("IP unprotected", "Renewal overdue", "Fix the contract", "protects no IP"),
    "zh-hans": ("知识产权未受保护", "续约逾期", "修改合同", "未保护知识产权"),
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_risk_center_filters_by_the_new_kinds(tenant, alerted, director, other_tenant, language):
    client = client_in(director, language)
    ip_label, overdue_label, fix, summary = PAGE_WORDS[language]
    ip = open_alerts(tenant)[("ip_unprotected", alerted.pk)]
    overdue = open_alerts(tenant)[("renewal_overdue", alerted.pk)]
    # the kind filter offers both kinds
    center = client.get("/t/acme/risk/").content.decode()
    assert 'value="ip_unprotected"' in center and 'value="renewal_overdue"' in center
    # filtered to ip_unprotected: that alert only, with its sentence and the link to the contracts
    body = client.get("/t/acme/risk/?kind=ip_unprotected").content.decode()
    assert re.findall(r'<tr id="alert-(\d+)"', body) == [str(ip.pk)]
    assert ip_label in body and summary in text(body) and fix in body
    contracts_tab = reverse("accounts-detail", kwargs={"tenant_slug": "acme", "account_id": alerted.pk})
    assert f'href="{contracts_tab}?tab=contracts"' in body
    body = client.get("/t/acme/risk/?kind=renewal_overdue", **HTMX).content.decode()
    assert re.findall(r'<tr id="alert-(\d+)"', body) == [str(overdue.pk)]
    assert overdue_label in body


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_alert_pages_show_the_contracts_and_the_renewal(tenant, alerted, director, language):
    client = client_in(director, language)
    ip = open_alerts(tenant)[("ip_unprotected", alerted.pk)]
    overdue = open_alerts(tenant)[("renewal_overdue", alerted.pk)]
    body = text(client.get(f"/t/acme/risk/alerts/{ip.pk}/").content.decode())
    assert "年度框架协议" in body and PAGE_WORDS[language][2] in body
    with translation.override(language):  # accounts' label of the contract's IP ownership (none)
        assert str(IpOwnership.NONE.label) in body
    body = text(client.get(f"/t/acme/risk/alerts/{overdue.pk}/").content.decode())
    assert "2025 服务协议" in body and "2026-06-18" in body
    assert ("12 days overdue" if language == "en" else "逾期 12 天") in body
    assert ("Negotiating" if language == "en" else "谈判中") in body


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_accounts_risk_tab_shows_both_kinds_with_their_links(tenant, alerted, director, language):
    client = client_in(director, language)
    url = reverse("risk-account-tab", kwargs={"tenant_slug": "acme", "account_id": alerted.pk})
    body = client.get(url, **HTMX).content.decode()
    ip_label, overdue_label, fix, summary = PAGE_WORDS[language]
    assert ip_label in body and overdue_label in body and fix in body and summary in text(body)
    assert "tab=contracts" in body
    # the renewal's own page when the renewals app serves it
    overdue = open_alerts(tenant)[("renewal_overdue", alerted.pk)]
    link = presenters.alert_fix_link("acme", overdue)
    assert f'href="{link.url}"' in body
    assert link.url == reverse("renewal", kwargs={"tenant_slug": "acme", "renewal_id": overdue.details["renewal"]})


def test_without_the_renewals_pages_an_overdue_renewal_links_the_accounts_contracts(tenant, alerted, monkeypatch):
    overdue = open_alerts(tenant)[("renewal_overdue", alerted.pk)]
    monkeypatch.setattr(presenters, "_reversed", lambda name, **kwargs: None)
    link = presenters.alert_fix_link("acme", overdue)
    contracts_tab = reverse("accounts-detail", kwargs={"tenant_slug": "acme", "account_id": alerted.pk})
    assert (str(link.label), link.url) == ("See the contract", f"{contracts_tab}?tab=contracts")


def test_another_tenants_contract_alerts_are_404_and_never_listed(tenant, alerted, other_tenant, outsider, director):
    services.risk_policy_seed_default(other_tenant)
    theirs = account(other_tenant, name="他人客户")
    contract(other_tenant, theirs, title="他人协议")
    run(other_tenant)
    foreign = open_alerts(other_tenant)[("ip_unprotected", theirs.pk)]
    client = client_in(director)
    assert client.get(f"/t/acme/risk/alerts/{foreign.pk}/").status_code == 404
    assert "他人" not in client.get("/t/acme/risk/?kind=ip_unprotected&status=all").content.decode()
    mine = open_alerts(tenant)[("ip_unprotected", alerted.pk)]
    assert client_in(outsider).get(f"/t/globex/risk/alerts/{mine.pk}/").status_code == 404


# --- the demo -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("industry", ["manufacturing", "consulting"])
def test_on_the_demo_ip_unprotected_is_open_exactly_where_the_active_contracts_protect_nothing(industry):
    # given: a demo tenant as seed_demo makes it
    tenant = kam_services.tenant_create(slug=f"demo-{industry}", name=f"演示 {industry}", industry_profile=industry)
    people = {}
    for role in Role.values:
        user = kam_services.user_get_or_create(
            email=f"{role}@{industry}.example.com", password="x" * 12, full_name=role
        )
        kam_services.membership_create(tenant=tenant, user=user, role=role)
        people[role] = user
    # when
    for label in ("accounts", "scoring", "teams", "risk"):
        apps.get_app_config(label).load_demo(tenant, people)
    # then: computed here from the contracts, as of the latest run's day
    with tenant_context(tenant):
        as_of = RiskRun.objects.order_by("-as_of").values_list("as_of", flat=True).first()
        expected = set()
        for subject in Account.objects.filter(tier__in=[Tier.S, Tier.A]).exclude(status="lost"):
            active = [c for c in Contract.objects.filter(account=subject) if c.is_active(as_of)]
            if active and not any(c.ip_protected(as_of) for c in active):
                expected.add(subject.pk)
        opened = set(
            RiskAlert.objects.filter(kind="ip_unprotected")
            .exclude(status="resolved")
            .values_list("account_id", flat=True)
        )
    assert opened == expected
    assert expected, "the demo should show at least one S or A account whose active contracts protect no IP"
