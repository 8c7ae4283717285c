"""A plain REST route on the web app's own server, for scripts and curl (see webui/API.md).

    GET  /api/search?q=TEXT&k=N&folder=DIR&since=YYYY-MM-DD&until=YYYY-MM-DD&min_score=X&ranked=1
    POST /api/search            multipart: image=@photo.jpg (+ the same fields, q optional; region=L,T,R,B)
    GET  /api/similar?file=PATH&k=N   (an indexed photo; region=L,T,R,B: a part of it)
    (both: fold=1 marks each near-duplicate of an earlier result with near_duplicate_of)
    GET  /api/thumbnail?file=PATH     (a JPEG of an indexed photo, never the photo itself)
    GET  /api/photo?file=PATH         (the photo whole, as a download: only with --originals)
    GET  /api/info                    (the index, and the batch sizes the model has seen)
    GET  /api/saved                   (the saved searches; /api/search?saved=NAME runs one)
    GET  /api/topics                  (what the library holds, grouped and named; name=NAME: one's photos)
    POST /api/saved             name=NAME, q, folder, since, until; file=PATH or image=@photo.jpg, region
    DELETE /api/saved?name=NAME       (forgets it)

Answers are JSON; errors are ``{"error": "..."}`` with a 4xx status. A request runs straight in the
server's thread pool (no Gradio queue, no event stream), and shares model calls with whatever
other queries are running (``clipsearch.batching``).

With ``--auth USER:PASS`` every route here, and Gradio's MCP endpoint, needs either HTTP Basic
credentials (the same user and password) or the session cookie of a browser that logged in.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from clipsearch import QueryTerm, UnreadableImage, parse_query, parse_region
from clipsearch.query import check_terms
from clipsearch.region import query_picture

from . import api_answers, mcp_files, mcp_limits, start_check, upload_folders, uploads, waking_queue
from .api_answers import none_kept as _none_kept  # why an answer is empty: shared with the tools
from .api_answers import outside
from .api_errors import ApiError, translated
from .behind_proxy import MCP_PREFIX, public_root
from .handlers import Handlers, _result_dict, api_record
from .matches import strong_results
from .paths import web_path, web_safe
from .rest_auth import Auth, guard_routes, refuse_unauthorized
from .rest_fields import common_fields, file_field, flag, seconds, whole_number
from .rest_form import MAX_UPLOAD_BYTES as MAX_UPLOAD_BYTES  # the limit, as tests and callers read it here
from .rest_form import read_form
from .rest_routes import BeforeListening, reading, refusing_the_rest
from .saved_api import saved_forgotten, saved_list, saved_made, with_saved
from .textui import keeps
from .thumbnails import PREVIEW_SIZE, THUMB_SIZE

log = logging.getLogger(__name__)


# --- the routes --------------------------------------------------------------------------------------
def build_router(handlers: Handlers, auth: Auth) -> APIRouter:
    """The /api routes over the app's handlers (its engine, thumbnail cache and settings)."""
    router = APIRouter(prefix="/api")
    read = functools.partial(reading, router)  # GET, and HEAD (curl -I, uptime monitors) beside it
    guarded = functools.partial(_guarded, auth)

    @read("/search")
    def search_get(request: Request) -> Any:
        return guarded(request, lambda: search(handlers, request, dict(request.query_params), None))

    @router.post("/search")
    async def search_post(request: Request) -> Any:
        return await posted(auth, request, lambda fields, image, name: search(handlers, request, fields, image, name))

    @read("/similar")
    def similar_get(request: Request) -> Any:
        return guarded(request, lambda: similar(handlers, request, dict(request.query_params)))

    @read("/thumbnail")
    def thumbnail_get(request: Request) -> Any:
        return guarded(request, lambda: thumbnail(handlers, dict(request.query_params)))

    @read("/photo")
    def photo_get(request: Request) -> Any:
        return guarded(request, lambda: photo(handlers, dict(request.query_params)))

    @read("/info")
    def info_get(request: Request) -> Any:
        return guarded(request, lambda: info(handlers))

    @read("/saved")
    def saved_get(request: Request) -> Any:
        return guarded(request, lambda: saved_list(handlers))

    @read("/topics")
    def topics_get(request: Request) -> Any:
        return guarded(request, lambda: topics(handlers, request, dict(request.query_params)))

    @read("/duplicates")
    def duplicates_get(request: Request) -> Any:
        return guarded(request, lambda: duplicates(handlers, request, dict(request.query_params)))

    @router.post("/saved")
    async def saved_post(request: Request) -> Any:
        return await posted(auth, request, lambda fields, image, name: saved_made(handlers, fields, image, name),
                            picture=False)

    @router.delete("/saved")
    def saved_delete(request: Request) -> Any:
        return guarded(request, lambda: saved_forgotten(handlers, dict(request.query_params)))

    refusing_the_rest(router)  # last: 404 and 405 as JSON
    return router


def _guarded(auth: Auth, request: Request, run: Callable[[], Any]) -> Any:
    """``run()``'s answer as JSON, for a caller ``auth`` lets in; an ``ApiError`` as its status."""
    if auth.user(dict(request.headers), dict(request.cookies)) is None:
        return refuse_unauthorized()
    try:
        answer = run()
    except ApiError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    return JSONResponse(web_safe(answer)) if isinstance(answer, dict) else answer  # paths.py


async def posted(auth: Auth, request: Request, run: Callable[..., Any], picture: bool = True) -> Any:
    """A POST: the caller checked before its body is read, its form read on the event loop, then
    ``run(fields, image, image's file name)`` in the thread pool (``picture``: the form must hold one)."""
    if auth.user(dict(request.headers), dict(request.cookies)) is None:
        return refuse_unauthorized()
    try:
        fields, image, name = await read_form(request, picture)
    except ApiError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    return await run_in_threadpool(_guarded, auth, request, lambda: run(fields, image, name))


def search(handlers: Handlers, request: Request, fields: dict[str, str], image: bytes | None, name: str | None = None) -> dict:
    """Text and/or picture query with filters: ``{"query", "results", "took_ms"}``; ``saved=NAME``:
    that saved search (its words, and its photo where it keeps one), its folder and dates where the
    request gives none. ``name``: the upload's file name, which tells a camera RAW file as a folder's does."""
    started = time.perf_counter()
    named = os.path.basename(name or "") or "the uploaded file"
    if (fields.get("saved") or "").strip():  # blank: none, as an empty one (DELETE and POST strip it too)
        fields, photo = with_saved(handlers, fields, image)
        image, named = (photo, "the saved search's photo") if photo else (image, named)
    text = fields.get("q") or ""
    k, cut, where, fold = common_fields(fields)
    ranked = flag(fields, "ranked") or cut > 0  # the plain ranking, as a flat cut-off (above 0) lists it
    with translated():
        terms, region = parse_query(text), parse_region(fields.get("region"))
        if (fields.get("region") or "").strip() and image is None:  # the whole picture too (None)
            raise ApiError(400, "a region is a part of a picture: POST the picture (field 'image'), or "
                                "GET /api/similar?file=PATH&region=... for an indexed photo")
        if image is not None:
            check_terms([*terms, QueryTerm(1.0, image=image)])  # the picture is one term: past the limit, not decoded
            picture = query_picture(image, region, handlers.engine().encoder.input_size, path=named,
                                    max_pixels=handlers.settings.max_pixels, timeout=handlers.settings.file_timeout)
            terms.append(QueryTerm(1.0, image=picture))
        if not terms:
            raise ApiError(400, "give q=TEXT (GET or POST) and/or an image file (POST, field 'image')")
        hits = handlers.engine().search(terms, k=k, where=where, ranked=ranked)
        # the videos' matching moments, one a video, where the index holds videos (``--videos``; else no key)
        moments = (_moments(handlers.engine().moments(terms, k=k, where=where), cut, request)
                   if handlers.engine().video_records() else {})
        note = _outside(handlers, hits, where, moments.get("moments"))  # those min_score kept: none, no pointing at them
    results = _cut(_folded(handlers, fold, hits), cut)
    return {"query": text, "image": image is not None, "results": with_thumbnails(results, request),
            **moments, **note, **_none_kept(hits, results, cut),
            "took_ms": round((time.perf_counter() - started) * 1000, 1)}


def similar(handlers: Handlers, request: Request, fields: dict[str, str]) -> dict:
    """Indexed photos like the indexed photo ``file``: same answer shape as ``search``."""
    started = time.perf_counter()
    path = file_field(fields)
    k, cut, where, fold = common_fields(fields)
    with translated():
        engine = handlers.engine()
        if not handlers._is_indexed(engine, path):
            raise ApiError(404, "that photo is not in the index (give file=PATH of an indexed photo)")
        path, region = os.path.abspath(path), parse_region(fields.get("region"))
        try:
            hits = engine.similar(path, k=k, where=where, region=region)
        except UnreadableImage as exc:  # a region is read from the file: gone since it was indexed?
            raise ApiError(404, f"that photo cannot be read now ({exc.reason})") from None
        moments = _moments(engine.similar_moments(path, k=k, where=where, region=region), cut, request) if engine.video_records() else {}
        note = _outside(handlers, hits, where, moments.get("moments"))
    results = _cut(_folded(handlers, fold, hits), cut)
    return {"file": path, "results": with_thumbnails(results, request), **moments,
            **note, **_none_kept(hits, results, cut), "took_ms": round((time.perf_counter() - started) * 1000, 1)}


def _outside(handlers: Handlers, hits: list, where: Any, videos: list | None = None, of: str = "indexed photo") -> dict:
    """The answer's ``note`` where a folder or dates left it empty (``api_answers.outside``)."""
    return outside(handlers, hits, where, videos, of)


def _moments(found: list, cut: float, request: Request) -> dict:
    """The answer's ``moments``: those ``min_score`` keeps (and so the ones its ``note`` may point at)."""
    return {"moments": with_thumbnails(_cut([m.to_dict() for m in found], cut), request)}


def topics(handlers: Handlers, request: Request, fields: dict[str, str]) -> dict:
    """GET /api/topics: ``{"topics": [{name, size, words, examples}]}``, largest first, each example
    with its thumbnail; ``name=NAME``: that topic's photos, nearest its centre first, as a search's
    results (the same ``k``, ``folder``, ``since``, ``until``, ``min_score``, ``fold``, and ``note``)."""
    started = time.perf_counter()
    k, cut, where, fold = common_fields(fields)  # checked with a name or without (a wrong one: 400)
    with translated():
        if not fields.get("name"):
            return {"topics": listed_topics(handlers.engine().topics(), request)}
        hits = handlers.engine().topic_photos(fields["name"], limit=k, where=where)
        note = _outside(handlers, hits, where, of="photo of that topic")  # an empty answer says why, as a search's
    results = _cut(_folded(handlers, fold, hits), cut)
    return {"topic": fields["name"], "results": with_thumbnails(results, request), **note,
            **_none_kept(hits, results, cut), "took_ms": round((time.perf_counter() - started) * 1000, 1)}


def listed_topics(found: list, request: Any, examples: int = 6) -> list[dict]:
    """Topics as the API lists them (REST, the MCP tool): each with its first ``examples`` photos,
    a ``file`` and its ``thumbnail`` URL each."""
    return [{**t.to_dict(examples=0), "examples": with_thumbnails([{"path": p} for p in t.paths[:examples]], request)}
            for t in found]


def duplicates(handlers: Handlers, request: Request, fields: dict[str, str]) -> dict:
    """GET /api/duplicates: ``{"groups": [{kind, paths, photos}]}``, the photos that are the same
    shot, best copy first, as the page's Duplicates panel and ``/duplicates`` find them (``bursts=1``:
    frames of one moment too, ``"kind": "burst"``), each photo with its thumbnail's URL. The page's
    last pass is reused while the index is unchanged; nothing is deleted or moved."""
    started = time.perf_counter()
    bursts = flag(fields, "bursts")
    with translated():  # the page's Duplicates panel (duplicates_view.build_duplicates_view), which every app has
        groups = handlers.duplicates_view.listed(bursts, request)
    return {"groups": groups, "took_ms": round((time.perf_counter() - started) * 1000, 1)}


def thumbnail(handlers: Handlers, fields: dict[str, str]) -> FileResponse:
    """A JPEG of an indexed photo (256 px, or ``size=1024``), or with ``at=SECONDS`` of the frame of
    an indexed video shown then; other paths are refused."""
    path = file_field(fields, "an indexed photo, or video with at=SECONDS")
    size = whole_number(fields.get("size"), "size", THUMB_SIZE)
    if size not in (THUMB_SIZE, PREVIEW_SIZE):
        raise ApiError(400, f"size is {THUMB_SIZE} or {PREVIEW_SIZE}")
    if fields.get("at"):
        thumb = handlers.thumbs.get_moment(_indexed(handlers, path, video=True).path, seconds(fields["at"]), size)
    else:
        record = _indexed(handlers, path)
        thumb = handlers.thumbs.get(os.path.abspath(path), size, (record.mtime_ns, record.size))  # kept if not on disk
    return FileResponse(thumb, media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})


def photo(handlers: Handlers, fields: dict[str, str]) -> FileResponse:
    """An indexed photo whole, as a download, or an indexed video, to play (from ``#t=SECONDS``; a
    range at a time): only when the app runs with ``--originals``."""
    if not handlers.originals:
        raise ApiError(404, "this server hands out thumbnails and previews only: start it with "
                            "--originals to allow downloading the photos whole")
    path = file_field(fields, "an indexed photo or video")
    with translated():
        video = handlers.engine().video_record(path)
    record = video or _indexed(handlers, path)
    if not os.path.isfile(record.path):
        raise ApiError(404, "that photo is not on disk now (a disk not mounted?)")
    name = os.fsencode(os.path.basename(record.path)).decode("utf-8", "replace")  # a header holds no surrogate
    return FileResponse(record.path, filename=name, content_disposition_type=(
        "inline" if video else "attachment"), media_type=mimetypes.guess_type(record.path)[0] if video else None)


def _indexed(handlers: Handlers, path: str, video: bool = False) -> Any:
    """The index's record of the photo (or ``video``) at ``path``; a 404 for any path it does not hold
    (a 400 for an indexed video asked as a photo: it has a frame a moment, named by ``at``)."""
    with translated():
        if (record := (handlers.engine().video_record if video else handlers.engine().record)(path)) is None:
            if not video and handlers.engine().video_record(path) is not None:
                raise ApiError(400, "that is a video: give at=SECONDS, the moment whose frame to show")
            raise ApiError(404, f"that {'video' if video else 'photo'} is not in the index")
    return record


def info(handlers: Handlers) -> dict:
    """How many photos, which model, which folders; and the batch sizes the model has seen."""
    with translated():
        engine = handlers.engine()
        about = engine.info()
    stats = getattr(engine.encoder, "stats", None)
    return {"count": about.get("count", 0), "model": about.get("stamp", {}).get("model"),
            "folders": about.get("folders", []), "left_out": about.get("left_out", []),
            "not_mounted": about.get("not_mounted", {}), "unreadable_kept": about.get("unreadable_kept", {}),
            "last_indexed": about.get("last_indexed"),
            "last_checked": about.get("last_checked"),
            "batches": stats.as_dict() if stats is not None else {}}


def with_thumbnails(results: list[dict], request: Any) -> list[dict]:
    """API records (the photo's path under "file") with the URL of each one's thumbnail."""
    base = public_root(request)
    out = []
    for result in results:
        record = api_record(result)
        at = f"&at={result['at']}" if "at" in result else ""  # a video's moment: its frame
        record["thumbnail"] = f"{base}/api/thumbnail?file={quote(web_path(result['path']), safe='')}{at}"
        out.append(record)
    return out


def _cut(results: list[dict], cut: float) -> list[dict]:
    """``min_score``, as on the other routes: 0 keeps all, above 0 a flat cut-off, below 0 the
    results the automatic cut-off calls strong matches."""
    if cut < 0:
        return strong_results(results)
    return [r for r in results if keeps(r, cut)]  # a photo whose words match always stays


def _folded(handlers: Handlers, fold: bool, hits: list) -> list[dict]:
    """The hits as dicts; with ``fold`` (``fold=1``), each near-duplicate of an earlier one (a copy of
    the same shot, as the page folds it under "+2 similar") carries ``near_duplicate_of``: its path."""
    heads = {}
    if fold:
        with translated():
            heads = {id(copy): head.path for head, copies in handlers.engine().fold(hits) for copy in copies}
    return [{**_result_dict(h), **({"near_duplicate_of": heads[id(h)]} if id(h) in heads else {})} for h in hits]


def mount(demo: Any) -> Auth:
    """Add the /api routes to a launched demo's server, and put the MCP endpoint and FastAPI's schema
    behind --auth."""
    return give_mcp_a_session(demo, install_routes(demo.app, demo.handlers))


def install_routes(app: Any, handlers: Handlers) -> Auth:
    """The /api routes on ``app``, in front of Gradio's own, and its MCP endpoint and FastAPI's schema
    behind --auth."""
    auth = Auth(app)
    router = build_router(handlers, auth)
    # In front of Gradio's own routes; one slice assignment, so a request never sees half of it.
    app.router.routes[:0] = router.routes
    guard_routes(app, auth, MCP_PREFIX)
    return auth


def give_mcp_a_session(demo: Any, auth: Auth) -> Auth:
    """Gradio runs each MCP tool call through its own queue with a gradio_client it creates without
    credentials, which --auth refuses: give it one that carries a session (once the server answers)."""
    mcp_server = getattr(demo, "mcp_server_obj", None)
    if mcp_server is not None and auth.required:
        from gradio_client import Client

        mcp_server._client_instance = Client(
            demo.local_url, download_files=False, verbose=False, analytics_enabled=False,
            ssl_verify=False, _skip_components=False,
            headers={"x-gradio-user": "mcp", "cookie": auth.session_cookie("mcp")})
    return auth


def launch(demo: Any, *, mcp: bool = True, **launch_kwargs: Any) -> Auth:
    """``demo.launch`` (without blocking) with MCP on or off, then the /api routes mounted.

    The caller blocks with ``stopping.serve_until_stopped(demo)`` (the command line) or closes the
    demo (tests).
    Gradio's queue is woken by its events instead of polling for them (``waking_queue``), its
    uploads are written without a thread hop per chunk (``uploads``), an assistant's picture sent
    inline is deleted as uploads are (``mcp_files``), the folders of the uploads it deletes go with
    them (``upload_folders``), its check that the server answers waits for a busy machine
    (``start_check``), and an MCP tool's empty answer says why beside it (``api_answers``).
    """
    waking_queue.install(demo)
    uploads.install()
    upload_folders.install()
    mcp_limits.install()
    api_answers.install()
    mcp_files.install()
    start_check.install()
    first = BeforeListening(lambda app: install_routes(app, demo.handlers))  # no request finds them missing
    demo.launch(prevent_thread_lock=True, mcp_server=mcp, app_kwargs={"lifespan": first.lifespan}, **launch_kwargs)
    return mount(demo) if first.result is None else give_mcp_a_session(demo, first.result)
