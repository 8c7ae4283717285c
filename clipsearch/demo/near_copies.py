"""A rendered library with known near-duplicates, and how well a duplicate pass found them.

Each original picture may get edited copies (the same shot): 60% of its size at JPEG quality 70;
a 4% crop made 12% brighter; a copy stored rotated with an EXIF orientation tag. Some get
look-alikes: the same scene rendered again, its shapes elsewhere in the frame (a different
picture of the same described content, which must not be grouped). Some get the same shapes in
the same places on another background (a different picture too, whose pattern of light and dark
matches the original's). Some get burst frames: the camera panned and tilted a little between
frames (one moment, not one shot).

The ground truth goes to ``truth.json``: for each file its shot and its moment. Used by
tests/integration/test_duplicates.py and benchmarks/bench_duplicates.py.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from .render import BACKGROUNDS, Scene, allowed_colours, random_scene, render_scene

TRUTH_NAME = "truth.json"
ELSEWHERE = 0.15  # a look-alike's shapes sit at least this share of the side away


def resized_copy(image: Image.Image) -> Image.Image:
    """60% of the size (saved at JPEG quality 70 by the caller)."""
    return image.resize((round(image.width * 0.6), round(image.height * 0.6)), Image.Resampling.LANCZOS)


def cropped_brighter(image: Image.Image, rng: random.Random) -> Image.Image:
    """A 4% crop (of each side's length, at a random offset), then 12% brighter."""
    w, h = image.size
    dx, dy = rng.uniform(0, 0.04) * w, rng.uniform(0, 0.04) * h
    box = (round(dx), round(dy), round(dx + 0.96 * w), round(dy + 0.96 * h))
    return ImageEnhance.Brightness(image.crop(box)).enhance(1.12)


def burst_frame(image: Image.Image, step: int, rng: random.Random) -> Image.Image:
    """The scene a moment later: the camera panned 3% of the frame per step, tilted up to 2 degrees."""
    w, h = image.size
    pan = 0.03 * step
    angle = rng.uniform(-2.0, 2.0)
    shift = (rng.choice((-1, 1)) * pan * w, rng.uniform(-0.5, 0.5) * pan * h)
    frame = image.rotate(angle, resample=Image.Resampling.BICUBIC, translate=shift,
                         fillcolor=image.getpixel((0, 0)))
    return ImageEnhance.Brightness(frame).enhance(rng.uniform(0.97, 1.03))


def on_another_background(scene: Scene, side: int, state: object, rng: random.Random) -> Image.Image | None:
    """The picture ``render_scene`` drew from the random ``state``, its shapes in the same places,
    sizes and turns, on another background that shows every colour of them (None where none does)."""
    others = [b for b in sorted(BACKGROUNDS) if b != scene.background
              and all(o.colour in allowed_colours(b) for o in scene.objects)]
    if not others:
        return None
    again = random.Random()
    again.setstate(state)
    return render_scene(Scene(scene.objects, rng.choice(others)), side, again)


def exif_rotated_bytes(image: Image.Image, path: Path) -> None:
    """Save ``image`` stored on its side, with the EXIF tag that turns it upright (6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    image.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=95, exif=exif.tobytes())


def centroid(image: Image.Image) -> np.ndarray:
    """Where a picture's shapes are: the mean position of pixels unlike its corner, 0..1."""
    pixels = np.asarray(image.convert("RGB"), np.float32)
    mask = np.abs(pixels - pixels[0, 0]).sum(-1) > 60
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.array([0.5, 0.5])
    return np.array([xs.mean() / image.width, ys.mean() / image.height])


def make_near_copy_library(folder: str | Path, originals: int = 40, seed: int = 0) -> dict[str, dict]:
    """Render a library with known near-duplicates into ``folder``; returns the truth per file.

    Of the originals, about 60% get all three edited copies, 30% a look-alike, 25% two burst
    frames and 30% the same shapes on another background (independently; the last from a random
    stream of their own, so that the other pictures are those of the library without them). The truth maps each relative path to its ``shot`` (the original
    and its copies share one) and ``moment`` (a shot and its burst frames share one), and ``role``.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    truth: dict[str, dict] = {}

    def save(image: Image.Image, name: str, shot: int, moment: int, role: str, **options) -> None:
        fmt = "PNG" if name.endswith(".png") else "JPEG"
        image.save(root / name, fmt, **options)
        truth[name] = {"shot": shot, "moment": moment, "role": role}

    shots = itertools.count()
    for i in range(originals):
        scene = random_scene(rng)
        side = rng.choice((320, 384, 448, 512, 640))
        state = rng.getstate()
        original = render_scene(scene, side, rng)
        shot = next(shots)
        save(original, f"p{i:03d}.png", shot, shot, "original")
        if rng.random() < 0.6:
            save(resized_copy(original), f"p{i:03d}_small.jpg", shot, shot, "resized", quality=70)
            save(cropped_brighter(original, rng), f"p{i:03d}_crop.jpg", shot, shot, "cropped", quality=90)
            exif_rotated_bytes(original, root / f"p{i:03d}_rot.jpg")
            truth[f"p{i:03d}_rot.jpg"] = {"shot": shot, "moment": shot, "role": "rotated"}
        if rng.random() < 0.3:
            where = centroid(original)
            for _ in range(30):
                other = render_scene(scene, side, rng)
                if np.linalg.norm(centroid(other) - where) >= ELSEWHERE:
                    save(other, f"p{i:03d}_alike.png", next(shots), next(shots), "lookalike")
                    break
        if rng.random() < 0.25:
            for step in (1, 2):
                frame_shot = next(shots)
                save(burst_frame(original, step, rng), f"p{i:03d}_burst{step}.jpg", frame_shot, shot, "burst",
                     quality=90)
        own = random.Random(seed * 100_003 + i)
        if own.random() < 0.3 and (other := on_another_background(scene, side, state, own)) is not None:
            save(other, f"p{i:03d}_bg.png", next(shots), next(shots), "background")
    (root / TRUTH_NAME).write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


@dataclass(frozen=True)
class PairFigures:
    """Pairs a pass grouped, scored against the truth at one level (shot or moment)."""

    level: str
    found: int  # pairs of the truth's level inside one group
    expected: int  # pairs of the truth's level
    grouped: int  # pairs inside one group, in all (but burst pairs at the shot level)
    lookalikes_grouped: int  # a look-alike (or the same on another background) grouped with its original's
    bursts_grouped: int = 0  # at the shot level: frames of one moment grouped as one shot (not counted)

    @property
    def precision(self) -> float:
        return self.found / self.grouped if self.grouped else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0


def score_groups(groups: list[list[str]], library: str | Path, level: str = "shot") -> PairFigures:
    """Precision and recall of the pairs inside ``groups`` (absolute paths) at ``level``."""
    root = Path(library).resolve()
    truth = json.loads((root / TRUTH_NAME).read_text(encoding="utf-8"))
    key = {str(root / name): entry[level] for name, entry in truth.items()}
    role = {str(root / name): entry["role"] for name, entry in truth.items()}
    members: dict[int, int] = {}
    for value in key.values():
        members[value] = members.get(value, 0) + 1
    expected = sum(n * (n - 1) // 2 for n in members.values())
    moment = {str(root / name): entry["moment"] for name, entry in truth.items()}
    found = grouped = alike = bursts = 0
    for group in groups:
        for a, b in itertools.combinations([p for p in group if p in key], 2):
            if key[a] != key[b] and moment[a] == moment[b]:
                bursts += 1  # a panned frame and a cropped copy can be the same pixels
                continue
            grouped += 1
            found += key[a] == key[b]
            alike += bool({"lookalike", "background"} & {role[a], role[b]}) and Path(a).name[:4] == Path(b).name[:4]
    return PairFigures(level, found, expected, grouped, alike, bursts)
