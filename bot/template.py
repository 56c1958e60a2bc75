"""The example batch ``/template`` sends: a ZIP with a commented ``batch.toml``, four small images
and a ``gold.csv``; sent back unchanged, it makes a valid draft. No Telegram here.

Built from code (Pillow draws the images) so that it can never drift from what the manifest
parser accepts: a test sends it back through the bot and expects a draft.
"""

from __future__ import annotations

import io
import zipfile

from PIL import Image

TEMPLATE_NAME = "petites-mains-template.zip"

MANIFEST = """\
# batch.toml: the settings of a Petites Mains batch. Edit, zip with your files, send to the bot.
# Lines starting with # are comments. Every field is described in /help.

type = "image_tag"          # image_tag | emotion | transcription
title = "Colour swatches"   # what workers see first (100 characters at most)
instructions = "Tick every colour you can see in the square."
labels = ["red", "green", "blue"]   # image_tag and emotion (emotion has a default set)
multiple = true             # image_tag only: several labels per answer
seconds_per_task = 6        # your estimate; drives the fair price and the timer
# reward = "0.02"           # per answer; default: MIN_HOURLY_RATE x seconds_per_task
answers_per_item = 3        # most answers collected per item (1-10)
time_limit = 30             # seconds to answer once shown (15-600)
gold = "gold.csv"           # control items: file,answer (labels joined by |)
"""

_SWATCHES = (
    ("images/01-red.png", (220, 30, 30)),
    ("images/02-green.png", (30, 180, 60)),
    ("images/03-blue.png", (30, 60, 220)),
    ("images/04-red-blue.png", None),
)
GOLD = "file,answer\nimages/01-red.png,red\nimages/04-red-blue.png,red|blue\n"


def _swatch(colour: tuple[int, int, int] | None) -> bytes:
    image = Image.new("RGB", (96, 96), colour or (220, 30, 30))
    if colour is None:  # half red, half blue
        image.paste((30, 60, 220), (48, 0, 96, 96))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def template_zip() -> bytes:
    """The example batch as ZIP bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("batch.toml", MANIFEST)
        archive.writestr("gold.csv", GOLD)
        for name, colour in _SWATCHES:
            archive.writestr(name, _swatch(colour))
    return out.getvalue()
