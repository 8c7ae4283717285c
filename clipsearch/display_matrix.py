"""A video's display matrix as the one turn or flip that shows its frames as a player does.

Phones store portrait video turned and say in the stream's display matrix how to show it; a
front camera's may mirror it too. PyAV's ``VideoFrame.rotation`` is only the matrix's angle: a
mirrored matrix reads as a turn (a left-right mirror as 180 degrees, a top-bottom one as none),
so such frames were indexed and shown upside down or unmirrored. ``upright`` reads the whole
matrix instead, each of its eight axis-aligned forms as FFmpeg's own player and command line apply
it (``transpose``, ``hflip``, ``vflip``). No PyAV import here: ``video_frames`` hands over its frames.
"""

from __future__ import annotations

import struct

from PIL import Image

T = Image.Transpose
# (a, b, c, d) of the matrix [a b u; c d v; x y w] (a shown point is x' = a*x + c*y, y' = b*x + d*y,
# in pixels that run right and down) -> what PIL does to the stored picture to show it
_FORMS = {
    (1, 0, 0, 1): None,
    (-1, 0, 0, 1): T.FLIP_LEFT_RIGHT,  # a front camera's mirror
    (1, 0, 0, -1): T.FLIP_TOP_BOTTOM,
    (-1, 0, 0, -1): T.ROTATE_180,
    (0, 1, -1, 0): T.ROTATE_270,  # a quarter turn clockwise: what a phone held upright writes
    (0, -1, 1, 0): T.ROTATE_90,
    (0, 1, 1, 0): T.TRANSPOSE,  # a quarter turn and a mirror
    (0, -1, -1, 0): T.TRANSVERSE,
}
_TURNS = {1: T.ROTATE_90, 2: T.ROTATE_180, 3: T.ROTATE_270}  # quarter turns counter-clockwise
SIDEWAYS = frozenset({T.ROTATE_90, T.ROTATE_270, T.TRANSPOSE, T.TRANSVERSE})  # width and height swap


def upright(matrix: bytes | None, rotation: float = 0.0) -> Image.Transpose | None:
    """What shows a frame with this display matrix (FFmpeg's 9 int32, as the frame's side data
    holds them) as a player shows it; None for as stored. A matrix at another angle, or none that
    can be read, falls back to ``rotation`` (PyAV's counter-clockwise degrees) to the nearest
    quarter turn."""
    if matrix is not None and len(matrix) >= 36:
        a, b, _, c, d = struct.unpack("=5i", matrix[:20])
        scale = max(abs(a), abs(b), abs(c), abs(d))
        form = tuple(round(v / scale) for v in (a, b, c, d)) if scale else None
        if form in _FORMS:
            return _FORMS[form]
    return _TURNS.get(round(rotation / 90) % 4)


def upright_of(frame) -> Image.Transpose | None:
    """``upright`` for a decoded PyAV ``VideoFrame``: its display matrix (side data FFmpeg copies
    from the stream to each frame) and its ``rotation``."""
    matrix = frame.side_data.get("DISPLAYMATRIX")
    return upright(bytes(matrix) if matrix is not None else None, frame.rotation)
