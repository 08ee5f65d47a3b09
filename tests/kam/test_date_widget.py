"""The shared date input (kam.forms.DateField and DateInput, issue #21 part 4): a text input
that shows YYYY-MM-DD on every page, whatever the browser's locale, and takes the spellings
a Chinese user types; anything else is told how to write the date, in the page's language."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.utils import translation

from kam.forms import DateField
from tests.conftest import login

DAY = dt.date(2026, 12, 7)


class DayForm(forms.Form):
    day = DateField(required=False)


@pytest.mark.parametrize(
    "typed",
    [
        "2026-12-07",
        "2026/12/07",
        "2026.12.07",
        "2026年12月7日",
        "2026年12月07日",
        " 2026-12-7 ",
        "２０２６－１２－０７",
    ],
)
def test_the_spellings_people_type_are_taken(typed):
    form = DayForm({"day": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["day"] == DAY


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Enter the date as YYYY-MM-DD, e.g. 2026-12-07 (2026/12/07 and 2026年12月7日 are taken too)."),
        ("zh-hans", "请按“年-月-日”填写日期，如 2026-12-07（也可写作 2026/12/07 或 2026年12月7日）。"),
    ],
)
@pytest.mark.parametrize("typed", ["12/07/2026", "07.12.2026", "2026-02-30", "next spring", "2026-12"])
def test_anything_else_is_told_how_to_write_the_date(typed, language, message):
    with translation.override(language):
        form = DayForm({"day": typed})
        assert not form.is_valid()
        assert form.errors["day"] == [message]


@pytest.mark.parametrize(
    ("language", "placeholder"), [("zh-hans", "年-月-日 如 2026-12-07"), ("en", "YYYY-MM-DD, e.g. 2026-12-07")]
)
def test_the_input_is_text_shown_as_yyyy_mm_dd_with_the_pages_placeholder(language, placeholder):
    with translation.override(language):
        html = str(DayForm(initial={"day": DAY})["day"])
    assert 'type="text"' in html and 'type="date"' not in html
    assert 'value="2026-12-07"' in html
    assert f'placeholder="{placeholder}"' in html
    assert 'inputmode="numeric"' in html and "pattern=" in html


def test_the_browser_pattern_takes_what_the_server_takes():
    """The pattern as a browser applies it (the whole value); written without character classes,
    which the "v" flag browsers compile it with would refuse."""
    import re

    from kam.forms import DATE_PATTERN

    assert "[" not in DATE_PATTERN
    for typed in ["2026-12-07", "2026/12/07", "2026.12.07", "2026年12月7日"]:
        assert re.fullmatch(DATE_PATTERN, typed)
    for typed in ["12/07/2026", "next spring", "2026-12"]:
        assert not re.fullmatch(DATE_PATTERN, typed)


def test_no_form_of_the_apps_keeps_the_browsers_date_input(tenant, admin):
    """Every page's date inputs: a page with one renders the text input, never type="date"."""
    client = login(admin)
    for url in [f"/t/{tenant.slug}/portfolio/", f"/t/{tenant.slug}/risk/runs/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'type="date"' not in html
        assert 'class="date-input"' in html


def test_a_filter_read_from_the_query_takes_the_same_spellings(tenant, admin):
    client = login(admin)
    for typed in ["2026-06-30", "2026/06/30", "2026年6月30日"]:
        response = client.get(f"/t/{tenant.slug}/portfolio/export/", {"as_of": typed, "format": "csv"})
        assert response.status_code == 200
        assert 'filename="portfolio-2026-06-30.csv"' in response["Content-Disposition"], typed
