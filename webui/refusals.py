"""What the web app refuses, as exceptions its handlers raise: no index yet, a path the index does
not hold, an upload that is not a picture. ``Handlers`` says each one on the page (a status line,
a banner) or to an API caller (a ``gr.Error``)."""

import gradio as gr

NOT_A_PICTURE = "is not a picture clipsearch can read"


class NoIndexYet(Exception):
    """There is no index to search; the message says how to build one."""


class NotIndexed(LookupError):
    """A path the index does not hold (``Handlers.indexed_picture``)."""


class NotAPicture(gr.Error):
    """An uploaded query file that cannot be read as a picture: the API's error, and on the page the
    status line's message. Gradio prints no traceback for it (the handler logs one line)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, title="Not a picture", print_exception=False)


class NotInIndex(gr.Error):
    """Find similar for a path the index does not hold (a bookmark of a photo deleted since, a path
    typed into the address): the API's error, and on the page the status line's message."""

    def __init__(self) -> None:
        super().__init__("That photo is not in the index.", title="Not indexed", print_exception=False)


class UnreadableUpload(str):
    """What the drop zone hands over when Gradio could not open the upload (``upload_image.upload_image``).

    Never empty (an empty string would read as "no upload").
    """

    reason = "unreadable"
    path = ""  # the upload's file, where one came
