"""``python -m bot`` runs the ``dreambot`` command."""

from bot.cli import main

raise SystemExit(main())
