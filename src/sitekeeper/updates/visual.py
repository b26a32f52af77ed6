"""How much of a page's screenshot changed: the pixel comparison of the visual check.

Pure (Pillow, no I/O but reading the two files). A pixel counts as changed when one of
its colour channels moved by more than ``TOLERANCE`` (font smoothing and image
resampling shift edges by a few levels), and only where at least a 3×3 block changed
together: a one-pixel outline of text re-antialiased is noise, a banner, a missing
stylesheet or a broken layout is not. Screenshots of different sizes compare on the
larger canvas, the part only one of them covers counting as changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageFilter

TOLERANCE = 32  # per channel, of 255
MAX_PIXELS = 4096 * 8192  # a decompression bomb is not a screenshot

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True, slots=True)
class Difference:
    """The share of the page that changed, and the pixels behind it."""

    changed: int
    total: int

    @property
    def percent(self) -> float:
        """Changed pixels as a percentage of the compared canvas."""
        return 100.0 * self.changed / self.total if self.total else 0.0


def compare(before: Path, after: Path) -> Difference:
    """Compare two screenshots (PNG files); ValueError if either is not a usable image."""
    first, second = _load(before), _load(after)
    width, height = max(first.width, second.width), max(first.height, second.height)
    first, second = _canvas(first, width, height), _canvas(second, width, height)
    return differing(first, second)


def differing(first: Image.Image, second: Image.Image) -> Difference:
    """The changed pixels of two RGB images of one size (see the module's rules)."""
    delta = ImageChops.difference(first, second)
    red, green, blue = delta.split()
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    mask = strongest.point(lambda level: 255 if level > TOLERANCE else 0)
    solid = mask.filter(ImageFilter.MinFilter(3))  # erosion: blocks stay, lines and dots go
    changed = solid.histogram()[255]
    return Difference(changed, first.width * first.height)


def _load(path: Path) -> Image.Image:
    try:
        with Image.open(path) as opened:
            if opened.format != "PNG":
                raise ValueError(f"{path.name} is not a PNG")
            return opened.convert("RGB")
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{path.name} cannot be read as an image: {exc}") from None


def _canvas(image: Image.Image, width: int, height: int) -> Image.Image:
    """``image`` on a canvas of ``width`` × ``height``; what it does not cover is a colour
    no page has beside a screenshot's, so it counts as changed."""
    if image.size == (width, height):
        return image
    canvas = Image.new("RGB", (width, height), (255, 0, 255))
    canvas.paste(image, (0, 0))
    return canvas
