"""What a finger needs of the page (``CSS``, added to the page's by ``app.launch_options``).

Gradio draws a picture's buttons (Remove, Fullscreen) at 18 px and the drop zone's sources
(Upload, Paste) at 22 px: on a phone a finger missed them, or landed on the photo under them and
drew a box (``region_view``). Where the pointer is a finger, they are 44 px at least, the size
the platforms' guides ask of a target; a mouse keeps Gradio's. So is every other control there:
the panels' headers (20 px), the small buttons ("Open similar", 26 px) and the others (40 px), the
sliders (8 px, their number boxes and reset buttons 22), the tick box's and the sort choices' labels,
the text fields (40 px; the folder list's, 20 px inside its box).

The results are a box of a fixed height (``app``: 640 px) with a scroll bar of its own, beside the
preview on a wide screen. On a narrow screen, or under a finger, that was a scroll area inside the
scrolling page, hard to move with a thumb, and one result sat in a box mostly empty: there the box
is as tall as its results, and the page scrolls them.

On a narrow screen the folder list shared its row with the two dates, 106 px for a path: the folder
chosen showed as "/home/me/Pic" under the list's arrow. There it has a row of its own, and so have
the saved searches' list and the name to save one as, which shared theirs with their buttons.
"""

TARGET = "44px"
NARROW = "640px"  # and narrower: a phone, a window at one side of the screen
CSS = f"""
@media (pointer: coarse) {{
  #query-image .icon-button-wrapper button, #preview .icon-button-wrapper button,
  #query-image .source-selection button {{ min-width: {TARGET}; min-height: {TARGET}; justify-content: center; }}
  button.lg, button.md, button.sm {{ min-height: {TARGET}; }}
  .label-wrap {{ min-height: {TARGET}; align-items: center; }}
  .checkbox-container, label:has(> input[type=radio]) {{ min-height: {TARGET}; align-items: center; }}
  input[type=range], input[type=number], input[type=text], textarea {{ min-height: {TARGET}; }}
  .tab-like-container {{ height: auto; }}
  .reset-button {{ min-width: {TARGET}; min-height: {TARGET}; }}
}}
@media (pointer: coarse), (max-width: {NARROW}) {{
  #results.block, #results .grid-wrap {{ height: auto !important; max-height: none !important; }}
  #results .grid-wrap {{ overflow-y: visible !important; }}
}}
@media (max-width: {NARROW}) {{
  #folder, .form:has(> #saved-choice), .form:has(> #saved-name) {{
    flex-basis: 100% !important; min-width: 100% !important;
  }}
}}
"""
