"""With --auth, a stranger's POST is refused as a stranger before its body is read: a 401, never a
411, 413, 415 or 400 about a form it had no right to send (the server's own tests check the routes)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from webui.rest import posted
from webui.rest_auth import Auth

USER = ("alice", "s3cret")


@pytest.fixture
def client():
    """One POST route behind ``posted``, with the accounts of an app run with ``--auth alice:s3cret``."""
    gradio_app = SimpleNamespace(auth=dict([USER]), cookie_id="test", tokens={})
    auth, ran = Auth(gradio_app), []
    app = FastAPI()

    @app.post("/api/search")
    async def search(request: Request):
        return await posted(auth, request, lambda fields, image, name: ran.append(fields) or {"ok": True})

    with TestClient(app) as http:
        yield http, ran


def test_a_strangers_post_is_refused_before_its_form_is_read(client):
    http, ran = client
    picture = {"image": ("q.png", b"x")}
    forms = {400: {"files": {"note": ("n.txt", b"x")}},  # no picture
             413: {"files": picture, "headers": {"content-length": str(10**9)}},  # over the limit
             415: {"data": {"q": "a dog"}}}  # not multipart
    for status, form in forms.items():
        assert http.post("/api/search", **form, auth=USER).status_code == status  # the form's own fault
        for who in ({}, {"auth": ("alice", "wrong")}):
            answer = http.post("/api/search", **form, **who)
            assert answer.status_code == 401, (status, who, answer.text)
            assert answer.headers["www-authenticate"].startswith("Basic")
    assert ran == []
    assert http.post("/api/search", files=picture, data={"q": "a dog"}, auth=USER).json() == {"ok": True}
    assert ran == [{"q": "a dog"}]
