"""What every chat adapter says when a button is pressed by someone else."""

from __future__ import annotations

NOT_YOURS = "Only the person who asked for this dream can do that."
