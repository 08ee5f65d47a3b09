"""The fast list path (kam/api/fastlist.py) answers DRF's bytes, and a read's audit row
commits without waiting for the WAL flush (kam/security.py).

Every list endpoint of the API, read from the URL configuration rather than listed here, is
asked the same questions twice: through the fast path and with it switched off
(``fast_list = False``): the first page; walks of 1 and 3 rows a page forwards along ``next``
and back along ``previous``; every ordering the endpoint offers; each filter, with a value
taken from the endpoint's own answer. The two answers must be equal to the byte.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.db import connection
from django.db.models.signals import post_save
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework import mixins, serializers

from accounts.access import readable_accounts
from accounts.api.serializers import AccountSerializer
from accounts.api.viewsets import AccountViewSet
from accounts.models import AccountStatus, ContactLevel, EventKind, HealthBand, InteractionKind, Tier
from kam.api import fastlist
from kam.api.throttling import TokenRateThrottle
from kam.api.viewsets import TenantViewSetMixin
from kam.models import AuditLog, Membership, Role
from kam.security import ACCESS_OBJECT_TYPE
from kam.tenancy import tenant_context
from tests.conftest import bearer, make_token
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    EventFactory,
    InteractionFactory,
    InvoiceFactory,
    OrderFactory,
)
from tests.reliability.tenant_data import APP_KWARG_OBJECTS, KWARG_OBJECTS, World, build_world

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Pages walked per question: enough to cross every kind of row the world holds.
WALK_PAGES = 6

# --- the list endpoints ------------------------------------------------------------------------------


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def list_routes() -> list[tuple[str, URLPattern]]:
    """Every API route whose GET is a viewset's list."""
    return [
        (template, entry)
        for template, entry in _walk(get_resolver())
        if template.lstrip("^").startswith("api/v1/")
        and (getattr(entry.callback, "actions", None) or {}).get("get") == "list"
    ]


def list_url(entry: URLPattern, world: World) -> str:
    """The route's URL, its id keywords filled with the world's objects."""
    app = entry.callback.cls.__module__.split(".")[0]
    kwargs = {
        name: world.objects[APP_KWARG_OBJECTS.get((app, name)) or KWARG_OBJECTS[name]].pk
        for name in entry.pattern.regex.groupindex
    }
    return reverse(entry.name, kwargs=kwargs)


def test_every_api_list_is_found_and_is_drfs_list() -> None:
    names = {entry.name for _template, entry in list_routes()}
    assert {"api-account-list", "api-account-events", "api-risk-run-list", "score-run-list"} <= names
    assert len(names) >= 20
    # TenantViewSetMixin defines list (for the fast path): a viewset without ListModelMixin
    # would get a list route from the router that way, which none may have.
    for template, entry in list_routes():
        view = entry.callback.cls
        assert issubclass(view, TenantViewSetMixin), template
        assert issubclass(view, mixins.ListModelMixin), template


# --- a world with every kind of value ---------------------------------------------------------------


def add_variety(world: World) -> None:
    """Rows with None, blank choices, decimals, dates, instants with microseconds, equal names
    (ties broken by id), Chinese text: every kind of value a column gives."""
    tenant, people = world.tenant, world.people
    parent = world.objects["account"]
    accounts = [
        AccountFactory(
            tenant=tenant,
            name="上海精密 甲",
            tier=Tier.A,
            score=Decimal("87.50"),
            health_score=Decimal("71.25"),
            health_band=HealthBand.GREEN,
            cooperation_since=dt.date(2019, 3, 1),
            industry="汽车零部件",
            owner=people[Role.MANAGER],
            parent=parent,
        ),
        AccountFactory(tenant=tenant, name="上海精密 甲", tier="", score=None, health_band="", legal_name=""),
        AccountFactory(
            tenant=tenant,
            name="Zeta 北方",
            tier=Tier.C,
            score=Decimal("0.00"),
            health_score=Decimal("100.00"),
            health_band=HealthBand.RED,
            status=AccountStatus.DORMANT,
            region="华北",
        ),
    ]
    for index, account in enumerate(accounts):
        contact = ContactFactory(
            tenant=tenant,
            account=account,
            name=f"联系人 {index}",
            email=f"c{index}@example.test" if index else "",
            level=ContactLevel.EXECUTIVE if index == 1 else ContactLevel.OPERATIONAL,
            left_on=dt.date(2025, 12, 31) if index == 2 else None,
        )
        ContactFactory(tenant=tenant, account=account, name=f"下属 {index}", reports_to=contact)
        OrderFactory(
            tenant=tenant,
            account=account,
            amount=Decimal("0.10") if index else Decimal("12345678.99"),
            cost=None if index else Decimal("1.00"),
            order_date=dt.date(2026, 2, 1 + index),
            external_ref=f"PO-{index}",
        )
        InvoiceFactory(
            tenant=tenant,
            account=account,
            paid_on=dt.date(2026, 2, 3) if index == 1 else None,
            paid_amount=Decimal("50000.00") if index == 1 else None,
        )
        InteractionFactory(
            tenant=tenant,
            account=account,
            contact=contact if index else None,
            kind=InteractionKind.VISIT if index else InteractionKind.MEETING,
            # Microseconds, and an instant given in another zone (stored in UTC).
            occurred_at=dt.datetime(2026, 3, 1, 23, 59, 59, 123456 * index, tzinfo=SHANGHAI) - dt.timedelta(days=index),
            summary=f"拜访 {index}：价格谈判",
        )
        EventFactory(
            tenant=tenant,
            account=parent,
            kind=EventKind.MAJOR_INVESTMENT,
            impact_points=Decimal("-2.5") if index else Decimal("10"),
            expires_on=None if index == 2 else dt.date(2026, 8, 28),
            occurred_on=dt.date(2026, 3, 1 + index),
        )
        ContractFactory(tenant=tenant, account=account, value=Decimal("999.99") * (index + 1))


@pytest.fixture
def worlds(db: None, monkeypatch: pytest.MonkeyPatch) -> tuple[World, World]:
    """Ours, with variety, and another tenant's, whose rows must never show."""
    # Hundreds of requests in a few seconds: far past API_RATE_LIMIT.
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "1000000/minute"})
    ours = build_world("fast-ours", "FASTOURS")
    add_variety(ours)
    return ours, build_world("fast-theirs", "FASTTHEIRS")


# --- asking twice -----------------------------------------------------------------------------------


class Twice:
    """Sends each request through the fast path and through DRF's, and keeps what differed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: Client, headers: dict[str, str], forbidden: str):
        self.monkeypatch = monkeypatch
        self.client = client
        self.headers = headers
        self.forbidden = forbidden
        self.problems: list[str] = []
        self.fast_routes: set[str] = set()
        self.asked = 0
        self.last_status = 0
        original = fastlist.list_response

        def recording(view: Any) -> Any:
            response = original(view)
            if response is not None:
                self.fast_routes.add(view.request.resolver_match.url_name)
            return response

        monkeypatch.setattr(fastlist, "list_response", recording)

    def get(self, url: str) -> dict[str, Any] | None:
        """The fast answer's JSON when both answers are the same bytes (else None, noted)."""
        fast = self.client.get(url, **self.headers)
        with self.monkeypatch.context() as patch:
            patch.setattr(TenantViewSetMixin, "fast_list", False)
            drf = self.client.get(url, **self.headers)
        self.asked += 1
        self.last_status = fast.status_code
        if (fast.status_code, fast.content, fast["Content-Type"]) != (
            drf.status_code,
            drf.content,
            drf["Content-Type"],
        ):
            self.problems.append(f"{url}: fast {fast.status_code} {fast.content[:300]!r}\n  drf {drf.content[:300]!r}")
            return None
        if self.forbidden.encode() in fast.content:
            self.problems.append(f"{url}: another tenant's rows are listed")
        return fast.json() if fast.status_code == 200 else None

    def walk(self, url: str, pages: int = WALK_PAGES) -> list[dict[str, Any]]:
        """Forwards along ``next`` for up to ``pages`` pages, then back once along ``previous``."""
        bodies = []
        while url and len(bodies) < pages:
            body = self.get(url)
            if body is None:
                break
            bodies.append(body)
            url = path_of(body.get("next"))
        if bodies and bodies[-1].get("previous"):
            self.get(path_of(bodies[-1]["previous"]))
        return bodies


def path_of(link: str | None) -> str:
    if not link:
        return ""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def with_query(url: str, **params: Any) -> str:
    return f"{url}?{urlencode(params)}"


def filter_names(entry: URLPattern) -> list[str]:
    """The query parameters the endpoint's filter set takes."""
    view = entry.callback.cls
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        return list(filterset_class.base_filters)
    return list(getattr(view, "filterset_fields", None) or ())


def filter_value(name: str, rows: list[dict[str, Any]], marker: str) -> str:
    """A value the rows hold for the filter (so it matches some), else a text that is none."""
    for row in rows:
        value = row.get(name)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int) and value != "":
            return str(value)
    return marker


def ask_everything(twice: Twice, entry: URLPattern, url: str, marker: str) -> int:
    """Everything the endpoint takes; the status of its first page."""
    first = twice.get(url)
    status = twice.last_status
    rows = first.get("results", []) if first else []
    for page_size in (1, 3):
        twice.walk(with_query(url, page_size=page_size))
    # Declared orderings; without them DRF's OrderingFilter takes any field the serializer
    # shows (a relation's name too, where only DRF's path knows the cursor position).
    orderings = getattr(entry.callback.cls, "ordering_fields", None) or (list(rows[0]) if rows else [])
    for name in orderings:
        for ordering in (name, f"-{name}"):
            twice.walk(with_query(url, ordering=ordering, page_size=2), pages=3)
    for name in filter_names(entry):
        twice.walk(with_query(url, **{name: filter_value(name, rows, marker)}, page_size=2), pages=3)
    return status


# --- the sweep --------------------------------------------------------------------------------------


def test_every_list_answers_the_same_bytes_on_the_fast_path(worlds, monkeypatch) -> None:
    # given: our tenant with one of everything and varied rows, and another tenant
    ours, theirs = worlds
    twice = Twice(monkeypatch, Client(), bearer(ours.token), forbidden=theirs.marker)
    admin = Client()
    admin.force_login(ours.people[Role.ADMIN])
    # The lists a token may not read (a person's own notifications) are asked as the admin.
    as_admin = Twice(monkeypatch, admin, {}, forbidden=theirs.marker)
    # when: every list endpoint is asked everything, through both paths
    for _template, entry in list_routes():
        url = list_url(entry, ours)
        if ask_everything(twice, entry, url, ours.marker) == 403:
            ask_everything(as_admin, entry, url, ours.marker)
    # then: the same bytes everywhere, none of the other tenant's rows, and the fast path was taken
    problems = twice.problems + as_admin.problems
    assert not problems, "\n".join(problems)
    assert twice.asked > 200 and as_admin.asked > 0
    assert {
        "api-account-list",
        "api-contact-list",
        "api-order-list",
        "api-invoice-list",
        "api-interaction-list",
        "api-account-events",
        "score-run-list",
        "staffing-rule-list",
        "plan-initiative-list",
        "api-risk-run-list",
        "api-notification-list",
        "api-webhook-deliveries",
    } <= twice.fast_routes | as_admin.fast_routes
    # A contract shows fields computed per row (ip_protected as of today, the document's URL), and
    # a contingency plan its steps and activations (nested), which the fast path leaves to DRF by
    # its rules; the bytes are compared all the same.
    assert not {"api-contract-list", "api-contingency-plan-list"} & twice.fast_routes


def test_a_member_session_reads_only_their_accounts_on_the_fast_path(worlds, monkeypatch) -> None:
    # given: a member, who reads only the accounts of the teams they serve on
    ours, theirs = worlds
    client = Client()
    client.force_login(ours.people[Role.MEMBER])
    twice = Twice(monkeypatch, client, {}, forbidden=theirs.marker)
    # when
    bodies = twice.walk(with_query("/api/v1/accounts/", page_size=1), pages=20)
    for url in ("/api/v1/orders/", "/api/v1/contacts/", "/api/v1/interactions/"):
        twice.walk(with_query(url, page_size=2))
    # then: the same bytes as DRF's path, and exactly the accounts the member reads
    assert not twice.problems, "\n".join(twice.problems)
    membership = Membership.objects.get(tenant=ours.tenant, user=ours.people[Role.MEMBER])
    with tenant_context(ours.tenant):
        readable = set(readable_accounts(ours.tenant, membership).values_list("pk", flat=True))
    listed = [row["id"] for body in bodies for row in body["results"]]
    assert ours.objects["account"].pk in listed
    assert sorted(listed) == sorted(readable) and len(readable) < 5
    assert "api-account-list" in twice.fast_routes


def test_the_accounts_page_reads_the_columns_it_shows(worlds) -> None:
    """What the answer holds, as the integrator sees it: ids for relations, money and scores
    as DRF renders them, instants in the server's zone, blank choices as ''."""
    ours, _theirs = worlds
    response = Client().get("/api/v1/accounts/?q=上海精密&ordering=name", **bearer(ours.token))
    assert response.status_code == 200
    first = response.json()["results"][0]
    account = ours.objects["account"]
    assert first["name"] == "上海精密 甲"
    assert first["parent"] == account.pk
    assert first["owner"] == ours.people[Role.MANAGER].pk
    assert first["score"] == 87.5  # coerce_to_string=False: a JSON number
    assert first["tier"] == "A"
    assert first["cooperation_since"] == "2019-03-01"
    assert first["created_at"].endswith("+08:00")
    second = response.json()["results"][1]
    assert (second["name"], second["tier"], second["score"], second["parent"]) == ("上海精密 甲", "", None, None)


# --- which serializers qualify -----------------------------------------------------------------------


class WithMethodField(AccountSerializer):
    greeting = serializers.SerializerMethodField()

    class Meta(AccountSerializer.Meta):
        fields = (*AccountSerializer.Meta.fields, "greeting")

    def get_greeting(self, account: Any) -> str:
        return f"你好 {account.name}"


class WithDottedSource(AccountSerializer):
    owner_email = serializers.CharField(source="owner.email", read_only=True, allow_null=True)

    class Meta(AccountSerializer.Meta):
        fields = (*AccountSerializer.Meta.fields, "owner_email")


class WithOwnRepresentation(AccountSerializer):
    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {**super().to_representation(instance), "kind": "account"}


def test_a_plain_model_serializer_qualifies() -> None:
    plan = fastlist.compile_plan(AccountSerializer(context={}))
    assert plan is not None
    assert [column.key for column in plan.columns] == list(AccountSerializer.Meta.fields)
    # Relations are read from their id columns.
    assert {column.key: column.attname for column in plan.columns}["parent"] == "parent_id"


@pytest.mark.parametrize("serializer_class", [WithMethodField, WithDottedSource, WithOwnRepresentation])
def test_a_serializer_the_plan_cannot_reproduce_does_not_qualify(serializer_class) -> None:
    assert fastlist.compile_plan(serializer_class(context={})) is None


@pytest.mark.parametrize(
    ("serializer_class", "key", "expected"),
    [
        (WithMethodField, "greeting", "你好 {name}"),
        (WithDottedSource, "owner_email", "{owner_email}"),
        (WithOwnRepresentation, "kind", "account"),
    ],
)
def test_a_viewset_whose_serializer_does_not_qualify_answers_through_drf(
    tenant, manager, read_token, monkeypatch, serializer_class, key, expected
) -> None:
    # given: the accounts list with a serializer the plan cannot reproduce
    account = AccountFactory(tenant=tenant, name="恒通", owner=manager)
    monkeypatch.setattr(AccountViewSet, "serializer_class", serializer_class)
    answers = []
    original = fastlist.list_response
    monkeypatch.setattr(fastlist, "list_response", lambda view: answers.append(original(view)) or answers[-1])
    # when
    response = Client().get("/api/v1/accounts/", **bearer(read_token))
    # then: DRF's path served it, the extra field included
    assert response.status_code == 200
    assert answers == [None]
    row = response.json()["results"][0]
    assert row["id"] == account.pk
    assert row[key] == expected.format(name="恒通", owner_email=manager.email)


def test_a_viewset_can_opt_out(tenant, read_token, monkeypatch) -> None:
    AccountFactory(tenant=tenant)
    monkeypatch.setattr(AccountViewSet, "fast_list", False)
    answers: list[Any] = []
    monkeypatch.setattr(fastlist, "list_response", answers.append)
    assert Client().get("/api/v1/accounts/", **bearer(read_token)).status_code == 200
    assert answers == []


def test_the_api_settings_are_read_on_every_request(tenant, read_token, settings) -> None:
    """Ids as strings, money as numbers, another instant format: both paths still agree."""
    account = AccountFactory(tenant=tenant, name="恒通", score=Decimal("66.60"))
    OrderFactory(tenant=tenant, account=account, amount=Decimal("1234.50"))
    InteractionFactory(tenant=tenant, account=account)
    client = Client()
    urls = ("/api/v1/accounts/", "/api/v1/orders/", "/api/v1/interactions/")
    default = [client.get(url, **bearer(read_token)).content for url in urls]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "COERCE_BIGINT_TO_STRING": True,
        "COERCE_DECIMAL_TO_STRING": False,
        "DATETIME_FORMAT": "%Y-%m-%d %H:%M",
    }
    answers = {}
    for fast in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(TenantViewSetMixin, "fast_list", fast)
            answers[fast] = [client.get(url, **bearer(read_token)).content for url in urls]
    assert answers[True] == answers[False]
    accounts, orders, interactions = (json.loads(body) for body in answers[True])
    assert accounts["results"][0]["id"] == str(account.pk)
    assert orders["results"][0]["amount"] == 1234.5
    assert interactions["results"][0]["occurred_at"] == "2026-03-01 18:00"
    assert default != [client.get(url, **bearer(read_token)).content for url in urls]


# --- instants --------------------------------------------------------------------------------------


INSTANTS = [
    dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=dt.UTC),  # New York's change to summer time
    dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC),  # New York's hour that happens twice
    dt.datetime(1900, 1, 1, 0, 0, tzinfo=dt.UTC),  # Shanghai's local mean time: +08:05:43
    dt.datetime(2026, 6, 30, 23, 59, 59, tzinfo=SHANGHAI),
    dt.datetime(2026, 6, 30, 12, 0),  # noqa: DTZ001 naive on purpose: DRF makes it aware in the current zone
]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kathmandu"])
@pytest.mark.parametrize("field_kwargs", [{}, {"default_timezone": dt.UTC}, {"format": "%Y-%m-%d %H:%M"}])
def test_instants_are_written_as_drf_writes_them(zone, field_kwargs) -> None:
    field = serializers.DateTimeField(**field_kwargs)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        convert = fastlist.instant_converter(field)
        assert [convert(value) for value in INSTANTS] == [field.to_representation(value) for value in INSTANTS]


# --- the read's audit row ----------------------------------------------------------------------------


@pytest.fixture
def commit_modes() -> Iterator[list[tuple[str, str]]]:
    """For each access row written: its method and path, and synchronous_commit at that
    moment, read from the request's own transaction."""
    seen: list[tuple[str, str]] = []

    def record(sender: type, instance: AuditLog, **kwargs: Any) -> None:
        if instance.object_type == ACCESS_OBJECT_TYPE:
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                seen.append((instance.object_repr, cursor.fetchone()[0]))

    post_save.connect(record, sender=AuditLog, dispatch_uid="test_fast_list.commit_modes")
    try:
        yield seen
    finally:
        post_save.disconnect(sender=AuditLog, dispatch_uid="test_fast_list.commit_modes")


def test_an_answered_read_commits_its_audit_row_without_waiting_for_the_flush(
    transactional_db, tenant, commit_modes
) -> None:
    # given: each request is its own top-level transaction here, as in production
    _token, raw = make_token(tenant, "write")
    client = Client()
    # when
    assert client.get("/api/v1/me/", **bearer(raw)).status_code == 200
    assert client.get("/api/v1/accounts/999999/", **bearer(raw)).status_code == 404
    created = client.post("/api/v1/accounts/", {"name": "新客户"}, content_type="application/json", **bearer(raw))
    assert created.status_code == 201
    assert client.head("/api/v1/accounts/", **bearer(raw)).status_code == 200
    # then: off for the answered reads only, and only inside their own transactions
    assert commit_modes == [
        ("GET /api/v1/me/", "off"),
        ("GET /api/v1/accounts/999999/", "on"),
        ("POST /api/v1/accounts/", "on"),
        ("HEAD /api/v1/accounts/", "off"),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    # and the rows were committed all the same
    with tenant_context(tenant):
        assert AuditLog.objects.filter(object_type=ACCESS_OBJECT_TYPE).count() == 4
