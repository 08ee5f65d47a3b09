"""OpenAPI pieces of the accounts API: summaries, descriptions and the examples
integrators read in the docs. The error responses every operation can answer are added by
kam.api.schema.KamAutoSchema, so the viewsets need not repeat them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)

from accounts.api.serializers import (
    ContractDocumentSerializer,
    ContractSerializer,
    OrderBatchResultSerializer,
    OrderBatchSerializer,
    OrderRowSerializer,
    OrderSerializer,
)
from kam.api.schema import error_response

# --- operations: summaries, descriptions and examples ---------------------------------------------

ACCOUNT_EXAMPLE = {
    "id": 1024,
    "name": "中车华北集团",
    "legal_name": "中车华北集团有限公司",
    "credit_code": "91110000100012345L",
    "industry": "轨道交通",
    "region": "华北",
    "parent": None,
    "owner": 7,
    "status": "active",
    "cooperation_since": "2019-04-01",
    "tier": "A",
    "score": 72.5,
    "health_score": 64.0,
    "health_band": "yellow",
    "created_at": "2026-01-05T09:12:00+08:00",
    "updated_at": "2026-03-02T17:40:11+08:00",
}
ACCOUNT_INPUT_EXAMPLE = {
    "name": "中车华北集团",
    "legal_name": "中车华北集团有限公司",
    "credit_code": "91110000100012345L",
    "industry": "轨道交通",
    "region": "华北",
    "owner": 7,
    "status": "active",
    "cooperation_since": "2019-04-01",
}
ORDER_EXAMPLE = {
    "id": 50211,
    "account": 1024,
    "order_date": "2026-02-01",
    "amount": "128000.00",
    "cost": "91500.00",
    "product_line": "精密轴承",
    "offering": "BRG-HP",
    "buying_centre": "PLANT-TJ",
    "external_ref": "ERP-SO-2026-00417",
}
ORDER_INPUT_EXAMPLE = {key: value for key, value in ORDER_EXAMPLE.items() if key != "id"}
EVENT_EXAMPLE = {
    "id": 88,
    "account": 1024,
    "kind": "major_investment",
    "occurred_on": "2026-03-01",
    "impact_points": 10.0,
    "expires_on": "2026-08-28",
    "note": "新建智能工厂项目获批",
}

PAYMENT_EXAMPLE = {
    "id": 3107,
    "invoice": 8812,
    "account": 1024,
    "paid_on": "2026-03-20",
    "amount": "40000.00",
    "reference": "CMB-20260320-0042",
    "created_at": "2026-03-20T10:05:31+08:00",
}
PAYMENT_INPUT_EXAMPLE = {
    "invoice": 8812,
    "paid_on": "2026-03-20",
    "amount": "40000.00",
    "reference": "CMB-20260320-0042",
}

ACCOUNT_PATH = OpenApiParameter("account_id", int, OpenApiParameter.PATH, description="The account's id.")


def _example(name: str, value: Any, *, request: bool = False, codes: list[str] | None = None, **kwargs: Any) -> Any:
    return OpenApiExample(
        name, value=value, request_only=request, response_only=not request, status_codes=codes, **kwargs
    )


account_schema = extend_schema_view(
    list=extend_schema(
        summary="List accounts",
        description=(
            "The tenant's customer accounts (客户企业), by name. A session member sees only the accounts "
            "they own or serve on. `tier`, `score`, `health_score` and `health_band` are the current values "
            "kept by scoring and risk. Use `updated_after` for incremental sync."
        ),
        examples=[_example("Account", ACCOUNT_EXAMPLE)],
    ),
    retrieve=extend_schema(summary="Get an account", examples=[_example("Account", ACCOUNT_EXAMPLE)]),
    create=extend_schema(
        summary="Create an account",
        description=(
            "`credit_code` (统一社会信用代码) is checked (18 characters, check character) and unique in the "
            "tenant. `parent` and `owner` must be the tenant's own account and an active member. Read-only "
            "fields sent are ignored."
        ),
        examples=[
            _example("New account", ACCOUNT_INPUT_EXAMPLE, request=True),
            _example("Created", {**ACCOUNT_EXAMPLE, "tier": "", "score": None}, codes=["201"]),
        ],
    ),
    update=extend_schema(
        summary="Replace an account",
        description="A `parent` that would make a cycle in the group hierarchy is refused.",
        examples=[_example("Account", ACCOUNT_INPUT_EXAMPLE, request=True), _example("Updated", ACCOUNT_EXAMPLE)],
    ),
    partial_update=extend_schema(
        summary="Change an account",
        description="Only the fields sent change. A `parent` that would make a cycle is refused.",
        examples=[_example("Move to a group", {"parent": 1000}, request=True), _example("Updated", ACCOUNT_EXAMPLE)],
    ),
    destroy=extend_schema(
        summary="Delete an account",
        description=(
            "Only an account without orders, invoices or subsidiaries can be deleted; otherwise the answer is "
            "400 and the account should be archived."
        ),
    ),
    archive=extend_schema(
        summary="Archive an account",
        description="Marks the account `lost`; it keeps its history. Answers the archived account.",
        request=None,
        examples=[_example("Archived", {**ACCOUNT_EXAMPLE, "status": "lost"})],
    ),
)

order_schema = extend_schema_view(
    list=extend_schema(
        summary="List orders",
        description="Purchase records, newest order date first. Money is a string with two decimals.",
        examples=[_example("Order", ORDER_EXAMPLE)],
    ),
    retrieve=extend_schema(summary="Get an order", examples=[_example("Order", ORDER_EXAMPLE)]),
    create=extend_schema(
        summary="Record an order",
        description=(
            "Idempotent by `external_ref`: when the tenant already has an order with it, nothing is created and "
            "the answer is 200 with the recorded order (unchanged). A new order is 201. `amount` must be "
            "greater than zero."
        ),
        responses={201: OrderSerializer, 200: OrderSerializer},
        examples=[
            _example("New order", ORDER_INPUT_EXAMPLE, request=True),
            _example("Created", ORDER_EXAMPLE, codes=["201"]),
            _example("Already recorded", ORDER_EXAMPLE, codes=["200"]),
        ],
    ),
    update=extend_schema(summary="Replace an order", examples=[_example("Updated", ORDER_EXAMPLE)]),
    partial_update=extend_schema(summary="Change an order", examples=[_example("Updated", ORDER_EXAMPLE)]),
    destroy=extend_schema(summary="Delete an order"),
    bulk=extend_schema(
        summary="Record many orders at once",
        description=(
            'A JSON list of orders, or `{"orders": [...]}`, at most 10,000 per call. Atomic: every row is '
            "checked first, and one bad row writes nothing (400 with the errors by row index under "
            "`error.fields.rows`). Idempotent by `external_ref`: orders whose reference the tenant has "
            "already are skipped and counted in `already_existed`. 201 when something was created, 200 when "
            "everything already existed."
        ),
        request=PolymorphicProxySerializer(
            component_name="OrderBulk",
            serializers=[OrderRowSerializer(many=True), OrderBatchSerializer],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: OrderBatchResultSerializer,
            200: OrderBatchResultSerializer,
            400: error_response(
                "Invalid rows (nothing was written), or a batch that is not a list or is too large.",
                _example(
                    "Invalid rows",
                    {
                        "error": {
                            "code": "invalid",
                            "message": "The request has invalid fields.",
                            "fields": {
                                "rows": {
                                    "3": {"amount": ["Ensure this value is greater than or equal to 0.01."]},
                                    "7": {"account": ['Invalid pk "99" - object does not exist.']},
                                }
                            },
                        }
                    },
                    codes=["400"],
                ),
            ),
        },
        examples=[
            _example(
                "Two orders",
                [
                    ORDER_INPUT_EXAMPLE,
                    {**ORDER_INPUT_EXAMPLE, "amount": "56000.00", "external_ref": "ERP-SO-2026-00418"},
                ],
                request=True,
            ),
            _example("Created", {"created": 2, "already_existed": 0}, codes=["201"]),
            _example("Sent again", {"created": 0, "already_existed": 2}, codes=["200"]),
        ],
    ),
)

event_schema = extend_schema_view(
    list=extend_schema(
        summary="List an account's events",
        description="Signals that move the tier now (动态调整), latest first.",
        parameters=[ACCOUNT_PATH],
        examples=[_example("Event", EVENT_EXAMPLE)],
    ),
    create=extend_schema(
        summary="Record an event",
        description=(
            "When `impact_points` or `expires_on` is omitted, the kind's default fills it: "
            "`major_investment` +10 for 180 days, `expansion` +5, `budget_cut` -5, `competitor_win` -10 "
            "(180 days each), `leadership_change` and `merger` 0 (they open a review). Recording an event "
            "rescores the account."
        ),
        parameters=[ACCOUNT_PATH],
        examples=[
            _example(
                "Kind's defaults",
                {"kind": "major_investment", "occurred_on": "2026-03-01", "note": "新建智能工厂项目获批"},
                request=True,
            ),
            _example("Recorded", EVENT_EXAMPLE, codes=["201"]),
        ],
    ),
)


def record_schema(noun: str, plural: str, description: str) -> Any:
    """Summaries for the plain account-record resources (contacts, invoices, …)."""
    return extend_schema_view(
        list=extend_schema(summary=f"List {plural}", description=description),
        retrieve=extend_schema(summary=f"Get {noun}"),
        create=extend_schema(summary=f"Create {noun}", description=description),
        update=extend_schema(summary=f"Replace {noun}"),
        partial_update=extend_schema(summary=f"Change {noun}"),
        destroy=extend_schema(summary=f"Delete {noun}"),
    )


contact_schema = record_schema(
    "a contact",
    "contacts",
    "People at the customer: level, buying role, attitude; `reports_to` draws the org chart (same account).",
)
invoice_schema = record_schema(
    "an invoice",
    "invoices",
    "Invoices and their payment. `due_on` cannot be before `issued_on`; `overdue=true` lists unpaid invoices "
    "past due. Money is a string with two decimals.",
)
interaction_schema = record_schema(
    "an interaction",
    "interactions",
    "Meetings, calls, visits, e-mails, service tickets and complaints. A session member logs them on the "
    "accounts they serve; the user is the session's.",
)
contract_schema = record_schema(
    "a contract",
    "contracts",
    "Contracts with their term, value, auto-renewal and clause register: `ip_ownership`, `confidentiality_until`, "
    "`exclusivity`, `non_solicit`, `liability_cap`, `notice_days`. `end_on` cannot be before `start_on`, nor "
    "`confidentiality_until`; money is not negative. `ip_protected` is computed for today; `ip_clause` is "
    "deprecated (read `ip_ownership`). The document is uploaded on the account's contracts tab; `document_url` "
    "downloads it.",
)

payment_schema = extend_schema_view(
    list=extend_schema(
        summary="List payments",
        description=(
            "Payments received against invoices (回款), latest first; `?invoice=` or `?account=` narrows them. "
            "Money is a string with two decimals."
        ),
        examples=[_example("Payment", PAYMENT_EXAMPLE)],
    ),
    retrieve=extend_schema(summary="Get a payment", examples=[_example("Payment", PAYMENT_EXAMPLE)]),
    create=extend_schema(
        summary="Record a payment",
        description=(
            "Adds `amount` to the invoice's `paid_amount`. The payment that leaves nothing to pay sets the "
            "invoice's `paid_on`; until then `paid_on` stays null (paid in part). Refused with a field error: "
            "an amount above the invoice's balance (`amount` less `paid_amount`), a `paid_on` before the "
            "invoice's `issued_on` or in the future, an invoice already paid (`paid_on` set)."
        ),
        examples=[
            _example("New payment", PAYMENT_INPUT_EXAMPLE, request=True),
            _example("Recorded", PAYMENT_EXAMPLE, codes=["201"]),
        ],
    ),
    destroy=extend_schema(
        summary="Undo a payment",
        description=(
            "Deletes the payment: its amount comes off the invoice's `paid_amount`, and an invoice it had "
            "settled is unpaid again (`paid_on` null)."
        ),
    ),
)

contract_document_upload = extend_schema(
    methods=["PUT"],
    summary="Upload a contract's document",
    description=(
        "Multipart, the field `document`: a PDF, Word (DOCX), Excel (XLSX), PNG or JPEG file of at most 20 MB. "
        "The type is judged by the content (an executable renamed .pdf is refused), and the file name's "
        "extension must agree with it. A new document replaces the stored one, whose file is deleted. "
        "A refused file changes nothing (400 with `error.fields.document`; 413 beyond 20 MB)."
    ),
    request={"multipart/form-data": ContractDocumentSerializer},
    responses={200: ContractSerializer},
)
contract_document_remove = extend_schema(
    methods=["DELETE"],
    summary="Remove a contract's document",
    description="The stored file is deleted; the contract stays. Answers the contract.",
    request=None,
    responses={200: ContractSerializer},
)
