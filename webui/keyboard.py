"""What the keyboard needs of the page: a focus ring on every control (``CSS``, added to the page's by
``app.launch_options``), each radio group one Tab stop, and no Tab stop lost in a drop-down list
(``install``, one script installed once at page load, as ``screen_reader``'s is).

Gradio 6 draws no focus ring on the "Strong matches only" tick box (or the Index panel's), on the
"Sort by" choices, nor on the sliders: Tab reached them, and nothing on the page said where it was.
Here each of them has an outline while it has the keyboard's focus (``:focus-visible``: a click with
the mouse draws none), at 3:1 at least against the page (WCAG's for a focus ring): the Search
button's darker orange in the light theme (7.5:1 on white), the theme's accent in the dark one
(5.3:1 on its grey; the darker orange is 2:1 there).

A drop-down's open list of choices (the Folder list, where the library holds more folders than it
shows at once) scrolls, and Chromium (as Firefox) makes a scroller with nothing focusable inside a
Tab stop of its own: Tab from the folder box went to that list, which Gradio closes as the box loses
the focus, and the focus fell to the page itself; the next Tab started over from the top of the
page's order, one press lost on the way to the dates. The page takes each such list out of the Tab
order (``tabindex="-1"``): the arrows still move among the choices while the box keeps the focus,
as Gradio's own keys do, and Tab goes on to the next control.

A browser makes a radio group of the radio buttons that share a ``name``: one tab stop (the choice
made), and the arrows move the choice within it (the WAI-ARIA radio group pattern). Gradio 6 names
each button of a ``gr.Radio`` on its own (``radio-1``, ``radio-2``, and a new name each time one is
drawn again, a choice made among them), so each choice (the "Sort by" ones) was a tab stop of its
own, the arrows did nothing, and a screen reader said "1 of 1" of each. Gradio has no option for it:
the page gives the buttons of each group one name (``clipsearch-`` and the group's ``elem_id``),
again whenever Gradio names them anew. The choice, and Gradio's change event, are the browser's own,
as for a click. One observer of the page's changes does both.
"""

import gradio as gr

from .region_view import PRIVATE

FOCUSED = "input:is([type=checkbox], [type=radio], [type=range]):focus-visible"
CSS = f"""
{FOCUSED} {{ outline: 2px solid var(--primary-700) !important; outline-offset: 2px; }}
.dark {FOCUSED} {{ outline-color: var(--color-accent) !important; }}
"""
KEYBOARD_JS = """() => {
  if (window.clipsearchKeyboard) return;
  window.clipsearchKeyboard = true;
  const mend = () => {
    document.querySelectorAll("ul[role=listbox]").forEach((list) => {
      if (list.getAttribute("tabindex") !== "-1") list.setAttribute("tabindex", "-1");
    });
    document.querySelectorAll("fieldset").forEach((set, i) => {
      const name = "clipsearch-" + (set.id || "radio-" + i);
      set.querySelectorAll("input[type=radio]").forEach((button) => { if (button.name !== name) button.name = name; });
    });
  };
  mend();
  new MutationObserver(mend).observe(document.body, {childList: true, subtree: true, attributes: true,
                                                     attributeFilter: ["name"]});
}"""


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=KEYBOARD_JS, **PRIVATE)
