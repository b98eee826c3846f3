"""Old import paths of moved modules (issue 21): :func:`forward` is the ``__getattr__`` of a thin shim.

A shim module sits at the old path, names the new one in ``__moved_to__`` and holds nothing else: every
attribute asked of it (public or private, the command line's ``main`` included) is looked up in the new
modules, so ``from facehalluc.background import replace_background`` returns the very object that
``facehalluc.apps.background`` holds.  ``tools/import_graph.py`` reads ``__moved_to__``: nothing in the
package may import a shim.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any, Callable


def forward(shim: str, *modules: ModuleType) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the shim named ``shim``: the first of ``modules`` holding ``name`` answers."""
    def __getattr__(name: str) -> Any:
        for m in modules:
            if name in vars(m):
                return vars(m)[name]
        raise AttributeError(f"module {shim!r} has no attribute {name!r} (it moved to "
                             f"{', '.join(m.__name__ for m in modules)})")

    return __getattr__
