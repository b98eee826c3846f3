"""The applications and tools built on the library: each one a sub-package whose modules are library code
(no ``argparse``) and whose command line is its own ``cli.py`` (``python -m facehalluc.apps.<name>``).

* :mod:`.background` — background replacement (suppl. §4); ``python -m facehalluc.background``.
* :mod:`.augment` — hallucinated dataset augmentation (§4.4); ``python -m facehalluc.augment``.
* :mod:`.demo` — the whole pipeline on bundled photos; ``python -m facehalluc.demo``.
* :mod:`.web` — the local web page; ``python -m facehalluc.app``.
* :mod:`.recognition` — the Table 2 face-recognition experiment; ``python -m facehalluc.recognition.experiment``.

The old paths (``facehalluc.background``, ``facehalluc.augment``, ``facehalluc.demo``, ``facehalluc.app``,
``facehalluc.recognition``) are thin shims (:mod:`facehalluc.utils.moved`), so old imports and commands work.
"""
