"""tools/check_layers.py finds upward imports and cycles in a small tree, and passes ours."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

_TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_layers.py"
check = runpy.run_path(str(_TOOL))["check"]

LAYERS = """# x

## Layers

```
voip_gui/, voip/bot/       front ends
voip/client/               backend
                           (continued description)
voip/protocol/             sans-I/O
voip/errors.py, voip/__init__.py   leaves
```
"""


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ARCHITECTURE.md").write_text(LAYERS)
    base = {
        "voip/__init__.py": "",
        "voip/errors.py": "",
        "voip_gui/__init__.py": "",
        "voip/bot/__init__.py": "",
        "voip/client/__init__.py": "",
        "voip/protocol/__init__.py": "",
        "voip/protocol/framing.py": "from voip.errors import X\n",
        "voip/client/model.py": "from voip.protocol import framing\n",
        "voip_gui/app.py": "from voip.client.model import M\n",
    }
    for name, text in {**base, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_clean_tree_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(tree(tmp_path, {})) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"voip/protocol/framing.py": "from voip.client.model import M\n"}, "points up"),
        # siblings on one line may not import each other
        ({"voip/bot/main.py": "import voip_gui.app\n"}, "points sideways"),
        # a relative import is resolved too, and TYPE_CHECKING imports count
        (
            {
                "voip/client/a.py": "from . import b\n",
                "voip/client/b.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from voip.client.a import A\n",
            },
            "import cycle: voip.client.a <-> voip.client.b",
        ),
        ({"voip/web/page.py": ""}, "in no layer"),
    ],
)
def test_problems_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], words: str
) -> None:
    assert check(tree(tmp_path, files)) == 1
    assert words in capsys.readouterr().out


def test_the_repository_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(_TOOL.parents[1]) == 0, capsys.readouterr().out
