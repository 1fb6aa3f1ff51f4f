"""Merge new UI text keys into i18n/<lang>.json under a file lock: python3 scripts/i18n_add.py KEYS.json [--lang en]."""
import argparse
import fcntl
import json
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parents[1] / "i18n"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("keys", help="a JSON file of {key: text}")
    p.add_argument("--lang", default="en", choices=["en", "zh", "ja"])
    args = p.parse_args()
    new = json.loads(Path(args.keys).read_text(encoding="utf-8"))
    path = CATALOG_DIR / f"{args.lang}.json"
    with open(CATALOG_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cat = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        clashes = {k for k in new if k in cat and cat[k] != new[k]}
        cat.update(new)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(cat.items())), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
    print(f"{len(new)} keys merged into {path.name}" + (f"; overwritten: {sorted(clashes)}" if clashes else ""))


if __name__ == "__main__":
    main()
