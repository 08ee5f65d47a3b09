"""Forms of the team and plan pages. They check the input's shape and offer only this
tenant's people, this team's members and this account's contacts; the services
validate the rest, and their errors are put beside the fields (add_service_errors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db import models
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Account, Contact, Tier
from accounts.selectors import user_list
from kam.forms import DateField, UserChoiceField
from kam.models import Tenant, User
from teams import selectors
from teams.models import (
    AccountPlan,
    AccountTeam,
    ActionStatus,
    CounterpartLink,
    Function,
    Initiative,
    InitiativeKind,
    Level,
    PlanAction,
    RuleKind,
    StaffingRule,
    Strength,
    TeamMember,
)

__all__ = [
    "ActionForm",
    "ActionStatusForm",
    "InitiativeForm",
    "LinkForm",
    "LinkStrengthForm",
    "MemberForm",
    "PlanForm",
    "PlanItemForm",
    "StaffingRuleForm",
    "TeamLeadForm",
]


def _initial_of(instance: models.Model, form_class: type[forms.Form]) -> dict[str, Any]:
    """The form's initial values from the record it changes (a related record by its id)."""
    return model_to_dict(instance, fields=list(form_class.base_fields))


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TeamMember) -> str:
        return f"{obj.user.display_name} · {obj.get_function_display()} · {obj.get_level_display()}"


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Contact) -> str:
        title = f" · {obj.title}" if obj.title else ""
        return f"{obj.name}{title} · {obj.get_level_display()}"


class TeamLeadForm(forms.Form):
    lead = UserChoiceField(label=_("Team lead"), queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, tenant: Tenant, team: AccountTeam | None = None, **kwargs: Any) -> None:
        if team is not None:
            kwargs.setdefault("initial", _initial_of(team, TeamLeadForm))
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = user_list(tenant, include=[team.lead_id if team else None])
        self.fields["lead"].empty_label = _("— nobody yet —")


class MemberForm(forms.Form):
    user = UserChoiceField(label=_("Person"), queryset=User.objects.none())
    function = forms.ChoiceField(label=_("Function"), choices=Function.choices)
    level = forms.ChoiceField(
        label=_("Level"),
        choices=Level.choices,
        help_text=_("The layer of the customer this person faces."),
    )
    allocation = forms.IntegerField(
        label=_("Allocation %"),
        min_value=0,
        max_value=100,
        initial=20,
        help_text=_("Share of their working time given to this account."),
    )
    since = DateField(label=_("Since"))
    until = DateField(label=_("Until"), required=False, help_text=_("The last day on the team; empty: open."))

    def __init__(
        self, *args: Any, tenant: Tenant, member: TeamMember | None = None, today: dt.date, **kwargs: Any
    ) -> None:
        if member is not None:
            kwargs.setdefault("initial", _initial_of(member, MemberForm))
        else:
            kwargs.setdefault("initial", {"since": today, "allocation": 20, "level": Level.MANAGERIAL})
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = user_list(tenant, include=[member.user_id if member else None])
        self.fields["user"].empty_label = _("— choose a person —")
        if member is not None:
            # Who the member is does not change; a new person is a new member.
            self.fields["user"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The last day cannot be before the first."))
        return data


class LinkForm(forms.Form):
    member = MemberChoiceField(label=_("Our person"), queryset=TeamMember.objects.none())
    contact = ContactChoiceField(label=_("Their contact"), queryset=Contact.objects.none())
    strength = forms.ChoiceField(label=_("Relationship now"), choices=Strength.choices, initial=Strength.UNKNOWN)
    target_strength = forms.ChoiceField(
        label=_("Relationship aimed at"), choices=Strength.choices, initial=Strength.TRUSTED_ADVISOR
    )

    def __init__(
        self, *args: Any, tenant: Tenant, team: AccountTeam, account: Account, today: dt.date, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = (
            selectors.team_member_list_active(tenant, as_of=today)
            .filter(team=team)
            .select_related("user")
            .order_by("level")
        )
        self.fields["contact"].queryset = selectors.contact_list_present(tenant, account, as_of=today)
        self.fields["member"].empty_label = _("— choose a person —")
        self.fields["contact"].empty_label = _("— choose a contact —")


class LinkStrengthForm(forms.Form):
    strength = forms.ChoiceField(label=_("Relationship now"), choices=Strength.choices)
    target_strength = forms.ChoiceField(label=_("Relationship aimed at"), choices=Strength.choices)

    def __init__(self, *args: Any, link: CounterpartLink, **kwargs: Any) -> None:
        kwargs.setdefault("initial", _initial_of(link, LinkStrengthForm))
        super().__init__(*args, **kwargs)
        self.fields["strength"].widget.attrs["id"] = f"link-{link.pk}-strength"
        self.fields["target_strength"].widget.attrs["id"] = f"link-{link.pk}-target"


class PlanForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("plan", "Title"), max_length=200, required=False)
    period_start = DateField(label=_("Period start"))
    period_end = DateField(label=_("Period end"))
    objectives = forms.CharField(label=_("Objectives"), widget=forms.Textarea(attrs={"rows": 5}), required=False)

    def __init__(self, *args: Any, plan: AccountPlan | None = None, today: dt.date, **kwargs: Any) -> None:
        if plan is not None:
            initial = _initial_of(plan, PlanForm)
        else:
            initial = {"period_start": today.replace(month=1, day=1), "period_end": today.replace(month=12, day=31)}
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The period cannot end before it starts."))
        return data


class PlanItemForm(forms.Form):
    """What the initiative and the action forms share: the record they change (None: a new
    one) gives the initial values, and ``layout`` the rows of fields
    (templates/teams/plan_item_form.html), each field with whether it takes a wide column."""

    layout: tuple[tuple[tuple[str, bool], ...], ...] = ()

    def __init__(self, *args: Any, instance: Initiative | PlanAction | None = None, **kwargs: Any) -> None:
        if instance is not None and not kwargs.get("initial"):
            kwargs["initial"] = _initial_of(instance, type(self))
        super().__init__(*args, **kwargs)
        self.instance = instance

    @property
    def rows(self) -> list[list[tuple[forms.BoundField, bool]]]:
        return [[(self[name], wide) for name, wide in row] for row in self.layout]


class InitiativeForm(PlanItemForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=InitiativeKind.choices)
    title = forms.CharField(label=pgettext_lazy("plan", "Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    layout = ((("kind", False), ("title", True)), (("description", True),))


class InitiativeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Initiative) -> str:
        return f"{obj.get_kind_display()} · {obj.title}"


class ActionForm(PlanItemForm):
    title = forms.CharField(label=pgettext_lazy("plan action", "Action"), max_length=200)
    initiative = InitiativeChoiceField(label=_("Initiative"), queryset=Initiative.objects.none(), required=False)
    owner = UserChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    due_on = DateField(label=_("Due on"))
    status = forms.ChoiceField(label=_("Status"), choices=ActionStatus.choices, initial=ActionStatus.OPEN)

    layout = ((("title", True), ("initiative", False)), (("owner", False), ("due_on", False), ("status", False)))

    def __init__(
        self, *args: Any, tenant: Tenant, plan: AccountPlan, instance: PlanAction | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, instance=instance, **kwargs)
        self.fields["initiative"].queryset = selectors.initiative_list(tenant, plan)
        self.fields["initiative"].empty_label = _("— none —")
        self.fields["owner"].queryset = user_list(tenant, include=[instance.owner_id if instance else None])
        self.fields["owner"].empty_label = _("— nobody yet —")


class ActionStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ActionStatus.choices)


class StaffingRuleForm(forms.Form):
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices)
    kind = forms.ChoiceField(label=_("Rule"), choices=RuleKind.choices)
    function = forms.ChoiceField(
        label=_("Function"), choices=[("", _("Any function")), *Function.choices], required=False
    )
    level = forms.ChoiceField(label=_("Level"), choices=[("", _("Any level")), *Level.choices], required=False)
    minimum_count = forms.IntegerField(label=_("Minimum"), min_value=1, max_value=20, initial=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == RuleKind.MEMBER and not data.get("function"):
            self.add_error("function", _("A member rule names a function."))
        if data.get("kind") == RuleKind.COUNTERPART and not data.get("level"):
            self.add_error("level", _("A counterpart rule names a level."))
        return data


def rule_initial(rule: StaffingRule) -> dict[str, Any]:
    return _initial_of(rule, StaffingRuleForm)
