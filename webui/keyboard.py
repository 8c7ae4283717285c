"""What the keyboard needs of the page: a focus ring on every control (``CSS``, added to the page's by
``app.launch_options``), and no Tab stop lost in a drop-down list (``install``, a script installed
once at page load, as ``radio_groups``' is).

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
"""

import gradio as gr

from .region_view import PRIVATE

FOCUSED = "input:is([type=checkbox], [type=radio], [type=range]):focus-visible"
CSS = f"""
{FOCUSED} {{ outline: 2px solid var(--primary-700) !important; outline-offset: 2px; }}
.dark {FOCUSED} {{ outline-color: var(--color-accent) !important; }}
"""
OPTION_LISTS_JS = """() => {
  if (window.clipsearchOptionLists) return;
  window.clipsearchOptionLists = true;
  const untab = () => document.querySelectorAll("ul[role=listbox]").forEach((list) => {
    if (list.getAttribute("tabindex") !== "-1") list.setAttribute("tabindex", "-1");
  });
  untab();
  new MutationObserver(untab).observe(document.body, {childList: true, subtree: true});
}"""


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=OPTION_LISTS_JS, **PRIVATE)
