"""Each of the page's radio groups (the "Sort by" choices) one tab stop, its choices moved with the arrow
keys: installed once at page load (``install``), as ``screen_reader``'s script is.

A browser makes a radio group of the radio buttons that share a ``name``: one tab stop (the choice
made), and the arrows move the choice within it (the WAI-ARIA radio group pattern). Gradio 6 names
each button of a ``gr.Radio`` on its own (``radio-1``, ``radio-2``, and a new name each time one is
drawn again, a choice made among them), so each choice was a tab stop of its own, the arrows did
nothing, and a screen reader said "1 of 1" of each. Gradio has no option for it: the page gives the
buttons of each group one name (``clipsearch-`` and the group's ``elem_id``), again whenever Gradio
names them anew. The choice, and Gradio's change event, are the browser's own, as for a click.
"""

import gradio as gr

from .region_view import PRIVATE

RADIO_GROUPS_JS = """() => {
  if (window.clipsearchRadioGroups) return;
  window.clipsearchRadioGroups = true;
  const group = () => document.querySelectorAll("fieldset").forEach((set, i) => {
    const name = "clipsearch-" + (set.id || "radio-" + i);
    set.querySelectorAll("input[type=radio]").forEach((button) => { if (button.name !== name) button.name = name; });
  });
  group();
  new MutationObserver(group).observe(document.body, {childList: true, subtree: true, attributes: true,
                                                      attributeFilter: ["name"]});
}"""


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=RADIO_GROUPS_JS, **PRIVATE)
