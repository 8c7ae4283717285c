"""Rendered test clips: the demo's scenes as still shots of a short video.

Tests and benchmarks of video search need videos whose every moment is known: a clip here shows
each scene (``render.py``) for a few seconds, then cuts to the next, and says when each shot starts
and ends. The keyframe interval is exact (no extra keyframes at the cuts), so tests can pick a clip
whose keyframes are dense (one a second) or sparse (one every ten). A clip can also carry a
display-matrix rotation, as phones store portrait video: the pixels are written turned, and the
player (or ``clipsearch.video_frames``) turns them back. Pure PyAV + PIL; the same seed writes the
same pictures.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import av
from PIL import Image

from .render import Scene, _render

# The container's suffix picks the codec (``codec=`` overrides).
CODECS: dict[str, str] = {".mp4": "libx264", ".mov": "libx264", ".m4v": "libx264", ".webm": "libvpx",
                          ".mkv": "mpeg4", ".avi": "mpeg4"}
CLIPS_RECORD = ".clips.json"  # hidden: what make_sample_clips wrote, so a re-run leaves the clips alone
_TURNS = {0: None, 90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
          270: Image.Transpose.ROTATE_90}


def write_clip(
    path: str | os.PathLike,
    scenes: list[Scene | Image.Image],
    seconds_each: float = 2.0,
    fps: int = 10,
    size: int | tuple[int, int] = 256,
    codec: str | None = None,
    gop: int | None = None,
    seed: int = 0,
    *,
    rotation: int = 0,
    creation_time: str | None = None,
) -> list[tuple[float, float, Scene]]:
    """Write a video that shows each scene (or picture) for ``seconds_each`` seconds; return (start, end, scene).

    ``size`` is the upright picture's side, or its (width, height) (even numbers for yuv420p).
    ``gop`` is the keyframe interval in frames (default ``fps``: one keyframe a second). With
    ``rotation`` (degrees counter-clockwise, a multiple of 90, as PyAV's ``VideoFrame.rotation``
    reads it; -90 is what a phone held upright writes) the pixels are stored turned the other way
    and the stream's display matrix says how to turn them upright; ``creation_time`` ("2021-07-04T10:20:30.000000Z") goes into the
    container's metadata, as cameras write it. MP4, MOV and Matroska (.mkv, .webm) keep both; AVI
    keeps neither (a rotation there is a ``ValueError``).
    """
    width, height = (size, size) if isinstance(size, int) else size
    suffix = Path(path).suffix.lower()
    if rotation % 90 or (rotation % 360 and suffix == ".avi"):
        raise ValueError(f"cannot write a rotation of {rotation} degrees into {suffix or 'this file'}")
    turn = _TURNS[rotation % 360]
    stored = (height, width) if rotation % 180 else (width, height)
    codec = codec or CODECS.get(suffix, "libx264")
    gop = gop or fps
    per_scene = max(1, round(seconds_each * fps))
    rng = random.Random(seed)
    pictures = [scene.convert("RGB").resize((width, height)) if isinstance(scene, Image.Image)
                else _render(scene, width, height, rng) for scene in scenes]
    with av.open(os.fspath(path), "w") as container:
        if creation_time is not None:
            container.metadata["creation_time"] = creation_time
        stream = container.add_stream(codec, rate=fps, options=_codec_options(codec, gop))
        stream.width, stream.height = stored
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.thread_count = 1  # the same bytes every time
        if codec != "libx264":  # x264 has its own rate control; the others start at 200 kb/s
            stream.bit_rate = max(200_000, width * height * fps)
        if rotation % 360:
            stream.set_display_rotation(rotation % 360)
        index = 0
        for picture in pictures:
            frame = av.VideoFrame.from_image(picture.transpose(turn) if turn else picture)
            for _ in range(per_scene):
                frame.pts = index
                container.mux(stream.encode(frame))
                index += 1
        container.mux(stream.encode(None))
    return [(i * per_scene / fps, (i + 1) * per_scene / fps, scene) for i, scene in enumerate(scenes)]


def _codec_options(codec: str, gop: int) -> dict[str, str]:
    """Keyframes exactly every ``gop`` frames: no encoder may add one at a scene cut."""
    options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "1000000000"}
    if codec == "libx264":
        options.update({"preset": "veryfast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"})
    elif codec.startswith("libvpx"):
        options.update({"deadline": "realtime", "cpu-used": "8", "auto-alt-ref": "0"})
    return options


def make_sample_clips(folder: str | os.PathLike, n: int = 3, seed: int = 0) -> list[tuple[Path, list]]:
    """Write ``n`` short clips (``clip_01.mp4``...: four shots of 3 s each, one random scene a shot,
    320x240 at 10 frames a second, dated) into ``folder``, for the demo; returns each clip's path
    and its shots (start, end, scene). Idempotent: a clip that already holds what it would get is
    not written again (its mtime stays, so an indexer sees it unchanged). Some builds of x264 do
    not encode the same frames to the same bytes twice, so what "already holds" means is kept in
    a hidden ``.clips.json`` beside them: each clip's seed and the SHA-256 of the bytes written."""
    from .render import random_scene

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    record_path = root / CLIPS_RECORD
    record = _read_record(record_path)
    before = json.dumps(record, sort_keys=True)
    rng = random.Random(f"clipsearch sample clips {seed}")
    made = []
    for number in range(1, n + 1):
        scenes = [random_scene(rng, 1) for _ in range(4)]
        path = root / f"clip_{number:02d}.mp4"
        partial = root / f".clip_{number:02d}.partial.mp4"  # hidden: no scan looks at it
        shots = write_clip(partial, scenes, seconds_each=3.0, fps=10, size=(320, 240), seed=seed + number,
                           creation_time=f"2023-0{number % 9 + 1}-15T12:00:00.000000Z")
        written = record.get(path.name, {})
        if path.is_file() and (path.read_bytes() == partial.read_bytes()
                               or (written.get("seed") == seed and written.get("sha256") == _sha256(path))):
            partial.unlink()
        else:
            partial.replace(path)
        record[path.name] = {"seed": seed, "sha256": _sha256(path)}
        made.append((path, shots))
    if json.dumps(record, sort_keys=True) != before:  # a re-run leaves every file of the library alone
        record_path.write_text(json.dumps({"version": 1, "clips": record}, indent=1) + "\n", encoding="utf-8")
    return made


def _read_record(path: Path) -> dict[str, dict]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return dict(document["clips"]) if document.get("version") == 1 else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
