"""``pitwatch generate``: write (or check) the files generated from code."""

from __future__ import annotations

import argparse
import sys


def cmd_generate(args: argparse.Namespace) -> int:
    from alert_rules.config import ConfigError
    from pitwatch.generate import generate, rendered

    try:
        files = rendered()
        count = len(files)
        stale = generate(check=args.check, files=files)
    except ConfigError as exc:  # alert_rules/overrides.toml names something that is not there
        print(f"pitwatch: {exc}", file=sys.stderr)
        return 2
    if args.check:
        for path in stale:
            print(f"stale: {path} (run pitwatch generate)", file=sys.stderr)
        if not stale:
            print(f"{count} generated files are up to date")
        return 1 if stale else 0
    for path in stale:
        print(f"wrote {path}")
    print(f"{count} generated files, {len(stale)} changed")
    return 0


def register(sub) -> None:
    gen = sub.add_parser(
        "generate",
        help="write the files generated from code: metrics reference, alert rules, promtool "
        "tests, runbooks, Alertmanager config",
    )
    gen.add_argument("--check", action="store_true", help="fail when a committed file is stale")
    gen.set_defaults(func=cmd_generate)
