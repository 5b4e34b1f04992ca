"""Render 12 procedural actors in a 4x3 grid with their prompts: docs/gallery.png.

    python scripts/make_gallery.py [--out docs/gallery.png] [--tile 300]

Deterministic: the same code gives the same image, so a changed gallery in a diff means the
drawing changed.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vortex.actors.images import save_png
from vortex.actors.procedural import draw_portrait

PROMPTS = [
    ("old scientist with spiky grey hair and a long nose in a lab coat, laboratory", 2),
    ("green alien with antennae in space", 0),
    ("robot in a uniform, city", 1),
    ("young woman with long red hair, desert", 0),
    ("purple alien with glasses and a top hat, studio", 0),
    ("man with a brown beard and a beanie in a hoodie", 0),
    ("bald man with a mustache in a suit, yellow background", 0),
    ("dark skinned woman with an afro and a crown, studio", 0),
    ("blue alien with goggles and a mohawk, laboratory", 0),
    ("kid with blonde curly hair and freckles in a t-shirt, city", 1),
    ("old wizard with a white beard, space", 0),
    ("tan man with a pompadour and a cap, desert", 0),
]


def render(tile: int = 300) -> np.ndarray:
    cols, rows = 4, 3
    caption_h = 60
    sheet = Image.new("RGB", (cols * tile, rows * (tile + caption_h)), (24, 22, 30))
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.load_default(size=14)
    except TypeError:  # Pillow without FreeType: the small bitmap font
        font = ImageFont.load_default()
    for k, (prompt, seed) in enumerate(PROMPTS):
        x, y = (k % cols) * tile, (k // cols) * (tile + caption_h)
        sheet.paste(Image.fromarray(draw_portrait(prompt, seed=seed, size=tile).image), (x, y))
        text = "\n".join(textwrap.wrap(f"{prompt}" + (f"  (seed {seed})" if seed else ""), 40))
        draw.multiline_text((x + 8, y + tile + 5), text, fill=(235, 235, 240), font=font, spacing=2)
    return np.asarray(sheet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "gallery.png"))
    parser.add_argument("--tile", type=int, default=300)
    args = parser.parse_args(argv)
    save_png(render(args.tile), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
