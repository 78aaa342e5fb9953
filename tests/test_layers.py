"""The house keeps to its layers (ground.layers), and the check sees what it must."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ground import layers

ROOT = Path(__file__).resolve().parents[1]


def test_the_house_keeps_to_its_layers():
    run = subprocess.run(
        [sys.executable, "-m", "ground.layers"], capture_output=True, text=True, cwd=ROOT
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_ground_floor_imports_nothing_of_ours():
    found = layers.imports(ROOT)
    assert [
        i for i in found if i.importer.startswith("ground") and layers.top(i.imported) != "ground"
    ] == []


def test_nothing_of_ours_imports_pitwatch_but_the_entry_points():
    found = layers.imports(ROOT)
    importers = {layers.top(i.importer) for i in found if layers.top(i.imported) == "pitwatch"}
    assert importers <= {"pitwatch", "benchmarks", "tests"}


def _house(tmp_path: Path, files: dict[str, str]) -> Path:
    """A repository of the project's shape holding just ``files`` (path: source)."""
    for folder in (*layers.ROOTS.values(), *layers.ENTRY_POINTS.values()):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "__init__.py").touch()
    for path, source in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    return tmp_path


def _against(root: Path) -> set[tuple[str, str, bool]]:
    return {
        (i.importer, i.imported, i.in_function)
        for i in layers.imports(root)
        if not layers.allowed(i)
    }


def test_an_import_running_up_is_against_the_layers(tmp_path):
    root = _house(
        tmp_path,
        {
            "ground/money.py": "from igaming.wallet import Ledger\n",
            "platform/igaming/wallet.py": "import ground.money\nfrom pitwatch import settings\n",
            "pitwatch/settings.py": "from igaming import wallet\n",
        },
    )
    assert _against(root) == {
        ("ground.money", "igaming.wallet", False),
        ("igaming.wallet", "pitwatch.settings", False),
    }
    assert layers.report(root, picture=False) == 1


def test_arrows_between_floors_only_where_allowed(tmp_path):
    root = _house(
        tmp_path,
        {
            "dashboards/board.py": "from alert_rules import model\nimport collectors.catalog\n",
            "alert_rules/model.py": "from dashboards import board\n",
            "collectors/catalog/__init__.py": "M = 1\n",
            "collectors/state/base.py": "from igaming import models\n",
            "platform/igaming/models.py": "",
        },
    )
    assert _against(root) == {
        ("alert_rules.model", "dashboards.board", False),
        ("collectors.state.base", "igaming.models", False),
    }


def test_type_checking_imports_draw_no_arrow_and_function_imports_do(tmp_path):
    root = _house(
        tmp_path,
        {
            "platform/igaming/bootstrap.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pitwatch.settings import Settings\n"
                "def build():\n    from pitwatch import cli\n"
            ),
            "pitwatch/settings.py": "",
            "pitwatch/cli.py": "",
        },
    )
    assert _against(root) == {("igaming.bootstrap", "pitwatch.cli", True)}


def test_entry_points_may_import_anything(tmp_path):
    root = _house(tmp_path, {"tests/test_x.py": "from pitwatch import cli\nimport igaming\n"})
    (root / "pitwatch/cli.py").touch()
    assert _against(root) == set()
    assert layers.report(root, picture=True) == 0


def test_modules_importing_each_other_as_they_load_are_a_circle(tmp_path):
    root = _house(
        tmp_path,
        {
            "collectors/a.py": "from . import b\n",
            "collectors/b.py": "from collectors.c import x\n",
            "collectors/c.py": "import collectors.a\nx = 1\n",
            "collectors/d.py": "def f():\n    from collectors import e\n",
            "collectors/e.py": "from collectors import d\n",
        },
    )
    assert layers.circles(layers.imports(root)) == [
        ["collectors.a", "collectors.b", "collectors.c"]
    ]
    assert layers.report(root, picture=False) == 1
