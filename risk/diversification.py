"""Diversification (DESIGN section 13, item 2): targets for the concentration lines and the plan of
alternative markets (替代市场培育计划), their reads and writes.

A target's path is the straight line from (baseline date, baseline value) to (target date, target
value): expected(D) = baseline + (target - baseline) x elapsed / span, with elapsed = D - baseline
date clamped to [0, span] and span = target date - baseline date (at least one day), so the path
stays at the target after its date. The line is behind when actual - expected(D) > 0.1 x |baseline
- target|: every line is worse when higher. The alert ``diversification_behind`` is evaluated with
the concentration alerts (risk/engine.py DIVERSIFICATION_CANDIDATE, the same test multiplied out);
``path_status`` below is the same test for pages and the API.

A market's progress is the revenue of the last 12 months to a day (orders in (D-365, D]) of the
accounts of its segment: those whose industry and/or region are the market's (exact match, as the
accounts list filters), in one set-based statement.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from kam import audit
from kam.models import Membership, Tenant, User
from kam.records import UNSET, given
from kam.tenancy import get_object_for_tenant, tenant_selector, tenant_service, tenant_today
from risk.models import AlternativeMarket, ConcentrationSnapshot, DiversificationLine, DiversificationTarget

# The snapshot's column of each line.
LINE_COLUMNS = {
    DiversificationLine.TOP1: "top1_share",
    DiversificationLine.TOP5: "top5_share",
    DiversificationLine.HHI: "hhi",
}
# How far the actual may be above the path, as a part of the gap, before the line is behind.
BEHIND_TOLERANCE = Decimal("0.1")
HHI_MAX = Decimal("10000")


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def _is_active_member(tenant: Tenant, user: User) -> bool:
    return Membership.objects.filter(tenant=tenant, user=user, is_active=True).exists()


def is_share_line(line: str) -> bool:
    return line in (DiversificationLine.TOP1, DiversificationLine.TOP5)


# --- the path ----------------------------------------------------------------------------------------


def path_span(baseline_date: dt.date, target_date: dt.date) -> int:
    return max((target_date - baseline_date).days, 1)


def path_elapsed(baseline_date: dt.date, target_date: dt.date, day: dt.date) -> int:
    return min(max((day - baseline_date).days, 0), path_span(baseline_date, target_date))


def expected_value(
    baseline: Decimal, baseline_date: dt.date, target: Decimal, target_date: dt.date, day: dt.date
) -> Decimal:
    """The path's value on a day (exact up to Decimal's precision; the target after its date)."""
    span = path_span(baseline_date, target_date)
    return baseline + (target - baseline) * path_elapsed(baseline_date, target_date, day) / span


def is_behind(
    actual: Decimal, baseline: Decimal, baseline_date: dt.date, target: Decimal, target_date: dt.date, day: dt.date
) -> bool:
    """actual - expected(day) > 0.1 x |baseline - target|, multiplied out by the span (exact)."""
    span = path_span(baseline_date, target_date)
    elapsed = path_elapsed(baseline_date, target_date, day)
    return (actual - baseline) * span - (target - baseline) * elapsed > BEHIND_TOLERANCE * abs(baseline - target) * span


def snapshot_value(snapshot: ConcentrationSnapshot, line: str) -> Decimal:
    return Decimal(getattr(snapshot, LINE_COLUMNS[line]))


def path_status(target: DiversificationTarget, snapshot: ConcentrationSnapshot | None) -> dict[str, Any]:
    """The target against a snapshot (the latest): expected, actual, gap and on/behind."""
    baseline, goal = Decimal(target.baseline_value), Decimal(target.target_value)
    status: dict[str, Any] = {
        "gap": abs(baseline - goal),
        "as_of": None,
        "expected": None,
        "actual": None,
        "behind": None,
        "status": "unknown",
    }
    if snapshot is None:
        return status
    actual = snapshot_value(snapshot, target.line)
    behind = is_behind(actual, baseline, target.baseline_date, goal, target.target_date, snapshot.as_of)
    status.update(
        as_of=snapshot.as_of,
        expected=expected_value(baseline, target.baseline_date, goal, target.target_date, snapshot.as_of).quantize(
            Decimal("0.000001"), rounding=ROUND_HALF_UP
        ),
        actual=actual,
        behind=behind,
        status="behind" if behind else "on_track",
    )
    return status


# --- targets: reads ----------------------------------------------------------------------------------


@tenant_selector
def diversification_target_list(tenant: Tenant, *, active: bool | None = None) -> QuerySet[DiversificationTarget]:
    targets = DiversificationTarget.objects.filter(tenant=tenant).select_related("owner")
    if active is not None:
        targets = targets.filter(is_active=active)
    return targets.order_by("line", "-created_at", "-id")


@tenant_selector
def diversification_target_get(tenant: Tenant, target_id: Any) -> DiversificationTarget:
    return get_object_for_tenant(DiversificationTarget.objects.select_related("owner"), tenant, target_id)


# --- targets: writes ---------------------------------------------------------------------------------


def _check_target_data(tenant: Tenant, line: str, data: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if line not in DiversificationLine.values:
        errors["line"] = _("Choose top1, top5 or hhi.")
    value = data.get("target_value")
    if "target_value" in data:
        if value is None:
            errors["target_value"] = _("Give the target value.")
        elif is_share_line(line) and not (Decimal("0") <= Decimal(value) <= Decimal("1")):
            errors["target_value"] = _("A target share is between 0 and 1 (0.15 is 15 %).")
        elif line == DiversificationLine.HHI and not (Decimal("0") <= Decimal(value) <= HHI_MAX):
            errors["target_value"] = _("A target HHI is between 0 and 10,000.")
    if "target_date" in data:
        if data["target_date"] is None:
            errors["target_date"] = _("Give the target date.")
        elif data["target_date"] <= tenant_today(tenant):
            errors["target_date"] = _("The target date must be in the future.")
    owner = data.get("owner")
    if owner is not None and not _is_active_member(tenant, owner):
        errors["owner"] = _("Choose an active member of this workspace.")
    if errors:
        raise ValidationError(errors)


@tenant_service
def diversification_target_create(
    tenant: Tenant,
    *,
    line: str,
    target_value: Decimal,
    target_date: dt.date,
    owner: User | None = None,
    note: str = "",
    baseline_value: Decimal | None = None,
    baseline_date: dt.date | None = None,
    actor: Any = None,
) -> DiversificationTarget:
    """Set a target for a line; the baseline is the latest concentration snapshot's value unless
    given (both value and date: an import or the demo)."""
    data = {"target_value": target_value, "target_date": target_date, "owner": owner}
    _check_target_data(tenant, line, data)
    if DiversificationTarget.objects.filter(tenant=tenant, line=line, is_active=True).exists():
        raise ValidationError({"line": _("This line has an active target already: edit or close it.")})
    if baseline_value is None or baseline_date is None:
        snapshot = ConcentrationSnapshot.objects.filter(tenant=tenant).order_by("-as_of", "-id").first()
        if snapshot is None:
            raise ValidationError(
                _("There is no concentration snapshot yet to take the baseline from: run risk first.")
            )
        baseline_value, baseline_date = snapshot_value(snapshot, line), snapshot.as_of
    if target_date <= baseline_date:
        raise ValidationError({"target_date": _("The target date must be after the baseline date.")})
    target = DiversificationTarget(
        tenant=tenant,
        line=line,
        target_value=target_value,
        target_date=target_date,
        owner=owner,
        note=note or "",
        baseline_value=Decimal(baseline_value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
        baseline_date=baseline_date,
        created_by=_user(actor),
    )
    target.full_clean()
    target.save()
    audit.record_create(tenant=tenant, instance=target, actor=actor)
    return target


def _check_target(tenant: Tenant, target: DiversificationTarget) -> None:
    if target.tenant_id != tenant.pk:
        raise ValidationError(_("No such target in this workspace."))


@tenant_service
def diversification_target_update(
    tenant: Tenant,
    *,
    target: DiversificationTarget,
    target_value: Decimal = UNSET,
    target_date: dt.date = UNSET,
    owner: User | None = UNSET,
    note: str = UNSET,
    actor: Any = None,
) -> DiversificationTarget:
    """Change the given fields (the line and the baseline stay); a closed target cannot change.
    A target date kept as it was need not be in the future any more."""
    _check_target(tenant, target)
    if not target.is_active:
        raise ValidationError(_("This target is closed."))
    data = given(target_value=target_value, target_date=target_date, owner=owner, note=note)
    if data.get("target_date") == target.target_date:
        data.pop("target_date")
    if "owner" in data and data["owner"] is not None and data["owner"].pk == target.owner_id:
        checked = {key: value for key, value in data.items() if key != "owner"}
    else:
        checked = data
    _check_target_data(tenant, target.line, checked)
    before = audit.snapshot(target)
    for name, value in data.items():
        setattr(target, name, value if name != "note" else (value or ""))
    if target.target_date <= target.baseline_date:
        raise ValidationError({"target_date": _("The target date must be after the baseline date.")})
    target.full_clean()
    target.save()
    audit.record_update(tenant=tenant, instance=target, before=before, actor=actor)
    return target


@tenant_service
def diversification_target_close(
    tenant: Tenant, *, target: DiversificationTarget, actor: Any = None
) -> DiversificationTarget:
    """Close a target (reached or given up): its alert resolves at the next risk run."""
    _check_target(tenant, target)
    if not target.is_active:
        return target
    before = audit.snapshot(target)
    target.is_active = False
    target.closed_at = timezone.now()
    target.save(update_fields=["is_active", "closed_at", "updated_at"])
    audit.record_update(tenant=tenant, instance=target, before=before, actor=actor)
    return target


@tenant_service
def diversification_target_delete(tenant: Tenant, *, target: DiversificationTarget, actor: Any = None) -> None:
    _check_target(tenant, target)
    audit.record_delete(tenant=tenant, instance=target, actor=actor)
    target.delete()


# --- alternative markets -----------------------------------------------------------------------------

MARKET_PROGRESS_SQL = """
WITH market AS (
    SELECT m.id, m.industry, m.region FROM risk_alternativemarket m
    WHERE m.tenant_id = %(tenant)s AND m.id = ANY(%(ids)s)
),
segment AS (
    SELECT m.id AS market_id, a.id AS account_id
    FROM market m
    JOIN accounts_account a ON a.tenant_id = %(tenant)s
        AND (m.industry = '' OR a.industry = m.industry) AND (m.region = '' OR a.region = m.region)
),
revenue AS (
    SELECT s.market_id, SUM(o.amount) AS revenue_12m
    FROM segment s
    JOIN accounts_order o ON o.tenant_id = %(tenant)s AND o.account_id = s.account_id
        AND o.order_date > %(d365)s AND o.order_date <= %(d)s
    GROUP BY s.market_id
)
SELECT m.id,
       (SELECT COUNT(*) FROM segment s WHERE s.market_id = m.id) AS accounts,
       COALESCE(r.revenue_12m, 0) AS revenue_12m
FROM market m LEFT JOIN revenue r ON r.market_id = m.id
"""


@tenant_selector
def alternative_market_list(tenant: Tenant) -> QuerySet[AlternativeMarket]:
    return AlternativeMarket.objects.filter(tenant=tenant).select_related("owner").order_by("target_date", "name", "id")


@tenant_selector
def alternative_market_get(tenant: Tenant, market_id: Any) -> AlternativeMarket:
    return get_object_for_tenant(AlternativeMarket.objects.select_related("owner"), tenant, market_id)


@tenant_selector
def alternative_market_progress(
    tenant: Tenant, markets: list[AlternativeMarket], *, as_of: dt.date | None = None
) -> dict[int, dict[str, Any]]:
    """market id -> {accounts, revenue_12m, progress (percent of the target, one decimal, or None)}
    as of a day (today by default), for every market given, in one statement."""
    day = as_of or tenant_today(tenant)
    ids = [market.pk for market in markets]
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            MARKET_PROGRESS_SQL, {"tenant": tenant.pk, "ids": ids, "d": day, "d365": day - dt.timedelta(days=365)}
        )
        rows = {market_id: (accounts, Decimal(revenue)) for market_id, accounts, revenue in cursor.fetchall()}
    result = {}
    for market in markets:
        accounts, revenue = rows.get(market.pk, (0, Decimal("0")))
        target = Decimal(market.target_revenue_12m)
        progress = (revenue * 100 / target).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if target > 0 else None
        result[market.pk] = {"as_of": day, "accounts": accounts, "revenue_12m": revenue, "progress": progress}
    return result


@tenant_selector
def alternative_market_accounts(tenant: Tenant, market: AlternativeMarket) -> QuerySet[Any]:
    """The accounts of the market's segment, found from the account records."""
    accounts = Account.objects.filter(tenant=tenant)
    if market.industry:
        accounts = accounts.filter(industry=market.industry)
    if market.region:
        accounts = accounts.filter(region=market.region)
    return accounts.order_by("name", "id")


MARKET_FIELDS = ("name", "industry", "region", "target_revenue_12m", "target_date", "owner", "note")


def _check_market_data(tenant: Tenant, data: dict[str, Any], *, current: AlternativeMarket | None = None) -> None:
    errors: dict[str, str] = {}
    if "name" in data and not (data["name"] or "").strip():
        errors["name"] = _("Give the market a name.")
    industry = data.get("industry", current.industry if current else "")
    region = data.get("region", current.region if current else "")
    if not (industry or "").strip() and not (region or "").strip():
        errors["industry"] = _("Name an industry, a region or both.")
    if "target_revenue_12m" in data:
        value = data["target_revenue_12m"]
        if value is None:
            errors["target_revenue_12m"] = _("Give the target revenue.")
        elif Decimal(value) <= 0:
            errors["target_revenue_12m"] = _("The target revenue must be above 0.")
    if "target_date" in data:
        if data["target_date"] is None:
            errors["target_date"] = _("Give the target date.")
        elif data["target_date"] <= tenant_today(tenant):
            errors["target_date"] = _("The target date must be in the future.")
    owner = data.get("owner")
    if owner is not None and not _is_active_member(tenant, owner):
        errors["owner"] = _("Choose an active member of this workspace.")
    if errors:
        raise ValidationError(errors)


def _clean_market(data: dict[str, Any]) -> dict[str, Any]:
    for name in ("name", "industry", "region", "note"):
        if name in data:
            data[name] = (data[name] or "").strip()
    return data


@tenant_service
def alternative_market_create(
    tenant: Tenant,
    *,
    name: str,
    target_revenue_12m: Decimal,
    target_date: dt.date,
    industry: str = "",
    region: str = "",
    owner: User | None = None,
    note: str = "",
    actor: Any = None,
) -> AlternativeMarket:
    data = _clean_market(
        {
            "name": name,
            "industry": industry,
            "region": region,
            "target_revenue_12m": target_revenue_12m,
            "target_date": target_date,
            "owner": owner,
            "note": note,
        }
    )
    _check_market_data(tenant, data)
    market = AlternativeMarket(tenant=tenant, created_by=_user(actor), **data)
    market.full_clean()
    market.save()
    audit.record_create(tenant=tenant, instance=market, actor=actor)
    return market


def _check_market(tenant: Tenant, market: AlternativeMarket) -> None:
    if market.tenant_id != tenant.pk:
        raise ValidationError(_("No such market in this workspace."))


@tenant_service
def alternative_market_update(
    tenant: Tenant,
    *,
    market: AlternativeMarket,
    name: str = UNSET,
    industry: str = UNSET,
    region: str = UNSET,
    target_revenue_12m: Decimal = UNSET,
    target_date: dt.date = UNSET,
    owner: User | None = UNSET,
    note: str = UNSET,
    actor: Any = None,
) -> AlternativeMarket:
    """Change the given fields; a target date kept as it was need not be in the future any more,
    nor an owner kept as they were still be a member."""
    _check_market(tenant, market)
    data = _clean_market(
        given(
            name=name,
            industry=industry,
            region=region,
            target_revenue_12m=target_revenue_12m,
            target_date=target_date,
            owner=owner,
            note=note,
        )
    )
    checked = dict(data)
    if checked.get("target_date") == market.target_date and "target_date" in checked:
        checked.pop("target_date")
    if "owner" in checked and checked["owner"] is not None and checked["owner"].pk == market.owner_id:
        checked.pop("owner")
    _check_market_data(tenant, checked, current=market)
    before = audit.snapshot(market)
    for key, value in data.items():
        setattr(market, key, value)
    market.full_clean()
    market.save()
    audit.record_update(tenant=tenant, instance=market, before=before, actor=actor)
    return market


@tenant_service
def alternative_market_delete(tenant: Tenant, *, market: AlternativeMarket, actor: Any = None) -> None:
    _check_market(tenant, market)
    audit.record_delete(tenant=tenant, instance=market, actor=actor)
    market.delete()
