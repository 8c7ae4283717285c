"""``clipsearch search --server URL``: the search asked of a running web app, over its REST route.

The app has its model loaded and warm, so the answer comes in a fraction of a second, where a
search in this process first imports torch and loads the model (about 4 s on this project's
machine). It also reaches a library served from another computer (a NAS): its folders are the
server's paths. Credentials go in the URL (``http://me:secret@nas:7860/``). Near-duplicates fold as a
search here folds them: the server marks them (``fold=1``), and ``Folding`` reads the marks.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import httpx

from clipsearch import ClipSearchError, MomentResult, Region, SearchResult, UnreadableImage
from clipsearch.region import read_query_picture
from clipsearch.web_names import local_path, web_path

from .flags import image_refused
from .saved import no_such

TIMEOUT = 120.0  # seconds: a first search may wait for a server that is still loading its model


class ServerError(ClipSearchError):
    """The server could not be reached, or refused the search (its own words)."""


class QueryRefused(ServerError):
    """The server refused what was asked as unusable (a 400 or 422, with its reason): a query whose
    terms cancel out, a folder that is not a full path, a picture it cannot use, or a name no search
    is saved under (its 404 says which). A usage error (exit 2), as the same mistake is in a search
    done here; the message is the server's reason alone, or what a search here says of it."""


def search(url: str, args: argparse.Namespace, picture: str | None, region: Region | None = None
           ) -> tuple[list[SearchResult], Folding | None, list[MomentResult], str | None]:
    """The hits of ``args`` (query or ``--saved``, the filters) and ``picture`` (or its ``region``), as the
    local search returns them: all ``k``, each marked ``strong`` by the server's automatic cut-off,
    whatever ``--min-score`` (``print_hits`` lists those it keeps);
    unless ``--no-fold``, how the server folds their near-duplicates (``print_hits``' ``fold``); the
    videos' matching moments, where the server's index reads videos; and why no photo was found
    where its answer says (its ``note``: "the index holds no photo in /x: it covers /photos"), else None."""
    # all k, marked by the server's automatic cut-off; a number (0 too) asks for the plain ranking
    # (ranked=1), as the local search lists it, all k of it: ``print_hits`` lists those at or above
    # the number (and those whose words match, whatever their score), and says how many scored
    # less, or which scored best when none reaches it, as it says for a search here
    fields: dict[str, Any] = {"k": args.k, "min_score": 0, "fold": int(not args.no_fold),
                              **({"ranked": 1} if args.min_score != "auto" else {})}
    fields.update({name: _sendable(value, name == "folder") for name, value in (
        ("saved", args.saved), ("q", args.query.strip()), ("folder", args.folder), ("since", args.since),
        ("until", args.until), ("region", region and str(region))) if value})
    try:
        with httpx.Client(base_url=url.rstrip("/") + "/", timeout=TIMEOUT) as http:
            if picture:
                data = _read(picture)
                name = _sendable(Path(picture).name, path=True)
                answer = http.post("api/search", data=fields, files={"image": (name, data)})
            else:
                answer = http.get("api/search", params=fields)
    except httpx.InvalidURL as exc:
        raise ServerError(f"--server {_shown(url)} is not a URL ({exc}): give one like http://HOST:7860/") from None
    except httpx.HTTPError as exc:
        raise ServerError(f"no answer from {_shown(url)} ({type(exc).__name__}: {exc}); is "
                          "`python -m webui` running there?") from None
    if answer.status_code == 401:
        raise ServerError(f"{_shown(url)} asks for its --auth credentials: put them in the URL, "
                          "http://USER:PASSWORD@HOST:PORT/")
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code != 200 and isinstance(body, dict):
        raise _refused(url, answer.status_code, body, picture)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):  # HTML, or another JSON
        raise ServerError(f"{_shown(url)} answered {answer.status_code}, not a clipsearch answer{WHICH}")
    hits = [_hit(result) for result in body["results"]]
    heads = {id(hit): result.get("near_duplicate_of") and local_path(result["near_duplicate_of"])
             for hit, result in zip(hits, body["results"], strict=True)}
    moments = [_moment(found) for found in body.get("moments", [])]
    return hits, None if args.no_fold else Folding(heads), moments, _why_none(body.get("note"))


# REST's note where a folder or dates left no photo: "No results: WHY", or "No photo results: WHY;
# the videos' matching moments are in moments"
NONE_FOUND = re.compile(r"No (?:photo )?results: (.+?)(?:; the videos' matching moments are in moments)?")


def _why_none(note: Any) -> str | None:
    """The reason the server's ``note`` gives for finding no photo ("the index holds no photo in /x:
    it covers /photos", or that none is in that folder and date range), as a search here says it
    after "No result: "; None for any other note, or none."""
    found = NONE_FOUND.fullmatch(note) if isinstance(note, str) else None
    return found and found.group(1)


WHICH = ": is `python -m webui` what serves that URL (with --root-path PATH: http://HOST:PORT/PATH/)?"


def _refused(url: str, status: int, body: dict[str, Any], picture: str | None) -> ServerError:
    """Why the server did not search, as a search here says it: a name no search is saved under, a
    picture it cannot use, a query it cannot search with (400, 422) are usage errors (``QueryRefused``);
    a 404 without the mark of a saved search's name (a server that is not clipsearch's, a URL with
    a wrong path, a release from before that mark) and any other status, a failure (exit 1)."""
    reason = body.get("error") or body.get("detail") or status
    if status == 404 and isinstance(name := body.get("unknown_saved_search"), str):
        return QueryRefused(no_such(name, [str(known) for known in body.get("saved_searches") or []]))
    if status in (400, 422) and picture and isinstance(unread := body.get("unreadable"), dict):
        return QueryRefused(image_refused(UnreadableImage(picture, unread["reason"], unread.get("detail") or "")))
    if status in (400, 422):
        return QueryRefused(str(reason))
    if status in (404, 405):  # no such route there: another server, another path, or a release before
        return ServerError(f"{_shown(url)} answered {status} ({reason}) to api/search{WHICH}")
    return ServerError(f"{_shown(url)} refused the search: {reason}")


class Folding:
    """``SearchEngine.fold`` for hits the server marked: (hit, [its near-duplicates]) for each
    result of a list that other results of it copy."""

    def __init__(self, heads: dict[int, str | None]) -> None:
        self.heads = heads  # id(hit) -> the path of the result it copies, or None

    def __call__(self, hits: list[SearchResult]) -> list[tuple[SearchResult, list[SearchResult]]]:
        by_path = {hit.path: hit for hit in hits}
        copies: dict[str, list[SearchResult]] = {}
        for hit in hits:
            head = self.heads.get(id(hit))
            if head in by_path:
                copies.setdefault(head, []).append(hit)
        return [(by_path[head], under) for head, under in copies.items()]


def _sendable(value: Any, path: bool = False) -> Any:
    r"""A field as HTTP can carry it. A byte that is not UTF-8 (a Latin-1 name or terminal: a lone
    surrogate here) stopped the request with a traceback: in a path it goes as ``\xNN``, which the
    server reads back as that byte (``web_names.local_path``), as it sends the results' paths; in
    words as U+FFFD, which is what the model's tokenizer reads a lone surrogate as in a search here."""
    if not isinstance(value, str):
        return value
    if path:
        return web_path(value)
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _read(picture: str) -> bytes:
    """The ``--image`` file's bytes, to send; one it cannot read (a folder, a file it may not read)
    or over the limit a search here takes (an endless pipe: refused after 50 MB read, not streamed to
    the server for ever) is refused as a search here refuses it (``QueryRefused``: exit 2)."""
    try:
        return read_query_picture(picture)
    except UnreadableImage as exc:
        raise QueryRefused(image_refused(exc)) from None


def _hit(result: dict[str, Any]) -> SearchResult:
    """A result the server sent, its ``strong`` the server's automatic cut-off's, as a search here
    marks it: a number given to ``--min-score`` only picks which are listed (``print_hits``)."""
    return SearchResult(local_path(result["file"]), result["score"], result["width"], result["height"], result["date_taken"],
                        result["size"], result["mtime_ns"], result["strong"], result.get("text"))


def _moment(found: dict[str, Any]) -> MomentResult:
    return MomentResult(local_path(found["file"]), found["at"], found["score"], found["duration"], found["width"], found["height"],
                        found["date_taken"], found["size"], found["mtime_ns"], found["strong"], tuple(found["also"]),
                        found.get("words"))


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)
