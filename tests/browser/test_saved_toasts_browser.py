"""The saved searches' toasts (and what the page says of a saved search it cannot open), in a real Chromium.

A search saved as ``<i>it</i> *x*`` was said "Saved “it *x*”" with an italic "it": Gradio's toasts
render their message as HTML, and the name went in as it was typed. It now shows as typed, in the
toast of Save and of Forget. And saving under a name already kept replaced that search saying
only "Saved “NAME”": it now says it replaced it (as ``clipsearch saved add`` and REST now do).
"""

from __future__ import annotations

from testsupport.browser import shots_app

from .test_browser import BROWSER_MARKS, TIMEOUT

pytestmark = BROWSER_MARKS
MARKUP = "<i>it</i> *x* <b>bold"


app = shots_app("browser-saved-toasts", 3)


def toast_of(page, text: str):
    """The toast that says ``text``, once shown, closed after (one toast at a time on the page)."""
    from playwright.sync_api import expect

    toast = page.get_by_test_id("toast-body").filter(has_text=text)
    expect(toast).to_be_visible(timeout=TIMEOUT)
    said = toast.get_by_test_id("toast-text")
    shown, markup = said.inner_text(), said.locator("i, em, b, strong").count()
    toast.get_by_test_id("toast-close").click()
    expect(toast).to_be_hidden(timeout=TIMEOUT)
    return shown, markup


def save(page, name: str, words: str) -> None:
    box = page.locator("#query textarea, #query input").first
    box.fill(words)
    page.locator("#saved-name input, #saved-name textarea").first.fill(name)
    page.locator("#save-search").click()


def open_panel(page) -> None:
    page.locator("#saved-panel").get_by_text("Saved searches", exact=True).click()


def test_a_name_that_reads_as_markup_is_said_as_typed(page):
    open_panel(page)
    save(page, MARKUP, "a picture")
    shown, markup = toast_of(page, "Saved")
    assert f"Saved “{MARKUP}”" in shown and markup == 0, shown
    page.locator("#saved-choice input").click()
    page.locator("ul[role=listbox] li").filter(has_text=MARKUP).click()
    page.get_by_role("button", name="Forget it").click()
    shown, markup = toast_of(page, "Forgot")
    assert f"Forgot “{MARKUP}”" in shown and markup == 0, shown



def test_saving_under_a_name_kept_says_it_replaced_that_search(page):
    open_panel(page)
    save(page, "Crosses", "a cross")
    shown, _ = toast_of(page, "Crosses")
    assert shown.startswith("Saved “Crosses”"), shown
    save(page, "Crosses", "a purple cross")
    shown, _ = toast_of(page, "Crosses")
    assert shown.startswith("Replaced the saved search “Crosses”"), shown


def test_a_saved_search_chosen_in_the_list_is_opened_once(page):
    """Gradio 6's drop-down list says "input" twice for one choice: the saved search was opened
    twice, in two turns, and the second answer, late on a busy machine, wrote its words over what
    was typed meanwhile (and the search typed then waited behind it). One choice, one open."""
    from playwright.sync_api import expect

    opens: list[int] = []
    opening = page.evaluate("""() => {
      const list = window.gradio_config.components.find((c) => c.props?.elem_id === "saved-choice").id;
      return window.gradio_config.dependencies.findIndex((d) => d.backend_fn && d.targets.some(([id]) => id === list));
    }""")
    assert opening >= 0

    def asked(request) -> None:
        if "queue/join" in request.url and request.post_data_json.get("fn_index") == opening:
            opens.append(opening)

    page.on("request", asked)
    open_panel(page)
    save(page, "Once", "a picture")
    toast_of(page, "Saved")
    page.locator("#query textarea, #query input").first.fill("")
    page.locator("#saved-choice input").click()
    page.locator("ul[role=listbox] li").filter(has_text="Once").click()
    expect(page.locator("#status")).to_contain_text("“a picture”", timeout=TIMEOUT)
    box = page.locator("#query textarea, #query input").first
    box.fill("a photo")  # searched in its turn: after a second open, were there one
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("“a photo”", timeout=TIMEOUT)
    assert box.input_value() == "a photo"
    assert opens == [opening], opens


def test_an_address_naming_a_saved_search_not_kept_says_so_and_drops_it(app, unopened_page):
    """The page opened at ``?saved=NAME`` where no search of that name is kept (forgotten since, or
    never saved): a toast said so, the status line stayed empty, and the address kept ``saved=NAME``,
    which a reload asked for again. The status line says it now, and where the saved ones are; the
    address drops ``saved=`` (and the ``open=`` beside it), keeping Gradio's own (``__theme``)."""
    from playwright.sync_api import expect

    page = unopened_page  # opened at that address, once
    page.goto(app["url"] + "?__theme=light&saved=Never+saved&open=%2Fa.jpg")
    expect(page.locator("#status")).to_contain_text("No saved search called “Never saved” is kept", timeout=TIMEOUT)
    expect(page.locator("#status")).to_contain_text("Saved searches")
    expect(page).to_have_url(app["url"] + "?__theme=light", timeout=TIMEOUT)
    assert page.get_by_test_id("toast-body").count() == 0  # said once, in the status line


def test_a_search_chosen_in_the_list_and_forgotten_meanwhile_says_so_and_stays_out_of_the_address(app, page):
    """A saved search listed on the page, then forgotten elsewhere (another tab, ``clipsearch saved
    forget``), and chosen in the list: a toast said it was gone, and the address still got
    ``saved=NAME``, which a reload asked for again. The status line says it now, as for an address
    naming it; the list shows the searches kept; the address still holds the search on the page."""
    from playwright.sync_api import expect

    from clipsearch.saved import SavedSearches

    box = page.locator("#query textarea, #query input").first
    box.fill("a cross")
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("“a cross”", timeout=TIMEOUT)
    expect(page).to_have_url(app["url"] + "?q=a+cross", timeout=TIMEOUT)
    open_panel(page)
    save(page, "Soon forgotten", "a picture")
    toast_of(page, "Saved")  # and listed
    assert SavedSearches(app["root"] / "index").remove("Soon forgotten")  # as `clipsearch saved forget` does
    page.locator("#saved-choice input").click()
    page.locator("ul[role=listbox] li").filter(has_text="Soon forgotten").click()
    expect(page.locator("#status")).to_contain_text("No saved search called “Soon forgotten” is kept",
                                                    timeout=TIMEOUT)
    expect(page.locator("#status")).to_contain_text("Saved searches")
    assert page.get_by_test_id("toast-body").count() == 0  # said once, in the status line
    assert page.url == app["url"] + "?q=a+cross"  # the search still shown; no saved=
    page.locator("#saved-choice input").click()
    expect(page.locator("ul[role=listbox] li").filter(has_text="Soon forgotten")).to_have_count(0)
