"""The command lines of :mod:`facehalluc.data` (the library modules import no ``argparse``):

* :mod:`.prepare` — ``data/prepare.py`` / ``python -m facehalluc.data.prepare``;
* :mod:`.split` — ``python -m facehalluc.data.split add-test FILE``.
"""
