"""The visual check's pixel comparison on generated screenshots: identical pages, text
re-antialiased, a banner, a page that got shorter, and files that are not screenshots."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from sitekeeper.updates.visual import TOLERANCE, compare

SIZE = (1280, 2000)


def page(seed: int = 1, size: tuple[int, int] = SIZE) -> Image.Image:
    """A page-like picture: white, a header bar, lines of "text" (small dark boxes)."""
    picture = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, size[0], 80), fill=(30, 60, 120))
    chance = random.Random(seed)
    for row in range(120, size[1] - 40, 28):
        x = 40
        while x < size[0] - 80:
            word = chance.randint(20, 90)
            draw.rectangle((x, row, x + word, row + 12), fill=(20, 20, 20))
            x += word + 10
    return picture


def saved(picture: Image.Image, path: Path) -> Path:
    picture.save(path, "PNG")
    return path


def test_the_same_page_has_no_difference(tmp_path: Path) -> None:
    found = compare(saved(page(), tmp_path / "a.png"), saved(page(), tmp_path / "b.png"))
    assert found.changed == 0
    assert found.percent == 0.0


def test_antialiasing_noise_and_single_pixels_are_ignored(tmp_path: Path) -> None:
    noisy = page()
    pixels = noisy.load()
    assert pixels is not None
    chance = random.Random(7)
    for _ in range(20_000):  # faint shifts everywhere, as another font rasteriser gives
        x, y = chance.randrange(SIZE[0]), chance.randrange(SIZE[1])
        r, g, b = pixels[x, y]  # type: ignore[misc]
        shift = chance.randint(-TOLERANCE, TOLERANCE)
        pixels[x, y] = (max(0, min(255, r + shift)), g, b)
    for _ in range(2_000):  # strong but isolated dots and one-pixel edges
        x, y = chance.randrange(1, SIZE[0] - 1), chance.randrange(1, SIZE[1] - 1)
        pixels[x, y] = (255, 0, 0)
    found = compare(saved(page(), tmp_path / "a.png"), saved(noisy, tmp_path / "b.png"))
    assert found.percent < 0.01


def test_a_banner_is_its_share_of_the_page(tmp_path: Path) -> None:
    banner = page()
    ImageDraw.Draw(banner).rectangle((0, 0, SIZE[0] - 1, 399), fill=(200, 0, 0))
    found = compare(saved(page(), tmp_path / "a.png"), saved(banner, tmp_path / "b.png"))
    assert 15.0 < found.percent <= 20.0  # 400 of 2000 rows, less what was red-ish already


def test_text_laid_out_anew_is_a_few_percent_of_the_page(tmp_path: Path) -> None:
    found = compare(saved(page(1), tmp_path / "a.png"), saved(page(2), tmp_path / "b.png"))
    assert found.percent > 3.0  # text covers a small share of a page


def test_a_smaller_screenshot_counts_its_missing_part_as_changed(tmp_path: Path) -> None:
    short = page().crop((0, 0, SIZE[0], SIZE[1] // 2))
    found = compare(saved(page(), tmp_path / "a.png"), saved(short, tmp_path / "b.png"))
    assert found.percent == pytest.approx(50.0, abs=1.0)


def test_a_file_that_is_not_a_png_is_a_value_error(tmp_path: Path) -> None:
    good = saved(page(), tmp_path / "a.png")
    jpeg = tmp_path / "b.png"
    page().save(jpeg, "JPEG")
    with pytest.raises(ValueError, match="not a PNG"):
        compare(good, jpeg)
    junk = tmp_path / "c.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ValueError, match="cannot be read"):
        compare(good, junk)


def test_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # tiny file, 400 M pixels
    with pytest.raises(ValueError, match="cannot be read"):
        compare(saved(page(), tmp_path / "a.png"), bomb)
