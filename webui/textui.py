"""The web app's side of the words in photos (``--ocr``): the Index panel's switches and snippets.

A result whose words matched carries them as a snippet with the matched words in brackets
(``"[GRAND] CAFE Open 7-22"``); the gallery caption shows it as it is, the preview in bold
(``markdown.words_markdown``).
"""

# No `from __future__ import annotations`, like handlers.py (Gradio reads hints at run time).
from typing import Any

import gradio as gr

from clipsearch import ClipSearchError

from .api_refusals import refused
from .paths import web_path


def caption(result: dict[str, Any]) -> str:
    """A gallery caption: score, name, the day it was taken when EXIF says, then the matched words."""
    taken = result.get("date_taken")
    text = f"{result['score']:.3f} · {result['name']}" + (f" · {taken[:10]}" if taken else "")
    return f"{text} · {result['text']}" if result.get("text") else text


def keeps(result: dict[str, Any], cut: float) -> bool:
    """Whether a flat score cut-off keeps a result: a photo whose words matched always stays, and
    so does a video's moment that says them (its ``words``)."""
    return cut <= 0 or result["score"] >= cut or bool(result.get("text") or result.get("words"))


class PassSwitch:
    """An Index panel switch for a pass the index remembers (reading words, reading videos), bound
    to the app's ``Handlers``: ``side`` names the engine's side (``text``, ``videos``), ``turn``
    the engine's method that turns it on or off, ``off`` what the status says once it is off."""

    def __init__(self, handlers, side: str, turn: str, off: str) -> None:
        self.handlers, self.side, self.turn, self.off = handlers, side, turn, off

    def state(self):
        """The switch as the index has it (on page load)."""
        try:
            return gr.update(value=getattr(self.handlers.engine(), self.side).enabled)
        except Exception:  # noqa: BLE001 - no index yet: the switch just shows off
            return gr.update(value=False)

    def toggle(self, on: bool):
        """Turn the pass on (and start a re-index that reads what is new) or off: (status, timer)."""
        try:
            engine = self.handlers.engine()
            getattr(engine, self.turn)(bool(on))
        except ClipSearchError as exc:
            raise refused(exc) from None
        except Exception as exc:  # noqa: BLE001 - NoIndexYet and the like
            gr.Warning(f"Build the index first: {exc}")
            return "No index yet.", gr.Timer(active=False)
        if not on:
            return self.off, gr.Timer(active=False)
        return self.handlers.start_reindex()


def text_reading(handlers) -> PassSwitch:
    """The "read the words in photos" switch."""
    return PassSwitch(handlers, "text", "set_text_reading", "Words in photos will not be read; the words read so far are kept.")


def video_reading(handlers) -> PassSwitch:
    """The "search inside videos" switch."""
    return PassSwitch(handlers, "videos", "set_video_reading",
                      "Videos will not be read; the moments found so far are kept.")


def clicked(shown: list[dict[str, Any]], index: int, value: Any) -> dict[str, Any] | None:
    """The result a click on the gallery chose: the one at ``index``, unless the page showed
    another there (``value``, the clicked item as the page had it: its caption). A click on results
    that the server has since filtered or sorted again (a slider moved just before) would otherwise
    open the photo now at that place: the one shown is looked for among the results, and where it
    is no longer among them, nothing opens."""
    said = value.get("caption") if isinstance(value, dict) else None
    if not isinstance(said, str):  # a page that says nothing of what it showed: the place decides
        return shown[index] if 0 <= index < len(shown) else None
    places = [index] + [i for i in range(len(shown)) if i != index]
    return next((shown[i] for i in places if 0 <= i < len(shown) and _captioned(shown[i], said)), None)


def _captioned(result: dict[str, Any], said: str) -> bool:
    """Whether ``said`` is the gallery's caption of ``result``: its score first and its name, day and
    words last (what the Duplicates view adds between them, "+2 similar" or "not on disk now",
    may have changed since). A name's bytes that are not UTF-8 are on the page as ``\\xNN``
    (``paths.web_path``)."""
    score, _, rest = web_path(caption(result)).partition(" · ")
    return said.startswith(score) and said.endswith(rest)
