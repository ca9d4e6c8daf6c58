"""`python -m newscrawl.schema [--markdown | --validate FILE.jsonl ...]`: print the schema, the README
data dictionary, or check JSON Lines files (exit 1 and one line per bad item)."""

import argparse
import json
import sys

from newscrawl.schema import SCHEMA_PATH, errors, markdown_table


def validate(paths: list[str], limit: int = 20) -> int:
    bad = total = 0
    for path in paths:
        try:
            fh = open(path, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 2
        with fh:
            for number, line in enumerate(fh, 1):
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
    print(markdown_table() if args.markdown else SCHEMA_PATH.read_text(encoding="utf-8").rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
