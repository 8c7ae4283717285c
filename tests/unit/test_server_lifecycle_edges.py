"""The web server's edges, without serving: a port another server holds where Gradio tries it first
(``webui/__main__.py``), an index replaced by one of another model while the app runs
(``Handlers.engine``), the /api trailing-slash redirect behind a proxy (``rest_routes``), and which
connections the stop closes (``stopping.end_mcp_streams``)."""

from __future__ import annotations

import shutil
import socket
from types import SimpleNamespace

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

import webui.__main__ as cli
from clipsearch import ModelUnavailable, SearchEngine, Settings, cutoff
from clipsearch.index_handle import IndexHandle
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save
from webui.handlers import Handlers
from webui.rest_routes import reading, refusing_the_rest


@pytest.fixture
def no_model(monkeypatch):
    """``main`` that fails the test if it loads a model."""
    def load(*args, **kwargs):
        raise AssertionError("the model loaded before the port was checked")

    monkeypatch.setattr(cli, "load_and_warm_up", load)


def test_a_port_held_on_127_0_0_1_is_a_usage_error_with_another_host_too(tmp_path, no_model, capsys):
    """Gradio binds 127.0.0.1:PORT first whatever --host says: a port held there is refused before
    the model loads, not after it, in Gradio's traceback (127.0.0.2 is another loopback address, as
    a LAN address or ::1 would be another address)."""
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]
        with pytest.raises(SystemExit) as stopped:
            cli.main(["--index", str(tmp_path / "index"), "--port", str(port), "--host", "127.0.0.2"])
    assert stopped.value.code == 2
    assert (f"error: cannot serve on 127.0.0.2:{port}: the port is in use on 127.0.0.1 (another clipsearch, "
            "or another server?), where the web server tries it first: pass another --port") in capsys.readouterr().err


def test_a_port_taken_as_the_server_starts_is_a_usage_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    """Taken between the check and the launch (Gradio's own words then: "Cannot find empty port")."""
    monkeypatch.setattr(cli, "check_port", lambda parser, host, port: None)
    monkeypatch.setattr(cutoff, "SHARED_FITS", cutoff.SHARED_FITS)  # main switches the process's fits
    monkeypatch.setattr("webui.app.build_app", lambda engine, settings, overrides, **options: _Blocks())

    def taken(blocks, **kwargs):
        raise OSError(f"Cannot find empty port in range: {kwargs['server_port']}-{kwargs['server_port']}. You "
                      "can specify a different port by setting the GRADIO_SERVER_PORT environment variable")

    monkeypatch.setattr("webui.rest.launch", taken)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--index", str(tmp_path / "none"), "--port", "7931", "--host", "127.0.0.2"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert ("error: cannot serve on 127.0.0.2:7931: the port is in use (another clipsearch, or another server?): "
            "pass another --port") in err
    assert "Traceback" not in err and "GRADIO_SERVER_PORT" not in err


class _Blocks:
    def queue(self, **kwargs) -> _Blocks:
        return self


# --- an index of another model put in the place of the one served --------------------------------------
def build(settings: Settings, encoder: FakeEncoder, photos) -> None:
    writer = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    writer.index_folder(photos)
    writer.close()


def reader(settings: Settings, encoder: FakeEncoder) -> SearchEngine:
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp), settings=settings, writable=False)
    engine._watch.every = 0  # a look at the folder at every request
    return engine


@pytest.fixture
def replaced(tmp_path):
    """(settings, photos, served): an index built with the fake model, served by ``Handlers``
    whose opener, as ``python -m webui``'s, opens an index with the model its stamp names."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    for i in range(4):
        save(photo(seed=i), tmp_path / "photos" / f"p{i}.jpg")
    models = {"fake": FakeEncoder(), "other": FakeEncoder(dim=24, name="other")}
    build(settings, models["fake"], tmp_path / "photos")

    def open_engine() -> SearchEngine:  # SearchEngine.for_reading: the model the index was built with
        return reader(settings, models[IndexHandle(settings).stamp["model"]])

    served = Handlers(reader(settings, models["fake"]), settings, open_engine=open_engine)
    yield settings, tmp_path / "photos", served, models
    served.close()


def test_an_index_built_again_with_another_model_is_searched_without_a_restart(replaced):
    settings, photos, served, models = replaced
    assert len(served.query("red", None, 10, fold=False)) == 4
    first = served.engine()
    shutil.rmtree(settings.index_dir)
    build(settings, models["other"], photos)  # `python -m indexer PHOTOS --index DIR --model OTHER`
    found = served.query("red", None, 10, fold=False)  # was: ModelMismatch "built with another model", every time
    assert len(found) == 4
    assert served.engine() is not first and served.engine().encoder.stamp["model"] == "other"
    assert served.engine() is served.engine()  # opened once, not at every request


def test_an_index_whose_model_cannot_load_says_so_and_is_tried_again(replaced):
    settings, photos, served, models = replaced
    opener = served.open_engine
    served.open_engine = lambda: (_ for _ in ()).throw(ModelUnavailable("cannot load the weights of model other"))
    shutil.rmtree(settings.index_dir)
    build(settings, models["other"], photos)
    for _ in range(2):
        with pytest.raises(ModelUnavailable, match="cannot load the weights of model other"):
            served.query("red", None, 10, fold=False)
    served.open_engine = opener  # the weights downloaded meanwhile: the next request loads them
    assert len(served.query("red", None, 10, fold=False)) == 4


# --- the /api redirect of a path with a slash after it, behind a proxy ------------------------------------
@pytest.fixture
def api_behind_proxy():
    """/api/search and /api/saved as ``rest.mount`` puts them, in an app told ``--root-path /photos``."""
    router = APIRouter(prefix="/api")
    for path in ("/search", "/saved"):
        reading(router, path)(lambda: {"results": []})
    refusing_the_rest(router)
    app = FastAPI()
    app.root_path = "/photos"  # as Gradio's App is told --root-path
    app.router.routes[:0] = router.routes
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("route", ["search", "saved"])
def test_the_redirect_of_a_slash_after_a_route_stays_under_the_proxys_path(api_behind_proxy, route):
    """A proxy serving the app under https://nas:8443/photos/ (nginx's proxy_pass .../; takes /photos
    off): the redirect pointed at http://127.0.0.1/api/..., outside /photos/, on the proxy's host."""
    answer = api_behind_proxy.get(f"/api/{route}/", params={"q": "red"}, follow_redirects=False,
                                  headers={"x-forwarded-host": "nas:8443", "x-forwarded-proto": "https"})
    assert answer.status_code == 307
    assert answer.headers["location"] == f"https://nas:8443/photos/api/{route}?q=red"


def test_the_redirect_keeps_the_servers_own_address_without_a_proxy(api_behind_proxy):
    """A caller on the server's own computer, with the path the app was told: no query, none added."""
    answer = api_behind_proxy.get("/api/search/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "http://testserver/photos/api/search"


# --- the assistants' MCP event streams at the stop ---------------------------------------------------------
class _Connection:
    """What ``stopping.end_mcp_streams`` reads of one of uvicorn's connections."""

    def __init__(self, method: str, path: str, complete: bool = False) -> None:
        self.cycle = SimpleNamespace(scope={"method": method, "path": path}, response_complete=complete)
        self.transport = SimpleNamespace(closed=False)
        self.transport.close = lambda: setattr(self.transport, "closed", True)
        self.loop = SimpleNamespace(call_soon_threadsafe=lambda close: close())


def test_the_stop_closes_the_assistants_event_streams_and_leaves_their_calls_to_finish():
    from webui.stopping import end_mcp_streams

    streams = [_Connection("GET", "/gradio_api/mcp/sse"), _Connection("GET", "/gradio_api/mcp/"),
               _Connection("GET", "/photos/gradio_api/mcp/sse")]  # behind a proxy that keeps its path
    left = [_Connection("POST", "/gradio_api/mcp/"),  # a tool call: it ends by itself
            _Connection("GET", "/gradio_api/mcp/sse", complete=True), _Connection("GET", "/api/search"),
            _Connection("GET", "")]
    left[-1].cycle = None  # a connection between two requests: uvicorn's own close ends it
    blocks = SimpleNamespace(server=SimpleNamespace(server_state=SimpleNamespace(connections={*streams, *left})))
    assert end_mcp_streams(blocks) == 3
    assert all(c.transport.closed for c in streams)
    assert not any(c.transport.closed for c in left)
    assert end_mcp_streams(SimpleNamespace()) == 0  # a server not started, or another Gradio's


def test_a_model_that_cannot_load_is_a_503_over_rest_not_a_500():
    """The index replaced by one of a model this machine cannot load (offline, no weights): REST
    answered 500, as for a fault of the server; it is the service not available until the model is."""
    from webui.api_errors import ApiError, translated

    with pytest.raises(ApiError) as refused, translated():
        raise ModelUnavailable("cannot load the weights of model other")
    assert refused.value.status == 503 and "cannot load the weights of model other" in str(refused.value)
