"""dreambot's adapters: terminal, and (later) Telegram and Discord, over one engine."""
