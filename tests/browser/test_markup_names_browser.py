"""A file name that reads as markup (``<b>``, ``*``) shown as it is, in a real Chromium.

"Open similar" said "NAME and 1 near-duplicates" in the status line with the name as markdown:
``copy <b>x.jpg`` lost its tag and turned the rest of the line bold, and the details' list of
the copies folded under a result turned ``*a*`` into an italic a.
"""

from __future__ import annotations

import re
import shutil

import pytest

from testsupport.browser import served_library
from testsupport.imagefactory import photo

from .test_browser import BROWSER_MARKS, TIMEOUT, search_every_result

pytestmark = BROWSER_MARKS
TAGGED = "rex <b>in snow.jpg"  # no closing tag: a file name holds no "/"
STARRED = "rex *in* snow.jpg"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-markup-names")
    library = root / "photos"
    library.mkdir()
    photo(320, 240, seed=5).save(library / TAGGED, quality=90)
    shutil.copyfile(library / TAGGED, library / STARRED)  # the same shot: one folds under the other
    photo(320, 240, seed=6).save(library / "plain.jpg", quality=90)
    with served_library(root) as app:
        yield app


def test_open_similar_says_a_markup_name_as_it_is(page):
    from playwright.sync_api import expect

    search_every_result(page, "a picture")
    folded = page.locator("#results .thumbnail-item").filter(has_text="+1 similar")
    expect(folded).to_have_count(1, timeout=TIMEOUT)
    shown = next(name for name in (TAGGED, STARRED) if name in folded.inner_text())
    other = STARRED if shown == TAGGED else TAGGED
    folded.click()
    details = page.locator("#details")
    expect(details).to_contain_text(f"(the same shot): {other}.", timeout=TIMEOUT)
    page.locator("#open-similar").click()
    status = page.locator("#status")
    expect(status).to_have_text(re.compile(re.escape(f"{shown} and 1 near-duplicate") + r"\s*$"), timeout=TIMEOUT)
    assert status.locator("b, strong, em, i").count() == 0, status.inner_html()
