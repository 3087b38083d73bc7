"""Page templates: values are escaped unless marked as markup; missing values fail."""

from __future__ import annotations

import pytest

from peek_platform.web.templates import Markup, renderTemplate


def test_values_are_escaped_and_markup_is_not(tmp_path):
    """Plain strings are HTML-escaped (quotes too); Markup goes in as is."""
    template = tmp_path / "page.html"
    template.write_text('<p title="$title">$body</p>', encoding="utf-8")
    page = renderTemplate(template, title='"><script>', body=Markup("<b>ok</b>"))
    assert page == b'<p title="&quot;&gt;&lt;script&gt;"><b>ok</b></p>'


def test_missing_value_is_an_error(tmp_path):
    """A placeholder without a value raises KeyError naming it."""
    template = tmp_path / "page.html"
    template.write_text("$missing", encoding="utf-8")
    with pytest.raises(KeyError, match="missing"):
        renderTemplate(template)
