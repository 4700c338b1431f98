"""Builds the bundled print font from Debian's fonts-noto-cjk (run once by a developer, not at run time).

Noto Sans CJK SC Regular and Bold are taken from the TTC collections, subset to what Chinese
forms need (Latin, punctuation, CJK symbols, the CJK Unified Ideographs incl. Extension A,
full-width forms), and the Kangxi-radical / compatibility code points that alias ordinary
ideographs are dropped from the cmap: otherwise Qt's PDF writer maps e.g. 一 back to U+2F00
(⼀) and the text of a saved PDF cannot be searched or copied correctly.

    python resources/fonts/make_font.py /usr/share/fonts/opentype/noto resources/fonts
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

RANGES = [
    (0x0020, 0x007E), (0x00A0, 0x024F), (0x02C6, 0x02DD), (0x0391, 0x03C9), (0x0401, 0x0451),
    (0x2000, 0x206F), (0x2100, 0x218F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF),
    (0x2500, 0x257F), (0x25A0, 0x25FF), (0x2600, 0x26FF), (0x2700, 0x27BF),
    (0x3000, 0x303F), (0x3105, 0x312F), (0x31A0, 0x31BF), (0x3200, 0x33FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF),
]


def build(src_dir: Path, out_dir: Path) -> None:
    # Bold (titles, headers) skips Extension A: rare name characters are printed in regular weight.
    bold_ranges = [r for r in RANGES if r != (0x3400, 0x4DBF)]
    for weight in ("Regular", "Bold"):
        coll = TTCollection(str(src_dir / f"NotoSansCJK-{weight}.ttc"))
        font = next(f for f in coll.fonts if f["name"].getDebugName(1) == "Noto Sans CJK SC")
        cmap = font.getBestCmap()
        ranges = RANGES if weight == "Regular" else bold_ranges
        wanted = [cp for lo, hi in ranges for cp in range(lo, hi + 1) if cp in cmap]
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.glyph_names = False
        options.hinting = False
        sub = subset.Subsetter(options)
        sub.populate(unicodes=wanted)
        sub.subset(font)
        drop_locl(font)
        rename(font, weight)
        out = out_dir / f"AnjuNotoSansSC-{weight}.otf"
        font.save(str(out))
        print(out, out.stat().st_size)


FAMILY = "Anju Noto Sans SC"


def drop_locl(font) -> None:
    """Remove 'locl' from every script: for Latin it swaps the digits for glyphs without a cmap
    entry, so "HL0001" in a PDF would extract as "HL"."""
    gsub = font["GSUB"].table
    tags = [fr.FeatureTag for fr in gsub.FeatureList.FeatureRecord]
    for record in gsub.ScriptList.ScriptRecord:
        systems = [record.Script.DefaultLangSys] + [ls.LangSys for ls in record.Script.LangSysRecord]
        for langsys in systems:
            if langsys is not None:
                langsys.FeatureIndex = [i for i in langsys.FeatureIndex if tags[i] != "locl"]
                langsys.FeatureCount = len(langsys.FeatureIndex)


def rename(font, weight: str) -> None:
    """A family name of its own: a system-installed Noto Sans CJK (with the radical aliases) must
    not be picked instead of this copy. The OFL allows modified versions; "Noto" is not reserved."""
    ps_name = f"AnjuNotoSansSC-{weight}"
    names = {1: FAMILY, 2: weight, 3: f"{ps_name};subset of Noto Sans CJK SC 2.004", 4: f"{FAMILY} {weight}",
             6: ps_name, 16: FAMILY, 17: weight}
    table = font["name"]
    table.names = [n for n in table.names if n.nameID not in names or n.nameID in (0, 13, 14)]
    for name_id, text in names.items():
        table.setName(text, name_id, 3, 1, 0x409)
        table.setName(text, name_id, 1, 0, 0)
    cff = font["CFF "].cff
    cff.fontNames = [ps_name]
    top = cff.topDictIndex[0]
    top.FullName = f"{FAMILY} {weight}"
    top.FamilyName = FAMILY


if __name__ == "__main__":
    if sys.argv[1] == "--fix-locl":  # re-apply drop_locl to already built files
        from fontTools.ttLib import TTFont

        for name in sys.argv[2:]:
            f = TTFont(name)
            drop_locl(f)
            f.save(name)
    else:
        build(Path(sys.argv[1]), Path(sys.argv[2]))
