"""Load a helper module from tests/ by path.

tests/ is not a package (pytest runs with ``--import-mode=importlib``), so
one suite's helpers are loaded by path under a fixed name; the name keys
``sys.modules``, so every suite that loads a helper shares one module object.
Get ``load`` itself with ``runpy.run_path`` on this file.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load(name: str, path: Path) -> ModuleType:
    """The module at ``path`` as ``sys.modules[name]`` (executed once)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
