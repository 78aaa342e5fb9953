"""``pitwatch generate``: write (or check) the files generated from code, for the reference
operator (into the repository) or, with ``--config FILE``, for another operator (into a
folder of its own)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pitwatch.cli.errors import CliError

OPERATORS_DIR = Path("var/operators")


def target(config: Path, out: str | None) -> tuple[Path, bool]:
    """Where the files go for the operator file ``config`` (the one in force: --config or
    PITWATCH_OPERATOR_CONFIG), and whether they are the reference operator's (the
    repository's own artefacts, with the reference stack's compose files)."""
    from pitwatch.cli.operator import is_reference
    from pitwatch.generate import ROOT

    if is_reference(config):
        return (Path(out) if out else ROOT), True
    folder = Path(out) if out else OPERATORS_DIR / config.stem
    if folder.resolve() == ROOT:
        raise CliError(
            f"generate: --out {folder} is the repository: the reference operator's "
            "artefacts are generated from the reference file only; choose another folder"
        )
    return folder, False


def cmd_generate(args: argparse.Namespace) -> int:
    from alert_rules.config import ConfigError
    from ground.vocabulary import OPERATOR_SOURCE
    from pitwatch.generate import generate, rendered

    if args.config and Path(args.config).resolve() != OPERATOR_SOURCE:
        # main() chose the file before the catalog loaded (pitwatch.cli.operator)
        raise CliError(f"generate: {args.config} is not the operator configuration in force")
    root, reference = target(OPERATOR_SOURCE, args.out)
    try:
        files = rendered(stack=reference)
        count = len(files)
        stale = generate(root, check=args.check, files=files)
    except ConfigError as exc:  # an override names an alert, label or parameter not there
        print(f"pitwatch: {exc}", file=sys.stderr)
        return 2
    if args.check:
        for path in stale:
            print(f"stale: {root / path} (run pitwatch generate)", file=sys.stderr)
        if not stale:
            print(f"{count} generated files in {root} are up to date")
        return 1 if stale else 0
    for path in stale:
        print(f"wrote {root / path}")
    print(f"{count} generated files in {root}, {len(stale)} changed")
    return 0


def register(sub) -> None:
    gen = sub.add_parser(
        "generate",
        help="write the files generated from code: metrics reference, alert rules, promtool "
        "tests, runbooks, Alertmanager config, dashboards",
        description="Render the generated files for the operator configuration in force "
        "(--config FILE, else PITWATCH_OPERATOR_CONFIG, else the reference operator's, whose "
        "files are the repository's own). Another operator's go to a folder of their own.",
    )
    gen.add_argument("--check", action="store_true", help="fail when a generated file is stale")
    gen.add_argument(
        "--config",
        metavar="FILE",
        help="the operator configuration file (docs/operator-config.md); default: "
        "PITWATCH_OPERATOR_CONFIG, else ground/reference-operator.toml",
    )
    gen.add_argument(
        "--out",
        metavar="DIR",
        help=f"where the files go (default: the repository for the reference operator, "
        f"{OPERATORS_DIR}/<file name> for another)",
    )
    gen.set_defaults(func=cmd_generate)
