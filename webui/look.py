"""The page's look: the galleries' grids and captions, the layout's small mends, and Gradio's Default
theme with readable hint text and buttons (``build_app`` passes ``CSS`` and ``theme()`` to Gradio)."""

import gradio as gr

GALLERY_COLUMNS = 5
# Gradio gives its gallery as many columns as it has pictures, up to ``columns``: one or two
# results (often, with the cut-off) came out as one or two 256 px thumbnails blown up to the
# gallery's width, blurred, their captions below the fold. Keep the grid's columns: five where
# the gallery is wide, as many of at least 110 px as fit where it is not (a phone: two, where five
# of Gradio's 100 px at least ran past the screen's edge and hid every result after the third).
GALLERY_GAP = "var(--spacing-lg)"
RESULT_MIN_PX = 110
# A caption (score · name · date) wraps to this many lines at most, then ends in "…": a long file
# name (a messenger's, emoji and all) wrapped without end over its thumbnail, and at 200% zoom or on
# a phone hid the whole picture and ran up over the panel above. The details give the whole name.
# Its space above and below is a border, not padding: overflow is cut at the padding's outer edge,
# and the tops of a fourth line's letters showed in the padding, under the "…".
CAPTION_LINES = 3
# A moment's caption (time · video's name) two: the In videos panel's frames are narrower (it shares its row
# with the larger frame), and three lines covered half of each; the time comes first, so it always shows.
MOMENT_CAPTION_LINES = 2
# ...and its frames 140 px wide at least: in a 1024 px window the panel's five columns were 112 px each.
MOMENT_MIN_PX = 140


def _grid(gallery: str, min_px: int) -> str:
    """A gallery's grid: ``GALLERY_COLUMNS`` columns where it is wide, as many of ``min_px`` at least as fit."""
    return (f"{gallery} .grid-container {{ grid-template-columns: repeat(auto-fill, minmax(max({min_px}px, "
            f"calc((100% - {GALLERY_COLUMNS - 1} * {GALLERY_GAP}) / {GALLERY_COLUMNS} - 1px)), 1fr)) !important; }}")


# A slider's number box shares a row with its label and hint; in a window 700 to 1000 px wide (a tablet
# held upright) the label kept 40 px, and "hide results scoring less; 0 shows all" ran a word a line.
# Given 7em at least, the box goes under it instead (Gradio's head wraps).
# Gradio's footer ends in a "·" meant to part its API link from the links ``footer_links`` leaves out: it
# trailed that link, and stood alone on a phone, where Gradio hides the link.
CSS = f"""
{_grid("#results", RESULT_MIN_PX)}
{_grid("#moments", MOMENT_MIN_PX)}
#results .caption-label, #moments .caption-label {{ font-size: 0.75rem; max-width: calc(100% - 8px);
  white-space: normal; overflow-wrap: anywhere; display: -webkit-box; -webkit-box-orient: vertical;
  -webkit-line-clamp: {CAPTION_LINES}; line-clamp: {CAPTION_LINES}; overflow: hidden;
  padding-top: 0; padding-bottom: 0; border-top: 4px solid transparent; border-bottom: 4px solid transparent; }}
#moments .caption-label {{ -webkit-line-clamp: {MOMENT_CAPTION_LINES}; line-clamp: {MOMENT_CAPTION_LINES}; }}
#query-image {{ min-height: 0; }}
.no-index {{ border-left: 4px solid var(--color-accent); padding-left: 1rem; }}
footer .divider:last-child {{ display: none; }}
.head:has(> .tab-like-container) > label {{ min-width: 7em; }}
"""

# Gradio's Default theme draws hint text (a slider's or tick box's info line, a slider's ends, the
# drop zone's "- or -", the footer) and the placeholders that hint a box's use ("any date") in
# a grey of 1.9:1 on white, and the placeholders at 3.1:1 in the dark theme: the hint under the
# sliders was hard to read. Here they reach WCAG AA's 4.5:1 in both: the labels' grey in the light
# theme, and the dark theme's own hint grey for its placeholders.
HINT_COLOURS = {"body_text_color_subdued": "*neutral_500", "input_placeholder_color": "*neutral_500",
                "input_placeholder_color_dark": "*neutral_400"}
# Its primary buttons (Search) put white text on orange 500 (2.8:1), on orange 600 in the dark theme
# (3.6:1), and on orange 600 and 700 under the pointer. Here they are a darker orange of the same hue
# in both themes: 700, 5.2:1, and 800 under the pointer, 7.3:1.
BUTTON_COLOURS = {"button_primary_background_fill": "*primary_700", "button_primary_background_fill_dark": "*primary_700",
                  "button_primary_background_fill_hover": "*primary_800",
                  "button_primary_background_fill_hover_dark": "*primary_800"}


def theme() -> gr.themes.Base:
    """The page's look: Gradio's Default theme, its hint text in readable greys (``HINT_COLOURS``) and its
    primary buttons' white text on a darker orange (``BUTTON_COLOURS``)."""
    return gr.themes.Default().set(**HINT_COLOURS, **BUTTON_COLOURS)
