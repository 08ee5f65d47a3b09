"""The layered docking matrix (分层对接), and links ending when a contact leaves or a
member's last day passes: at once on read, written by the nightly task, history kept."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts import services as account_services
from accounts.models import ContactLevel, Tier
from kam.models import AuditLog
from kam.tenancy import tenant_context
from teams import selectors, services
from teams.models import CounterpartLink, Function, Level, Strength
from teams.tasks import end_stale_links
from tests.factories import AccountFactory, ContactFactory
from tests.teams.factories import AccountTeamFactory, CounterpartLinkFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def docked(tenant, s_account):
    """An S team: a sponsor facing the general manager, sales facing the purchasing director,
    delivery on the operational level facing nobody yet."""
    team = AccountTeamFactory(tenant=tenant, account=s_account)
    sponsor = TeamMemberFactory(tenant=tenant, team=team, function=Function.EXECUTIVE_SPONSOR, level=Level.EXECUTIVE)
    sales = TeamMemberFactory(tenant=tenant, team=team, function=Function.SALES, level=Level.MANAGERIAL)
    delivery = TeamMemberFactory(tenant=tenant, team=team, function=Function.DELIVERY, level=Level.OPERATIONAL)
    with tenant_context(tenant):
        contacts = {contact.level: contact for contact in s_account.contacts.all()}
    top = CounterpartLinkFactory(
        tenant=tenant, member=sponsor, contact=contacts[ContactLevel.EXECUTIVE], strength=Strength.PROBLEM_SOLVER
    )
    middle = CounterpartLinkFactory(
        tenant=tenant, member=sales, contact=contacts[ContactLevel.MANAGERIAL], strength=Strength.VENDOR
    )
    return {
        "team": team,
        "sponsor": sponsor,
        "sales": sales,
        "delivery": delivery,
        "contacts": contacts,
        "links": {"top": top, "middle": middle},
    }


def matrix_of(tenant, account, team, as_of=None):
    with tenant_context(tenant):
        rows = selectors.counterpart_matrix_get(tenant, account, team=team, as_of=as_of)
    return {
        row.level: (
            [member.user.pk for member in row.members],
            [contact.name for contact in row.contacts],
            [(link.member_id, link.contact.name, link.strength, link.target_strength) for link in row.links],
            row.gap,
        )
        for row in rows
    }


def test_the_matrix_per_level(tenant, s_account, docked):
    # when
    with tenant_context(tenant):
        rows = selectors.counterpart_matrix_get(tenant, s_account, team=docked["team"])
    # then the levels top down, each with our people, their contacts and the links on it
    assert [row.level for row in rows] == ["executive", "managerial", "operational"]
    matrix = matrix_of(tenant, s_account, docked["team"])
    assert matrix["executive"] == (
        [docked["sponsor"].user.pk],
        ["赵总"],
        [(docked["sponsor"].pk, "赵总", "problem_solver", "trusted_advisor")],
        None,
    )
    assert matrix["managerial"] == (
        [docked["sales"].user.pk],
        ["钱经理"],
        [(docked["sales"].pk, "钱经理", "vendor", "trusted_advisor")],
        None,
    )
    # people on both sides of the operational level, not linked yet: no gap, the contact shows unlinked
    assert matrix["operational"] == ([docked["delivery"].user.pk], ["孙专员"], [], None)
    assert [contact.name for contact in rows[2].unlinked_contacts] == ["孙专员"]


def test_a_level_with_nobody_on_a_side_is_a_gap(tenant, manager, rules):
    # given an A account with a managerial contact only, and a team with an operational person only
    account = AccountFactory(tenant=tenant, tier=Tier.A, owner=manager)
    ContactFactory(tenant=tenant, account=account, name="钱经理", level=ContactLevel.MANAGERIAL)
    team = AccountTeamFactory(tenant=tenant, account=account)
    TeamMemberFactory(tenant=tenant, team=team, function=Function.DELIVERY, level=Level.OPERATIONAL)
    # when
    gaps = {level: row[3] for level, row in matrix_of(tenant, account, team).items()}
    # then
    assert gaps == {"executive": "nobody", "managerial": "nobody_ours", "operational": "nobody_theirs"}


def test_an_s_account_needs_an_executive_link(tenant, s_account, docked):
    # given the sponsor's link ended
    services.counterpart_link_end(tenant, link=docked["links"]["top"])
    # then the executive level has people on both sides, and still is a gap for an S account
    assert matrix_of(tenant, s_account, docked["team"])["executive"][3] == "no_executive_link"
    # and for an A account it would not be
    with tenant_context(tenant):
        s_account.tier = Tier.A
        assert selectors.counterpart_matrix_get(tenant, s_account, team=docked["team"])[0].gap is None


def test_a_contact_who_leaves_drops_out_at_once_and_the_link_ends_at_night(tenant, s_account, docked, today):
    # given the general manager leaves yesterday
    general_manager = docked["contacts"][ContactLevel.EXECUTIVE]
    account_services.contact_update(tenant, contact=general_manager, left_on=today - dt.timedelta(days=1))
    # then on read the executive level has nobody of theirs: a gap, and coverage misses the executive link
    assert matrix_of(tenant, s_account, docked["team"])["executive"][1:] == ([], [], "nobody_theirs")
    with tenant_context(tenant):
        assert [gap.label() for gap in selectors.coverage_get(tenant, s_account).gaps] == [
            "Counterpart link on the Executive level",
            "Finance",
            "Technical",
        ]
        assert CounterpartLink.objects.get(pk=docked["links"]["top"].pk).ended_on is None
    # when the nightly task runs
    ended = end_stale_links.apply(args=[tenant.pk]).get()
    # then that one link ended on the day she left; the other is untouched, the history kept
    assert ended == 1
    with tenant_context(tenant):
        top = CounterpartLink.objects.get(pk=docked["links"]["top"].pk)
        middle = CounterpartLink.objects.get(pk=docked["links"]["middle"].pk)
        history = [link.pk for link in selectors.counterpart_link_list_ended(tenant, docked["team"], as_of=today)]
        entry = AuditLog.objects.filter(object_type="teams.counterpartlink").latest("id")
    assert (top.ended_on, middle.ended_on) == (today - dt.timedelta(days=1), None)
    assert history == [top.pk]
    assert entry.object_repr == "1 counterpart links ended: contact left or member's last day passed"
    # and running it again changes nothing
    assert end_stale_links.apply(args=[tenant.pk]).get() == 0


def test_a_member_whose_last_day_passed_drops_out_and_the_link_ends_the_day_after(tenant, s_account, docked, today):
    # given the sales member's last day was three days ago
    last_day = today - dt.timedelta(days=3)
    with tenant_context(tenant):
        services.team_member_update(tenant, member=docked["sales"], until=last_day)
        # then the update itself ended the link, on the day after the last day
        middle = CounterpartLink.objects.get(pk=docked["links"]["middle"].pk)
    assert middle.ended_on == last_day + dt.timedelta(days=1)
    # and the managerial level has none of our people: a gap
    assert matrix_of(tenant, s_account, docked["team"])["managerial"][0] == []
    assert matrix_of(tenant, s_account, docked["team"])["managerial"][3] == "nobody_ours"


def test_an_expiry_written_behind_the_services_back_is_ignored_on_read(tenant, s_account, docked, today):
    # given the member's last day set directly (e.g. an import), without ending the link
    with tenant_context(tenant):
        type(docked["sales"]).objects.filter(pk=docked["sales"].pk).update(until=today - dt.timedelta(days=1))
    # then the matrix already ignores the link, though its ended_on is still empty
    assert matrix_of(tenant, s_account, docked["team"])["managerial"][2] == []
    with tenant_context(tenant):
        assert CounterpartLink.objects.get(pk=docked["links"]["middle"].pk).ended_on is None
    # and the nightly run writes it: the day after the last day, that is today
    assert services.counterpart_links_end_stale(tenant) == 1
    with tenant_context(tenant):
        assert CounterpartLink.objects.get(pk=docked["links"]["middle"].pk).ended_on == today


def test_removing_a_member_keeps_their_history(tenant, s_account, docked, today):
    # when the sales member is taken off the team
    kept = services.team_member_remove(tenant, member=docked["sales"])
    # then their last day is yesterday and their link ended today
    assert kept.until == today - dt.timedelta(days=1)
    with tenant_context(tenant):
        assert CounterpartLink.objects.get(pk=docked["links"]["middle"].pk).ended_on == today
        assert [m.pk for m in selectors.team_member_list_former(tenant, docked["team"], as_of=today)] == [
            docked["sales"].pk
        ]


def test_removing_a_member_added_today_deletes_them(tenant, s_account, docked, today, member):
    # given someone added today by mistake
    added = services.team_member_add(tenant, team=docked["team"], user=member, function=Function.FINANCE)
    # when removed
    assert services.team_member_remove(tenant, member=added) is None
    # then no trace on the team
    with tenant_context(tenant):
        assert not docked["team"].members.filter(user=member).exists()


def test_a_link_needs_a_contact_of_the_same_account_still_there(tenant, s_account, docked, today):
    from django.core.exceptions import ValidationError

    other = ContactFactory(tenant=tenant, name="外部联系人")
    with pytest.raises(ValidationError) as wrong_account:
        services.counterpart_link_create(tenant, member=docked["delivery"], contact=other)
    assert wrong_account.value.message_dict == {"contact": ["Choose a contact of this team's account."]}
    gone = ContactFactory(tenant=tenant, account=s_account, name="离职者", left_on=today - dt.timedelta(days=5))
    with pytest.raises(ValidationError) as left:
        services.counterpart_link_create(tenant, member=docked["delivery"], contact=gone)
    assert left.value.message_dict == {"contact": ["离职者 has left the company."]}
    with pytest.raises(ValidationError) as twice:
        services.counterpart_link_create(
            tenant, member=docked["sales"], contact=docked["contacts"][ContactLevel.MANAGERIAL]
        )
    assert twice.value.message_dict == {"contact": ["These two are linked already."]}
