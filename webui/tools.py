"""The app's named endpoints: for scripts (gradio_client) and, as MCP tools, for assistants.

``/search_text``, ``/search_image`` and ``/similar`` keep the names and inputs scripts rely on
(webui/API.md; their cut-off, folder and date filters after the first inputs are optional);
``/info`` says what the index holds, ``/saved_searches`` what the user saved (``/run_saved_search``
runs one, its example photo too; ``/save_search`` keeps a new one), and ``/look_at_photo`` hands an
assistant an indexed photo to see. Gradio serves the same functions as Model Context Protocol tools at
``/gradio_api/mcp/sse`` when the app runs with MCP on: each tool is named after its function and
described by its docstring (the ``Args:`` lines describe the parameters), so the docstrings here are
written for a language model to read. What they refuse is said as ``api_refusals.Refused``.
"""

# No `from __future__ import annotations`: Gradio reads the hints at run time.
import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

import gradio as gr

from clipsearch import ClipSearchError, InvalidQuery, parse_query, parse_region
from clipsearch.saved import SavedSearches

from .api_answers import for_caller, photos_found, photos_like, saved_run, topic_photos
from .api_refusals import Refused, refused
from .fetched import guard_fetches
from .filters import api_filter, clamp_k
from .handlers import Handlers, NoIndexYet, NotIndexed
from .matches import api_cut
from .paths import local_path
from .rest import listed_topics, thumbnail, with_thumbnails
from .saved_api import save_from_api
from .thumbnails import PREVIEW_SIZE

LOOK_SIZE = 512  # px, the longer side of the JPEG an assistant looks at (a few hundred tokens of its context)


def register(handlers: Handlers, encoder_bound: dict[str, Any], image_input: Any) -> None:
    """Declare the named endpoints inside the Blocks being built. ``image_input`` makes the
    upload component of /search_image (a real component: Gradio then only accepts uploaded files)."""

    @whole_arg_lines
    def search_photos_by_text(text: str, k: int = 20, min_score: float = 0.0, folder: str = "", since: str = "",
                              until: str = "", request: gr.Request = None) -> list[dict]:
        """Search the user's own photo library by meaning, with a text description.

        Describe what should be in the picture, as a caption would ("a dog on a beach at
        sunset"). Terms can be combined: "beach + sunset - people" adds and subtracts meanings,
        "2:dog + grass" weights a term. Results are best first; each has the photo's path on the
        user's computer ("file"), a similarity "score" (higher is closer; compare scores within
        one query only), "strong" (true when the automatic cut-off calls it a real match), its size,
        date taken if known, and a "thumbnail" URL of a small JPEG. When no result is strong, the
        library most likely holds no such photo: say so rather than offer the nearest ones. An empty
        list comes with a note that says why (no photo in that folder or those dates, none strong).

        Args:
            text: what to look for, in words (English works best; at most 10 terms, 2,000 characters).
            k: how many photos to return, 1 to 500 (default 20).
            min_score: 0 returns all k; -1 only the strong matches (the automatic cut-off, decided
                per query: each result's "strong" says whether it is one); above 0, leave out
                results scoring less than this.
            folder: only photos in this folder and below it (a full path, as "file" shows them);
                empty for the whole library.
            since: only photos taken on or after this day (YYYY-MM-DD; a month YYYY-MM or a year
                YYYY from its first day); empty for no limit.
            until: only photos taken on or before this day (YYYY-MM-DD, YYYY-MM or YYYY, to its
                last day); empty for no limit.
        """
        return _answered(photos_found(handlers, str(text or ""), None, k, min_score, folder, since, until), request)

    @whole_arg_lines
    def find_similar_photos(path: str, k: int = 20, folder: str = "", since: str = "", until: str = "",
                            region: str = "", request: gr.Request = None) -> list[dict]:
        """Find photos in the library that look like one of its photos (same scene, subject or style),
        or like a part of it (region).

        Use a "file" path returned by a search. Paths that are not indexed photos are refused.
        Results are best first, the photo itself left out, with the same fields as a search:
        "file", "score", size, date and a "thumbnail" URL.

        Args:
            path: the "file" of an indexed photo, exactly as a search returned it.
            k: how many photos to return, 1 to 500 (default 20).
            folder: only photos in this folder and below it (a full path); empty for all.
            since: only photos taken on or after this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            until: only photos taken on or before this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            region: only this part of the picture ("the dog in the corner"): LEFT,TOP,RIGHT,BOTTOM
                as fractions of its width and height (0.5,0,1,0.5 is the top right quarter), as
                percentages (50%,0%,100%,50%) or in pixels; empty for the whole picture.
        """
        return _answered(photos_like(handlers, path, k, folder, since, until, region), request)

    @whole_arg_lines
    def search_photos_by_image(image: dict | None, k: int = 20, min_score: float = 0.0, folder: str = "",
                               since: str = "", until: str = "", region: str = "",
                               request: gr.Request = None) -> list[dict]:
        """Search the photo library for photos that look like a given picture.

        Results are best first, each with the photo's path ("file"), a similarity "score",
        "strong" (true when the automatic cut-off calls it a real match), its size, date taken if
        known and a "thumbnail" URL of a small JPEG.

        Args:
            image: the picture to match (JPEG, PNG, WebP, HEIC, AVIF, TIFF, or a camera RAW file
                such as DNG, CR2 or NEF; at most 50 MB): a public http(s) URL, a data: URL, or the
                "thumbnail" URL of a result of this app.
            k: how many photos to return, 1 to 500 (default 20).
            min_score: 0 returns all k; -1 only the strong matches; above 0, leave out results
                scoring less than this.
            folder: only photos in this folder and below it (a full path); empty for all.
            since: only photos taken on or after this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            until: only photos taken on or before this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            region: only this part of the picture ("the dog in the corner"): LEFT,TOP,RIGHT,BOTTOM
                as fractions of its width and height (0.5,0,1,0.5 is the top right quarter), as
                percentages (50%,0%,100%,50%) or in pixels; empty for the whole picture.
        """
        picture = api_image.preprocess(api_image.data_model.model_validate(image)) if image else None
        return _answered(photos_found(handlers, None, picture, k, min_score, folder, since, until, region,
                                      by_image=True), request)

    @whole_arg_lines
    def look_at_photo(path: str, region: str = "") -> str:
        """Look at one photo of the library yourself: returns the picture, a JPEG at most 512 px on
        its longer side (or a part of it, closer).

        A search ranks photos by similarity and can be wrong: look at the best few results before
        you tell the user what their photos show, or when they ask what is in one. To read a detail
        (a sign, a face, a number), look again at that part of it. Only indexed photos can be looked at.

        Args:
            path: the "file" of an indexed photo, exactly as a search returned it.
            region: only this part of the photo, shown as large as 512 px: LEFT,TOP,RIGHT,BOTTOM
                as fractions of its width and height (0.5,0,1,0.5 is the top right quarter), as
                percentages (50%,0%,100%,50%) or in pixels; empty for the whole photo.
        """
        return looked_at(handlers, path, region)

    def saved_searches() -> list[dict]:
        """The searches the user saved by name (their "smart albums"), each with its query, folder
        and dates (null: no limit), and the name of the example photo it searches with, if any
        ("photo_name"; "region": only that part of it).

        When the user names one ("my Beach holidays album"), run it with run_saved_search.
        """
        try:
            return [search.shown() for search in SavedSearches(handlers.settings.index_dir).all()]
        except ClipSearchError as exc:
            raise refused(exc, handlers.settings.index_dir) from None

    @whole_arg_lines
    def save_search(name: str, query: str = "", folder: str = "", since: str = "", until: str = "", path: str = "",
                    region: str = "") -> dict:
        """Save a search under a name: a "smart album" the user opens again in the app (or with
        run_saved_search), which runs it again each time, so photos indexed since come up in it. A
        search of that name is replaced. Save one when the user asks to keep a search ("keep these
        as my Beach holidays album"), with the words, folder and dates you searched with.

        Args:
            name: what to call it, 1 to 80 characters ("Beach holidays").
            query: the words to search for, as search_photos_by_text takes them ("beach + sea -
                people"); may be empty when a path is given.
            folder: only photos in this folder and below it (a full path); empty for all.
            since: only photos taken on or after this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            until: only photos taken on or before this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            path: the "file" of an indexed photo to search with (photos like it), beside the words
                or alone; empty for none.
            region: only this part of that photo: LEFT,TOP,RIGHT,BOTTOM as fractions of its width
                and height (0.5,0,1,0.5 is the top right quarter); empty for the whole photo.
        """
        return saved_by_tool(handlers, name, query, folder, since, until, path, region)

    @whole_arg_lines
    def run_saved_search(name: str, k: int = 20, min_score: float = 0.0, request: gr.Request = None) -> list[dict]:
        """Run one of the user's saved searches ("smart albums", listed by saved_searches) as it was
        saved: its words, its example photo (or a part of it), its folder and dates. Photos indexed
        since it was saved come up too. Results are those of a search: best first, each with
        "file", "score", "strong", size, date and a "thumbnail" URL.

        Args:
            name: the saved search's name, exactly as saved_searches lists it.
            k: how many photos to return, 1 to 500 (default 20).
            min_score: 0 returns all k; -1 only the strong matches (the automatic cut-off, decided
                per query); above 0, leave out results scoring less than this.
        """
        return _answered(saved_run(handlers, name, k, min_score), request)

    def library_topics(request: gr.Request = None) -> list[dict]:
        """What the user's photo library holds, at a glance: its photos grouped by what they show,
        largest group first, each named by the subject that fits it best ("a beach", "a dog", "a
        receipt"), with its size, the next best subjects and a few example photos (each a "file" and
        a "thumbnail" URL). The names are a model's guesses from a fixed list of common subjects:
        look at an example (look_at_photo) before you tell the user what a group shows.
        """
        return topics_listed(handlers, request)

    @whole_arg_lines
    def photos_of_topic(name: str, k: int = 20, folder: str = "", since: str = "", until: str = "",
                        request: gr.Request = None) -> list[dict]:
        """The photos of one group that library_topics listed, nearest its centre (the most typical)
        first, with the same fields as a search's results.

        Args:
            name: the group's name, exactly as library_topics gave it.
            k: how many photos to return, 1 to 500 (default 20).
            folder: only photos in this folder and below it (a full path); empty for all.
            since: only photos taken on or after this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            until: only photos taken on or before this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
        """
        return _answered(topic_photos(handlers, name, k, folder, since, until), request)

    def photo_library_info() -> dict:
        """What the user's photo library index holds: how many photos, the folders it covers, the
        folders left out of it, the disks not mounted in them whose photos it keeps (folder -> how
        many), the model that embedded them and when it was last brought up to date.

        Call it to learn the folders' full paths before searching one of them ("folder" of the
        search tools takes a full path, the folder and everything below it).
        """
        return library_info(handlers)

    gr.api(search_photos_by_text, api_name="search_text", **encoder_bound)
    gr.api(photo_library_info, api_name="info")
    by_text, like_photo = video_tools(handlers)
    gr.api(by_text, api_name="search_videos", **encoder_bound)
    gr.api(like_photo, api_name="similar_videos", **encoder_bound)
    gr.api(library_topics, api_name="topics")
    gr.api(photos_of_topic, api_name="topic_photos")
    gr.api(saved_searches, api_name="saved_searches")
    gr.api(run_saved_search, api_name="run_saved_search", **encoder_bound)
    gr.api(save_search, api_name="save_search")
    gr.api(find_similar_photos, api_name="similar", **encoder_bound)
    with gr.Column(visible=False):
        api_image = image_input(label="image")
        guard_fetches(api_image, lambda fields: thumbnail(handlers, {**fields, "size": str(PREVIEW_SIZE)}).path)
        api_k = gr.Number(20, label="k", precision=0)  # declares an int; read as every k is (filters.read_k)
        api_filters = [gr.Number(0.0, label="min_score"),
                       *(gr.Textbox("", label=n) for n in ("folder", "since", "until", "region"))]
        api_out = gr.JSON(label="results")
        api_go = gr.Button("search_image")
        look_path, look_region = gr.Textbox(label="path"), gr.Textbox("", label="region")
        look_out = gr.Image(type="filepath", label="photo")
        look_go = gr.Button("look_at_photo")
    # The components' own processing runs in the handler's thread (above), not each in a thread
    # hop of its own, as Gradio would (``preprocess``/``postprocess`` off): the same checks, the
    # file still only one Gradio received, the answer the same JSON (docs/performance.md).
    api_go.click(search_photos_by_image, [api_image, api_k, *api_filters], api_out, api_name="search_image",
                 preprocess=False, postprocess=False, **encoder_bound)
    # An image out: the MCP tool answers with the picture itself (image content), which a model sees.
    look_go.click(look_at_photo, [look_path, look_region], look_out, api_name="look_at_photo")


def looked_at(handlers: Handlers, path: str, region: str = "") -> str:
    """``look_at_photo``'s picture: a JPEG of the indexed photo at ``path`` (or its ``region``), at most
    ``LOOK_SIZE`` px; a ``gr.Error`` for anything else."""
    try:
        picture = handlers.indexed_picture(local_path(str(path or "")), LOOK_SIZE, parse_region(region))
    except (NoIndexYet, InvalidQuery, NotIndexed) as exc:
        raise refused(exc, handlers.settings.index_dir) from None
    if picture is None:
        raise Refused("That photo cannot be read now (gone from disk, or not a picture any more).")
    return picture


def library_info(handlers: Handlers) -> dict:
    """``photo_library_info``'s answer."""
    try:
        about = handlers.engine().info()
    except NoIndexYet as exc:
        raise refused(exc, handlers.settings.index_dir) from None
    when = about.get("last_indexed")
    return {"photos": about.get("count", 0), "folders": about.get("folders", []), "left_out": about.get("left_out", []),
            "not_mounted": about.get("not_mounted", {}), "model": about.get("stamp", {}).get("model"),
            "last_indexed": datetime.fromtimestamp(when).isoformat(timespec="seconds") if when else None}


def topics_listed(handlers: Handlers, request: Any) -> list[dict]:
    """``library_topics``' answer: each topic with its examples' paths and thumbnail URLs."""
    try:
        found = handlers.engine().topics()
    except (NoIndexYet, ClipSearchError) as exc:
        raise refused(exc, handlers.settings.index_dir) from None
    return listed_topics(found, getattr(request, "request", request), examples=4)  # a few: a model's context


def saved_by_tool(handlers: Handlers, *fields: str) -> dict:
    """``save_search``'s answer: the search as saved_searches lists it; a ``gr.Error`` saying what is wrong."""
    try:
        return save_from_api(handlers, *fields)[0]
    except (NotIndexed, NoIndexYet, ClipSearchError, ValueError) as exc:
        raise refused(exc, handlers.settings.index_dir) from None


def ran_saved(handlers: Handlers, name: str, k: int, min_score: float) -> list[dict]:
    """``run_saved_search``'s records: the saved search ``name`` run as saved; a ``gr.Error`` for none."""
    return saved_run(handlers, name, k, min_score)[0]


def video_tools(handlers: Handlers) -> tuple[Callable, Callable]:
    """The MCP tools and named endpoints that search the videos' moments: by words
    (``/search_videos``) and like an indexed photo (``/similar_videos``)."""

    @whole_arg_lines
    def search_videos_by_text(text: str, k: int = 10, min_score: float = 0.0, folder: str = "", since: str = "",
                              until: str = "", request: gr.Request = None) -> list[dict]:
        """Find the moments in the user's own videos that show something described in words.

        One result a video, best first: its path ("file"), "at" (the second of the video where the
        best matching moment is), "also" (the seconds of its other matching moments), its
        "duration" in seconds, a similarity "score", "strong" (true when the automatic cut-off calls
        it a real match), the date recorded if known, a "thumbnail" URL of that moment's frame, and
        "words": what the moment says where its words match (when the index reads words).
        Only videos the index reads are searched (the indexer's --videos); an empty list when it
        reads none. Tell the user the time as minutes:seconds ("at 1:23").

        Args:
            text: what the moment shows, in words, as a caption would ("a dog jumping into a lake"; at most
                10 terms, 2,000 characters).
            k: how many videos to return, 1 to 500 (default 10).
            min_score: 0 returns all k; -1 only the strong matches; above 0, leave out results scoring less.
            folder: only videos in this folder and below it (a full path); empty for all.
            since: only videos recorded on or after this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            until: only videos recorded on or before this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
        """
        return _with_urls(video_moments(handlers, text, k, min_score, folder, since, until), request)

    @whole_arg_lines
    def find_video_moments_like_photo(path: str, k: int = 10, min_score: float = 0.0, folder: str = "",
                                      since: str = "", until: str = "", region: str = "",
                                      request: gr.Request = None) -> list[dict]:
        """Find the moments in the user's own videos that look like one of their photos (same scene,
        subject or style), or like a part of it (region).

        Use a "file" path returned by a photo search; other paths are refused. The results are as
        search_videos_by_text's: one a video, best first, with "at", "also", "strong" and a "thumbnail".

        Args:
            path: the "file" of an indexed photo, exactly as a search returned it.
            k: how many videos to return, 1 to 500 (default 10).
            min_score: 0 returns all k; -1 only the strong matches; above 0, leave out results scoring less.
            folder: only videos in this folder and below it (a full path); empty for all.
            since: only videos recorded on or after this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            until: only videos recorded on or before this day (YYYY-MM-DD, YYYY-MM or YYYY); empty for no limit.
            region: only this part of the photo: LEFT,TOP,RIGHT,BOTTOM as fractions of its width and
                height, as percentages or in pixels; empty for the whole photo.
        """
        def find() -> list[dict]:
            engine, photo = handlers.engine(), local_path(str(path or ""))
            if not photo or not handlers._is_indexed(engine, photo):
                raise Refused("That photo is not in the index.", title="Not indexed")
            return [m.to_dict() for m in engine.similar_moments(photo, k=clamp_k(k), where=api_filter(
                folder, since, until), region=parse_region(region))]

        return _with_urls(api_cut(handlers._api(find), min_score), request)

    return search_videos_by_text, find_video_moments_like_photo


def video_moments(handlers: Handlers, text: str, k: int, min_score: float, folder: str, since: str,
                  until: str) -> list[dict]:
    """``search_videos_by_text``'s records: the videos' matching moments, as the REST route lists them."""
    return api_cut(handlers._api(lambda: [m.to_dict() for m in handlers.engine().moments(
        parse_query(str(text or "")), k=clamp_k(k), where=api_filter(folder, since, until))]), min_score)


def whole_arg_lines(fn: Callable) -> Callable:
    """``fn`` with each parameter of its docstring's ``Args:`` on one line: Gradio's MCP server reads
    one line a parameter, and an assistant saw "min_score: 0 returns all k; -1 only the strong
    matches (the automatic cut-off, decided" and no more."""
    lines, joined, indent = (inspect.getdoc(fn) or "").split("\n"), [], None
    for line in lines:
        depth = len(line) - len(line.lstrip())
        if indent is not None and line.strip() and depth > indent:
            joined[-1] += " " + line.strip()  # the parameter's description goes on
            continue
        if indent is None and joined and joined[-1].strip() == "Args:" and line.strip():
            indent = depth  # the first parameter's line sets the depth of every other
        joined.append(line)
    fn.__doc__ = "\n".join(joined)
    return fn


def _answered(answer: tuple[list[dict], str | None], request: Any) -> list[dict]:
    """A photo search's records with their thumbnail URLs; an MCP tool's empty one with why (``for_caller``)."""
    return for_caller(_with_urls(answer[0], request), answer[1], request)


def _with_urls(records: list[dict], request: Any) -> list[dict]:
    """Records with a thumbnail URL each (``with_thumbnails`` takes results with "path")."""
    results = [{"path": r["file"], **{k: v for k, v in r.items() if k != "file"}} for r in records]
    return with_thumbnails(results, getattr(request, "request", request))
