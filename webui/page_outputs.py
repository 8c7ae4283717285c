"""What the page's search events write: the components, by name, in the order each event's outputs
list them (``app`` passes them by these names), and the values that leave them as they are."""

from typing import Any

import gradio as gr

NO_SELECTION = "Click a result to see it larger."

# A search's words and filters in the address bar, so that it can be reloaded, bookmarked and
# shared (``PageAddress.from_address`` reads them back; ``address_js`` writes them): their boxes.
ADDRESS_NAMES = ("text", "folder", "date_from", "date_to")

# The components each search event writes, in order.
OUTPUT_NAMES = ("gallery", "changed", "results", "shown", "status", "banner", "last", "preview", "details",
                "selected")
REFILTER_NAMES = ("gallery", "changed", "shown", "status", "preview", "details", "selected")


def cleared() -> tuple[Any, Any, Any]:
    """(preview, details, selected) with nothing selected."""
    return None, NO_SELECTION, None


def nothing_changes(status: Any = None) -> tuple:
    """OUTPUT_NAMES for a search step that changes no result: each left as it is, ``changed`` False
    (so the steps after it, ``unselect_if`` and the address, leave theirs too); ``status``, where
    given, what the status line says instead."""
    return tuple(False if name == "changed" else status if name == "status" and status is not None else gr.skip()
                 for name in OUTPUT_NAMES)
