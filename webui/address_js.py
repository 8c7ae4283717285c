"""The address bar's scripts: each search the page shows written into the address, so that it can
be reloaded, bookmarked and shared (``page.Page`` reads it back: ``from_address``, ``from_indexed``,
and writes each search's fields for these: ``query_address``, ``similar_address``, ``open_similar``).

Each new search is a step of the browser's history (pushed): Back shows the search before, as the
page loads it from its address (``HISTORY_JS``: a reload there), and Forward the one after. What
only mends the search shown (its order, a photo opened, a saved search's name that is gone) or
says the search the page opened at is replaced in place: one step a search.
"""

import json

from .handlers import SORT_DATE
from .turns import ASKED_BY_HAND

ADDRESS_FIELDS = ("q", "photo", "indexed", "folder", "since", "until", "similar", "region", "topic", "saved", "open")
# Each writer drops every field of the search before (the address holds one search: words, Find
# similar, a topic or a saved search) and keeps the rest (Gradio's own, such as ?__theme=dark). A
# search the user asked (``turns.ASKED_BY_HAND``: not the address's own, whose answer writes it again)
# other than the one the address says is a new step of the history, unless ``mend``.
_PUT = """const put = (asked, mend) => {
    const url = new URL(window.location.href);
    const before = new URL(window.location.href);
    __FIELDS__.forEach((name) => url.searchParams.delete(name));
    for (const [name, value] of Object.entries(asked)) {
      const text = String(value ?? "").trim();
      if (text) url.searchParams.set(name, text);
    }
    const other = (a, b) => __SEARCH__.some((name) => (a.searchParams.get(name) || "") !== (b.searchParams.get(name) || ""));
    if (url.href === window.location.href) return;
    if (!mend && __ASKED__ && other(url, before)) window.history.pushState(null, "", url);
    else window.history.replaceState(window.history.state, "", url);
  };""".replace("__FIELDS__", json.dumps(list(ADDRESS_FIELDS))).replace(
    "__SEARCH__", json.dumps([name for name in ADDRESS_FIELDS if name != "open"])).replace("__ASKED__", ASKED_BY_HAND)


def _address_js(inputs: str, call: str) -> str:
    return f"({inputs}) => {{\n  {_PUT}\n  {call}\n}}"


# A search (``Page.query_address``), Find similar and a topic (``Page.similar_address``), as JSON:
# "" for none.
SIMILAR_ADDRESS_JS = _address_js("asked", "if (asked) put(JSON.parse(asked));")
# Open similar (``Page.open_similar``): the photo opened, beside the search it was a result of ("":
# none opened; ``Page.opened`` opens it again); a re-filter, which folds the copies again, drops it
# (``SORTED_ADDRESS_JS``).
OPEN_ADDRESS_JS = """(path) => {
  const url = new URL(window.location.href);
  if (path) url.searchParams.set("open", path); else if (path === undefined) url.searchParams.delete("open");
  if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url);
}"""
# The order the results are sorted in, kept in the address beside the search (``sort=date``; none for
# relevance, the default), so that a reload or a link shows them in that order: written after each
# re-sort, re-filter too (with Open similar's ``open`` dropped: the copies are folded again), and
# kept by each search's writer (``_PUT`` drops the search's fields only: the order is the page's).
# ``page_address.sort_asked`` reads it for the searches of the address.
SORT_BY_DATE = "date"
SORTED_ADDRESS_JS = """(sort) => {
  const url = new URL(window.location.href);
  url.searchParams.delete("open");
  if (sort === SORT_DATE) url.searchParams.set("sort", "BY_DATE"); else url.searchParams.delete("sort");
  if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url);
}""".replace("SORT_DATE", json.dumps(SORT_DATE)).replace("BY_DATE", SORT_BY_DATE)
# The indexed photo the address names (/?q=...&indexed=PATH, ``Page.from_indexed``), read in the
# browser on load ("" for none): an event that wrote the drop zone on every load would empty it
# after a photo dropped meanwhile. With it, the order for Sort by (``sort=date``; the page's own
# where none is): the choice only, whose "input" (the user's) alone sorts the results shown again.
INDEXED_IN_ADDRESS = """(sort) => {
  const asked = new URL(window.location.href).searchParams;
  const order = asked.get("sort") === "BY_DATE" ? SORT_DATE : sort;
  return [asked.get("similar") || asked.get("topic") ? "" : (asked.get("indexed") || ""), order];
}""".replace("SORT_DATE", json.dumps(SORT_DATE)).replace("BY_DATE", SORT_BY_DATE)
# The page opened at /?saved=NAME where no saved search of that name is kept (``SavedView.from_address``:
# NAME, "" where one is): the address no longer names it, as after any other search, so a reload does not
# ask again for a search that is not there. Only while it still names NAME: a search asked since wrote its own.
GONE_SAVED_ADDRESS_JS = _address_js(
    "name", "if (name && new URL(window.location.href).searchParams.get('saved') === name) put({}, true);")
# A saved search chosen in the list (``SavedView.chosen``: its name, and NAME where it is no longer kept,
# else ""): where it opened, its name alone (``saved_view`` opens it again, its photo too, which no ``q``
# could hold); where it was forgotten meanwhile, the address keeps the search still shown, and drops
# ``saved=`` only where that names it, as ``GONE_SAVED_ADDRESS_JS``.
CHOSEN_ADDRESS_JS = _address_js("name, gone", """if (!gone) put({saved: name});
  else if (new URL(window.location.href).searchParams.get('saved') === gone) put({}, true);""")
# A saved search forgotten (``saved_view.forgotten_address``: its name and its own words and filters, as JSON;
# "" for none): where the address names it (``saved=NAME``, the search shown), it says the search's terms
# instead, as after that search typed, so that a reload does not ask for a search that is gone but shows
# the results still on the page; Open similar's ``open`` stays. Elsewhere the address is left as it is.
FORGOTTEN_ADDRESS_JS = _address_js("asked", """if (!asked) return;
  const {saved, ...search} = JSON.parse(asked);
  const now = new URL(window.location.href).searchParams;
  if (now.get('saved') === saved) put({...search, open: now.get('open')}, true);""")
# The page opened at an address (``?q=``, a saved search's ``?saved=``, ``?indexed=``'s photo): its
# words and filters go in their boxes only where nothing was typed there since the page opened. A
# search asked before the address's answered runs after it (``turns``), and its words stayed with its
# results, where the address's went over them (and into the address). Once the user has asked a
# search of their own (``turns.ASKED_BY_HAND``), none go: the address's date went in the From box left
# empty, beside the results of a search asked with none, and into the address that search wrote.
# The search of the address writes hidden twins of the boxes (``page_address.from_the_address``), the
# asked values, then the page's.
UNLESS_TYPED = ("(...boxes) => { const n = boxes.length / 2; if (ASKED) return boxes.slice(n); "
                "return boxes.slice(0, n).map((asked, i) => boxes[n + i] || asked); }").replace("ASKED", ASKED_BY_HAND)
# The same for the drop zone: the address's photo, with its box, goes there only where no photo was
# put there since the page opened (dropped, pasted), which keeps its own box, or none: a photo
# dropped before the address's answer came was replaced by the address's. Nor after a search the
# user asked: words searched alone were shown beside the address's photo.
UNLESS_DROPPED = "(asked, askedBox, image, box) => (image || ASKED) ? [image, box] : [asked, askedBox]".replace(
    "ASKED", ASKED_BY_HAND)
# Back and Forward: the page at the address the browser went to, loaded as any address is (its search,
# its words and filters in their boxes). Installed once, at page load.
HISTORY_JS = """() => {
  if (window.clipsearchHistory) return;
  window.clipsearchHistory = true;
  window.addEventListener("popstate", () => window.location.reload());
}"""
