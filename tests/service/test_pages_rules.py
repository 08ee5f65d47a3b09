"""The classification settings page: administrators edit the categories and their keywords,
directors read, the others get 403 and another tenant 404; bad input (a duplicate, an empty
keyword, a weight outside 1..10) is a clear message and writes nothing; every change is
audited and classifies the next need; the text model's figures and "train now"."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from kam.models import AuditLog
from kam.tenancy import tenant_context
from service import services
from service.models import Category, ClassifierModel, KeywordRule

pytestmark = pytest.mark.django_db

URL = "/t/acme/service/settings/classification/"


def client_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def text(response) -> str:
    html = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(unescape(html).split())


@pytest.fixture
def seeded(tenant):
    services.categories_seed_default(tenant)
    with tenant_context(tenant):
        return {category.key: category for category in Category.objects.all()}


def rule_of(tenant, key: str, keyword: str) -> KeywordRule | None:
    with tenant_context(tenant):
        return KeywordRule.objects.filter(category__key=key, keyword=keyword).first()


def rule_count(tenant) -> int:
    with tenant_context(tenant):
        return KeywordRule.objects.count()


def category_of_next_need(tenant, subject: str) -> str | None:
    need, _created = services.need_create(tenant, subject=subject)
    return need.category.key if need.category_id else None


# --- who may read and change ---------------------------------------------------------------------


def test_admins_get_the_forms(tenant, seeded, admin):
    response = client_in(admin).get(URL)
    assert response.status_code == 200
    page = text(response)
    for name in ("产品咨询", "Technical support", "投诉", "Routed to: Account owner", "Directors are told"):
        assert name in page, name
    assert "故障" in page and "Add keyword" in page and "Edit the category" in page and "Train now" in page
    assert "No model has been trained yet" in page


def test_directors_read_only_and_the_others_are_refused(tenant, seeded, director, manager, member, executive):
    page = text(client_in(director).get(URL))
    assert "Read only: administrators change the classification." in page
    assert "故障" in page and "Add keyword" not in page and "Train now" not in page
    for user in (manager, member, executive):
        assert client_in(user).get(URL).status_code == 403
    rule = rule_of(tenant, "technical_support", "故障")
    for user in (director, manager):
        client = client_in(user)
        assert client.post(f"{URL}keywords/{rule.pk}/", {"weight": "5"}).status_code == 403
        path = f"{URL}categories/{seeded['billing'].pk}/keywords/"
        assert client.post(path, {"keyword": "扫码枪", "weight": "3"}).status_code == 403
        assert client.post(f"{URL}train/").status_code == 403
    assert rule_of(tenant, "technical_support", "故障").weight == 2
    assert rule_of(tenant, "billing", "扫码枪") is None


def test_another_tenant_is_404(tenant, other_tenant, seeded, admin, outsider):
    assert client_in(outsider).get(URL).status_code == 404
    services.categories_seed_default(other_tenant)
    with tenant_context(other_tenant):
        their_rule = KeywordRule.objects.get(category__key="billing", keyword="发票")
        their_category = Category.objects.get(key="billing")
    client = client_in(admin)
    assert client.post(f"{URL}keywords/{their_rule.pk}/", {"weight": "9"}).status_code == 404
    assert client.post(f"{URL}keywords/{their_rule.pk}/delete/").status_code == 404
    assert client.get(f"{URL}keywords/{their_rule.pk}/delete/").status_code == 404
    path = f"{URL}categories/{their_category.pk}/keywords/"
    assert client.post(path, {"keyword": "扫码枪", "weight": "3"}).status_code == 404
    form = {"name_zh": "x", "name_en": "x", "route_to": "owner", "position": "1"}
    assert client.post(f"{URL}categories/{their_category.pk}/", form).status_code == 404
    with tenant_context(other_tenant):
        assert KeywordRule.objects.get(pk=their_rule.pk).weight == 2
        assert Category.objects.get(pk=their_category.pk).name_en == "Payment and invoices"


# --- keywords ------------------------------------------------------------------------------------


def test_add_a_keyword_audited_and_it_classifies_the_next_need(tenant, seeded, admin):
    assert category_of_next_need(tenant, "扫码枪不亮") is None
    client = client_in(admin)
    path = f"{URL}categories/{seeded['technical_support'].pk}/keywords/"
    response = client.post(path, {"keyword": " 扫码枪 ", "weight": "3"})
    assert response.status_code == 302
    assert response["Location"] == f"{URL}#category-{seeded['technical_support'].pk}"
    rule = rule_of(tenant, "technical_support", "扫码枪")
    assert rule is not None and rule.weight == 3 and rule.is_active
    assert "The keyword “扫码枪” was added to Technical support." in text(client.get(URL))
    with tenant_context(tenant):
        logged = AuditLog.objects.get(object_type="service.keywordrule", object_id=str(rule.pk))
    assert logged.action == "create" and logged.actor_user == admin
    assert logged.changes["keyword"] == [None, "扫码枪"]
    assert category_of_next_need(tenant, "扫码枪不亮") == "technical_support"


@pytest.mark.parametrize(
    ("keyword", "weight", "message"),
    [
        ("故障", "1", "This category has this keyword already."),
        ("ERROR", "1", "This category has this keyword already."),  # matching ignores case
        ("", "1", "Enter a keyword or a phrase."),
        ("   ", "1", "Enter a keyword or a phrase."),
        ("扫码枪", "0", "The weight is a whole number from 1 to 10."),
        ("扫码枪", "11", "The weight is a whole number from 1 to 10."),
        ("扫码枪", "abc", "The weight is a whole number from 1 to 10."),
        ("扫" * 61, "1", "A keyword has at most 60 characters."),
    ],
)
def test_bad_keywords_are_refused_with_a_message(tenant, seeded, admin, keyword, weight, message):
    before = rule_count(tenant)
    path = f"{URL}categories/{seeded['technical_support'].pk}/keywords/"
    response = client_in(admin).post(path, {"keyword": keyword, "weight": weight})
    assert response.status_code == 400
    page = text(response)
    assert "Nothing was saved. The keyword was not added:" in page
    assert message in page
    # beside its own form, the posted keyword kept
    html = response.content.decode()
    assert f'id="id_rule{seeded["technical_support"].pk}_' in html
    assert rule_count(tenant) == before


def test_edit_the_weight_and_refuse_outside_1_to_10(tenant, seeded, admin):
    client = client_in(admin)
    rule = rule_of(tenant, "technical_support", "error")
    assert client.post(f"{URL}keywords/{rule.pk}/", {"weight": "7"}).status_code == 302
    assert rule_of(tenant, "technical_support", "error").weight == 7
    for bad in ("0", "11", ""):
        response = client.post(f"{URL}keywords/{rule.pk}/", {"weight": bad})
        assert response.status_code == 400
        assert "The weight is a whole number from 1 to 10." in text(response)
    assert rule_of(tenant, "technical_support", "error").weight == 7


def test_deactivate_changes_the_next_needs_category(tenant, seeded, admin):
    # "invoice" (billing, 2) against "delay"... "delayed" (delivery, 1): billing wins
    assert category_of_next_need(tenant, "invoice delayed") == "billing"
    rule = rule_of(tenant, "billing", "invoice")
    client = client_in(admin)
    response = client.post(f"{URL}keywords/{rule.pk}/", {"active": "0"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "it no longer classifies needs" in text(response)
    assert rule_of(tenant, "billing", "invoice").is_active is False
    assert category_of_next_need(tenant, "invoice delayed") == "delivery"
    client.post(f"{URL}keywords/{rule.pk}/", {"active": "1"})
    assert category_of_next_need(tenant, "invoice delayed") == "billing"


def test_delete_asks_first_then_deletes(tenant, seeded, admin):
    rule = rule_of(tenant, "billing", "vat")
    client = client_in(admin)
    html = client.get(URL).content.decode()
    assert "Delete the keyword “vat”? Needs already classified keep their category." in html
    response = client.get(f"{URL}keywords/{rule.pk}/delete/")
    assert response.status_code == 200 and "Delete the keyword “vat”?" in text(response)
    assert rule_of(tenant, "billing", "vat") is not None
    response = client.post(f"{URL}keywords/{rule.pk}/delete/")
    assert response.status_code == 302
    assert rule_of(tenant, "billing", "vat") is None
    with tenant_context(tenant):
        assert AuditLog.objects.filter(object_type="service.keywordrule", action="delete").count() == 1


# --- categories ----------------------------------------------------------------------------------


def category_form(category: Category, **changes: str) -> dict[str, str]:
    form = {
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "route_to": category.route_to,
        "position": str(category.position),
    }
    if category.tells_director:
        form["tells_director"] = "on"
    if category.is_active:
        form["is_active"] = "on"
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def test_edit_a_category_audited(tenant, seeded, admin):
    delivery = seeded["delivery"]
    client = client_in(admin)
    form = category_form(delivery, name_en="Delivery", route_to="service", tells_director="on")
    response = client.post(f"{URL}categories/{delivery.pk}/", form)
    assert response.status_code == 302
    with tenant_context(tenant):
        saved = Category.objects.get(pk=delivery.pk)
        logged = AuditLog.objects.get(object_type="service.category", object_id=str(delivery.pk))
    assert (saved.name_en, saved.route_to, saved.tells_director, saved.key) == ("Delivery", "service", True, "delivery")
    assert logged.changes["route_to"] == ["delivery", "service"]
    assert "The category “Delivery” was saved." in text(client.get(URL))


def test_an_inactive_category_no_longer_classifies(tenant, seeded, admin):
    assert category_of_next_need(tenant, "发票抬头错误") == "billing"
    form = category_form(seeded["billing"], is_active=None)
    form.pop("is_active", None)
    assert client_in(admin).post(f"{URL}categories/{seeded['billing'].pk}/", form).status_code == 302
    assert category_of_next_need(tenant, "发票抬头错误") is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name_zh": "  "}, "Give the category a name."),
        ({"route_to": "marketing"}, "Choose whom the category's needs go to."),
        ({"position": "-1"}, "Ensure this value is greater than or equal to 0."),
    ],
)
def test_bad_category_values_are_refused(tenant, seeded, admin, changes, message):
    billing = seeded["billing"]
    response = client_in(admin).post(f"{URL}categories/{billing.pk}/", category_form(billing, **changes))
    assert response.status_code == 400
    assert message in text(response)
    with tenant_context(tenant):
        saved = Category.objects.get(pk=billing.pk)
    assert (saved.name_zh, saved.route_to, saved.position) == (billing.name_zh, billing.route_to, billing.position)


# --- the text model ------------------------------------------------------------------------------


def test_the_latest_model_and_its_report_are_shown(tenant, seeded, admin):
    with tenant_context(tenant):
        ClassifierModel.objects.create(
            tenant=tenant,
            trained_at=timezone.now(),
            samples=64,
            cv_accuracy=Decimal("0.8125"),
            rules_accuracy=Decimal("0.6250"),
            is_used=True,
            labels=["billing", "delivery"],
            report={
                "folds": 5,
                "left_out": ["complaint"],
                "coverage": 0.9,
                "categories": {
                    "billing": {
                        "support": 40,
                        "model_accuracy": 0.85,
                        "rules_accuracy": 0.7,
                        "terms": ["发票", "开票"],
                    },
                    "delivery": {"support": 24, "model_accuracy": 0.75, "model_precision": None},
                    "broken": "not a dict",
                },
            },
            payload=b"",
        )
    page = text(client_in(admin).get(URL))
    # 0.8125 -> 81.3% (one decimal, half up); 0.625 -> 62.5%
    assert "Cross-validated accuracy 81.3%" in page
    assert "The keyword rules' accuracy 62.5%" in page
    assert "In use Yes" in page
    assert "Needs trained on 64" in page
    assert "Payment and invoices 40 85.0% 70.0% — 发票 开票" in page
    assert "Delivery and logistics 24 75.0% — — —" in page
    assert "Left out (fewer than two needs categorised by people): Complaint" in page


def test_train_now_queues_the_task(tenant, seeded, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_in(admin).post(f"{URL}train/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Training was queued." in text(response)
    assert len(callbacks) == 1


def test_the_page_renders_in_chinese(tenant, seeded, admin):
    response = client_in(admin, "zh-hans").get(URL)
    assert response.status_code == 200
    assert "技术支持" in text(response)
