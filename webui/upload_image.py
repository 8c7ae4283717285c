"""The drop zone's picture component: Gradio's ``gr.Image``, which opens every upload with Pillow
before a handler runs, made to hand a file it cannot open to the handler with the reason (the
page's status line says it; an API caller gets a ``gr.Error``), and to let camera RAW files through
(LibRaw reads them, as the search then does).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import gradio as gr

from clipsearch import UnreadableImage, camera_raw
from clipsearch.images import unreadable

from .refusals import NOT_A_PICTURE, UnreadableUpload

log = logging.getLogger(__name__)


def upload_image(refuse: bool = False, **kwargs: Any) -> gr.Image:
    """A ``gr.Image`` that hands its event an ``UnreadableUpload`` when the file is not a picture.

    Gradio opens every uploaded image with Pillow before any handler runs; a text file renamed
    ``.png`` would otherwise fail there, and the page would show a red "Error" badge over the
    event's outputs. The page's handler says why in the status line instead. ``refuse``: raise a
    ``gr.Error`` (for the API, whose caller gets the message). (Wrapping the instance's
    ``preprocess`` rather than subclassing: Gradio writes a ``.pyi`` stub beside every subclass.)
    """
    image = gr.Image(type="filepath", image_mode=None, **kwargs)
    original = image.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except gr.Error:
            raise
        except Exception as exc:
            problem: BaseException = exc
            if raw_upload(path := str(getattr(payload, "path", None) or "")):
                try:  # camera RAW: Pillow cannot open it, LibRaw can (as the search then reads it)
                    camera_raw.header(path, path, dated=False)
                    return path
                except UnreadableImage as refused:
                    problem = refused
            reason = upload_refused(payload, problem)
            log.debug("could not open an upload as an image: %s: %s", type(exc).__name__, exc)
            if refuse:
                raise gr.Error(f"The uploaded file {NOT_A_PICTURE} ({reason}).", title="Not a picture",
                               print_exception=False) from None
            unreadable = UnreadableUpload("an unreadable upload")  # not empty: an upload was made
            unreadable.reason, unreadable.path = reason, path  # the upload's, as the page knows it
            return unreadable

    image.preprocess = preprocess  # type: ignore[method-assign]
    return image


def raw_upload(path: str) -> bool:
    """Whether an upload is camera RAW: by its name, else by its content (a picture sent as a data:
    URL arrives named after its MIME type, "file" or "file.bin"), as the REST route tells it."""
    if camera_raw.is_raw_name(path):
        return True
    try:
        with open(path, "rb") as file:
            return camera_raw.is_raw(file.read())  # whole: a TIFF's first directory may lie anywhere in it
    except OSError:
        return False


def upload_refused(payload: Any, exc: BaseException) -> str:
    """Why Gradio could not open an upload as a picture (``exc``), as the indexer, and the REST
    route, say it of such a file: "empty file", "too many pixels", "not an image", "truncated"..."""
    try:
        if os.path.getsize(getattr(payload, "path", None) or "") == 0:
            return "empty file"
    except (OSError, TypeError):
        pass  # a picture sent inline (a data: URL), or a file gone: what opening it raised says why
    return exc.reason if isinstance(exc, UnreadableImage) else unreadable("the uploaded file", exc).reason
