"""The REST routes' upload limit (50 MB, as the page's): a picture over it is refused with a 413
whether its Content-Length says so or only its bytes do (a form's slack lets a few more in)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from webui.api_errors import ApiError
from webui.rest_form import FORM_SLACK, MAX_UPLOAD_BYTES, read_form


@pytest.fixture
def client():
    app = FastAPI()

    @app.post("/form")
    async def form(request: Request):
        try:
            fields, data, name = await read_form(request)
        except ApiError as exc:
            return {"status": exc.status}
        return {"status": 200, "bytes": len(data), "name": name}

    with TestClient(app) as http:
        yield http


def test_a_picture_over_the_limit_is_refused_though_its_form_fits_the_slack(client):
    at_limit = client.post("/form", files={"image": ("q.jpg", b"\0" * MAX_UPLOAD_BYTES)}).json()
    assert at_limit == {"status": 200, "bytes": MAX_UPLOAD_BYTES, "name": "q.jpg"}
    over = b"\0" * (MAX_UPLOAD_BYTES + FORM_SLACK // 2)  # the whole form under the Content-Length check
    assert client.post("/form", files={"image": ("q.jpg", over)}).json() == {"status": 413}
