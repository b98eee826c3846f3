"""``python -m facehalluc.apps.recognition`` (:mod:`.cli`)."""
from .cli import run_command

run_command()
