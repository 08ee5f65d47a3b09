"""Build the data set of DESIGN section 9 for one large tenant, with COPY.

    .venv/bin/python bench/generate.py [--slug bench-large] [--accounts 100000]
        [--orders 5000000] [--invoices 500000] [--contacts 300000] [--interactions 200000]
        [--needs 1000000] [--agents 50] [--offerings 30] [--centres 300000]
        [--opportunities 200000] [--seed 2026] [--replace]

Rows are produced by a deterministic generator (seeded) and streamed with COPY into
TEMP staging tables, then moved into the tenant's tables with one INSERT ... SELECT
each: PostgreSQL refuses COPY FROM into a table with row-level security, and the
application role is subject to it. Everything runs inside the tenant's context.
About one account in ten belongs to a group (a parent), orders spread over three years
before today with a rhythm per account, a tenth of the invoices are paid late.

Customer needs (DESIGN section 11, its load): ``--needs`` received over the two years before
now, answered by ``--agents`` service people (members of the tenant, made once through
kam.services, without a password: the benches log them in). Ten accounts have a thousand
needs each, the top 2 % of accounts a fifth of all, the others about eight; most needs are
closed, the last month's are in every status, and a few older ones are still open, long past
their resolution deadline. Each need has its customer's message in its thread, and a reply when it
was answered. A tenant that exists already gets its needs when it has none (so an older
bench tenant needs no rebuild).

Growth (DESIGN section 12, its load; ``--offerings 0``: none): ``--offerings`` offerings
(OF01...), the generator's product lines (产品线0...产品线4) mapped to the first five, so
every order counts for an offering; ``--centres`` buying centres spread evenly over the
accounts (by default three each, the first primary: the orders name no buying centre, so they
count for it), each with a decision maker among the account's contacts and an annual spend; a
not-applicable mark on every tenth account; ``--opportunities`` opportunities (by default two
per account), a fifth of them on the top 2 % of accounts, over the stages (closed ones closed
in the last two years, open ones expected from two months ago to eighteen months ahead), three
in four on a buying centre, each naming one to three offerings.
A tenant that exists already gets its growth rows when it has no offering.

Portfolio (DESIGN section 13, its load; ``--people 0``: none): ``--people`` account managers
(members of the tenant, made once through kam.services, without a password); each account gets
one of them as its owner, every other account a team of one to four of them (allocations 10 to
50 %, the owner on it one time in two). A tenant that exists already gets them when it has no
team member.
"""

from __future__ import annotations

import argparse
import bisect
import io
import itertools
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from accounts.models import Account  # noqa: E402
from growth.models import Offering  # noqa: E402
from kam import services  # noqa: E402
from kam.db import owner_connection  # noqa: E402
from kam.models import Membership, Role, Tenant  # noqa: E402
from kam.tenancy import tenant_context, tenant_today  # noqa: E402
from service.models import Need  # noqa: E402
from service.services import PRIORITY_FACTOR, SLA_HOURS  # noqa: E402

INDUSTRIES = ["轨道交通", "船舶制造", "新能源", "汽车", "机床", "工程机械", "航空航天", "电子", "矿山", "医疗器械"]
REGIONS = ["北京", "上海", "江苏", "浙江", "广东", "山东", "湖北", "四川", "辽宁", "陕西"]


class RowStream(io.RawIOBase):
    """A file-like object over generated CSV lines, so COPY streams without a temp file."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        while len(self._buffer) < len(target):
            chunk = "".join(line for _, line in zip(range(2000), self._lines, strict=False))
            if not chunk:
                break
            self._buffer += chunk.encode()
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def copy_rows(table: str, columns: str, lines: Iterator[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
        cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", io.BufferedReader(RowStream(lines), 1 << 20))


def generate(tenant: Tenant, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    today = tenant_today(tenant)
    start = today - timedelta(days=3 * 365)
    n_accounts = args.accounts
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM accounts_account")
        first_id = cursor.fetchone()[0]
        # ids are assigned by the sequence; the staging row number maps to them afterwards.
        copy_rows(
            "stage_account",
            "n int, name text, industry text, region text, parent_n int, since date",
            (
                f"{n},客户{n:06d},{INDUSTRIES[n % 10]},{REGIONS[(n // 10) % 10]},"
                f"{(n - n % 10) if n % 10 and n % 7 == 0 else ''},{start - timedelta(days=(n * 37) % 3650)}\n"
                for n in range(1, n_accounts + 1)
            ),
        )
        cursor.execute(
            """
            INSERT INTO accounts_account (tenant_id, name, legal_name, credit_code, industry, region, status, notes,
                                          tier, health_band, cooperation_since, created_at, updated_at)
            SELECT %s, name, name || '有限公司', '', industry, region, 'active', '', '', '', since, now(), now()
            FROM stage_account ORDER BY n
            """,
            [tenant.pk],
        )
        cursor.execute(
            "CREATE TEMP TABLE account_map ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) AS n, id"
            " FROM accounts_account WHERE id > %s",
            [first_id],
        )
        cursor.execute("CREATE INDEX ON account_map (n)")
        cursor.execute(
            """
            UPDATE accounts_account a SET parent_id = parent.id
            FROM stage_account s JOIN account_map child ON child.n = s.n JOIN account_map parent ON parent.n = s.parent_n
            WHERE a.id = child.id AND s.parent_n IS NOT NULL AND a.tenant_id = %s
            """,
            [tenant.pk],
        )

        def orders() -> Iterator[str]:
            days = (today - start).days
            for i in range(args.orders):
                n = 1 + (i * 7919) % n_accounts  # spread over accounts, bigger ones more often below
                if i % 5 == 0:
                    n = 1 + (i % max(1, n_accounts // 50))  # the top 2 % buy a fifth of all orders
                day = start + timedelta(days=(i * 104729 + n * 31) % (days + 1))
                amount = 1000 + rng.randrange(200_000) + (50_000 if n % 13 == 0 else 0)
                cost = f"{amount * 0.7:.2f}" if i % 3 else ""
                yield f"{n},{day},{amount}.00,{cost},产品线{n % 5},B{i}\n"

        copy_rows(
            "stage_order", "n int, order_date date, amount numeric, cost numeric, product_line text, ref text", orders()
        )
        cursor.execute(
            """
            INSERT INTO accounts_order (tenant_id, account_id, order_date, amount, cost, product_line, external_ref,
                                        created_at)
            SELECT %s, m.id, s.order_date, s.amount, s.cost, s.product_line, s.ref, now()
            FROM stage_order s JOIN account_map m ON m.n = s.n
            """,
            [tenant.pk],
        )

        def invoices() -> Iterator[str]:
            for i in range(args.invoices):
                n = 1 + (i * 7907) % n_accounts
                issued = start + timedelta(days=(i * 31) % (3 * 365))
                due = issued + timedelta(days=30)
                if due > today:
                    paid = ""
                elif i % 10 == 0:
                    paid = str(min(today, due + timedelta(days=20 + i % 90)))
                else:
                    paid = str(due - timedelta(days=i % 10))
                yield f"{n},FPB{i},{issued},{due},{10000 + i % 90000}.00,{paid}\n"

        copy_rows("stage_invoice", "n int, number text, issued date, due date, amount numeric, paid date", invoices())
        cursor.execute(
            """
            INSERT INTO accounts_invoice (tenant_id, account_id, number, issued_on, due_on, amount, paid_on, paid_amount,
                                          created_at, updated_at)
            SELECT %s, m.id, s.number, s.issued, s.due, s.amount, s.paid, CASE WHEN s.paid IS NULL THEN NULL ELSE s.amount END,
                   now(), now()
            FROM stage_invoice s JOIN account_map m ON m.n = s.n
            """,
            [tenant.pk],
        )
        levels = ["operational", "managerial", "executive"]
        roles = ["user", "influencer", "decision_maker", "gatekeeper", "technical_buyer"]
        attitudes = ["neutral", "supporter", "champion", "skeptic", "blocker"]
        copy_rows(
            "stage_contact",
            "n int, name text, level text, buying_role text, attitude text, left_on date",
            (
                f"{1 + i % n_accounts},联系人{i},{levels[i % 3]},{roles[i % 5]},{attitudes[(i // 3) % 5]},"
                f"{today - timedelta(days=i % 200) if i % 40 == 0 else ''}\n"
                for i in range(args.contacts)
            ),
        )
        cursor.execute(
            """
            INSERT INTO accounts_contact (tenant_id, account_id, name, title, department, level, buying_role, attitude,
                                          email, phone, left_on, created_at, updated_at)
            SELECT %s, m.id, s.name, '', '', s.level, s.buying_role, s.attitude, '', '', s.left_on, now(), now()
            FROM stage_contact s JOIN account_map m ON m.n = s.n
            """,
            [tenant.pk],
        )
        kinds = ["meeting", "call", "visit", "email", "service_ticket", "complaint"]
        copy_rows(
            "stage_interaction",
            "n int, kind text, at timestamptz",
            (
                f"{1 + (i * 7877) % n_accounts},{kinds[i % 6] if i % 17 else 'complaint'},"
                f"{today - timedelta(days=i % 400)} 10:00:00+08\n"
                for i in range(args.interactions)
            ),
        )
        cursor.execute(
            """
            INSERT INTO accounts_interaction (tenant_id, account_id, kind, occurred_at, summary, created_at)
            SELECT %s, m.id, s.kind, s.at, 'bench', now() FROM stage_interaction s JOIN account_map m ON m.n = s.n
            """,
            [tenant.pk],
        )
    analyze(["accounts_account", "accounts_order", "accounts_invoice", "accounts_contact", "accounts_interaction"])


# Needs: (value, weight) per column; a status's share depends on the need's age.
NEED_CATEGORIES = [
    ("technical_support", 25),
    ("delivery", 18),
    ("product_inquiry", 15),
    ("commercial", 12),
    ("billing", 12),
    ("other", 8),
    ("complaint", 5),
    ("new_requirement", 5),
]
NEED_SOURCES = [("rule", 55), ("person", 25), ("model", 20)]
NEED_PRIORITIES = [("normal", 70), ("high", 15), ("low", 10), ("urgent", 5)]
NEED_CHANNELS = [
    ("email", 35),
    ("phone", 15),
    ("wecom", 15),
    ("portal", 12),
    ("dingtalk", 8),
    ("feishu", 7),
    ("api", 5),
    ("meeting", 3),
]
# age in days -> statuses: older needs are closed but for a few still open (overdue by now)
NEED_STATUSES = [
    (
        7,
        [("new", 10), ("triaged", 20), ("in_progress", 30), ("waiting_customer", 10), ("resolved", 20), ("closed", 10)],
    ),
    (30, [("triaged", 2), ("in_progress", 8), ("waiting_customer", 5), ("resolved", 25), ("closed", 60)]),
    (None, [("in_progress", 1), ("waiting_customer", 0.5), ("resolved", 5), ("closed", 93.5)]),
]
NEED_RATINGS = [("5", 40), ("4", 35), ("3", 15), ("2", 6), ("1", 4)]
NEED_REPLY = "收到，我们已安排专人跟进，今天内给您答复。"


class Weighted:
    """Draws a value by weight from one uniform number (bisect over the running sums)."""

    def __init__(self, pairs: Sequence[tuple[str, float]]) -> None:
        self.values = [value for value, _weight in pairs]
        total = sum(weight for _value, weight in pairs)
        self.bounds = list(itertools.accumulate(weight / total for _value, weight in pairs))

    def __call__(self, x: float) -> str:
        return self.values[min(bisect.bisect(self.bounds, x), len(self.values) - 1)]


def csv_text(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def need_texts() -> list[tuple[str, int, str, str]]:
    """(category key, number, subject, text): the demo's wording (service/demo.py), per category."""
    from service.demo import HISTORY_MANUFACTURING

    texts = []
    for key, pool in HISTORY_MANUFACTURING.items():
        subjects = pool["subjects"] + pool["keyword_subjects"]
        bodies = pool["bodies"]
        for k, subject in enumerate(subjects):
            texts.append((key, k, subject, bodies[k % len(bodies)] + bodies[(k + 2) % len(bodies)]))
    return texts


def agents(tenant: Tenant, count: int) -> list[int]:
    """The tenant's ``count`` service people (member role, no password), made once."""
    ids = []
    for k in range(1, count + 1):
        user = services.user_get_or_create(
            email=f"bench-agent-{k:03d}@{tenant.slug}.example.com", full_name=f"客服{k:03d}"
        )
        if not Membership.objects.filter(tenant=tenant, user=user).exists():
            services.membership_create(tenant=tenant, user=user, role=Role.MEMBER)
        ids.append(user.pk)
    return ids


def sla_case(tier: str, which: int) -> str:
    """SQL for the SLA hours of DESIGN section 11 by tier (0: first response, 1: resolution), from
    service.services.SLA_HOURS: the figures stay in one place."""
    when = " ".join(f"WHEN '{key}' THEN {hours[which]}" for key, hours in SLA_HOURS.items() if key != "C")
    return f"CASE {tier} {when} ELSE {SLA_HOURS['C'][which]} END"


def sla_factor_case(priority: str) -> str:
    """SQL for the priority's factor on both deadlines, from service.services.PRIORITY_FACTOR."""
    when = " ".join(f"WHEN '{key}' THEN {factor}" for key, factor in PRIORITY_FACTOR.items() if factor != 1.0)
    return f"CASE {priority} {when} ELSE 1.0 END"


def generate_needs(tenant: Tenant, args: argparse.Namespace) -> None:
    """``args.needs`` needs and their threads (message, and the reply of the answered ones)."""
    rng = random.Random(args.seed + 11)
    agent_ids = agents(tenant, args.agents)
    texts = need_texts()
    per_key = {key: sum(1 for text in texts if text[0] == key) for key, _weight in NEED_CATEGORIES}
    category, source, priority, channel = (
        Weighted(NEED_CATEGORIES),
        Weighted(NEED_SOURCES),
        Weighted(NEED_PRIORITIES),
        Weighted(NEED_CHANNELS),
    )
    statuses = [(days, Weighted(pairs)) for days, pairs in NEED_STATUSES]
    rating = Weighted(NEED_RATINGS)
    minutes_in_two_years = 2 * 365 * 24 * 60
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE need_account_map ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) AS n, id, tier"
            " FROM accounts_account WHERE tenant_id = %s",
            [tenant.pk],
        )
        cursor.execute("CREATE INDEX ON need_account_map (n)")
        cursor.execute("SELECT count(*) FROM need_account_map")
        n_accounts = cursor.fetchone()[0]
        if not n_accounts:
            return
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM service_need WHERE tenant_id = %s", [tenant.pk])
        first_id = cursor.fetchone()[0]
        copy_rows(
            "stage_need_text",
            "key text, k int, subject text, body text",
            (f"{key},{k},{csv_text(subject)},{csv_text(body)}\n" for key, k, subject, body in texts),
        )

        def needs() -> Iterator[str]:
            top = max(1, n_accounts // 50)
            for i in range(args.needs):
                if i % 100 == 0:
                    n = 1 + (i // 100) % 10  # ten accounts with a thousand needs each
                elif i % 5 == 0:
                    n = 1 + (i // 5 * 7919) % top  # the top 2 % of accounts: a fifth of the needs
                else:
                    n = 1 + (i * 7919) % n_accounts
                age = rng.randrange(minutes_in_two_years)
                days = age // 1440
                status = next(pick for limit, pick in statuses if limit is None or days <= limit)(rng.random())
                key = category(rng.random())
                text = rng.randrange(per_key[key])
                classified = status != "new" or rng.random() < 0.5
                how = source(rng.random()) if classified else ""
                confidence = f"{0.6 + rng.random() * 0.4:.4f}" if how in ("rule", "model") else ""
                agent = agent_ids[(n * 13 + i % 3) % len(agent_ids)] if classified else ""
                answered = status not in ("new", "triaged")
                response = (
                    (30 + rng.randrange(1200) if rng.random() < 0.95 else 1800 + rng.randrange(2400))
                    if answered
                    else ""
                )
                done = status in ("resolved", "closed")
                resolution = response + 60 + rng.randrange(6000) if done and response != "" else ""
                satisfaction = rating(rng.random()) if done and rng.random() < 0.65 else ""
                yield (
                    f"{n},{age},{status},{key if classified else ''},{key},{text},{how},{confidence},"
                    f"{priority(rng.random())},{channel(rng.random())},{agent},{response},{resolution},{satisfaction}\n"
                )

        copy_rows(
            "stage_need",
            "n int, age int, status text, category text, text_key text, text int, source text, confidence numeric,"
            " priority text, channel text, assignee int, response int, resolution int, satisfaction int",
            needs(),
        )
        # the SLA of DESIGN section 11: hours by tier (first response, resolution), halved for
        # urgent, doubled for low (service.services.sla_due)
        cursor.execute(
            """
            INSERT INTO service_need (tenant_id, account_id, contact_id, channel, sender, subject, body, received_at,
                                      external_ref, category_id, category_source, confidence, classification,
                                      priority, status, function, assignee_id, first_response_due_at,
                                      resolution_due_at, first_response_at, resolved_at, closed_at, satisfaction,
                                      problems, created_by_id, created_at, updated_at)
            SELECT %(tenant)s, m.id, NULL, s.channel, '', t.subject, t.body, r.received, NULL, c.id, COALESCE(s.source, ''),
                   s.confidence, '{}', s.priority, s.status, COALESCE(c.route_to, ''), s.assignee,
                   r.received + make_interval(hours => 1) * sla.first * sla.factor,
                   r.received + make_interval(hours => 1) * sla.resolution * sla.factor,
                   r.received + make_interval(mins => s.response),
                   r.received + make_interval(mins => s.resolution),
                   CASE WHEN s.status = 'closed'
                        THEN LEAST(r.received + make_interval(mins => s.resolution) + interval '7 days', now()) END,
                   s.satisfaction, '[]', NULL, r.received,
                   COALESCE(r.received + make_interval(mins => COALESCE(s.resolution, s.response)), r.received)
            FROM stage_need s
            JOIN need_account_map m ON m.n = s.n
            JOIN stage_need_text t ON t.key = s.text_key AND t.k = s.text
            LEFT JOIN service_category c ON c.tenant_id = %(tenant)s AND c.key = s.category
            CROSS JOIN LATERAL (SELECT now() - make_interval(mins => s.age) AS received) r
            CROSS JOIN LATERAL (
                SELECT SLA_FIRST AS first, SLA_RESOLUTION AS resolution, SLA_FACTOR AS factor
            ) sla
            ORDER BY r.received
            """.replace("SLA_FIRST", sla_case("m.tier", 0))
            .replace("SLA_RESOLUTION", sla_case("m.tier", 1))
            .replace("SLA_FACTOR", sla_factor_case("s.priority")),
            {"tenant": tenant.pk},
        )
        # Statistics that see this transaction's own rows (kam_analyze: the owner's ANALYZE, in this
        # transaction), before the thread's foreign keys are checked at commit: planned on the
        # statistics of an empty table, each check walked the tenant's needs instead of one key.
        cursor.execute("SELECT kam_analyze(%s)", [["service_need"]])
        cursor.execute(
            """
            INSERT INTO service_needentry (tenant_id, need_id, kind, author_id, body, change, created_at)
            SELECT %(tenant)s, id, 'message', NULL, body, '{}'::jsonb, received_at
            FROM service_need WHERE tenant_id = %(tenant)s AND id > %(first)s
            UNION ALL
            SELECT %(tenant)s, id, 'reply', assignee_id, %(reply)s, '{}'::jsonb, first_response_at
            FROM service_need WHERE tenant_id = %(tenant)s AND id > %(first)s AND first_response_at IS NOT NULL
            """,
            {"tenant": tenant.pk, "first": first_id, "reply": NEED_REPLY},
        )
    analyze(["service_need", "service_needentry"], vacuum=True)


# Growth: (value, weight) of an opportunity's stage; the kinds of buying centre in turn.
OPPORTUNITY_STAGES = [
    ("lead", 20),
    ("qualified", 17),
    ("solution", 14),
    ("proposal", 11),
    ("negotiation", 8),
    ("won", 18),
    ("lost", 12),
]
CLOSED = ("won", "lost")
CENTRE_KINDS = [("business_unit", "事业部"), ("plant", "工厂"), ("department", "部门")]
OFFERING_CATEGORIES = ["核心部件", "系统", "耗材", "服务", "数字化", "解决方案"]
PRODUCT_LINES = 5  # generate(): an order's product_line is 产品线{n % 5}
LOST_REASON = "价格高于竞争对手"
NOT_APPLICABLE_REASON = "该采购中心不采购此类产品"


def centre_code(k: int) -> str:
    return f"BC{k:02d}"


def offering_code(k: int) -> str:
    return f"OF{k:02d}"


def generate_growth(tenant: Tenant, args: argparse.Namespace) -> None:
    """``args.offerings`` offerings and the product lines' mappings, ``args.centres`` buying
    centres (about three per account, one primary) and ``args.opportunities`` opportunities
    with their offerings."""
    rng = random.Random(args.seed + 17)
    today = tenant_today(tenant)
    n_offerings = args.offerings
    stage = Weighted(OPPORTUNITY_STAGES)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE growth_account_map ON COMMIT DROP AS"
            " SELECT row_number() OVER (ORDER BY id) AS n, id, owner_id FROM accounts_account WHERE tenant_id = %s",
            [tenant.pk],
        )
        cursor.execute("CREATE INDEX ON growth_account_map (n)")
        cursor.execute("SELECT count(*) FROM growth_account_map")
        n_accounts = cursor.fetchone()[0]
        if not n_accounts:
            return
        n_centres, n_opportunities = growth_sizes(args, n_accounts)
        copy_rows(
            "stage_offering",
            "k int, code text, name_zh text, name_en text, category text",
            (
                f"{k},{offering_code(k)},产品{k:02d},Offering {k:02d},{OFFERING_CATEGORIES[k % 6]}\n"
                for k in range(1, n_offerings + 1)
            ),
        )
        cursor.execute(
            """
            INSERT INTO growth_offering (tenant_id, code, name_zh, name_en, category, description, is_active, position,
                                         created_at, updated_at)
            SELECT %s, code, name_zh, name_en, category, '', true, k * 10, now(), now() FROM stage_offering ORDER BY k
            """,
            [tenant.pk],
        )
        cursor.execute(
            """
            INSERT INTO growth_productlinemapping (tenant_id, product_line, product_line_key, offering_id, created_at)
            SELECT %(tenant)s, '产品线' || (s.k - 1), lower('产品线' || (s.k - 1)), o.id, now()
            FROM stage_offering s
            JOIN growth_offering o ON o.tenant_id = %(tenant)s AND o.code = s.code
            WHERE s.k <= %(lines)s
            """,
            {"tenant": tenant.pk, "lines": PRODUCT_LINES},
        )

        def centres() -> Iterator[str]:
            for i in range(n_centres):
                n, k = 1 + i % n_accounts, 1 + i // n_accounts  # k: the account's first, second, ... centre
                kind, word = CENTRE_KINDS[(k - 1) % 3]
                spend = round(rng.lognormvariate(13.2, 0.8) * (2 if k == 1 else 1), -3)
                yield f"{n},{k},{centre_code(k)},{word}{k:02d},{kind},{spend:.2f}\n"

        copy_rows("stage_centre", "n int, k int, code text, name text, kind text, spend numeric", centres())
        # The decision maker: the account's k-th contact (by id), when it has that many.
        cursor.execute(
            """
            INSERT INTO growth_buyingcentre (tenant_id, account_id, code, name, kind, decision_maker_id, annual_spend,
                                             is_primary, notes, created_at, updated_at)
            SELECT %(tenant)s, m.id, s.code, s.name, s.kind, c.id, s.spend, s.k = 1, '', now(), now()
            FROM stage_centre s
            JOIN growth_account_map m ON m.n = s.n
            LEFT JOIN (
                SELECT id, account_id, row_number() OVER (PARTITION BY account_id ORDER BY id) AS r
                FROM accounts_contact WHERE tenant_id = %(tenant)s
            ) c ON c.account_id = m.id AND c.r = s.k
            ORDER BY s.n, s.k
            """,
            {"tenant": tenant.pk},
        )
        # The statements below join the centres just written: statistics that see them (the
        # owner's ANALYZE in this transaction, kam_analyze), not an empty table's.
        cursor.execute("SELECT kam_analyze(%s)", [["growth_offering", "growth_buyingcentre"]])
        if n_offerings:
            cursor.execute(
                """
                INSERT INTO growth_notapplicable (tenant_id, buying_centre_id, offering_id, reason, set_by_id, set_at)
                SELECT %(tenant)s, b.id, o.id, %(reason)s, NULL, now()
                FROM growth_account_map m
                JOIN growth_buyingcentre b ON b.tenant_id = %(tenant)s AND b.account_id = m.id AND b.code = %(centre)s
                JOIN growth_offering o ON o.tenant_id = %(tenant)s AND o.code = %(offering)s
                WHERE m.n %% 10 = 0
                """,
                {
                    "tenant": tenant.pk,
                    "reason": NOT_APPLICABLE_REASON,
                    "centre": centre_code(3),
                    "offering": offering_code(n_offerings),
                },
            )
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM growth_opportunity WHERE tenant_id = %s", [tenant.pk])
        first_id = cursor.fetchone()[0]

        def opportunities() -> Iterator[str]:
            top = max(1, n_accounts // 50)
            for i in range(n_opportunities):
                n = 1 + (i // 5 * 7919) % top if i % 5 == 0 else 1 + (i * 7919) % n_accounts
                which = stage(rng.random())
                if which in CLOSED:
                    close = today - timedelta(days=1 + rng.randrange(700))
                else:
                    close = today + timedelta(days=rng.randrange(-60, 540))
                amount = min(50_000_000, 5_000 + round(rng.lognormvariate(12.0, 1.0), -2))
                k = rng.randrange(4)  # 0: no buying centre
                picks = rng.sample(
                    range(1, n_offerings + 1), min(n_offerings, 1 + (rng.random() < 0.35) + (rng.random() < 0.1))
                )
                picks += [""] * (3 - len(picks))
                yield (
                    f"{n},{i},{which},{close},{amount:.2f},{centre_code(k) if k else ''},{rng.randrange(720)},"
                    f"{picks[0]},{picks[1]},{picks[2]}\n"
                )

        copy_rows(
            "stage_opportunity",
            "n int, i int, stage text, close date, amount numeric, centre text, age int, o1 int, o2 int, o3 int",
            opportunities(),
        )
        cursor.execute(
            """
            INSERT INTO growth_opportunity (tenant_id, account_id, buying_centre_id, title, amount, expected_close,
                                            owner_id, source, need_id, initiative_id, stage, closed_on, lost_reason,
                                            description, created_by_id, created_at, updated_at, version)
            SELECT %(tenant)s, m.id, b.id, '商机' || s.i, s.amount, s.close, m.owner_id, 'manual', NULL, NULL, s.stage,
                   CASE WHEN s.stage IN ('won', 'lost') THEN s.close END,
                   CASE WHEN s.stage = 'lost' THEN %(lost)s ELSE '' END,
                   '', NULL, now() - make_interval(days => s.age), now(), 1
            FROM stage_opportunity s
            JOIN growth_account_map m ON m.n = s.n
            LEFT JOIN growth_buyingcentre b ON b.tenant_id = %(tenant)s AND b.account_id = m.id AND b.code = s.centre
            ORDER BY s.i
            """,
            {"tenant": tenant.pk, "lost": LOST_REASON},
        )
        cursor.execute(
            "CREATE TEMP TABLE opportunity_map ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) - 1 AS i, id"
            " FROM growth_opportunity WHERE tenant_id = %s AND id > %s",
            [tenant.pk, first_id],
        )
        cursor.execute(
            """
            INSERT INTO growth_opportunityoffering (tenant_id, opportunity_id, offering_id)
            SELECT %(tenant)s, p.id, o.id
            FROM stage_opportunity s
            JOIN opportunity_map p ON p.i = s.i
            CROSS JOIN LATERAL unnest(ARRAY[s.o1, s.o2, s.o3]) AS picked(k)
            JOIN stage_offering so ON so.k = picked.k
            JOIN growth_offering o ON o.tenant_id = %(tenant)s AND o.code = so.code
            """,
            {"tenant": tenant.pk},
        )
    analyze(
        [
            "growth_offering",
            "growth_productlinemapping",
            "growth_buyingcentre",
            "growth_notapplicable",
            "growth_opportunity",
            "growth_opportunityoffering",
        ],
        vacuum=True,
    )


# Portfolio (DESIGN section 13, its load): the functions a generated team member takes in turn.
TEAM_FUNCTIONS = [
    ("sales", "managerial"),
    ("technical", "managerial"),
    ("delivery", "operational"),
    ("finance", "operational"),
]
ALLOCATIONS = (10, 20, 30, 40, 50)


def portfolio_people(tenant: Tenant, count: int) -> list[int]:
    """The tenant's ``count`` account managers (manager role, no password), made once."""
    ids = []
    for k in range(1, count + 1):
        user = services.user_get_or_create(
            email=f"bench-kam-{k:03d}@{tenant.slug}.example.com", full_name=f"客户经理{k:03d}"
        )
        if not Membership.objects.filter(tenant=tenant, user=user).exists():
            services.membership_create(tenant=tenant, user=user, role=Role.MANAGER)
        ids.append(user.pk)
    return ids


def generate_portfolio(tenant: Tenant, args: argparse.Namespace) -> None:
    """``args.people`` account managers; each account gets one of them as its owner, and every
    other account a team of one to four of them (allocations 10..50 %, the owner on it one time
    in two), so that the portfolios of DESIGN section 13 have their load."""
    rng = random.Random(args.seed + 23)
    since = tenant_today(tenant) - timedelta(days=3 * 365)
    with tenant_context(tenant), connection.cursor() as cursor:
        people = portfolio_people(tenant, args.people)
        cursor.execute(
            "CREATE TEMP TABLE portfolio_account_map ON COMMIT DROP AS"
            " SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM accounts_account WHERE tenant_id = %s",
            [tenant.pk],
        )
        cursor.execute("SELECT count(*) FROM portfolio_account_map")
        n_accounts = cursor.fetchone()[0]
        owners = [people[rng.randrange(len(people))] for _ in range(n_accounts)]

        def owner_lines() -> Iterator[str]:
            for n, owner in enumerate(owners):
                yield f"{n},{owner}\n"

        def member_lines() -> Iterator[str]:
            for n in range(0, n_accounts, 2):
                chosen = rng.sample(people, rng.randint(1, 4))
                if rng.random() < 0.5 and owners[n] not in chosen:
                    chosen[0] = owners[n]
                for k, user in enumerate(chosen):
                    function, level = TEAM_FUNCTIONS[k]
                    yield f"{n},{user},{function},{level},{rng.choice(ALLOCATIONS)}\n"

        copy_rows("stage_owner", "n int, owner bigint", owner_lines())
        cursor.execute(
            "UPDATE accounts_account a SET owner_id = s.owner FROM stage_owner s"
            " JOIN portfolio_account_map m ON m.n = s.n WHERE a.tenant_id = %s AND a.id = m.id",
            [tenant.pk],
        )
        copy_rows("stage_member", "n int, user_id bigint, function text, level text, allocation int", member_lines())
        cursor.execute(
            """
            INSERT INTO teams_accountteam (tenant_id, account_id, lead_id, created_at, updated_at)
            SELECT %(tenant)s, m.id, MIN(s.user_id), now(), now()
            FROM stage_member s JOIN portfolio_account_map m ON m.n = s.n
            GROUP BY m.id
            """,
            {"tenant": tenant.pk},
        )
        cursor.execute(
            """
            INSERT INTO teams_teammember (tenant_id, team_id, user_id, function, level, allocation, since, until,
                                          created_at, updated_at)
            SELECT %(tenant)s, t.id, s.user_id, s.function, s.level, s.allocation, %(since)s, NULL, now(), now()
            FROM stage_member s
            JOIN portfolio_account_map m ON m.n = s.n
            JOIN teams_accountteam t ON t.tenant_id = %(tenant)s AND t.account_id = m.id
            """,
            {"tenant": tenant.pk, "since": since},
        )
    analyze(["accounts_account", "teams_accountteam", "teams_teammember"])


def has_portfolio(tenant: Tenant) -> bool:
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM teams_teammember WHERE tenant_id = %s)", [tenant.pk])
        return cursor.fetchone()[0]


def analyze(tables: list[str], *, vacuum: bool = False) -> None:
    """Fresh statistics for the planner, through the owner's connection: ANALYZE run by a
    role that does not own a table only warns and skips it (the app role owns none). With
    ``vacuum``, VACUUM ANALYZE: the visibility map autovacuum would write a minute later, which
    index-only scans need (the inbox's index of the open needs)."""
    command = "VACUUM ANALYZE" if vacuum else "ANALYZE"
    with owner_connection(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slug", default="bench-large")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
    parser.add_argument("--invoices", type=int, default=500_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--interactions", type=int, default=200_000)
    parser.add_argument("--needs", type=int, default=1_000_000, help="customer needs (0: none)")
    parser.add_argument("--agents", type=int, default=50, help="service people the needs are assigned to")
    parser.add_argument("--offerings", type=int, default=30, help="growth's offerings (0: no growth rows)")
    parser.add_argument(
        "--centres", type=int, help="buying centres, spread over the accounts (default: three per account, 300,000)"
    )
    parser.add_argument(
        "--opportunities", type=int, help="opportunities, with their offerings (default: two per account, 200,000)"
    )
    parser.add_argument(
        "--people", type=int, default=500, help="account managers owning and serving the accounts (0: none)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--industry", default="manufacturing")
    parser.add_argument("--replace", action="store_true", help="drop the tenant first when it exists")
    args = parser.parse_args()

    existing = Tenant.objects.filter(slug=args.slug).first()
    if existing and not args.replace:
        added = False
        if args.needs and not has_needs(existing):
            started = time.perf_counter()
            generate_needs(existing, args)
            print(f"{args.slug}: {args.needs:,} needs added in {time.perf_counter() - started:.1f} s")
            added = True
        if args.offerings and not has_growth(existing):
            started = time.perf_counter()
            generate_growth(existing, args)
            print(f"{args.slug}: {growth_summary(args, existing)} added in {time.perf_counter() - started:.1f} s")
            added = True
        if args.people and not has_portfolio(existing):
            started = time.perf_counter()
            generate_portfolio(existing, args)
            print(
                f"{args.slug}: {args.people} people's owners and teams added in {time.perf_counter() - started:.1f} s"
            )
            added = True
        if not added:
            print(f"tenant {args.slug} exists (use --replace to rebuild)")
        return
    if existing:
        drop_tenant(existing)
    started = time.perf_counter()
    tenant = services.tenant_create(slug=args.slug, name=f"Bench {args.slug}", industry_profile=args.industry)
    generate(tenant, args)
    if args.needs:
        generate_needs(tenant, args)
    if args.offerings:
        generate_growth(tenant, args)
    if args.people:
        generate_portfolio(tenant, args)
    print(
        f"{args.slug}: {args.accounts:,} accounts, {args.orders:,} orders, {args.invoices:,} invoices, "
        f"{args.contacts:,} contacts, {args.interactions:,} interactions, {args.needs:,} needs"
        + (f", {growth_summary(args, tenant)}" if args.offerings else "")
        + f" in {time.perf_counter() - started:.1f} s"
    )


def growth_sizes(args: argparse.Namespace, n_accounts: int) -> tuple[int, int]:
    """(buying centres, opportunities): the flags, else three and two per account."""
    centres = args.centres if args.centres is not None else 3 * n_accounts
    opportunities = args.opportunities if args.opportunities is not None else 2 * n_accounts
    return centres, opportunities


def growth_summary(args: argparse.Namespace, tenant: Tenant) -> str:
    with tenant_context(tenant):
        centres, opportunities = growth_sizes(args, Account.objects.count())
    return f"{args.offerings:,} offerings, {centres:,} buying centres, {opportunities:,} opportunities"


def has_growth(tenant: Tenant) -> bool:
    with tenant_context(tenant):
        return Offering.objects.exists()


def has_needs(tenant: Tenant) -> bool:
    with tenant_context(tenant):
        return Need.objects.exists()


def drop_tenant(tenant: Tenant) -> None:
    """Remove a bench tenant's rows table by table (set-based), then the tenant."""
    from kam.rls import tenant_tables

    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in tenant_tables():
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)} WHERE tenant_id = %s", [tenant.pk])
    tenant.delete()


if __name__ == "__main__":
    main()
