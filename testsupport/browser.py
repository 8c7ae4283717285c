"""Browser-test plumbing shared by tests/browser: the app served in-process, and a Chromium page on it.

Debian's Chromium (``/usr/bin/chromium``) is driven by Playwright with the offline launch flags:
``playwright install`` cannot work on a machine without internet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .net import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
TIMEOUT = 120_000  # ms; the machine may be busy
VIEWPORT = {"width": 1400, "height": 1100}


@contextmanager
def serve_app(engine: Any, settings: Any, originals: bool = False,
              wrap_server: Callable[[Any], Any] | None = None, **launch_kwargs: Any) -> Iterator[str]:
    """The web app over ``engine``, served on a free local port; yields its URL, closes it after.
    ``originals`` as ``--originals``; ``launch_kwargs`` go to ``launch`` beside the app's own
    (``root_path``, say). ``wrap_server``, given the server's ASGI app (Gradio's, with its
    middleware), returns the one to serve instead: a test's own middleware around it."""
    from webui import build_demo, launch_options
    from webui.rest import launch

    demo = build_demo(engine, settings, originals=originals)
    port = free_port()
    demo.queue()
    # As python -m webui serves it: the REST routes mounted, Gradio's queue woken by its events.
    launch(demo, mcp=False, server_name="127.0.0.1", server_port=port, quiet=True, **launch_options(settings, engine),
           **launch_kwargs)
    if wrap_server is not None:  # Starlette builds its middleware stack at the first request (the start check's)
        server = demo.app
        server.middleware_stack = wrap_server(server.middleware_stack or server.build_middleware_stack())
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        demo.handlers.close()


@contextmanager
def served_library(root: Path, library: Path | None = None, originals: bool = False,
                   **launch_kwargs: Any) -> Iterator[dict[str, Any]]:
    """The demo model over ``library`` (``root/"photos"`` unless told; the caller fills it first),
    indexed into ``root/"index"`` and ``root/"cache"`` and served as ``serve_app`` serves it, with
    GRADIO_TEMP_DIR set to ``root/"gradio"`` meanwhile (a test's page sets it back, as Gradio reads
    it per request). Yields ``{"url", "root", "gradio", "library", "engine"}``, a dict the caller
    may add its own entries to; the app and then the engine close after."""
    from clipsearch import ModelSpec, SearchEngine, Settings

    library = root / "photos" if library is None else library
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
        engine = SearchEngine.for_writing(settings)
        engine.index_folder(library)
        with serve_app(engine, settings, originals=originals, **launch_kwargs) as url:
            yield {"url": url, "root": root, "gradio": root / "gradio", "library": library, "engine": engine}
        engine.close()


@contextmanager
def served_shots(root: Path, count: int, **serving: Any) -> Iterator[dict[str, Any]]:
    """``served_library`` over ``count`` plain 320x240 photos (``root/"photos"/shot-N.jpg``), for a
    page test that needs a few results and nothing in particular in them; ``serving`` as
    ``serve_app`` takes it."""
    from .imagefactory import photo

    library = root / "photos"
    library.mkdir(parents=True)
    for seed in range(count):
        photo(320, 240, seed=seed).save(library / f"shot-{seed}.jpg", quality=90)
    with served_library(root, **serving) as app:
        yield app


def shots_app(name: str, count: int) -> Any:
    """A test module's ``app`` fixture (module-scoped): ``served_shots`` of ``count`` photos in a
    folder named ``name``, for a page test that needs a few results and nothing in particular."""

    @pytest.fixture(scope="module")
    def app(tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
        with served_shots(tmp_path_factory.mktemp(name), count) as served:
            yield served

    return app


class _Module:
    """The Chromium the tests of the module running share (``module_browser``), or None."""

    browser: Any = None


@contextmanager
def _launched() -> Iterator[Any]:
    """Playwright started and a Chromium launched, both closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def session_browser() -> Iterator[tuple[Any, Any]]:
    """Playwright started and a Chromium launched once for all the browser modules of a run (a
    worker's: tests/browser/conftest.py's session fixture), both closed at its end, rather than
    once a module (about a second each). Yields the browser and Playwright's event loop.

    Playwright's sync API marks its loop as the thread's running one between its calls (its loop
    runs in a greenlet of the same thread), so the test's thread cannot start another meanwhile
    (``asyncio.run``, a second ``sync_playwright``). The tests of the other modules of the run must
    be able to: the loop is marked running only while a browser module's tests run
    (``module_browser``), as it was while each module started a Playwright of its own."""
    with _launched() as browser:
        loop = asyncio.get_running_loop()
        asyncio._set_running_loop(None)
        try:
            yield browser, loop
        finally:
            asyncio._set_running_loop(loop)  # Playwright's calls that close it need it marked


@contextmanager
def module_browser(shared: tuple[Any, Any]) -> Iterator[Any]:
    """The run's Chromium (``session_browser``'s ``shared``: it and Playwright's loop) for the tests
    of a module (tests/browser/conftest.py's fixture): each page ``open_page`` or ``chromium``
    opens meanwhile gets a context of its own (its own cookies, storage and cache, as a fresh
    browser would). Playwright's loop is marked running while they run, as Playwright's calls
    need, and no longer after, for the modules that run next."""
    browser, loop = shared
    asyncio._set_running_loop(loop)
    _Module.browser = browser
    try:
        yield browser
    finally:
        _Module.browser = None
        asyncio._set_running_loop(None)


@contextmanager
def chromium() -> Iterator[Any]:
    """A Chromium to open pages in: the module's (``module_browser``), else one of its own."""
    if _Module.browser is not None:
        yield _Module.browser
    else:
        with _launched() as browser:
            yield browser


@contextmanager
def unopened_page(on_request: Callable[[Any], None] | None = None, **page_options: Any) -> Iterator[Any]:
    """A Chromium page (Playwright's sync API) in a context of its own, at no address yet: for a
    test that goes to the address it needs itself (``page.goto``), which a page ``open_page``
    opened would load a second time. Closed after.

    ``on_request`` sees every request the page makes, its own loading included.
    """
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT, **page_options)
        try:
            page.set_default_timeout(TIMEOUT)
            if on_request is not None:
                page.on("request", on_request)
            yield page
        finally:
            page.context.close()


@contextmanager
def open_page(url: str, on_request: Callable[[Any], None] | None = None,
              ready: str = "#query textarea, #query input", **page_options: Any) -> Iterator[Any]:
    """A Chromium page on ``url``, once the search box is there (``ready``: what to wait for instead,
    a login form, say) (Playwright's sync API), in a context of its own, closed after.

    ``on_request`` sees every request the page makes, its own loading included.
    """
    with unopened_page(on_request, **page_options) as page:
        page.goto(url)
        page.locator(ready).first.wait_for()
        yield page


# The pictures on the page have loaded (or failed to): every one the page loads at once, and the
# lazy ones (the results' thumbnails) within 1,000 px of the window, less than the distance at which
# Chromium starts loading a lazy one (1,250 px): one further away may never be asked for.
_PICTURES_LOADED = """() => [...document.images].filter((img) => {
  const box = img.getBoundingClientRect();
  return img.loading !== "lazy" || (box.bottom > -1000 && box.top < window.innerHeight + 1000);
}).every((img) => img.complete)"""


def painted(page: Any) -> None:
    """Waits until the pictures on ``page`` (``_PICTURES_LOADED``) have loaded, or failed to, and a
    frame has been drawn with them: what a screenshot for people to look at waits for, rather than
    a guess of a few hundred ms that a busy machine outlasts."""
    page.wait_for_function(_PICTURES_LOADED, timeout=TIMEOUT)
    page.evaluate("() => new Promise((drawn) => requestAnimationFrame(() => requestAnimationFrame(drawn)))")


def chromium_present() -> bool:
    return Path(CHROMIUM).exists()
