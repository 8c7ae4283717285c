"""Synthetic captioned pictures: coloured shapes on plain backgrounds.

The offline demo model is trained on these pictures, and the sample library that lets people try
clipsearch without their own photos is made of them. Pure PIL + numpy so that tests and the CLI
can render without torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 220),
    "yellow": (245, 215, 30),
    "purple": (150, 40, 170),
    "orange": (245, 140, 20),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross")
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "gray": (128, 128, 128),
    "white": (240, 240, 240),
    "black": (20, 20, 20),
    "brown": (120, 80, 45),
}

# An object must stand out from its background even after jitter (no black on black).
_MIN_CONTRAST = 80.0
_JITTER = 18
_SUPERSAMPLE = 2

# Where the sample library puts its pictures ("" is the library root) and how it saves them.
_LIBRARY_FOLDERS: tuple[str, ...] = (
    "",
    "2019/summer",
    "2019/winter",
    "2020",
    "holidays/beach",
    "misc/deep/er",
)
# When the pictures of each folder were "taken" (EXIF DateTimeOriginal): first day, last day.
_FOLDER_DATES: dict[str, tuple[str, str]] = {
    "": ("2016-01-01", "2024-12-31"),
    "2019/summer": ("2019-06-01", "2019-08-31"),
    "2019/winter": ("2019-01-02", "2019-02-28"),
    "2020": ("2020-01-01", "2020-12-31"),
    "holidays/beach": ("2021-07-01", "2023-08-31"),
    "misc/deep/er": ("2016-01-01", "2024-12-31"),
}
# Bumped when the same seed would write other files, so that an older library is rewritten.
_LIBRARY_VERSION = 2
_FORMATS: tuple[tuple[str, str, dict], ...] = (
    ("jpg", "JPEG", {"quality": 90}),
    ("png", "PNG", {"compress_level": 1}),
    ("webp", "WEBP", {"quality": 85, "method": 0}),
)


@dataclass(frozen=True)
class SceneObject:
    """One coloured shape in a scene."""

    colour: str
    shape: str

    @property
    def phrase(self) -> str:
        """The object as English: "a red circle", "an orange star"."""
        article = "an" if self.colour[0] in "aeiou" else "a"
        return f"{article} {self.colour} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """What a picture shows: one or two objects on a plain background."""

    objects: tuple[SceneObject, ...]
    background: str

    def captions(self) -> list[str]:
        """Every caption that is true of this scene, the full caption first.

        Besides the full caption, each object alone is true ("a red circle"), with or without the
        background, and two objects may be named in either order.
        """
        on_bg = f" on a {self.background} background"
        groups = [" and ".join(o.phrase for o in self.objects)]
        if len(self.objects) == 2:
            groups.append(" and ".join(o.phrase for o in reversed(self.objects)))
            groups += [o.phrase for o in self.objects]
        return [g + on_bg for g in groups] + groups

    @property
    def caption(self) -> str:
        """The full caption: every object and the background."""
        return self.captions()[0]


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return math.dist(a, b)


def allowed_colours(background: str) -> list[str]:
    """The colours that stand out on ``background``."""
    bg = BACKGROUNDS[background]
    return [c for c, rgb in COLOURS.items() if c != background and _contrast(rgb, bg) >= _MIN_CONTRAST]


def random_scene(rng: random.Random, n_objects: int | None = None) -> Scene:
    """Draw a random scene; two objects in one scene never share both colour and shape."""
    if n_objects is None:
        n_objects = rng.choice((1, 2))
    if n_objects not in (1, 2):
        raise ValueError(f"n_objects must be 1 or 2, not {n_objects}")
    background = rng.choice(sorted(BACKGROUNDS))
    colours = allowed_colours(background)
    objects: list[SceneObject] = []
    while len(objects) < n_objects:
        obj = SceneObject(rng.choice(colours), rng.choice(SHAPES))
        if obj not in objects:
            objects.append(obj)
    return Scene(tuple(objects), background)


def _jitter(rgb: tuple[int, int, int], rng: random.Random) -> tuple[int, int, int]:
    shift = rng.randint(-_JITTER, _JITTER)  # brightness, then a little per channel
    return tuple(max(0, min(255, v + shift + rng.randint(-_JITTER // 2, _JITTER // 2))) for v in rgb)


def _outline(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """Polygon vertices of a shape with circumradius r, rotated by angle (radians)."""
    if shape == "square":
        polar = [(r, math.pi / 4 + k * math.pi / 2) for k in range(4)]
    elif shape == "triangle":
        polar = [(r, -math.pi / 2 + k * 2 * math.pi / 3) for k in range(3)]
    elif shape == "star":
        polar = [(r if k % 2 == 0 else 0.42 * r, -math.pi / 2 + k * math.pi / 5) for k in range(10)]
    elif shape == "cross":
        w = 0.32  # half the arm width, relative to r
        corners = [
            (1, w),
            (w, w),
            (w, 1),
            (-w, 1),
            (-w, w),
            (-1, w),
            (-1, -w),
            (-w, -w),
            (-w, -1),
            (w, -1),
            (w, -w),
            (1, -w),
        ]
        polar = [(r * math.hypot(x, y) / math.hypot(1, w), math.atan2(y, x)) for x, y in corners]
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return [(cx + d * math.cos(a + angle), cy + d * math.sin(a + angle)) for d, a in polar]


def _draw_object(
    draw: ImageDraw.ImageDraw,
    obj: SceneObject,
    cx: float,
    cy: float,
    r: float,
    rng: random.Random,
) -> None:
    fill = _jitter(COLOURS[obj.colour], rng)
    if obj.shape == "circle":
        rc = 0.82 * r  # a circle of the full radius looks bigger than the other shapes
        draw.ellipse((cx - rc, cy - rc, cx + rc, cy + rc), fill=fill)
    else:
        draw.polygon(_outline(obj.shape, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=fill)


def _place(n: int, side: float, rng: random.Random) -> list[tuple[float, float, float]]:
    """Centres and radii (cx, cy, r) inside a square of the given side, not overlapping."""
    lo, hi = (0.2, 0.34) if n == 1 else (0.15, 0.24)
    for _ in range(200):
        spots = []
        for _ in range(n):
            r = rng.uniform(lo, hi) * side
            spots.append((rng.uniform(r, side - r), rng.uniform(r, side - r), r))
        if n == 1 or math.dist(spots[0][:2], spots[1][:2]) > 1.05 * (spots[0][2] + spots[1][2]):
            return spots
    # Very unlucky draws: fall back to two fixed, separate spots.
    r = lo * side
    return [(side * 0.28, side * 0.3, r), (side * 0.72, side * 0.7, r)][:n]


def _render(scene: Scene, width: int, height: int, rng: random.Random) -> Image.Image:
    """Render at SUPERSAMPLE times the size and downsample. Objects stay inside the centred
    square so that a centre-cropping preprocess (as open_clip's) still sees them all."""
    s = _SUPERSAMPLE
    image = Image.new("RGB", (width * s, height * s), _jitter(BACKGROUNDS[scene.background], rng))
    draw = ImageDraw.Draw(image)
    side = min(width, height) * s
    x0, y0 = (width * s - side) / 2, (height * s - side) / 2
    for obj, (cx, cy, r) in zip(scene.objects, _place(len(scene.objects), side, rng), strict=True):
        _draw_object(draw, obj, x0 + cx, y0 + cy, r, rng)
    return image.resize((width, height), Image.Resampling.LANCZOS)


def render_scene(scene: Scene, size: int, rng: random.Random) -> Image.Image:
    """Render a scene as a square RGB picture of size x size pixels.

    Sizes, positions, rotations and colour jitter come from rng, so the same scene and seed give
    the same picture.
    """
    return _render(scene, size, size, rng)


def _library_size(rng: random.Random) -> tuple[int, int]:
    side = rng.randint(96, 640)
    if rng.random() < 0.35:  # some landscape or portrait pictures
        other = int(side * rng.uniform(0.55, 0.85))
        return (side, other) if rng.random() < 0.5 else (other, side)
    return side, side


def _taken(folder: str, rng: random.Random) -> datetime:
    """A plausible moment in the folder's date range, in daylight (its own rng: pixels stay as they were)."""
    first, last = (datetime.fromisoformat(day) for day in _FOLDER_DATES[folder])
    if folder == "holidays/beach":  # summers only
        year = rng.randint(first.year, last.year)
        first, last = datetime(year, 7, 1), datetime(year, 8, 31)
    day = first + timedelta(days=rng.randint(0, (last - first).days))
    return day + timedelta(hours=rng.randint(8, 19), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))


def _exif(taken: datetime) -> bytes:
    exif = Image.Exif()
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0132] = stamp  # DateTime
    exif[0x0131] = "clipsearch sample library"  # Software
    exif.get_ifd(0x8769)[0x9003] = stamp  # DateTimeOriginal, in the Exif IFD
    return exif.tobytes()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _current_library(root: Path, n: int, seed: int) -> list[tuple[Path, Scene]] | None:
    """The library already in root when it is exactly what (n, seed) would write, else None."""
    try:
        document = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        if (document.get("version"), document.get("seed"), document.get("count")) != (_LIBRARY_VERSION, seed, n):
            return None
        made = []
        for relative, entry in document["images"].items():
            path = root / relative
            if _sha256(path.read_bytes()) != entry["sha256"]:
                return None
            objects = tuple(SceneObject(o["colour"], o["shape"]) for o in entry["objects"])
            made.append((path, Scene(objects, entry["background"])))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return made if len(made) == n else None


def make_sample_library(folder: str | Path, n: int = 300, seed: int = 0) -> list[tuple[Path, Scene]]:
    """Write n pictures into nested subfolders of folder, plus a manifest.json of ground truth.

    Pictures are a deterministic mix of JPEG, PNG and WebP at sizes from 96 to 640 pixels (some
    not square), named img_0001.jpg and so on, with EXIF dates taken (DateTimeOriginal) from 2016
    to 2024 that fit their folders (2019/summer, 2020, ...). The manifest maps each relative path
    to its caption, all true captions, background, objects, date taken and SHA-256. Returns
    (path, scene) per picture.

    Idempotent: a file that already holds the bytes it would get is not written again (its mtime
    stays, so an indexer sees it unchanged), and a complete library is not even rendered again.
    """
    root = Path(folder)
    current = _current_library(root, n, seed)
    if current is not None:
        return current
    rng = random.Random(seed)
    dates = random.Random(f"clipsearch sample dates {seed}")
    made: list[tuple[Path, Scene]] = []
    manifest: dict[str, dict] = {}
    for i in range(n):
        scene = random_scene(rng)
        width, height = _library_size(rng)
        ext, fmt, options = _FORMATS[i % len(_FORMATS)]
        where = rng.choice(_LIBRARY_FOLDERS)
        relative = Path(where) / f"img_{i + 1:04d}.{ext}"
        taken = _taken(where, dates)
        buffer = io.BytesIO()
        _render(scene, width, height, rng).save(buffer, fmt, exif=_exif(taken), **options)
        data = buffer.getvalue()
        path = root / relative
        _write_if_changed(path, data)
        made.append((path, scene))
        manifest[relative.as_posix()] = {
            "caption": scene.caption,
            "captions": scene.captions(),
            "background": scene.background,
            "objects": [{"colour": o.colour, "shape": o.shape} for o in scene.objects],
            "size": [width, height],
            "format": fmt,
            "date_taken": taken.isoformat(),
            "sha256": _sha256(data),
        }
    document = {"version": _LIBRARY_VERSION, "seed": seed, "count": n, "images": manifest}
    _write_if_changed(root / "manifest.json", (json.dumps(document, indent=1) + "\n").encode("utf-8"))
    return made


def _write_if_changed(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
