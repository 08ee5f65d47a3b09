"""OpenAPI pieces of the risk API: summaries, descriptions and the examples integrators
read in the docs. The error responses every operation can answer are added by
kam.api.schema.KamAutoSchema."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers

from risk.api.serializers import (
    AlertSerializer,
    ConcentrationSerializer,
    HealthSerializer,
    MarkReadSerializer,
    ResolveSerializer,
    RiskPolicySerializer,
    RiskRunSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookSecretSerializer,
)
from risk.models import RunKind, WebhookEvent

# --- alerts ------------------------------------------------------------------------------------------

ALERT_EXAMPLE = {
    "id": 311,
    "kind": "payment_overdue",
    "severity": "warning",
    "status": "open",
    "account": {"id": 1024, "name": "恒通汽车零部件"},
    "dedupe_key": "payment_overdue:1024",
    "summary": "2 invoices unpaid, up to 48 days past due (356000.00).",
    "details": {
        "as_of": "2026-06-30",
        "invoices": 2,
        "outstanding": "356000.00",
        "oldest_due_on": "2026-05-13",
        "max_days_overdue": 48,
        "threshold_days": 30,
        "numbers": ["FP-2026-0412", "FP-2026-0433"],
    },
    "assignee": None,
    "snoozed_until": None,
    "opened_at": "2026-06-30T02:10:04+08:00",
    "updated_at": "2026-06-30T02:10:04+08:00",
    "acknowledged_at": None,
    "acknowledged_by": None,
    "resolved_at": None,
    "resolved_by": None,
    "resolution": None,
    "resolution_note": "",
    "run": 77,
}

alert_schema = extend_schema_view(
    list=extend_schema(
        summary="List alerts",
        description=(
            "预警, newest first. Kinds: concentration_single, concentration_top5, concentration_hhi, health_red, "
            "health_drop, purchase_overdue, payment_overdue, team_gap, key_contact_left, contract_expiring, "
            "review_needed, ip_unprotected, renewal_overdue, sla_breach, diversification_behind. At most one alert per dedupe key (kind + subject) is open at a time. `open=true` "
            "lists those not resolved. A team member sees the alerts of the accounts they read."
        ),
        examples=[OpenApiExample("Alert", value=ALERT_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(summary="Get an alert", examples=[OpenApiExample("Alert", value=ALERT_EXAMPLE)]),
    partial_update=extend_schema(
        summary="Assign or snooze an alert",
        description="`assignee`: an active member or null (the new assignee is notified). "
        "`snoozed_until`: a future day or null.",
        examples=[OpenApiExample("Assign", value={"assignee": 7, "snoozed_until": "2026-07-15"}, request_only=True)],
    ),
    acknowledge=extend_schema(summary="Acknowledge an alert (确认)", request=None, responses=AlertSerializer),
    resolve=extend_schema(
        summary="Resolve an alert (解决)",
        description=(
            "Resolves by hand. A condition that still holds opens a new alert at the next run (acknowledge or "
            "snooze instead), except a key contact's departure or a leadership change or merger, which stay "
            "reviewed."
        ),
        request=ResolveSerializer,
        responses=AlertSerializer,
    ),
)

# --- concentration -----------------------------------------------------------------------------------

CONCENTRATION_DESCRIPTION = (
    "Revenue concentration over customer groups (an account's group is its top-most parent; the group's "
    "revenue_12m is the root's and all its descendants'). Shares over the groups with revenue_12m > 0: "
    "top1/top5/top10 are the sums of the largest 1, 5, 10; `hhi` = sum((100 * share)^2). `groups` lists the "
    "largest 20 groups with their accounts; the `account_*` figures and `accounts` are the same without the "
    "roll-up."
)

concentration_schema = extend_schema_view(
    get=extend_schema(
        summary="The latest concentration snapshot",
        description=CONCENTRATION_DESCRIPTION + " 404 before the first snapshot.",
        responses=ConcentrationSerializer,
    )
)

concentration_history_schema = extend_schema_view(
    list=extend_schema(
        summary="Concentration history", description="One snapshot a day, newest first. " + CONCENTRATION_DESCRIPTION
    )
)

# --- health ------------------------------------------------------------------------------------------


account_health_schema = extend_schema_view(
    get=extend_schema(
        summary="An account's latest health assessment (客户健康度评估)",
        description=(
            "Health 0..100: the weighted mean of the signals that have data (revenue trend 25, purchase rhythm "
            "25, payment 20, engagement 15, relationship 15, service 15; the weights of signals without data "
            "drop out), "
            "minus 10 per complaint in the last 90 days (at most 30), rounded half up to two decimals. Bands: "
            "green >= 70, yellow >= 40, red below. `expected_next_purchase` is the last order date plus the "
            "median purchase interval (采购周期预测). 404 before the first assessment."
        ),
        parameters=[OpenApiParameter("account_id", int, OpenApiParameter.PATH, description="The account's id.")],
        responses=HealthSerializer,
    )
)

# --- risk runs ---------------------------------------------------------------------------------------


risk_run_schema = extend_schema_view(
    list=extend_schema(summary="Risk runs, newest first"),
    retrieve=extend_schema(summary="Get a risk run (its status and progress)"),
    create=extend_schema(
        summary="Start a risk run",
        description="Queued and answered 202; with `?wait=true` it runs in the request and answers 201 when done.",
        parameters=[OpenApiParameter("wait", OpenApiTypes.BOOL, description="Answer when the run is done.")],
        request=inline_serializer(
            "RiskRunStart",
            {
                "as_of": serializers.DateField(required=False),
                "kind": serializers.ChoiceField(choices=RunKind.choices, required=False),
            },
        ),
        responses={201: RiskRunSerializer, 202: RiskRunSerializer},
        examples=[OpenApiExample("As of a day", value={"as_of": "2026-06-30"}, request_only=True)],
    ),
)

# --- contingency plans -------------------------------------------------------------------------------


contingency_plan_schema = extend_schema_view(
    list=extend_schema(
        summary="List contingency plans",
        description="Plans for accounts above a concentration line; a concentration alert without one says so.",
    ),
    retrieve=extend_schema(summary="Get a contingency plan"),
    create=extend_schema(summary="Create a contingency plan"),
    update=extend_schema(summary="Replace a contingency plan"),
    partial_update=extend_schema(summary="Change a contingency plan"),
    destroy=extend_schema(summary="Delete a contingency plan"),
)

# --- webhooks ----------------------------------------------------------------------------------------

WEBHOOK_DESCRIPTION = (
    "Each event is POSTed as JSON with `X-KAM-Timestamp` (Unix seconds), `X-KAM-Signature: "
    "sha256=<hex HMAC-SHA256(secret, timestamp + '.' + body)>`, `X-KAM-Event` and `X-KAM-Delivery` (the "
    "event id, the same on every attempt). A delivery that fails (not 2xx within 5 s) is retried with "
    "exponential backoff and jitter, up to 8 attempts. Events: " + ", ".join(WebhookEvent.values) + "."
)

webhook_schema = extend_schema_view(
    list=extend_schema(summary="List webhook endpoints", description=WEBHOOK_DESCRIPTION),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    create=extend_schema(
        summary="Create a webhook endpoint",
        description=WEBHOOK_DESCRIPTION + " The answer carries the signing secret, this once.",
        responses={201: WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample(
                "Alerts to the BI system",
                value={"url": "https://bi.example.com/kam/hooks", "events": ["alert.opened", "alert.resolved"]},
                request_only=True,
            )
        ],
    ),
    update=extend_schema(summary="Replace a webhook endpoint"),
    partial_update=extend_schema(summary="Change a webhook endpoint"),
    destroy=extend_schema(summary="Delete a webhook endpoint and its delivery log"),
    test=extend_schema(
        summary="Send a test event now",
        description="POSTs a `webhook.test` event (whatever events the endpoint chose) and answers the delivery "
        "with the receiver's response code. Not retried.",
        request=None,
        responses=WebhookDeliverySerializer,
    ),
    rotate_secret=extend_schema(summary="Rotate the signing secret", request=None, responses=WebhookSecretSerializer),
)

webhook_delivery_schema = extend_schema_view(
    list=extend_schema(
        summary="An endpoint's delivery log",
        description="Newest first: each event sent, its attempts, response code and an excerpt of the response.",
        parameters=[OpenApiParameter("endpoint_id", int, OpenApiParameter.PATH, description="The endpoint's id.")],
    )
)

# --- policy ------------------------------------------------------------------------------------------


risk_policy_schema = extend_schema_view(
    get=extend_schema(summary="The risk policy (warning lines and alert thresholds)", responses=RiskPolicySerializer),
    patch=extend_schema(
        summary="Change the risk policy",
        description="Shares are fractions (0.10 is 10 %). Critical lines cannot be below warning lines.",
        request=RiskPolicySerializer,
        responses=RiskPolicySerializer,
        examples=[
            OpenApiExample("Stricter single-customer line", value={"single_customer_warning": 0.08}, request_only=True)
        ],
    ),
)

# --- notifications -----------------------------------------------------------------------------------

UNREAD_COUNT = inline_serializer("NotificationUnreadCount", {"unread": serializers.IntegerField()})
MARK_READ_RESULT = inline_serializer(
    "NotificationMarkReadResult",
    {
        "marked": serializers.IntegerField(help_text="How many were unread and are now read."),
        "unread": serializers.IntegerField(help_text="How many stay unread."),
    },
)
# Documented for the browser session only: a token is refused.
SESSION_ONLY = [{"cookieAuth": []}]
NOTIFICATION_EXAMPLE = {
    "id": 9051,
    "kind": "alert.opened",
    "alert": 311,
    "title": "Payment overdue: 恒通汽车零部件",
    "body": "2 invoices unpaid, up to 48 days past due (356000.00).",
    "link": "/t/huadong/risk/alerts/311/",
    "created_at": "2026-06-30T02:10:05+08:00",
    "read_at": None,
}

notification_schema = extend_schema_view(
    list=extend_schema(
        summary="List my notifications",
        description=(
            "The signed-in user's in-app notifications in the current workspace, newest first: new and "
            "escalated alerts (`alert.opened`, `alert.escalated`) and alerts assigned to them "
            "(`alert.assigned`). `unread=true` lists the unread ones. Answers the browser session only: "
            "an API token is refused (403)."
        ),
        examples=[OpenApiExample("Notification", value=NOTIFICATION_EXAMPLE, response_only=True)],
        auth=SESSION_ONLY,
    ),
    unread_count=extend_schema(summary="Count my unread notifications", responses=UNREAD_COUNT, auth=SESSION_ONLY),
    mark_read=extend_schema(
        summary="Mark my notifications read",
        description="Marks the given `ids` read, or all of the caller's unread notifications without `ids`.",
        request=MarkReadSerializer,
        responses=MARK_READ_RESULT,
        auth=SESSION_ONLY,
        examples=[
            OpenApiExample("Some", value={"ids": [9051, 9052]}, request_only=True),
            OpenApiExample("All", value={}, request_only=True),
            OpenApiExample("Result", value={"marked": 2, "unread": 5}, response_only=True),
        ],
    ),
)
