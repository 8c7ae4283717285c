"""Markdown the page shows: the no-index banner, a result's details, the index panel.

Everything that comes from file names, folders or queries is escaped (``md``): no markup or HTML
from a photo's name reaches the page.
"""

import html
import os
from datetime import datetime
from typing import Any
from urllib.parse import quote

from clipsearch import Settings, clock
from clipsearch.folders import now_note
from clipsearch.reports import counted, indexed_when, unreadable_kept_words
from clipsearch.snippets import pieces

from .paths import web_path


def no_index_message(settings: Settings) -> str:
    """Markdown that tells a user how to build the index the app is waiting for."""
    where = settings.index_dir
    return (
        f"### No index yet\n"
        f"There is no photo index in `{where}`. Build one, then press **Check again** "
        f"(or just search: the app looks for it on every search).\n\n"
        f"```\npython -m indexer ~/Pictures --index {where}\n```\n"
        f"No photos at hand? Try the offline demo model on a sample library:\n\n"
        f"```\npython -m clipsearch.demo make-library ~/clipsearch-sample\n"
        f"python -m indexer ~/clipsearch-sample --index {where} --model demo\n```"
    )


QUERY_ECHO = 80  # characters of a query the status line repeats


def describe_query(text: str | None, image: str | None, part: bool = False, name: str | None = None) -> str:
    """The query as the status line repeats it: a long one is cut short, not echoed in full;
    ``part``: a region of the photo, not all of it; ``name``: the photo's, where it is one of the
    library's (else "the dropped photo")."""
    photo = name or "the dropped photo"
    text, photo = " ".join((text or "").split()), f"a part of {photo}" if part else photo
    if len(text) > QUERY_ECHO:
        text = text[:QUERY_ECHO - 1].rstrip() + f"…” ({len(text):,} characters)"
        return " + ".join([f"“{text}"] + ([photo] if image else []))
    parts = [f"“{text}”"] if text else []
    if image:
        parts.append(photo)
    return " + ".join(parts) or "nothing"


def md(text: str) -> str:
    """Text safe to put inside markdown (no markup or HTML from file names or queries)."""
    return html.escape(text).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return counted(int(value), "byte") if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return counted(size, "byte")


def details_markdown(result: dict[str, Any], download: bool = False) -> str:
    """What the preview panel says about one result; with ``download`` (``--originals``), a link
    that hands out the photo whole (``GET /api/photo``, relative: it holds behind a proxy)."""
    taken = result.get("date_taken")
    modified = datetime.fromtimestamp(result["mtime_ns"] / 1e9).strftime("%Y-%m-%d %H:%M")
    when = taken.replace("T", " ") if taken else f"unknown (file modified {modified})"
    on_disk, changed = _on_disk(result)
    link = f"api/photo?file={quote(web_path(result['path']), safe='')}"
    return (
        f"**{md(result['name'])}** · score {result['score']:.3f}\n\n"
        f"- **Path:** {md(result['path'])}\n"
        f"- **Size:** {result['width']} × {result['height']} px, {human_size(result['size'])}\n"
        f"- **Taken:** {md(when)}" + (f"\n- **Words:** {words_markdown(result['text'])}" if result.get("text") else "")
        + ("" if on_disk else
           "\n- **Not on disk now** (a disk not mounted? The index keeps its photos until `--remove`)")
        + ("\n- **Changed on disk since indexed:** found by the picture last read there; the next index run "
           "reads it again, and a file that no longer reads (cut short by a sync, say) keeps that picture until "
           "it does" if changed else "")
        + (f"\n- [Download the original]({link})" if download and on_disk else "")
    )


def _on_disk(result: dict[str, Any]) -> tuple[bool, bool]:
    """Whether the result's file is on disk, and whether it has another size or time than the one the
    index read (edited since, or broken since: a photo whose file no longer reads keeps its record,
    and a search finds it). One ``stat``."""
    try:
        st = os.stat(result["path"])
    except OSError:
        return False, False
    return True, (st.st_size, st.st_mtime_ns) != (result["size"], result["mtime_ns"])


def words_markdown(snippet: str) -> str:
    """A snippet of a photo's words as markdown: escaped, the matched ``[words]`` in bold, and a
    bracket the photo says (escaped in the snippet: ``\\[SALE\\]``) shown as itself, never bold."""
    return "".join(f"**{_literal(text)}**" if marked else _literal(text) for text, marked in pieces(snippet))


def _literal(text: str) -> str:
    """``text`` shown as it is in markdown: ``md``, and its backslashes and brackets escaped."""
    return md(text.replace("\\", "\\\\")).replace("[", "\\[").replace("]", "\\]")


def text_info_line(info: dict[str, Any]) -> str:
    """The index panel's line about the words in photos (``--ocr``)."""
    text = info.get("text") or {}
    if not text.get("enabled"):
        return "- **Words in photos:** not read (turn on below, or index with `--ocr`)\n"
    pending = f", {text['pending']:,} still to read" if text.get("pending") else ""
    return (f"- **Words in photos:** read in {counted(text.get('read', 0), 'photo', grouped=True)}, "
            f"{text.get('with_text', 0):,} with words{pending}\n")


def video_info_line(info: dict[str, Any]) -> str:
    """The index panel's line about the videos (``--videos``)."""
    videos = info.get("videos") or {}
    if not videos.get("enabled") and not videos.get("videos"):
        return "- **Videos:** not read (turn on below, or index with `--videos`)\n"
    state = "" if videos.get("enabled") else " (no longer read: the moments found are kept)"
    broken = f", {videos['unreadable']:,} unreadable" if videos.get("unreadable") else ""
    said = f" ({videos['moments_with_words']:,} with words)" if videos.get("moments_with_words") else ""
    return (f"- **Videos:** {videos.get('videos', 0):,} read, {clock(videos.get('seconds', 0))} long in all, "
            f"{counted(videos.get('moments', 0), 'moment', grouped=True)}{said}{broken}{state}\n")


def info_markdown(info: dict[str, Any]) -> str:
    """The index panel: how many photos, which model, when, which folders."""
    stamp = info.get("stamp", {})
    model = stamp.get("model", "?") + (f" ({stamp['pretrained']})" if stamp.get("pretrained") else "")
    when = indexed_when(info)
    folders = info.get("folders") or []
    listed = "\n".join(f"  - {md(f + now_note(f))}" for f in folders) or "  - (none recorded)"
    listed += "".join(f"\n  - left out: {md(f)}" for f in info.get("left_out") or [])
    listed += "".join(f"\n  - not mounted: {md(f)}, its {counted(n, 'indexed photo', grouped=True)} kept while it is "
                      "not mounted (if it moved or is gone for good, `python -m indexer --remove` with this folder "
                      "forgets them)" for f, n in (info.get("not_mounted") or {}).items())
    return (
        f"- **Photos:** {info.get('count', 0):,}\n- **Model:** {md(model)}\n"
        f"- **Last indexed:** {when}\n- **Index:** {md(str(info.get('location', '')))}\n"
        f"{text_info_line(info)}{video_info_line(info)}{_unreadable_line(info)}- **Folders:**\n{listed}"
    )


def _unreadable_line(info: dict[str, Any], show: int = 5) -> str:
    """The indexed photos whose files broke since (a sync cut short), kept as last read: the first
    ``show`` named (``clipsearch info`` lists more); "" where there is none."""
    broken = list(info.get("unreadable_kept") or {})
    if not broken:
        return ""
    more = f", and {len(broken) - show} more" if len(broken) > show else ""
    return (f"- **Unreadable:** {unreadable_kept_words(len(broken))}: "
            + ", ".join(md(path) for path in broken[:show]) + more + "\n")
