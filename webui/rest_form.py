"""The form of a REST ``POST`` (``webui/rest.py``): its text fields and its picture, checked for
size and kind before the body is read."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from clipsearch.images import MAX_QUERY_BYTES

from .api_errors import ApiError

MAX_UPLOAD_BYTES = MAX_QUERY_BYTES  # the web app's own limit (app.MAX_UPLOAD)
FORM_SLACK = 64 * 1024  # multipart boundaries and the small text fields beside the picture
URL_ENCODED = "application/x-www-form-urlencoded"  # curl -d name=...: a form without a file


async def read_form(request: Request, picture: bool = True) -> tuple[dict[str, str], bytes | None, str | None]:
    """The form of a POST: its text fields, the bytes of its ``image`` file and that file's name
    (a multipart form; without a ``picture`` needed, a URL-encoded one too, and the image may be None)."""
    length = request.headers.get("content-length")
    if length is None:
        raise ApiError(411, "send the upload with a Content-Length (curl -F does)")
    if not length.isdigit() or int(length) > MAX_UPLOAD_BYTES + FORM_SLACK:
        raise ApiError(413, "the upload is over the 50 MB limit")
    kind = request.headers.get("content-type", "")
    if not (kind.startswith("multipart/form-data") or (not picture and kind.startswith(URL_ENCODED))):
        raise ApiError(415, "send multipart/form-data with the picture in the field 'image' "
                            "(curl -F image=@photo.jpg)")
    try:
        form = await request.form(max_files=1, max_fields=16)
    except Exception as exc:  # malformed multipart bodies
        raise ApiError(400, f"cannot read the form: {exc}") from None
    try:
        upload, data = form.get("image"), None
        if picture and not isinstance(upload, UploadFile):
            raise ApiError(400, "no picture: send it as a file in the field 'image' (curl -F image=@photo.jpg)")
        if isinstance(upload, UploadFile):
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "the upload is over the 50 MB limit")
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
    finally:
        await form.close()
    return fields, data, upload.filename if isinstance(upload, UploadFile) else None
