"""The date-and-time input (issue #21): a text box that shows and takes 2026-12-07 09:30 on
pages of either language, not the browser's datetime-local picker (mm/dd/yyyy, hh:mm AM)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from kam.forms import DateTimeField

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    "typed",
    [
        "2026-12-07 09:30",
        "2026-12-07T09:30",
        "2026/12/07 09:30",
        "2026.12.7 9:30",
        "2026年12月7日 09:30",
        "２０２６－１２－０７　０９：３０",
    ],
)
def test_every_spelling_of_a_date_and_time_is_taken_in_the_workspace_zone(typed, settings):
    with timezone.override("Asia/Shanghai"):
        value = DateTimeField().clean(typed)
    assert value == dt.datetime(2026, 12, 7, 9, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize("typed", ["12/07/2026 09:30 AM", "2026-12-07 9h30", "tomorrow", "2026-13-07 09:30", "09:30"])
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Enter the date and time as YYYY-MM-DD HH:MM, e.g. 2026-12-07 09:30."),
        ("zh-hans", "请按 年-月-日 时:分 填写日期和时间，例如 2026-12-07 09:30。"),
    ],
)
def test_anything_else_is_told_how_to_write_it(typed, language, message):
    with translation.override(language):
        with pytest.raises(ValidationError) as refused:
            DateTimeField().clean(typed)
        assert refused.value.messages == [message]


def test_it_renders_as_text_with_the_format_and_a_placeholder_in_the_pages_language():
    field = DateTimeField()
    with translation.override("zh-hans"):
        html = field.widget.render("at", dt.datetime(2026, 12, 7, 9, 30, tzinfo=SHANGHAI))
    assert 'type="text"' in html and 'value="2026-12-07 09:30"' in html and 'inputmode="numeric"' in html
    assert 'placeholder="年-月-日 时:分，如 2026-12-07 09:30"' in html
    assert "datetime-local" not in html


@pytest.mark.django_db
def test_the_pages_that_ask_for_a_date_and_time_use_it(tenant, admin):
    from tests.conftest import login
    from tests.factories import AccountFactory

    account = AccountFactory(tenant=tenant, owner=admin)
    client = login(admin)
    for url in (f"/t/{tenant.slug}/accounts/{account.pk}/interactions/new/", f"/t/{tenant.slug}/service/needs/new/"):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "datetime-local" not in html, url
        assert "年-月-日 时:分" in html, url
