"""List UI text keys that a language lacks, or whose {placeholders} differ from English: python3 scripts/i18n_missing.py [--lang zh].

--json writes the missing keys with their English text as one JSON object (a file to translate and merge back
with `python3 scripts/i18n_add.py FILE.json --lang zh`). --prefix evaluate. keeps only keys starting with it.
--changed-since OLD_EN.json also lists keys whose English changed after OLD_EN.json (their translations may be stale), e.g.
`git show HEAD:i18n/en.json > /tmp/en_old.json && python3 scripts/i18n_missing.py --changed-since /tmp/en_old.json`.
Exit code 1 when anything is missing or mismatched, so the lead can run it last as a check.
"""
import argparse
import json
import string
import sys
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parents[1] / "i18n"
LANGS = ("zh", "ja")


def placeholders(text):
    """The set of {name} fields in a format string (positional or empty fields count as '')."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def read(lang):
    return json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def problems(en, other):
    """(missing keys, keys whose placeholders differ, keys not in English) of one language against English."""
    missing = sorted(k for k in en if not other.get(k))
    mismatched = sorted(k for k in en if other.get(k) and placeholders(other[k]) != placeholders(en[k]))
    extra = sorted(k for k in other if k not in en)
    return missing, mismatched, extra


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lang", choices=LANGS, action="append", help="only this language (repeatable); default: all")
    p.add_argument("--prefix", default="", help="only keys starting with this")
    p.add_argument("--json", action="store_true", help="print the missing keys' English text as JSON (one language only)")
    p.add_argument("--changed-since", metavar="OLD_EN_JSON", help="also list keys whose English text differs from this older en.json")
    args = p.parse_args()
    en = {k: v for k, v in read("en").items() if k.startswith(args.prefix)}
    langs = args.lang or list(LANGS)
    if args.json:
        if len(langs) != 1:
            p.error("--json needs exactly one --lang")
        missing, mismatched, _ = problems(en, read(langs[0]))
        print(json.dumps({k: en[k] for k in missing + mismatched}, ensure_ascii=False, indent=1))
        return 0
    bad = False
    if args.changed_since:
        old = json.loads(Path(args.changed_since).read_text(encoding="utf-8"))
        changed = sorted(k for k in en if k in old and old[k] != en[k])
        print(f"English changed since {args.changed_since} ({len(changed)}): " + ", ".join(changed))
    for lang in langs:
        missing, mismatched, extra = problems(en, read(lang))
        print(f"{lang}: {len(en) - len(missing)}/{len(en)} keys translated")
        for title, keys in (("missing", missing), ("placeholders differ", mismatched), ("not in en.json", extra)):
            if keys:
                print(f"  {title} ({len(keys)}): " + ", ".join(keys))
        bad = bad or bool(missing or mismatched)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
