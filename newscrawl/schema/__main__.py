"""`python -m newscrawl.schema [--markdown | --validate FILE.jsonl ...]`: print the schema, the README
data dictionary, or check JSON Lines files (exit 1 and one line per bad item; exit 2 and one line for a
file that is not JSON Lines at all, such as a Parquet or CSV export)."""

import argparse
import json
import sys

from newscrawl.schema import errors, load, markdown_table

#: the first bytes of files that are certainly not JSON Lines, and what they are
_MAGIC = {b"PAR1": "a Parquet file", b"PK\x03\x04": "a ZIP archive (xlsx?)", b"\x1f\x8b": "a gzip file",
          b"SQLite format 3\x00": "a SQLite database"}


def not_jsonl(path: str) -> str | None:
    """Why `path` is not JSON Lines at all (then it is one line and exit 2, not a line per "bad item"): a
    binary format, text that is not UTF-8, or a first line that is not a JSON object (CSV, a JSON array)."""
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return f"{path} is {what}, not JSON Lines (one JSON object per line)"
    if b"\x00" in head:
        return f"{path} is a binary file, not JSON Lines (one JSON object per line)"
    first = next((line for line in head.splitlines() if line.strip()), b"")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return f"{path} is not UTF-8 text; JSON Lines is UTF-8"
    text = text.lstrip("\ufeff").strip()
    if first and not text.startswith("{"):
        kind = "a JSON array" if text.startswith("[") else "CSV or other text" if "," in text else "text"
        return f"{path} looks like {kind}, not JSON Lines (one JSON object per line; first line: {text[:40]!r})"
    return None


def validate(paths: list[str], limit: int = 20) -> int:
    bad = total = 0
    for path in paths:
        try:
            reason = not_jsonl(path)
            fh = open(path, "rb")
        except OSError as exc:
            print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 2
        if reason:
            print(f"error: {reason}", file=sys.stderr)
            return 2
        with fh:
            for number, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    print(f"error: {path}:{number}: not UTF-8 text; JSON Lines is UTF-8", file=sys.stderr)
                    return 2
                if not line.strip():
                    continue
                total += 1
                try:
                    problems = errors(json.loads(line))
                except ValueError as exc:
                    problems = [f"not JSON: {exc}"]
                if problems:
                    bad += 1
                    if bad <= limit:
                        print(f"{path}:{number}: {'; '.join(problems)}")
    print(f"{total - bad} of {total} items valid", file=sys.stderr)
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newscrawl.schema", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--markdown", action="store_true", help="print README's data dictionary table")
    group.add_argument("--validate", nargs="+", metavar="FILE", help="check JSON Lines files")
    args = parser.parse_args(argv)
    if args.validate:
        return validate(args.validate)
    print(markdown_table() if args.markdown else json.dumps(load(), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
