"""Developer tool: add or update messages in both languages' catalogue file of one feature.

Usage: python scripts/add_messages.py DOMAIN messages.json
where messages.json is a list of [key, english, french] and DOMAIN names the file
bot/locales/{en,fr}/LC_MESSAGES/DOMAIN.po (created if missing). Placeholders are {name}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parent.parent / "bot" / "locales"


def main(domain: str, source: Path) -> None:
    entries = json.loads(source.read_text("utf-8"))
    for index, language in enumerate(("en", "fr")):
        path = LOCALES / language / "LC_MESSAGES" / f"{domain}.po"
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            catalog = Catalog(locale=language, project="petites-mains", charset="utf-8")
        for key, *texts in entries:
            catalog.add(key, string=texts[index])
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=0, sort_output=True)
    print(f"{len(entries)} messages in {domain}.po")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
