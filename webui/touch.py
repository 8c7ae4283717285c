"""What a finger needs of the page (``CSS``, added to the page's by ``app.launch_options``).

Gradio draws a picture's buttons (Remove, Fullscreen) at 18 px and the drop zone's sources
(Upload, Paste) at 22 px: on a phone a finger missed them, or landed on the photo under them and
drew a box (``region_view``). Where the pointer is a finger, they are 44 px at least, the size
the platforms' guides ask of a target; a mouse keeps Gradio's.
"""

TARGET = "44px"
CSS = f"""
@media (pointer: coarse) {{
  #query-image .icon-button-wrapper button, #preview .icon-button-wrapper button,
  #query-image .source-selection button {{ min-width: {TARGET}; min-height: {TARGET}; justify-content: center; }}
}}
"""
