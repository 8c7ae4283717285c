"""The search box's help, and its note when the box is full: installed once at page load (``install``),
as ``region_view``'s script is.

The box takes no more than a query's length (``clipsearch.query.MAX_QUERY_CHARS``, its ``maxlength``):
a query of megabytes pasted in would be sent, and refused, whole. The browser cuts a longer paste there
without a word, and typing past the limit adds nothing: the user searched for something other than what
they pasted and never learned it. So the page says it, under the box, as it happens (a paste, text
dropped, a key typed that did not go in): ``PASTE_CUT`` or ``BOX_FULL``, in a live region
(``role="status"``), so a screen reader says it too. The note goes once the box holds less than the
limit (a word deleted, the box emptied by the page, a saved search opened). The help under the box
names the limits (``QUERY_HELP``).
"""

import json

import gradio as gr

from clipsearch.query import MAX_QUERY_CHARS, MAX_TERMS

from .region_view import PRIVATE

QUERY_HELP = (
    "Combine terms with ` + ` and ` - ` (`beach + sunset - people`), weight one with `2:` "
    "(`2:dog + grass`). A dropped or pasted photo joins the query as one "
    "more term (drag a box on it to search with that part; from the keyboard, Enter on it, arrows, Enter). "
    f"A query has at most {MAX_TERMS} terms and {MAX_QUERY_CHARS:,} characters. Press Enter to search."
)
LIMIT = f"a query is at most {MAX_QUERY_CHARS:,} characters long (spaces included)"
PASTE_CUT = (f"⚠️ Not all of __WHAT__ went in: {LIMIT}, so the box took what fits and left the rest out. "
             "A search looks for what the box shows.")
BOX_FULL = f"⚠️ The search box is full: {LIMIT}, and what is typed past that is left out."
CSS = "#query .clipsearch-query-note { margin: var(--spacing-md) 0 0; font-size: var(--text-sm); }\n"
# Listened for on the document: Gradio may draw the box anew. ``beforeinput`` says what is about to go in
# (for a paste too); the browser then cuts it at ``maxlength``, and says nothing more.
QUERY_BOX_JS = """() => {
  if (window.clipsearchQueryNote) return;
  window.clipsearchQueryNote = true;
  const PASTE_CUT = __PASTE_CUT__, BOX_FULL = __BOX_FULL__;
  const boxOf = (target) => target && target.closest && target.closest("#query") ? target : null;
  const box = () => document.querySelector("#query input, #query textarea");
  const note = () => {
    const query = document.getElementById("query");
    if (!query) return null;
    let said = query.querySelector(":scope > .clipsearch-query-note");
    if (!said) {
      said = document.createElement("p");
      said.className = "clipsearch-query-note";
      said.id = "query-note";
      said.setAttribute("role", "status");
      said.hidden = true;
      query.append(said);
    }
    return said;
  };
  const say = (text) => {
    const said = note();
    if (!said || said.textContent === text) return;
    said.textContent = text;
    said.hidden = !text;
  };
  const stillFull = () => {
    const field = box();
    if (field && field.maxLength > 0 && field.value.length < field.maxLength) say("");
  };
  document.addEventListener("beforeinput", (event) => {
    const field = boxOf(event.target);
    if (!field || !(field.maxLength > 0) || !event.inputType.startsWith("insert")) return;
    let adding = event.data ?? (event.dataTransfer ? event.dataTransfer.getData("text/plain") : "") ?? "";
    if (field.tagName === "INPUT") adding = adding.replace(/[\\r\\n]/g, "");  // a one-line box drops them
    const kept = field.value.length - Math.abs((field.selectionEnd ?? 0) - (field.selectionStart ?? 0));
    if (!adding || kept + adding.length <= field.maxLength) return;
    const what = {insertFromPaste: "the paste", insertFromDrop: "the text dropped"}[event.inputType];
    say(what ? PASTE_CUT.replace("__WHAT__", what) : BOX_FULL);
  }, true);
  document.addEventListener("input", (event) => { if (boxOf(event.target)) stillFull(); }, true);
  note();
  // The page writes the box itself (emptied by Find similar, a saved search's words), with no event:
  // each answer changes the status line, and the note is looked at again then.
  const status = document.getElementById("status");
  if (status) new MutationObserver(stillFull).observe(status, {childList: true, subtree: true, characterData: true});
}""".replace("__PASTE_CUT__", json.dumps(PASTE_CUT, ensure_ascii=False)).replace(
    "__BOX_FULL__", json.dumps(BOX_FULL, ensure_ascii=False))


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=QUERY_BOX_JS, **PRIVATE)
