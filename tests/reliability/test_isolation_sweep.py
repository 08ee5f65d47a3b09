"""Tenant isolation, swept over every route the URL configuration has (DESIGN section 2).

The routes are read from the resolver, not listed by hand: a page or an API endpoint added
tomorrow is covered without touching this file. For every route under /t/<tenant_slug>/ and
/api/v1/ that names objects by id, people and a token of tenant B try tenant A's ids with
every method: under A's slug the answer is 404; under B's slug and through the API it is
404 too, or — where a role or method check rightly comes first — exactly what a missing id
gets, so that nothing tells A's ids exist. A's rows, checksummed through the owner's
connection, are the same afterwards. Every page and list B can open without an id is
searched for A's marker (exports unzipped).

The objects come from tests/reliability/tenant_data.py: a route with an id keyword it does
not know fails here, saying what to add there. Keywords that are not ids (a dashboard part's
key) take every value its VALUE_KEYWORDS entry gives.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from kam.api.throttling import TokenRateThrottle
from kam.db import owner_connection
from kam.models import Role
from kam.rls import tenant_tables
from tests.reliability.tenant_data import (
    APP_KWARG_OBJECTS,
    KWARG_OBJECTS,
    MODEL_OBJECTS,
    VALUE_KEYWORDS,
    World,
    build_world,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Tried in this order under B's own slug until one gets past the role checks to the lookup.
ROLES = (Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.MEMBER, Role.EXECUTIVE)
# An id no row has (ids are bigint; this one is far beyond what a test makes).
MISSING_ID = 2_000_000_000
# Answers that say nothing about the id, when a missing id gets the same.
ID_BLIND = {400, 403, 405}
A_SLUG, B_SLUG = "iso-alpha", "iso-beta"
# Generated from the code and served to anyone: no tenant's rows can be in them.
DOCUMENTATION_ROUTES = frozenset({"api-schema", "api-docs", "api-redoc"})
A_MARKER, B_MARKER = "ISOLEAK-ALPHA", "ISOLEAK-BETA"


# --- the routes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    template: str  # as written in the URL configuration, for messages
    name: str | None
    app: str  # the top package of the view's module
    keywords: tuple[str, ...]  # URL keywords other than tenant_slug
    id_keywords: tuple[str, ...]
    model: Any  # a router viewset's model, for {pk}
    is_page: bool  # under /t/<tenant_slug>/

    @property
    def is_api(self) -> bool:
        return not self.is_page

    @property
    def value_keywords(self) -> tuple[str, ...]:
        return tuple(name for name in self.keywords if name not in self.id_keywords)

    def value_choices(self) -> list[dict[str, str]]:
        """Every combination of the values of the route's keywords that are not ids."""
        choices: list[dict[str, str]] = [{}]
        for keyword in self.value_keywords:
            values = VALUE_KEYWORDS[(self.app, keyword)]()
            choices = [{**choice, keyword: value} for choice in choices for value in values]
        return choices


def _keywords(pattern: Any) -> dict[str, Any]:
    """The keyword groups of one pattern with their converters (None for a regex group)."""
    converters = getattr(pattern, "converters", {}) or {}
    names = dict.fromkeys(pattern.regex.groupindex)
    names.update(converters)
    return names


def _walk(resolver: URLResolver, prefix: str = "", keywords: dict | None = None) -> Iterator[tuple[str, Any, dict]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        found = {**(keywords or {}), **_keywords(entry.pattern)}
        if isinstance(entry, URLResolver):
            yield from _walk(entry, route, found)
        elif isinstance(entry, URLPattern):
            yield route, entry, found


def _is_id(name: str, converter: Any) -> bool:
    return isinstance(converter, IntConverter) or name == "pk" or name.endswith("_id")


def tenant_routes() -> list[Route]:
    """Every route of pages under /t/<tenant_slug>/ and of /api/v1/."""
    routes = []
    for template, entry, keywords in _walk(get_resolver()):
        is_page = "tenant_slug" in keywords
        if not (is_page or template.lstrip("^").startswith("api/v1/")):
            continue
        view = getattr(entry.callback, "cls", None) or entry.callback
        queryset = getattr(view, "queryset", None)
        names = tuple(name for name in keywords if name != "tenant_slug")
        routes.append(
            Route(
                template=template,
                name=entry.name,
                app=view.__module__.split(".")[0],
                keywords=names,
                id_keywords=tuple(name for name in names if _is_id(name, keywords[name])),
                model=queryset.model if queryset is not None else None,
                is_page=is_page,
            )
        )
    return routes


def object_name(route: Route, keyword: str) -> str | None:
    """Which object of a world the keyword names, or None when the registry does not know it."""
    if keyword == "pk":
        return MODEL_OBJECTS.get(route.model)
    return APP_KWARG_OBJECTS.get((route.app, keyword)) or KWARG_OBJECTS.get(keyword)


def test_every_route_keyword_is_known_to_the_registry() -> None:
    """A new route whose keyword the sweep cannot fill fails here, saying what to add."""
    problems = []
    for route in tenant_routes():
        if route.name is None and route.keywords:
            problems.append(f"{route.template}: give the route a name, the sweep reverses it by name")
        for keyword in route.keywords:
            if keyword in route.value_keywords:
                if (route.app, keyword) not in VALUE_KEYWORDS:
                    problems.append(
                        f"{route.template} (view in {route.app}): the keyword {keyword!r} is not an id; add "
                        f"({route.app!r}, {keyword!r}) to VALUE_KEYWORDS in tests/reliability/tenant_data.py "
                        "with the values to try"
                    )
                elif not VALUE_KEYWORDS[(route.app, keyword)]():
                    problems.append(f"{route.template}: VALUE_KEYWORDS gives no value for {keyword!r}")
            elif object_name(route, keyword) is None:
                where = (
                    f"the model {route.model.__name__} to MODEL_OBJECTS"
                    if keyword == "pk"
                    else (f"{keyword!r} to KWARG_OBJECTS, or ({route.app!r}, {keyword!r}) to APP_KWARG_OBJECTS")
                )
                problems.append(
                    f"{route.template} (view in {route.app}): unknown id keyword {keyword!r}; add {where} "
                    "in tests/reliability/tenant_data.py, with the object made in build_world()"
                )
    assert not problems, "\n".join(problems)


def test_the_sweep_sees_the_routes_it_must_cover() -> None:
    """The walk itself: pages, nested pages and router detail routes are all found."""
    by_name = {route.name: route for route in tenant_routes()}
    assert by_name["accounts-detail"].id_keywords == ("account_id",)
    assert by_name["teams-action-edit"].id_keywords == ("account_id", "plan_id", "action_id")
    assert by_name["api-account-detail"].id_keywords == ("pk",)
    assert by_name["api-account-detail"].model.__name__ == "Account"
    assert by_name["api-webhook-deliveries"].id_keywords == ("endpoint_id",)
    assert not by_name["accounts-list"].keywords


# --- requests ---------------------------------------------------------------------------------------


def url_for(route: Route, world_ids: dict[str, Any], slug: str | None) -> str:
    kwargs = {**route.value_choices()[0], **world_ids}
    if route.is_page:
        kwargs["tenant_slug"] = slug
    return reverse(route.name, kwargs=kwargs)


def ids_of(route: Route, world: World | None) -> dict[str, Any]:
    """The route's id keywords filled from a world (None: ids no row has)."""
    return {
        keyword: MISSING_ID if world is None else world.objects[object_name(route, keyword)].pk
        for keyword in route.id_keywords
    }


def send(client: Client, route: Route, method: str, url: str, **headers: Any) -> Any:
    if method in ("POST", "PUT", "PATCH"):
        if route.is_api:
            return client.generic(method, url, b"{}", content_type="application/json", **headers)
        return client.generic(method, url, b"", content_type="application/x-www-form-urlencoded", **headers)
    return client.generic(method, url, **headers)


def session(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(world: World) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {world.token}"}


@dataclass
class Outsiders:
    """Tenant B's ways in: a session per role, and its write token."""

    world: World
    sessions: dict[str, Client]

    def clients(self, route: Route) -> list[tuple[str, Client, dict[str, str]]]:
        """Who tries a route, in order: B's token first for the API, then B's people by role."""
        tried = [(f"B {role}", self.sessions[role], {}) for role in ROLES]
        if route.is_api:
            tried.insert(0, ("B token", Client(), bearer(self.world)))
        return tried


def verdict(route: Route, method: str, outsiders: Outsiders, ids: dict[str, Any], label: str) -> list[str]:
    """Problems with B asking for the route with ``ids`` under B's slug (or through the API).

    B's token and people try in turn until one gets 404. A 403 (a role check) or 400 before
    it must be exactly what a missing id gets; a 405 too, and it ends the turn: the route does
    not take the method. Nobody past the checks means the lookup was never tried: a problem.
    """
    missing_url = url_for(route, ids_of(route, None), B_SLUG)
    url = url_for(route, ids, B_SLUG)
    statuses = []
    for who, client, headers in outsiders.clients(route):
        status = send(client, route, method, url, **headers).status_code
        statuses.append(status)
        if status == 404:
            return []
        twin = send(client, route, method, missing_url, **headers).status_code
        if status not in ID_BLIND or status != twin:
            return [f"{method} {url} ({label}) as {who}: {status}, but {twin} for a missing id"]
        if status == 405:
            return []
    return [f"{method} {url} ({label}): nobody of B got past the checks to a 404 (statuses {statuses})"]


# --- A's rows, as the owner sees them ----------------------------------------------------------------


def tenant_checksum(tenant_id: int) -> dict[str, str]:
    """Per tenant table: the count and an md5 of the tenant's rows, read through the owner role's
    connection (not the app's managers) with the tenant set, as row-level security demands."""
    sums = {}
    with owner_connection(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant_id)])
        for table in tenant_tables():
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f"FROM {quoted} AS t WHERE tenant_id = %s",
                [tenant_id],
            )
            count, digest = cursor.fetchone()
            sums[table] = f"{count}:{digest}"
    return sums


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def worlds(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> tuple[World, World]:
    # Thousands of requests in a minute: far past API_RATE_LIMIT, which test_bad_input checks.
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "1000000/minute"})
    return build_world(A_SLUG, A_MARKER), build_world(B_SLUG, B_MARKER)


@pytest.fixture
def outsiders(worlds: tuple[World, World]) -> Outsiders:
    b = worlds[1]
    return Outsiders(world=b, sessions={role: session(b.people[role]) for role in ROLES})


# --- the sweep --------------------------------------------------------------------------------------------


def own_ids_reachable(routes: list[Route], a: World) -> list[str]:
    """A's administrator (or token) reaches A's ids on every route, so that the 404s B gets are
    isolation, not ids that lead nowhere."""
    client, token = session(a.people[Role.ADMIN]), bearer(a)
    problems = []
    for route in routes:
        url = url_for(route, ids_of(route, a), A_SLUG)
        if send(client, route, "GET", url, **({} if route.is_page else token)).status_code == 404:
            problems.append(f"GET {url}: A's own ids are 404 for A; fix build_world() in tenant_data.py")
    return problems


def test_another_tenants_ids_are_404_on_every_route_and_change_nothing(
    worlds: tuple[World, World], outsiders: Outsiders
) -> None:
    a, b = worlds
    routes = [route for route in tenant_routes() if route.id_keywords]
    assert len(routes) > 60, "the walk found too few id routes"
    problems = own_ids_reachable(routes, a)
    # Taken after A's own requests above (which may log or mark a notification read): from here
    # on only B asks, and nothing of A may change.
    before = tenant_checksum(a.tenant.pk)
    b_admin = outsiders.sessions[Role.ADMIN]
    for route in routes:
        a_ids = ids_of(route, a)
        for method in METHODS:
            if route.is_page:
                status = send(b_admin, route, method, url_for(route, a_ids, A_SLUG)).status_code
                if status != 404:
                    problems.append(f"{method} {url_for(route, a_ids, A_SLUG)} as B admin under A's slug: {status}")
            problems += verdict(route, method, outsiders, a_ids, "A's ids")
            # One of A's ids among B's own: each lookup must be scoped, not only the first.
            if len(route.id_keywords) > 1:
                b_ids = ids_of(route, b)
                for keyword in route.id_keywords:
                    mixed = {**b_ids, keyword: a_ids[keyword]}
                    problems += verdict(route, method, outsiders, mixed, f"A's {keyword} among B's ids")
    after = tenant_checksum(a.tenant.pk)
    changed = sorted(table for table in before if before[table] != after[table])
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert not changed, f"tenant A's rows changed in: {', '.join(changed)}"


# --- lists, exports, search ------------------------------------------------------------------------------


def readable_body(response: Any) -> str:
    """The response as text; a zip (an XLSX export) is unpacked, each part read."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"\n".join(archive.read(name) for name in archive.namelist())
    return content.decode("utf-8", errors="replace")


def leaks(body: str, world: World) -> list[str]:
    """A's marker or slug (in its people's e-mail addresses) found in one of B's answers."""
    return [needle for needle in (world.marker, world.tenant.slug) if needle in body]


def query_variants(a: World) -> list[dict[str, Any]]:
    """Filters that name A: its account and people, a search matching its names (a part of the
    marker, so that a search box echoing the query does not count), the exports."""
    account = a.objects["account"].pk
    part = a.marker[3:]
    return [
        {"q": part},
        {"search": part},
        {"account": account, "parent": account, "owner": a.people[Role.MANAGER].pk},
        {"format": "xlsx"},
        {"format": "csv"},
    ]


def test_nothing_of_another_tenant_in_any_page_list_export_or_search(
    worlds: tuple[World, World], outsiders: Outsiders
) -> None:
    a, b = worlds
    routes = [
        route
        for route in tenant_routes()
        if not route.id_keywords and route.name and route.name not in DOCUMENTATION_ROUTES
    ]
    assert any(route.name == "accounts-export" for route in routes)
    urls = [
        (route, reverse(route.name, kwargs={**values, **({"tenant_slug": B_SLUG} if route.is_page else {})}))
        for route in routes
        for values in route.value_choices()
    ]
    problems = []
    requests = 0
    for route, url in urls:
        tries: list[tuple[str, Client, dict[str, Any], dict[str, str]]] = []
        for who, client, headers in outsiders.clients(route):
            tries.append((who, client, {}, headers))
        if route.is_page:
            tries.append(("B admin (htmx)", outsiders.sessions[Role.ADMIN], {}, {"HTTP_HX_REQUEST": "true"}))
        for query in query_variants(a):
            tries.append(("B admin", outsiders.sessions[Role.ADMIN], query, {}))
            if route.is_api:
                tries.append(("B token", Client(), query, bearer(b)))
        for who, client, query, headers in tries:
            response = client.get(url, query, **headers)
            requests += 1
            assert response.status_code < 500, f"GET {url} {query} as {who}: {response.status_code}"
            found = leaks(readable_body(response), a)
            if found:
                problems.append(f"GET {url} {query} as {who} ({response.status_code}) shows {found}")
    assert requests > 100
    assert not problems, "\n".join(problems)


def test_the_leak_search_finds_a_marker_where_it_is() -> None:
    """The search itself: it reads plain bodies and unpacks an XLSX export."""
    from accounts.exports import to_xlsx

    class Fake:
        streaming = False

        def __init__(self, content: bytes) -> None:
            self.content = content

    world = World(tenant=type("T", (), {"slug": "iso-alpha"})(), people={}, token="", marker="ISOLEAK-ALPHA")
    assert leaks(readable_body(Fake(b"<td>ISOLEAK-ALPHA x</td>")), world) == ["ISOLEAK-ALPHA"]
    assert leaks(readable_body(Fake(to_xlsx(["name"], [["ISOLEAK-ALPHA 客户"]], title="t"))), world)
    assert not leaks(readable_body(Fake(b"nothing here")), world)
