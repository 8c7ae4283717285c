"""Photo-like pictures with words in them, and a manifest of which word is where.

The OCR evaluation renders signs, labels and receipts set in real fonts (Debian's
``fonts-dejavu-core`` and ``fonts-liberation``) into cluttered 1600x1200 scenes, tilted, blurred
and JPEG-compressed, beside scenes with no text at all (some with text-like textures: bricks,
blinds, window grids). Every word appears in exactly one picture, so "the word's photo" is
well defined. Pure PIL + numpy.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".fonts",
)
# (file, kinds it suits); all come with fonts-dejavu-core or fonts-liberation.
FONTS: tuple[tuple[str, str], ...] = (
    ("DejaVuSans-Bold.ttf", "sign label"),
    ("DejaVuSans.ttf", "sign label"),
    ("DejaVuSerif-Bold.ttf", "sign label"),
    ("DejaVuSerif.ttf", "label"),
    ("LiberationSans-Bold.ttf", "sign label"),
    ("LiberationSans-Regular.ttf", "sign label"),
    ("LiberationSerif-Bold.ttf", "sign label"),
    ("LiberationSerif-Regular.ttf", "label"),
    ("LiberationSansNarrow-Bold.ttf", "sign"),
    ("LiberationSans-Italic.ttf", "label"),
    ("DejaVuSansMono.ttf", "receipt"),
    ("DejaVuSansMono-Bold.ttf", "receipt"),
    ("LiberationMono-Regular.ttf", "receipt"),
    ("LiberationMono-Bold.ttf", "receipt"),
)
FONT_PACKAGES = "fonts-dejavu-core fonts-liberation"

# Words that can be set; none is a prefix of another, a few carry accents.
WORDS: tuple[str, ...] = tuple("""
anchor apricot arcade atlas avenue badger bakery balcony bamboo banjo barley basket beacon
biscuit blossom bonfire bookshop boulder bramble bridge bucket butcher cabin cactus canyon
caravan carnival castle cedar chapel cherry chimney cinema citrus clover cobalt coconut comet
copper cottage crimson crystal cupboard dahlia dolphin dragon drizzle dungeon eagle ember
engine falcon ferry fiddle fjord flannel forest fossil fountain garage garden ginger glacier
goblin granite gravel grocery guitar hammock harbour hazel hedgehog heron hickory honey horizon
iceberg island ivory jasmine jigsaw juniper kettle kiosk ladder lagoon lantern laundry lemon
library lighthouse lobster locksmith lumber magnet mango marble market meadow mirror monastery
mosaic muffin museum mustard napkin nectar noodle nutmeg oasis octopus olive orchard oyster
paddle pantry parlour pebble pepper pharmacy pickle pillow pinecone pirate plumber pretzel
pumpkin quarry quartz quiver rabbit radish raven ribbon ripple rocket saddle saffron salmon
satchel scooter seashell shovel silver skylark sparrow spinach squirrel stadium stable sunflower
tailor teapot thistle thunder timber tobacco tomato trumpet tulip tunnel turnip umbrella
valley velvet violin volcano waffle walnut wardrobe weaver whisker willow window winter
wizard yacht yogurt zebra zipper
café crème façade jalapeño müller señor résumé naïve brûlée piñata
""".split())


def _check_words(words: tuple[str, ...]) -> None:
    folded = sorted(words)
    for a, b in zip(folded, folded[1:]):
        if b.startswith(a):
            raise ValueError(f"word {a!r} is a prefix of {b!r}")


_check_words(WORDS)


class FontsMissing(RuntimeError):
    """The fonts the renderer needs are not installed."""


def font_path(name: str) -> Path:
    """The installed file of one of ``FONTS``; ``FontsMissing`` names the packages to install."""
    for folder in FONT_DIRS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FontsMissing(f"font {name} not found: install the Debian packages {FONT_PACKAGES}")


@dataclass(frozen=True)
class PlacedWord:
    """One word set in a picture, and how."""

    word: str  # as the vocabulary has it (lower case)
    shown: str  # as set: upper, title or lower case
    px: int  # the type's size in pixels (font size) at 1600x1200
    font: str
    kind: str  # sign | label | receipt
    angle: float  # tilt of its panel in degrees


@dataclass
class TextPhoto:
    """What one rendered picture holds."""

    name: str
    words: list[PlacedWord] = field(default_factory=list)
    blur: float = 0.0
    quality: int = 90
    texture: str = ""  # the text-like texture of a picture without text


# --- backgrounds -------------------------------------------------------------------------------
def _background(w: int, h: int, rng: random.Random) -> Image.Image:
    """A cluttered, photo-like scene: sky/ground gradient, soft blobs, blocks and noise."""
    nrng = np.random.default_rng(rng.randrange(2**32))
    y = np.linspace(0, 1, h)[:, None, None]
    top = np.array([rng.randint(60, 220) for _ in range(3)], np.float32)
    bottom = np.array([rng.randint(30, 180) for _ in range(3)], np.float32)
    horizon = rng.uniform(0.35, 0.7)
    base = np.where(y < horizon, top + (bottom - top) * y, bottom * (1.2 - 0.4 * y))
    base = np.broadcast_to(base, (h, w, 3)).astype(np.float32).copy()
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(4, 10)):  # buildings, furniture, whatever
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randint(80, 500), y0 + rng.randint(80, 500)
        colour = tuple(rng.randint(20, 235) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 3.0)))
    noise = nrng.normal(0, rng.uniform(3, 9), (h, w, 1)).astype(np.float32)
    arr = np.asarray(image, np.float32) + noise
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _texture(image: Image.Image, kind: str, rng: random.Random) -> None:
    """Draw a text-like texture (hard negatives for a text detector) somewhere in ``image``."""
    w, h = image.size
    draw = ImageDraw.Draw(image)
    x0, y0 = rng.randint(0, w // 2), rng.randint(0, h // 2)
    x1, y1 = x0 + rng.randint(300, w // 2), y0 + rng.randint(250, h // 2)
    dark = tuple(rng.randint(10, 90) for _ in range(3))
    light = tuple(rng.randint(150, 245) for _ in range(3))
    draw.rectangle((x0, y0, x1, y1), fill=light)
    if kind == "bricks":
        bh = rng.randint(24, 48)
        for row, y in enumerate(range(y0, y1, bh)):
            offset = (bh if row % 2 else 0)
            for x in range(x0 - offset, x1, 2 * bh + 4):
                draw.rectangle((max(x, x0), y, min(x + 2 * bh, x1), min(y + bh - 5, y1)), fill=dark)
    elif kind == "blinds":
        step = rng.randint(10, 26)
        for y in range(y0, y1, step):
            draw.line((x0, y, x1, y), fill=dark, width=max(2, step // 3))
    elif kind == "windows":
        cw, ch = rng.randint(30, 70), rng.randint(40, 90)
        for y in range(y0 + 10, y1 - ch, ch + 20):
            for x in range(x0 + 10, x1 - cw, cw + 18):
                draw.rectangle((x, y, x + cw, y + ch), fill=dark)
    else:  # "foliage": many small dark strokes
        for _ in range(400):
            x, y = rng.randint(x0, x1), rng.randint(y0, y1)
            draw.line((x, y, x + rng.randint(-12, 12), y + rng.randint(-18, 18)), fill=dark, width=3)


TEXTURES = ("bricks", "blinds", "windows", "foliage", "")


# --- panels with words -------------------------------------------------------------------------
def _shown(word: str, rng: random.Random) -> str:
    style = rng.random()
    return word.upper() if style < 0.45 else word.capitalize() if style < 0.8 else word


def _font(kind: str, rng: random.Random) -> str:
    return rng.choice([name for name, kinds in FONTS if kind in kinds.split()])


def _inks(rng: random.Random) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A panel colour and an ink colour that stands out from it."""
    if rng.random() < 0.5:
        return tuple(rng.randint(190, 250) for _ in range(3)), tuple(rng.randint(5, 70) for _ in range(3))
    return tuple(rng.randint(10, 90) for _ in range(3)), tuple(rng.randint(200, 255) for _ in range(3))


def _panel(lines: list[list[tuple[str, ImageFont.FreeTypeFont]]], paper, ink, pad: int) -> Image.Image:
    """An RGBA panel with the given lines of (text, font) runs, left-aligned."""
    gap = pad // 2
    sizes = []
    for line in lines:
        boxes = [font.getbbox(text) for text, font in line]
        width = sum(b[2] - b[0] for b in boxes) + gap * (len(line) - 1)
        ascent = max(font.getmetrics()[0] for _, font in line)
        descent = max(font.getmetrics()[1] for _, font in line)
        sizes.append((width, ascent, descent))
    w = max(s[0] for s in sizes) + 2 * pad
    h = sum(a + d for _, a, d in sizes) + pad * (len(lines) + 1)
    panel = Image.new("RGBA", (w, h), (*paper, 255))
    draw = ImageDraw.Draw(panel)
    y = pad
    for line, (_, ascent, descent) in zip(lines, sizes):
        x = pad
        for text, font in line:
            left = font.getbbox(text)[0]
            draw.text((x - left, y + ascent), text, font=font, fill=(*ink, 255), anchor="ls")
            x += font.getbbox(text)[2] - left + gap
        y += ascent + descent + pad
    return panel


def _make_panel(kind: str, words: list[str], rng: random.Random, angle: float) -> tuple[Image.Image, list[PlacedWord]]:
    paper, ink = _inks(rng)
    placed: list[PlacedWord] = []
    lines: list[list[tuple[str, ImageFont.FreeTypeFont]]] = []
    if kind == "receipt":
        paper, ink = (rng.randint(225, 250),) * 3, (rng.randint(10, 60),) * 3
        name = _font(kind, rng)
        px = rng.randint(45, 62)
        font = ImageFont.truetype(str(font_path(name)), px)
        for word in words:
            shown = word.upper() if rng.random() < 0.7 else word.capitalize()
            price = f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}"
            lines.append([(shown, font), (price, font)])
            placed.append(PlacedWord(word, shown, px, name, kind, angle))
    else:
        lo, hi = (75, 130) if kind == "sign" else (45, 80)
        for word in words:
            name, px = _font(kind, rng), rng.randint(lo, hi)
            shown = _shown(word, rng)
            lines.append([(shown, ImageFont.truetype(str(font_path(name)), px))])
            placed.append(PlacedWord(word, shown, px, name, kind, angle))
    pad = max(18, min(p.px for p in placed) // 2)
    return _panel(lines, paper, ink, pad), placed


def _paste(image: Image.Image, panel: Image.Image, taken: list[tuple[int, int, int, int]],
           rng: random.Random) -> bool:
    """Paste ``panel`` where it overlaps no earlier one and stays in the frame; False if none."""
    w, h = image.size
    pw, ph = panel.size
    if pw > w - 20 or ph > h - 20:
        return False
    for _ in range(60):
        x, y = rng.randint(10, w - pw - 10), rng.randint(10, h - ph - 10)
        box = (x, y, x + pw, y + ph)
        if all(box[2] < t[0] or box[0] > t[2] or box[3] < t[1] or box[1] > t[3] for t in taken):
            image.paste(panel, (x, y), panel)
            taken.append(box)
            return True
    return False


KINDS = ("sign", "label", "receipt")


def render_text_photo(words: list[str], rng: random.Random, size: tuple[int, int] = (1600, 1200)
                      ) -> tuple[Image.Image, TextPhoto]:
    """Render one picture holding ``words`` (some may not fit: only placed ones are listed)."""
    image = _background(*size, rng)
    if rng.random() < 0.4:
        _texture(image, rng.choice(TEXTURES[:-1]), rng)
    info = TextPhoto(name="")
    taken: list[tuple[int, int, int, int]] = []
    todo = list(words)
    while todo:
        kind = rng.choices(KINDS, weights=(0.4, 0.35, 0.25))[0]
        count = {"sign": rng.randint(1, 2), "label": rng.randint(1, 2), "receipt": rng.randint(2, 3)}[kind]
        group, todo = todo[:count], todo[count:]
        angle = rng.uniform(-12, 12) if rng.random() < 0.6 else 0.0
        panel, placed = _make_panel(kind, group, rng, angle)
        if angle:
            panel = panel.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        if _paste(image, panel, taken, rng):
            info.words.extend(placed)
    return image, info


def render_plain_photo(rng: random.Random, size: tuple[int, int] = (1600, 1200)) -> tuple[Image.Image, TextPhoto]:
    """A picture without text, often with a text-like texture."""
    image = _background(*size, rng)
    texture = rng.choice(TEXTURES)
    if texture:
        _texture(image, texture, rng)
    return image, TextPhoto(name="", texture=texture)


def _degrade(image: Image.Image, info: TextPhoto, rng: random.Random) -> Image.Image:
    """Blur some pictures a little; the caller saves with ``info.quality``."""
    info.blur = round(rng.choice([0.0, 0.0, rng.uniform(0.5, 1.0), rng.uniform(1.0, 1.6)]), 2)
    info.quality = rng.choice([40, 55, 70, 85, 92])
    return image.filter(ImageFilter.GaussianBlur(info.blur)) if info.blur else image


def _camera_size(image: Image.Image, scale: float, rng: random.Random) -> Image.Image:
    """Resize by ``scale`` and add sensor noise, so a 12 MP JPEG weighs what a camera's does."""
    big = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 6, (big.height, big.width, 1))
    return Image.fromarray(np.clip(np.asarray(big, np.float32) + noise, 0, 255).astype(np.uint8), "RGB")


def make_text_library(folder: str | Path, n_text: int = 40, n_plain: int = 20, seed: int = 0,
                      words_per_photo: tuple[int, int] = (2, 5), scale: float = 1.0,
                      words: tuple[str, ...] = WORDS) -> list[TextPhoto]:
    """Write ``n_text`` pictures with words and ``n_plain`` without as JPEG into ``folder``.

    ``scale`` renders at 1600x1200 and resizes (4000x3000 for 12 MP at 2.5). A
    ``manifest.json`` lists each picture's words, sizes, fonts, tilt, blur and JPEG quality.
    Every word is used at most once; ``n_text`` is lowered if the vocabulary runs out.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = list(words)
    rng.shuffle(pool)
    photos: list[TextPhoto] = []
    jobs = [("text", i) for i in range(n_text)] + [("plain", i) for i in range(n_plain)]
    rng.shuffle(jobs)
    for index, (kind, _) in enumerate(jobs):
        if kind == "text":
            take = rng.randint(*words_per_photo)
            if len(pool) < take:
                continue
            chosen, pool = pool[:take], pool[take:]
            image, info = render_text_photo(chosen, rng)
        else:
            image, info = render_plain_photo(rng)
        image = _degrade(image, info, rng)
        if scale != 1.0:
            image = _camera_size(image, scale, rng)
        info.name = f"{kind}_{index:04d}.jpg"
        image.save(root / info.name, "JPEG", quality=info.quality)
        photos.append(info)
    manifest = {"seed": seed, "scale": scale, "n_text": n_text, "n_plain": n_plain, "photos": [asdict(p) for p in photos]}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    return photos


def load_manifest(folder: str | Path) -> list[TextPhoto]:
    """The pictures a ``make_text_library`` call wrote, from its manifest."""
    document = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    return [TextPhoto(name=p["name"], words=[PlacedWord(**w) for w in p["words"]], blur=p["blur"],
                      quality=p["quality"], texture=p["texture"]) for p in document["photos"]]


def size_bucket(px: int, edges: tuple[int, ...] = (45, 60, 80, 100, 131)) -> str:
    """A label for a type size: ``45-59``, ``60-79``..."""
    for lo, hi in zip(edges, edges[1:]):
        if lo <= px < hi:
            return f"{lo}-{hi - 1}"
    return f"{px}"

