"""The registry of frozen-network weight specs (losses and evaluation metrics).

The networks register themselves: :mod:`facehalluc.nets.weight_specs` (imported by :mod:`facehalluc.nets`)
calls :func:`register` with a function that returns its specs, and :func:`registry_specs` calls every
registered function afresh on each call (no module-level mutable spec objects).  This module imports
neither the networks nor the evaluation code; code that looks a spec up by name imports
:mod:`facehalluc.nets` first (the networks do so by being imported; ``python -m facehalluc.weights`` and the
evaluation runner import it explicitly).
"""
from __future__ import annotations

from typing import Callable

from . import WeightSpec

SpecFactory = Callable[[], "tuple[WeightSpec, ...]"]
_FACTORIES: list[SpecFactory] = []


def register(factory: SpecFactory) -> SpecFactory:
    """Adds ``factory`` (called by :func:`registry_specs`; returns a tuple of specs) once; returns it."""
    key = (getattr(factory, "__module__", None), getattr(factory, "__qualname__", None))
    _FACTORIES[:] = [f for f in _FACTORIES
                     if (getattr(f, "__module__", None), getattr(f, "__qualname__", None)) != key]
    _FACTORIES.append(factory)
    return factory


def registry_specs() -> tuple[WeightSpec, ...]:
    """All registered specs, in registration order (the loss networks incl. dlib_resnet, then the three
    evaluation networks once :mod:`facehalluc.nets` is imported)."""
    return tuple(s for f in _FACTORIES for s in f())
