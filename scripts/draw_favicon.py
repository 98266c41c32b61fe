"""Draws the app's mark (a meter's pulse line on Bootstrap blue) as assets/favicon.ico and logo.png (needs Pillow)."""
from pathlib import Path

from PIL import Image, ImageDraw

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def mark(size: int) -> Image.Image:
    """The mark at size × size pixels, transparent outside its rounded square."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=(13, 110, 253, 255))
    s = size / 64
    points = [(8, 36), (20, 36), (26, 18), (34, 48), (40, 28), (44, 36), (56, 36)]
    draw.line([(x * s, y * s) for x, y in points], fill=(255, 255, 255, 255), width=max(2, round(5 * s)), joint="curve")
    return image

big = mark(256)
big.save(str(ASSETS / "favicon.ico"), sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
mark(64).save(str(ASSETS / "logo.png"))
