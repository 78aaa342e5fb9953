"""Which operator configuration a command runs with (``--config FILE`` or
``PITWATCH_OPERATOR_CONFIG``; docs/operator-config.md).

``ground.vocabulary`` reads the file once, when it is first imported, and the metric
catalog, the rules and the dashboards take their label values from it at import. So the
file is chosen before anything of ours that imports the vocabulary is loaded: ``main``
calls ``choose`` with the command line before it imports the command modules. A process
that has already loaded another operator's vocabulary (a test calling ``main`` twice, a
library caller) runs the command in a child process with the variable set instead: a
catalog is never half one operator's and half another's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ground.operator import ENV, OperatorConfigError, load, selected_path

FLAG = "--config"
# The command groups whose --config is the operator's file (``pitwatch sim ... --config``
# is the simulator's knobs, not this).
COMMANDS = ("generate", "collect", "contract")


def named_file(argv: Sequence[str]) -> str | None:
    """The FILE of ``--config FILE`` (or ``--config=FILE``) on a command that takes the
    operator's configuration."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in COMMANDS:
        return None
    for i, arg in enumerate(argv):
        if arg == FLAG and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(FLAG + "="):
            return arg.split("=", 1)[1]
    return None


def loaded_source() -> Path | None:
    """The file this process's vocabulary was read from (None: not loaded yet)."""
    vocabulary = sys.modules.get("ground.vocabulary")
    return getattr(vocabulary, "OPERATOR_SOURCE", None) if vocabulary else None


def choose(argv: Sequence[str]) -> int | None:
    """Validate the operator file the command runs with and make it the one in force.

    Returns None to go on in this process, or the exit code of the command run in a
    child process (this process has another operator's vocabulary loaded). Raises
    OperatorConfigError (one line) when the file is missing or wrong."""
    named = named_file(argv)
    path = Path(named).resolve() if named else selected_path()
    load(path)  # a mistake is one line naming the key, before anything else runs
    loaded = loaded_source()
    if loaded is None or loaded == path:
        if named:
            os.environ[ENV] = str(path)
        return None
    env = {**os.environ, ENV: str(path)}
    return subprocess.call([sys.executable, "-m", "pitwatch.cli", *argv], env=env)


def is_reference(path: str | os.PathLike[str] | None) -> bool:
    from ground.operator import REFERENCE

    return path is None or Path(path).resolve() == REFERENCE


__all__ = ["FLAG", "OperatorConfigError", "choose", "is_reference", "named_file"]
