"""OpenAPI pieces of the service API: summaries, descriptions and the examples integrators
read in the docs. The error responses every operation can answer are added by
kam.api.schema.KamAutoSchema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view

from service.api.serializers import NeedEntrySerializer, NeedSerializer, NeedUpdateSerializer, ReplySerializer

NEED_EXAMPLE = {
    "id": 5120,
    "account": 1024,
    "contact": 2210,
    "channel": "api",
    "sender": "",
    "subject": "数控机床主轴报警，无法启动",
    "body": "3 号线的加工中心今早开机报警 E-204，请尽快安排技术支持。",
    "received_at": "2026-06-30T09:12:00+08:00",
    "external_ref": "CRM-TICKET-88121",
    "category": "technical_support",
    "category_source": "rule",
    "confidence": None,
    "classification": {"rule": {"keywords": ["报警", "无法启动"]}},
    "priority": "high",
    "status": "triaged",
    "function": "technical",
    "assignee": 7,
    "first_response_due_at": "2026-06-30T13:12:00+08:00",
    "resolution_due_at": "2026-07-02T09:12:00+08:00",
    "first_response_at": None,
    "resolved_at": None,
    "closed_at": None,
    "satisfaction": None,
    "problems": [],
    "overdue": False,
    "created_at": "2026-06-30T09:12:01+08:00",
    "updated_at": "2026-06-30T09:12:01+08:00",
}
NEED_INPUT_EXAMPLE = {
    "account": 1024,
    "contact": 2210,
    "subject": "数控机床主轴报警，无法启动",
    "body": "3 号线的加工中心今早开机报警 E-204，请尽快安排技术支持。",
    "priority": "high",
    "external_ref": "CRM-TICKET-88121",
}
ENTRY_EXAMPLE = {
    "id": 90211,
    "kind": "reply",
    "author": 7,
    "body": "已收到，工程师今天下午到现场。",
    "change": {},
    "created_at": "2026-06-30T10:02:44+08:00",
}


def _example(name: str, value: dict, *, request: bool = False, codes: list[str] | None = None) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=request, response_only=not request, status_codes=codes)


need_schema = extend_schema_view(
    list=extend_schema(
        summary="List needs",
        description=(
            "Customer needs (客户需求) from every channel, newest received first. A session member sees the "
            "needs of the accounts they read and those given to them; needs of unknown senders (no account "
            "yet) are for the roles that read every account. `overdue=true`: open and past its next deadline "
            "(the first response while there is none, else the resolution). `status` may repeat."
        ),
        examples=[_example("Need", NEED_EXAMPLE)],
    ),
    retrieve=extend_schema(summary="Get a need", examples=[_example("Need", NEED_EXAMPLE)]),
    create=extend_schema(
        summary="Record a need",
        description=(
            "Classified by the tenant's keyword rules (then its text model) unless `category` is given, routed "
            "to the account team's member of the category's function (else the account owner), and given its "
            "SLA deadlines from the account's tier and the priority. `channel` defaults to `api`. A contact "
            "alone gives the account. Idempotent by `external_ref`: when the tenant already has a need with it, "
            "nothing is created or changed and the answer is 200 with that need; a new need is 201."
        ),
        responses={201: NeedSerializer, 200: NeedSerializer},
        examples=[
            _example("New need", NEED_INPUT_EXAMPLE, request=True),
            _example("Created", NEED_EXAMPLE, codes=["201"]),
            _example("Already recorded", NEED_EXAMPLE, codes=["200"]),
        ],
    ),
    partial_update=extend_schema(
        summary="Work a need",
        description=(
            "Changes the fields sent, in this order: `account` and `contact` (triage of an unknown sender), "
            "`category` (a person's correction), `priority` (moves the deadlines), `assignee`, `status` (with "
            "`satisfaction` 1..5 on resolution). A move the statuses do not allow (closed -> in_progress) is "
            "a 400 and nothing is changed."
        ),
        request=NeedUpdateSerializer,
        responses=NeedSerializer,
        examples=[
            _example("Resolve with a rating", {"status": "resolved", "satisfaction": 5}, request=True),
            _example("Updated", {**NEED_EXAMPLE, "status": "resolved", "satisfaction": 5}),
        ],
    ),
    reply=extend_schema(
        summary="Reply to a need, or add an internal note",
        description=(
            "A reply (`internal` false) is the need's first response when it has none, which stops the "
            "first-response clock and moves a new or triaged need to in_progress. A closed need takes notes "
            "only."
        ),
        request=ReplySerializer,
        responses={201: NeedEntrySerializer},
        examples=[
            _example("Reply", {"body": "已收到，工程师今天下午到现场。", "internal": False}, request=True),
            _example("Recorded", ENTRY_EXAMPLE, codes=["201"]),
        ],
    ),
    entries=extend_schema(
        summary="A need's thread",
        description=(
            "The customer's messages, replies, internal notes and the changes people made (status, assignee, "
            "category), oldest first."
        ),
        responses=NeedEntrySerializer(many=True),
        examples=[_example("Entry", ENTRY_EXAMPLE)],
    ),
)
