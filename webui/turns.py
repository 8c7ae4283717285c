"""The page's searches take turns, in the browser, in the order they were asked.

A search, and the last search run again for another folder, dates or How many (``Page.rerun``),
were two events in flight at once: a re-run still on its way when a new query was searched (Enter,
the Search button, a photo dropped) could answer after it, and put the older query's results, and
what the page remembers of them (``last``, the results the sort and the clicks read), over the
newer one's (as could Find similar, a topic or a saved search opened, or the search of the address
the page was opened at; or the results shown filtered again for a new cut-off, order or Strong
matches only, ``Page.refilter``). Each such step now waits, in the browser, till the one asked before it
has answered (its results on the page, its remembered values on the server), and only then asks
the server.
Asked one after the other, they answer in that order: the newest search asked is the one shown.
A re-run asked while a search is on its way runs that search again, not the one before.

A search asked alone waits for nothing. The wait is the page's own: another browser's searches
never wait for this one's (a Gradio concurrency group is one queue for every page).

A search the user asked (any step but the address's, ``by_hand``) marks the page as it takes its
turn (``ASKED_BY_HAND``): the address's answer, coming after it, then writes none of its words,
filters or photo over the boxes that search was asked with (``address_js.UNLESS_TYPED``).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .region_view import PRIVATE

# How long a step waits for the one asked before it, once that one has taken its turn, before it
# takes that one's answer for lost (the server gone mid-search: neither of its ends ran) and goes
# on: a lost answer must not leave every later search of the page waiting for it.
LOST_AFTER_MS = 60_000
# The step's own values, handed on once the steps asked before it have answered: its turn is the
# last in the page's queue of turns (``started`` once it stopped waiting, ``done`` once it ended),
# ``ends`` the functions that end each turn, oldest first. A turn whose step waited
# ``LOST_AFTER_MS`` (``window.clipsearchTurnWait``, where a test sets it) after the one before it
# started ends the turns before its own, which no answer will end.
TAKE_TURN = """async (...values) => {
  const turns = window.clipsearchTurns ??= {last: {started: Promise.resolve(), done: Promise.resolve()}, ends: []};
  const before = turns.last;
  let end, start;
  turns.last = {done: new Promise((resolve) => { end = resolve; }), started: new Promise((resolve) => { start = resolve; })};
  turns.ends.push(end);
  await before.started;
  let timer;
  const lost = new Promise((resolve) => { timer = setTimeout(() => resolve(true), window.clipsearchTurnWait ?? LOST_AFTER_MS); });
  if (await Promise.race([before.done.then(() => false), lost])) {
    for (const stale of turns.ends.splice(0, turns.ends.indexOf(end))) stale();
  }
  clearTimeout(timer);
  start();
  return values;
}""".replace("LOST_AFTER_MS", str(LOST_AFTER_MS))
# Set (true) once the user asked a search of their own since the page opened: as a step ``by_hand``
# takes its turn, and (``app``) as a filter is changed by hand, whose re-run's triggers say "change"
# for a value the page wrote too (the address's folder, say), where no turn may set it.
ASKED_BY_HAND = "window.clipsearchAskedByHand"
BY_HAND = f"async (...values) => {{ {ASKED_BY_HAND} = true; return (TAKE_TURN)(...values); }}"
# A step's own script first (``in_turn``); where it throws, the step took no turn, and its failure's
# ``TURN_OVER`` ends none (``clipsearchTurnsRefused`` counts those still to come).
REFUSED = """async (...values) => {
  let own;
  try { own = await (OWN)(...values); } catch (refused) {
    window.clipsearchTurnsRefused = (window.clipsearchTurnsRefused || 0) + 1;
    throw refused;
  }
  return (TAKE_TURN)(...own);
}"""
TURN_OVER = """() => {
  if (window.clipsearchTurnsRefused > 0) { window.clipsearchTurnsRefused -= 1; return; }
  const end = window.clipsearchTurns?.ends.shift();
  if (end) end();
}"""


def in_turn(step: dict[str, Any], by_hand: bool = True) -> dict[str, Any]:
    """An event's keyword arguments, its step waiting for its turn (``turn_over`` after it). Asked
    again while on its way, it runs again in its turn (``trigger_mode`` "multiple", unless the step
    says otherwise), where Gradio's default, "once", dropped the newer: the words typed, or the photo
    dropped, shown beside the results of the search before. A step's own ``js`` runs first, as it is
    asked, and its values then wait for the turn; where it throws, the step is refused: the server
    is not asked, and it takes no turn (``REFUSED``). ``by_hand``: a search the user asked, which
    marks the page as it takes its turn (``ASKED_BY_HAND``); False for the address's own, and for a
    step whose triggers fire for what the page wrote too (``app``'s re-run)."""
    take = BY_HAND.replace("TAKE_TURN", TAKE_TURN) if by_hand else TAKE_TURN
    js = take if "js" not in step else REFUSED.replace("OWN", step["js"]).replace("TAKE_TURN", take)
    return {"trigger_mode": "multiple", **step, "js": js}


def turn_over(event: Any) -> Any:
    """``event``, a step ``in_turn``, ending its turn when it answers or fails (one of the two runs:
    a failed step's ``.then`` does not); the event, to chain on."""
    event.success(None, js=TURN_OVER, **PRIVATE)
    event.failure(None, js=TURN_OVER, **PRIVATE)
    return event


def take_turn(after: Any, step: dict[str, Any], by_hand: bool = True) -> Any:
    """``step`` (an event's keyword arguments) run in its turn (``in_turn``, which says what
    ``by_hand`` is), its turn over once it answers or fails (``turn_over``); its event, to chain on.
    ``after``: the event it follows (``.then``), or the triggers that ask it, a list (``gr.on``)."""
    asked = in_turn(step, by_hand)
    event = gr.on(after, **asked) if isinstance(after, list) else after.then(**asked)
    return turn_over(event)
