"""What every chat adapter says when a button is pressed by someone else."""

from __future__ import annotations

from engine import N_

NOT_YOURS = N_("Only the person who asked for this dream can do that.")
