"""The risk policy page: who reads and who changes the warning lines, shares entered and
shown in percent but kept as fractions, bad input on every field (a clear message,
nothing saved), the audit log, both languages, and another tenant (404)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from kam.models import AuditLog, Role
from kam.tenancy import tenant_context
from risk import services
from risk.models import RiskPolicy

pytestmark = pytest.mark.django_db

URL = "/t/acme/risk/settings/policy/"

# Every field as the form posts it, the defaults of DESIGN section 6 in the page's units.
DEFAULT_FORM = {
    "single_customer_warning": "10",
    "single_customer_critical": "20",
    "top5_warning": "50",
    "hhi_warning": "1500",
    "hhi_critical": "2500",
    "health_drop_points": "15",
    "purchase_overdue_ratio": "1.5",
    "payment_overdue_days": "30",
    "contract_expiring_days": "90",
    "recent_days": "90",
}


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def stored(tenant) -> dict[str, Decimal | int]:
    with tenant_context(tenant):
        policy = RiskPolicy.objects.get()
    return {name: getattr(policy, name) for name in services.POLICY_FIELDS}


def input_value(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag, f"no input {name}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<div class="field-error" id="id_{name}_error">(.*?)</div>', html, re.S)
    return match.group(1).strip() if match else ""


def policy_audit_entries(tenant) -> list[AuditLog]:
    with tenant_context(tenant):
        return list(AuditLog.objects.filter(object_type="risk.riskpolicy").order_by("id"))


# --- who may read and change ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DIRECTOR])
def test_admins_and_directors_get_the_form_with_shares_in_percent(tenant, policy, role_users, role):
    response = client_in(role_users[role]).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    # the fractions 0.10, 0.20, 0.50 are shown as 10, 20, 50 (percent); the rest as kept
    assert {name: input_value(html, name) for name in DEFAULT_FORM} == DEFAULT_FORM
    assert '<button type="submit" class="btn btn--primary">Save the policy</button>' in html
    # every section with its help, and the note on when the lines apply
    for title in (
        "Concentration warning lines",
        "Health",
        "Purchase rhythm",
        "Payments",
        "Contracts",
        "Recent changes",
    ):
        assert 'class="card-title" id="policy-' in html and f">{title}</h2>" in html
    assert "Default: 10\u00a0%." in html and "Default: 1.5\u00a0× the usual interval." in html
    assert "New lines apply from the next risk run" in html


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EXECUTIVE])
def test_managers_and_executives_read_the_policy_without_a_form(tenant, policy, role_users, role):
    # given a policy changed from the defaults
    services.risk_policy_update(tenant, single_customer_warning=Decimal("0.125"))
    # when they open the page
    response = client_in(role_users[role]).get(URL)
    html = response.content.decode()
    # then the values are shown, in percent, and nothing can be typed in
    assert response.status_code == 200
    assert "<input" not in html.split('<main id="main"', 1)[1]
    values = dict(re.findall(r'id="value-(\w+)">.*?<strong>([^<]+)</strong>', html, re.S))
    assert values["single_customer_warning"] == "12.5"
    assert values["hhi_critical"] == "2,500"
    assert values["purchase_overdue_ratio"] == "1.5"
    assert "Read only: administrators and directors change the risk policy." in html


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EXECUTIVE, Role.MEMBER])
def test_other_roles_cannot_change_the_policy(tenant, policy, role_users, role):
    before = stored(tenant)
    response = client_in(role_users[role]).post(URL, {**DEFAULT_FORM, "single_customer_warning": "8"})
    assert response.status_code == 403
    assert stored(tenant) == before


def test_a_team_member_may_not_read_the_policy(tenant, policy, member):
    assert client_in(member).get(URL).status_code == 403


def test_someone_of_another_tenant_gets_404(tenant, policy, outsider):
    before = stored(tenant)
    assert client_in(outsider).get(URL).status_code == 404
    assert client_in(outsider).post(URL, {**DEFAULT_FORM, "single_customer_warning": "8"}).status_code == 404
    assert stored(tenant) == before


def test_the_page_needs_a_login(tenant, policy):
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- saving ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DIRECTOR])
def test_saving_stores_fractions_and_is_audited(tenant, policy, role_users, role):
    # given
    user = role_users[role]
    form = {
        **DEFAULT_FORM,
        "single_customer_warning": "12.5",
        "single_customer_critical": "25",
        "top5_warning": "45.25",
        "hhi_critical": "3000.5",
        "purchase_overdue_ratio": "2",
        "payment_overdue_days": "45",
    }
    # when
    response = client_in(user).post(URL, form, follow=True)
    # then: 12.5 % is kept as 0.125, 45.25 % as 0.4525; the rest as typed
    assert response.redirect_chain == [(URL, 302)]
    assert stored(tenant) == {
        "single_customer_warning": Decimal("0.1250"),
        "single_customer_critical": Decimal("0.2500"),
        "top5_warning": Decimal("0.4525"),
        "hhi_warning": Decimal("1500"),
        "hhi_critical": Decimal("3000.50"),
        "health_drop_points": Decimal("15"),
        "purchase_overdue_ratio": Decimal("2"),
        "payment_overdue_days": 45,
        "contract_expiring_days": 90,
        "recent_days": 90,
    }
    html = response.content.decode()
    assert "The risk policy was saved. The new lines apply from the next risk run." in html
    assert input_value(html, "single_customer_warning") == "12.5"
    assert input_value(html, "top5_warning") == "45.25"
    # one audit entry by the user, with only the changed fields, in the model's units
    (entry,) = policy_audit_entries(tenant)
    assert entry.actor_user_id == user.pk and entry.action == "update"
    changed = set(entry.changes) - {"updated_by_id"}
    assert changed == {
        "single_customer_warning",
        "single_customer_critical",
        "top5_warning",
        "hhi_critical",
        "purchase_overdue_ratio",
        "payment_overdue_days",
    }
    assert [Decimal(str(value)) for value in entry.changes["single_customer_warning"]] == [
        Decimal("0.1"),
        Decimal("0.125"),
    ]
    # and the page says who changed it
    assert f"Last changed by {user.display_name}" in html


def test_saving_the_same_values_changes_nothing(tenant, policy, admin):
    response = client_in(admin).post(URL, DEFAULT_FORM, follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert policy_audit_entries(tenant) == []


def test_a_tenant_without_a_policy_row_sees_the_defaults_and_saving_creates_it(tenant, admin):
    # given a tenant made without the risk app's seed
    with tenant_context(tenant):
        assert not RiskPolicy.objects.exists()
    html = client_in(admin).get(URL).content.decode()
    assert input_value(html, "single_customer_warning") == "10"
    assert "The default lines apply; nobody has changed them." in html
    # when the admin saves a change
    client_in(admin).post(URL, {**DEFAULT_FORM, "recent_days": "60"})
    # then the row exists with it
    assert stored(tenant)["recent_days"] == 60


# --- bad input -------------------------------------------------------------------------------------

BAD_INPUT = [
    # (field, value, message)
    ("single_customer_warning", "", "Enter a percentage from 5 to 100, e.g. 10 for 10 %."),
    ("single_customer_warning", "abc", "Enter a percentage from 5 to 100, e.g. 10 for 10 %."),
    ("single_customer_warning", "4.99", "Enter a percentage from 5 to 100, e.g. 10 for 10 %."),
    ("single_customer_warning", "0.10", "Enter a percentage from 5 to 100, e.g. 10 for 10 %."),
    ("single_customer_warning", "10.125", "Use at most 2 decimal places."),
    ("single_customer_critical", "100.5", "Enter a percentage from 5 to 100, e.g. 10 for 10 %."),
    ("single_customer_critical", "NaN", "Enter a percentage from 5 to 100, e.g. 10 for 10 %."),
    ("top5_warning", "0.5", "Enter a percentage from 1 to 100, e.g. 10 for 10 %."),
    ("top5_warning", "-50", "Enter a percentage from 1 to 100, e.g. 10 for 10 %."),
    ("hhi_warning", "0", "Enter a number from 1 to 10,000."),
    ("hhi_warning", "1500.123", "Use at most 2 decimal places."),
    ("hhi_critical", "10001", "Enter a number from 1 to 10,000."),
    ("hhi_critical", "1e9", "Enter a number from 1 to 10,000."),
    ("health_drop_points", "0.5", "Enter a number from 1 to 100."),
    ("health_drop_points", "101", "Enter a number from 1 to 100."),
    ("purchase_overdue_ratio", "0.9", "Enter a number from 1 to 10."),
    ("purchase_overdue_ratio", "Infinity", "Enter a number from 1 to 10."),
    ("payment_overdue_days", "0", "Enter a whole number of days from 1 to 365."),
    ("payment_overdue_days", "30.5", "Enter a whole number of days from 1 to 365."),
    ("payment_overdue_days", "366", "Enter a whole number of days from 1 to 365."),
    ("contract_expiring_days", "731", "Enter a whole number of days from 1 to 730."),
    ("contract_expiring_days", "ninety", "Enter a whole number of days from 1 to 730."),
    ("recent_days", "-1", "Enter a whole number of days from 1 to 730."),
    ("recent_days", "99999999999999999999", "Enter a whole number of days from 1 to 730."),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_INPUT)
def test_bad_input_on_every_field_is_refused_and_nothing_is_saved(tenant, policy, admin, name, value, message):
    before = stored(tenant)
    response = client_in(admin).post(URL, {**DEFAULT_FORM, "single_customer_warning": "12", name: value})
    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, name) == message
    assert "Nothing was saved. Correct the values marked below." in html
    # the value typed is shown again for correction, the other fields keep theirs
    assert input_value(html, name) == value
    assert stored(tenant) == before
    assert policy_audit_entries(tenant) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"single_customer_warning": "30", "single_customer_critical": "20"}, "single_customer_critical"),
        ({"single_customer_critical": "9"}, "single_customer_critical"),
        ({"hhi_warning": "3000", "hhi_critical": "2500"}, "hhi_critical"),
        ({"hhi_critical": "1499.99"}, "hhi_critical"),
    ],
)
def test_a_critical_line_below_its_warning_line_is_refused(tenant, policy, director, changes, field):
    before = stored(tenant)
    response = client_in(director).post(URL, {**DEFAULT_FORM, **changes})
    assert response.status_code == 400
    assert field_error(response.content.decode(), field) == "The critical line cannot be below the warning line."
    assert stored(tenant) == before


def test_a_missing_field_is_refused(tenant, policy, admin):
    form = {key: value for key, value in DEFAULT_FORM.items() if key != "hhi_warning"}
    response = client_in(admin).post(URL, form)
    assert response.status_code == 400
    assert field_error(response.content.decode(), "hhi_warning") == "Enter a number from 1 to 10,000."


# --- languages -------------------------------------------------------------------------------------


def test_the_page_and_its_messages_in_chinese(tenant, policy, admin, executive):
    html = client_in(admin, "zh-hans").get(URL).content.decode()
    assert "<h1>风险策略</h1>" in html
    assert "客户集中度预警线" in html
    assert "保存风险策略" in html
    bad = client_in(admin, "zh-hans").post(URL, {**DEFAULT_FORM, "single_customer_warning": "3"})
    assert (
        field_error(bad.content.decode(), "single_customer_warning")
        == "请输入 5 到 100 之间的百分数，例如 10 表示 10%。"
    )
    below = client_in(admin, "zh-hans").post(URL, {**DEFAULT_FORM, "hhi_critical": "1000"})
    assert field_error(below.content.decode(), "hhi_critical") == "严重线不能低于预警线。"
    read_only = client_in(executive, "zh-hans").get(URL).content.decode()
    assert "只读：管理员和总监可以修改风险策略。" in read_only
