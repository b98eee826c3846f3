"""Test-only code shared by the suite (``from support.x import y``; ``pytest.ini`` puts ``tests/`` on the path).

Nothing in the package imports this; see tests/README.md.
"""
