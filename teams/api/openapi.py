"""OpenAPI pieces of the teams API: summaries and descriptions. The error responses every
operation can answer are added by kam.api.schema.KamAutoSchema."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from teams.api.serializers import CounterpartEndSerializer, CounterpartSerializer, MatrixRowSerializer, TeamSerializer

team_schema = extend_schema_view(
    list=extend_schema(summary="Account teams", description="Each with its members today and its coverage."),
    create=extend_schema(summary="Create the team of an account"),
    partial_update=extend_schema(summary="Change the team lead"),
    update=extend_schema(summary="Change the team lead"),
    destroy=extend_schema(summary="Delete a team with its members and links"),
    matrix=extend_schema(
        summary="The layered docking matrix (分层对接) of the team",
        description="Per level, top down (executive, managerial, operational): the ids of our members and "
        "of their contacts on that level, the active links, and the gap of the level.",
        responses=MatrixRowSerializer(many=True),
    ),
    build=extend_schema(
        summary="Fill the team's gaps from the staffing rules",
        description="Adds, for each member rule the team misses, the first people suggested (who serves "
        "that function elsewhere first, the least allocated first). Answers the team.",
        request=None,
        responses=TeamSerializer,
    ),
)

team_member_schema = extend_schema_view(
    list=extend_schema(summary="Team members", description="Past, present and future; filter with ?active=true."),
    create=extend_schema(
        summary="Add a person to a team", description="A total allocation over 100 % is flagged, not refused."
    ),
    destroy=extend_schema(
        summary="Take a person off the team",
        description="Who served a day or more keeps their history: their last day becomes yesterday and "
        "their links end. Someone added today or for a future start is deleted.",
    ),
)

counterpart_schema = extend_schema_view(
    list=extend_schema(
        summary="Counterpart links", description="Our people facing the customer's contacts, with history."
    ),
    create=extend_schema(summary="Link a team member with a contact of the team's account"),
    partial_update=extend_schema(summary="Change the relationship now and the one aimed at"),
    update=extend_schema(summary="Change the relationship now and the one aimed at"),
    end=extend_schema(
        summary="End a link",
        description="Sets ended_on to today (or the given day); the link stays in the history. Idempotent.",
        request=CounterpartEndSerializer,
        responses=CounterpartSerializer,
    ),
)

plan_schema = extend_schema_view(
    list=extend_schema(summary="Account plans (客户计划)", description="Each with its initiatives and actions nested."),
    create=extend_schema(
        summary="Create an account plan",
        description="Add initiatives and actions with plan-initiatives/ and plan-actions/.",
    ),
)

initiative_schema = extend_schema_view(
    list=extend_schema(
        summary="Initiatives of account plans",
        description="Joint lab, shared data platform, co-development, training, other.",
    ),
    destroy=extend_schema(
        summary="Delete an initiative", description="Its actions stay in the plan, without an initiative."
    ),
)

plan_action_schema = extend_schema_view(
    list=extend_schema(
        summary="Actions of account plans",
        description="Filter ?owner=<user id>&overdue=true for someone's late actions.",
    ),
    create=extend_schema(summary="Add an action to a plan"),
    partial_update=extend_schema(
        summary="Change an action",
        description="Who writes the account changes anything; the action's owner may change its status only.",
    ),
)

staffing_rule_schema = extend_schema_view(
    list=extend_schema(
        summary="Staffing rules per tier",
        description="member: at least minimum_count active members of the function (and level when given); "
        "counterpart: at least minimum_count active links to contacts on the level. Admins and directors edit.",
    )
)
