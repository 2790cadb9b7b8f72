"""Offline procedural illustrator: paints a prompt's palette and motifs as flat silhouettes."""

from __future__ import annotations

from engine.media.art.cards import render_title_card
from engine.media.art.scene import render_scene
from engine.media.art.vocabulary import detect_motifs

__all__ = ["detect_motifs", "render_scene", "render_title_card"]
