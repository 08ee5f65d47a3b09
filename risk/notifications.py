"""Telling people about alerts: in-app notifications (the bell) and e-mail.

A new or escalated alert notifies its assignee and the account's owner; a tenant-wide
alert (top 5 share, HHI) notifies the tenant's administrators and directors. Only active
members of the tenant are ever notified, whatever the alert's rows say. E-mail goes out
from a task queued on commit (console backend by default, SMTP by settings), one
message per person listing their alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from kam.formats import format_datetime, format_money, format_percent, formats_for, plain_number, to_decimal
from kam.models import Membership, Role, Tenant
from kam.stage import insert_rows
from renewals.models import STAGE_LABELS
from risk.models import AlertKind, Notification, RiskAlert, Severity

# Who hears of an alert without an account.
TENANT_ALERT_ROLES = (Role.ADMIN, Role.DIRECTOR)
# Alerts listed in one e-mail; the rest are counted.
EMAIL_LIST_LIMIT = 50
# Contracts named in the sentence of an ip_unprotected alert; its page lists them all.
SUMMARY_CONTRACTS = 3


def alert_link(tenant: Tenant, alert_id: int) -> str:
    """The alert's page (risk center); served by the risk pages under the URL name ``risk-alert``."""
    return alert_link_builder(tenant)(alert_id)


def alert_link_builder(tenant: Tenant) -> Callable[[int], str]:
    """alert id -> its link, resolving the URL once for many alerts."""
    try:
        marker = reverse("risk-alert", kwargs={"tenant_slug": tenant.slug, "alert_id": 987654321})
    except NoReverseMatch:
        marker = f"/t/{tenant.slug}/risk/alerts/987654321/"
    return lambda alert_id: marker.replace("987654321", str(alert_id))


def alert_title(kind: str, account_name: str | None) -> str:
    label = str(AlertKind(kind).label) if kind in AlertKind.values else kind
    return f"{label}: {account_name}" if account_name else label


def notification_title(event: str, alert: RiskAlert) -> str:
    """The title of a notification about an alert (``event``: opened, escalated or assigned),
    in the active language; the bell says it again in the reader's."""
    title = alert_title(alert.kind, _account_name(alert))
    if event == "escalated":
        return _("Escalated: %(title)s") % {"title": title}
    if event == "assigned":
        return _("Assigned to you: %(title)s") % {"title": title}
    return title


def _number(value: Any, places: int = 2) -> str:
    """A score as the pages show it: two decimals (35.50)."""
    number = to_decimal(value)
    return "?" if number is None or not number.is_finite() else f"{number.quantize(Decimal(1).scaleb(-places))}"


def _grouped(value: Any) -> str:
    """An index as the pages show it (the HHI): whole, with thousands separators (1,523)."""
    number = to_decimal(value)
    return "?" if number is None or not number.is_finite() else f"{number:,.0f}"


def _days(value: Any) -> str:
    """A number of days as the pages show it: 47, 47.5 (no needless zeros), grouped."""
    number = to_decimal(value)
    if number is None or not number.is_finite():
        return "?"
    return plain_number(number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _money(value: Any) -> str:
    """An amount as the pages show it, in the active language and the tenant's currency."""
    return "?" if to_decimal(value) is None else format_money(value)


def alert_summary(kind: str, details: dict[str, Any]) -> str:
    """One sentence about what the alert found, in the active language, its amounts and
    figures as the pages write them (format_money: ¥52.58万 in Chinese, ¥525,777.72 in
    English) and its times in the active tenant's time zone. The details stay raw numbers."""
    d = details or {}
    if kind == AlertKind.CONCENTRATION_SINGLE:
        text = _("This customer group has %(share)s of revenue (line %(line)s).") % {
            "share": format_percent(d.get("share"), empty="?"),
            "line": format_percent(d.get("threshold"), empty="?"),
        }
        return text + (" " + _("No contingency plan.") if d.get("no_contingency_plan") else "")
    if kind == AlertKind.CONCENTRATION_TOP5:
        text = _("The five largest customer groups have %(share)s of revenue (line %(line)s).") % {
            "share": format_percent(d.get("top5_share"), empty="?"),
            "line": format_percent(d.get("threshold"), empty="?"),
        }
        return text + (" " + _("Some have no contingency plan.") if d.get("no_contingency_plan") else "")
    if kind == AlertKind.CONCENTRATION_HHI:
        text = _("HHI %(hhi)s (line %(line)s).") % {
            "hhi": _grouped(d.get("hhi")),
            "line": _grouped(d.get("threshold")),
        }
        return text + (" " + _("Some large groups have no contingency plan.") if d.get("no_contingency_plan") else "")
    if kind == AlertKind.HEALTH_RED:
        return _("Health score %(score)s, in the red band.") % {"score": _number(d.get("score"))}
    if kind == AlertKind.HEALTH_DROP:
        return _("Health score fell from %(previous)s to %(score)s.") % {
            "previous": _number(d.get("previous_score")),
            "score": _number(d.get("score")),
        }
    if kind == AlertKind.PURCHASE_OVERDUE:
        return _("No order for %(days)s days; the usual interval is %(interval)s days (expected by %(expected)s).") % {
            "days": _days(d.get("days_since_last_order")),
            "interval": _days(d.get("purchase_interval_days")),
            "expected": d.get("expected_next_purchase"),
        }
    if kind == AlertKind.PAYMENT_OVERDUE:
        return ngettext(
            "%(count)s invoice unpaid, up to %(days)s days past due (%(amount)s).",
            "%(count)s invoices unpaid, up to %(days)s days past due (%(amount)s).",
            d.get("invoices") or 0,
        ) % {"count": d.get("invoices"), "days": d.get("max_days_overdue"), "amount": _money(d.get("outstanding"))}
    if kind == AlertKind.TEAM_GAP:
        return _("Team gaps: %(gaps)s.") % {"gaps": ", ".join(_gap_label(gap) for gap in d.get("gaps", []))}
    if kind == AlertKind.KEY_CONTACT_LEFT:
        names = ", ".join(f"{c.get('name')} ({c.get('title') or c.get('buying_role')})" for c in d.get("contacts", []))
        return _("Key contacts left: %(names)s.") % {"names": names}
    if kind == AlertKind.CONTRACT_EXPIRING:
        return _("%(title)s ends on %(end_on)s, in %(days)s days.") % {
            "title": d.get("title"),
            "end_on": d.get("end_on"),
            "days": d.get("days_left"),
        }
    if kind == AlertKind.IP_UNPROTECTED:
        contracts = d.get("contracts") or []
        titles = pgettext("list separator", ", ").join(
            _("“%(title)s”") % {"title": c.get("title")} for c in contracts[:SUMMARY_CONTRACTS]
        )
        if len(contracts) > SUMMARY_CONTRACTS:
            titles += pgettext("contracts", " and %(count)s more") % {"count": len(contracts) - SUMMARY_CONTRACTS}
        return ngettext(
            "The active contract protects no IP (neither ours nor joint, no confidentiality in force): %(titles)s.",
            "The %(count)s active contracts protect no IP (neither ours nor joint, no confidentiality in force): "
            "%(titles)s.",
            len(contracts),
        ) % {"count": len(contracts), "titles": titles}
    if kind == AlertKind.RENEWAL_OVERDUE:
        days = d.get("days_overdue") if isinstance(d.get("days_overdue"), int) else 0
        return ngettext(
            "“%(title)s” ended on %(end_on)s, %(days)s day ago; its renewal is still at the %(stage)s stage.",
            "“%(title)s” ended on %(end_on)s, %(days)s days ago; its renewal is still at the %(stage)s stage.",
            days,
        ) % {
            "title": d.get("title"),
            "end_on": d.get("end_on"),
            "days": days,
            "stage": renewal_stage_label(d.get("stage")),
        }
    if kind == AlertKind.SLA_BREACH:
        hours = d.get("hours_late") if isinstance(d.get("hours_late"), int) else 0
        values = {"subject": d.get("subject"), "hours": hours, "due": _local_time(d.get("due"))}
        if d.get("breach") == "resolution":
            return (
                ngettext(
                    "“%(subject)s” is not resolved: due %(due)s, %(hours)s hour late.",
                    "“%(subject)s” is not resolved: due %(due)s, %(hours)s hours late.",
                    hours,
                )
                % values
            )
        return (
            ngettext(
                "“%(subject)s” has no first response: due %(due)s, %(hours)s hour late.",
                "“%(subject)s” has no first response: due %(due)s, %(hours)s hours late.",
                hours,
            )
            % values
        )
    if kind == AlertKind.DIVERSIFICATION_BEHIND:
        return _diversification_summary(d)
    if kind == AlertKind.REVIEW_NEEDED:
        events = ", ".join(f"{_event_label(e.get('kind'))} {e.get('occurred_on')}" for e in d.get("events", []))
        return _("Leadership change or merger (%(events)s): review the account.") % {"events": events}
    return ""


def _diversification_summary(d: dict[str, Any]) -> str:
    """diversification_behind (DESIGN section 13): the line against its path, shares as percents."""
    from risk.models import DiversificationLine

    line = d.get("line")
    if line == DiversificationLine.HHI:

        def value(v: Any) -> str:
            return _grouped(v)
    else:

        def value(v: Any) -> str:
            return format_percent(v, empty="?")

    label = DiversificationLine(line).label if line in DiversificationLine.values else str(line)
    return _(
        "%(line)s is %(actual)s, behind the path to the target: %(expected)s expected by now, "
        "%(target)s by %(target_date)s (from %(baseline)s on %(baseline_date)s)."
    ) % {
        "line": label,
        "actual": value(d.get("actual")),
        "expected": value(d.get("expected")),
        "target": value(d.get("target")),
        "target_date": d.get("target_date"),
        "baseline": value(d.get("baseline")),
        "baseline_date": d.get("baseline_date"),
    }


def renewal_stage_label(stage: Any) -> str:
    return str(STAGE_LABELS.get(stage, stage))


def _local_time(value: Any) -> str:
    """An instant of an alert's details (ISO 8601) in the active tenant's time zone, to the minute."""
    return format_datetime(value, empty="?") if isinstance(value, str) else "?"


def _event_label(kind: Any) -> str:
    from accounts.models import EventKind

    return str(EventKind(kind).label) if kind in EventKind.values else str(kind)


def _gap_label(gap: dict[str, Any]) -> str:
    from teams.selectors import Gap

    try:
        return Gap(gap["kind"], gap["function"], gap["level"], gap["required"], gap["filled"]).label()
    except (KeyError, ValueError):
        return str(gap)


@dataclass(frozen=True)
class AlertTarget:
    """What deciding an alert's recipients needs, read without building model instances."""

    pk: int
    account_id: int | None
    owner_id: int | None
    assignee_id: int | None
    # the person the subject is given to besides the alert's assignee (an SLA breach: the need's;
    # an overdue renewal: the renewal's owner)
    worker_id: int | None = None


# The kinds whose details name the person working on the subject, and under which key.
WORKER_KEYS = {AlertKind.SLA_BREACH: "assignee", AlertKind.RENEWAL_OVERDUE: "owner"}


def _worker(kind: str, details: dict[str, Any] | None) -> int | None:
    key = WORKER_KEYS.get(kind)
    return _user_id((details or {}).get(key)) if key else None


def _targets(tenant: Tenant, alert_ids: list[int]) -> list[AlertTarget]:
    rows = (
        RiskAlert.objects.filter(pk__in=alert_ids)
        .order_by("id")
        .values_list(
            "pk", "account_id", "account__owner_id", "assignee_id", "kind", "details__assignee", "details__owner"
        )
    )
    return [
        AlertTarget(pk, account_id, owner_id, assignee_id, _worker(kind, {"assignee": assignee, "owner": owner}))
        for pk, account_id, owner_id, assignee_id, kind, assignee, owner in rows
    ]


def _user_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _recipients(tenant: Tenant, targets: Iterable[AlertTarget]) -> dict[int, set[int]]:
    """Alert id -> the user ids to notify: active members of this tenant only."""
    members = dict(
        Membership.objects.filter(tenant=tenant, is_active=True, user__is_active=True).values_list("user_id", "role")
    )
    leaders = {user_id for user_id, role in members.items() if role in TENANT_ALERT_ROLES}
    result: dict[int, set[int]] = {}
    for target in targets:
        wanted = {target.assignee_id, target.worker_id} | (leaders if target.account_id is None else {target.owner_id})
        result[target.pk] = {user_id for user_id in wanted if user_id in members}
    return result


def notify_alerts(tenant: Tenant, *, alert_ids: list[int], event: str) -> int:
    """In-app notifications for new (``opened``) or ``escalated`` alerts, and their e-mail
    queued on commit. One INSERT per thousand notifications (kam.stage.insert_rows); only
    the alerts somebody hears of are read in full. Returns the rows made."""
    if not alert_ids:
        return 0
    recipients = {pk: users for pk, users in _recipients(tenant, _targets(tenant, alert_ids)).items() if users}
    if not recipients:
        return 0
    alerts = RiskAlert.objects.filter(pk__in=list(recipients)).select_related("account")
    link = alert_link_builder(tenant)
    now = timezone.now()
    rows = []
    for alert in alerts.order_by("id"):
        title = notification_title(event, alert)
        body = alert_summary(alert.kind, alert.details)
        for user_id in sorted(recipients[alert.pk]):
            rows.append((tenant.pk, user_id, f"alert.{event}", alert.pk, title[:300], body, link(alert.pk), now))
    with connection.cursor() as cursor:
        insert_rows(
            cursor,
            "risk_notification",
            ("tenant_id", "user_id", "kind", "alert_id", "title", "body", "link", "created_at"),
            rows,
        )
    from kam.tasks import queue_on_commit
    from risk.tasks import send_alert_emails

    queue_on_commit(send_alert_emails, tenant.pk, sorted(recipients), event)
    return len(rows)


def notify_assignee(tenant: Tenant, *, alert: RiskAlert) -> int:
    """The person an alert was just assigned to hears of it (in-app and e-mail)."""
    if alert.assignee_id is None:
        return 0
    if not Membership.objects.filter(tenant=tenant, user_id=alert.assignee_id, is_active=True).exists():
        return 0
    Notification.objects.create(
        tenant=tenant,
        user_id=alert.assignee_id,
        kind="alert.assigned",
        alert=alert,
        title=notification_title("assigned", alert)[:300],
        body=alert_summary(alert.kind, alert.details),
        link=alert_link(tenant, alert.pk),
    )
    from kam.tasks import queue_on_commit
    from risk.tasks import send_alert_emails

    queue_on_commit(send_alert_emails, tenant.pk, [alert.pk], "assigned", [alert.assignee_id])
    return 1


def _account_name(alert: RiskAlert) -> str | None:
    return alert.account.name if alert.account_id else None


def send_alert_emails(tenant: Tenant, *, alert_ids: list[int], event: str, only_users: list[int] | None = None) -> int:
    """One e-mail per recipient listing their alerts. Read inside the tenant's context from
    its own rows. Returns the number of messages sent."""
    alerts = list(RiskAlert.objects.filter(pk__in=alert_ids).select_related("account").order_by("id"))
    if not alerts:
        return 0
    recipients = _recipients(
        tenant,
        [
            AlertTarget(
                a.pk,
                a.account_id,
                a.account.owner_id if a.account else None,
                a.assignee_id,
                _worker(a.kind, a.details),
            )
            for a in alerts
        ],
    )
    by_user: dict[int, list[RiskAlert]] = defaultdict(list)
    for alert in alerts:
        for user_id in recipients[alert.pk] if only_users is None else only_users:
            by_user[user_id].append(alert)
    emails = dict(
        Membership.objects.filter(tenant=tenant, user_id__in=by_user, is_active=True).values_list(
            "user_id", "user__email"
        )
    )
    severity_order = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
    messages = []
    for user_id, mine in sorted(by_user.items()):
        address = emails.get(user_id)
        if not address:
            continue
        mine.sort(key=lambda alert: (severity_order.get(alert.severity, 3), alert.pk))
        subject = _subject(tenant, event, len(mine))
        # Amounts in the tenant's currency, times in its time zone.
        with formats_for(tenant):
            lines = [
                f"[{Severity(alert.severity).label}] {alert_title(alert.kind, _account_name(alert))}\n"
                f"    {alert_summary(alert.kind, alert.details)}\n"
                f"    {format_datetime(alert.opened_at, tenant)} · {alert_link(tenant, alert.pk)}"
                for alert in mine[:EMAIL_LIST_LIMIT]
            ]
        if len(mine) > EMAIL_LIST_LIMIT:
            lines.append(_("… and %(count)s more in the risk center.") % {"count": len(mine) - EMAIL_LIST_LIMIT})
        messages.append(
            EmailMessage(subject=subject, body="\n\n".join(lines), from_email=settings.DEFAULT_FROM_EMAIL, to=[address])
        )
    if messages:
        get_connection(fail_silently=False).send_messages(messages)
    return len(messages)


def _subject(tenant: Tenant, event: str, count: int) -> str:
    if event == "escalated":
        text = ngettext("%(count)s alert escalated", "%(count)s alerts escalated", count)
    elif event == "assigned":
        text = ngettext("%(count)s alert assigned to you", "%(count)s alerts assigned to you", count)
    else:
        text = ngettext("%(count)s new alert", "%(count)s new alerts", count)
    return f"[KAM · {tenant.name}] " + text % {"count": count}


# --- customer service's needs (DESIGN section 11) ---------------------------------------------------

NEED_ASSIGNED = "need_assigned"
NEED_COMPLAINT = "need_complaint"


def need_link(tenant: Tenant, need_id: int) -> str:
    """The need's page, served by the service pages under the URL name ``service-need``."""
    try:
        return reverse("service-need", kwargs={"tenant_slug": tenant.slug, "need_id": need_id})
    except NoReverseMatch:
        return f"/t/{tenant.slug}/service/needs/{need_id}/"


def notify_need_routed(tenant: Tenant, *, need: Any, notify: Iterable[Any] = ()) -> int:
    """The bell, when a need was routed (service.signals.need_routed): its assignee hears
    "Need assigned to you", and each of ``notify`` (the directors, for a complaint) hears of the
    complaint. Only active members of the need's own tenant. Returns the rows made."""
    if need.tenant_id != tenant.pk:
        return 0
    members = set(
        Membership.objects.filter(tenant=tenant, is_active=True, user__is_active=True).values_list("user_id", flat=True)
    )
    link = need_link(tenant, need.pk)
    rows = []
    if need.assignee_id in members:
        title = _("Need assigned to you: %(subject)s") % {"subject": need.subject}
        rows.append(Notification(tenant=tenant, user_id=need.assignee_id, kind=NEED_ASSIGNED, title=title[:300]))
    told = sorted({user.pk for user in notify} & members)
    if told:
        account = need.account.name if need.account_id else (need.sender or _("an unknown sender"))
        title = _("Complaint from %(account)s: %(subject)s") % {"account": account, "subject": need.subject}
        rows += [
            Notification(tenant=tenant, user_id=user_id, kind=NEED_COMPLAINT, title=title[:300]) for user_id in told
        ]
    body = (need.body or "").strip()[:500]
    for row in rows:
        row.body, row.link = body, link
    Notification.objects.bulk_create(rows)
    return len(rows)


# --- tier override requests (DESIGN section 14) ---------------------------------------------------

OVERRIDE_REQUESTED = "override_requested"
OVERRIDE_DECIDED = "override_decided"


def _scoring_link(tenant: Tenant, name: str, fallback: str, **kwargs: Any) -> str:
    try:
        return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})
    except NoReverseMatch:
        return f"/t/{tenant.slug}/{fallback}"


def notify_override_request(tenant: Tenant, *, request: Any, event: str) -> int:
    """The bell of a tier request (scoring.signals): ``requested`` tells every active director
    of the tenant, with a link to the tier requests page; ``decided`` tells the requester
    (approved or rejected, the comment as the text), with a link to the account's score tab.
    Only active members of the request's own tenant. Returns the rows made."""
    if request.tenant_id != tenant.pk:
        return 0
    members = Membership.objects.filter(tenant=tenant, is_active=True, user__is_active=True)
    account = request.account.name
    if event == "requested":
        users = sorted(set(members.filter(role=Role.DIRECTOR).values_list("user_id", flat=True)))
        kind, link = OVERRIDE_REQUESTED, _scoring_link(tenant, "scoring-override-requests", "scoring/requests/")
        title = _("Tier request: %(account)s to %(tier)s") % {"account": account, "tier": request.tier}
        body = request.reason
    elif event == "decided" and request.requested_by_id:
        users = list(members.filter(user_id=request.requested_by_id).values_list("user_id", flat=True))
        kind = OVERRIDE_DECIDED
        link = _scoring_link(
            tenant, "accounts-detail", f"accounts/{request.account_id}/", account_id=request.account_id
        )
        link += "?tab=score"
        if request.status == "approved":
            title = _("Tier request approved: %(account)s is %(tier)s") % {"account": account, "tier": request.tier}
        else:
            title = _("Tier request rejected: %(account)s stays as it is") % {"account": account}
        body = request.comment
    else:
        return 0
    rows = [
        Notification(tenant=tenant, user_id=user_id, kind=kind, title=title[:300], body=(body or "")[:500], link=link)
        for user_id in users
    ]
    Notification.objects.bulk_create(rows)
    return len(rows)
