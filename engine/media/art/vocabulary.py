"""Prompt words to motifs: word stems per motif, plural and ending folding, other languages' words
through their tables (``lexicon``), detect_motifs."""

from __future__ import annotations

from engine.media.art.lexicon import english_for, english_inside, words_of

_VOCAB = {
    "night": "night moon star dark midnight moonlight moonlit starlight starlit darkness",
    "dusk": "dusk twilight evening sunset",
    "space": "space planet rocket galaxy comet astronaut universe cosmos nebula asteroid",
    "storm": "storm thunder lightning rain tempest thunderstorm rainstorm hurricane",
    "fire": "fire flame dragon ember burn burnt candle campfire bonfire firelight blaze volcano",
    "sun": "sun morning dawn day summer sunrise sunshine sunlight daylight noon midday",
    "snow": "snow winter ice frost frozen snowflake blizzard glacier snowman",
    "sea": "sea ocean wave shore beach harbour harbor ship boat coast seaside sail island",
    "desert": "desert sand dune oasis cactus",
    "forest": "forest tree wood woods jungle leaf leaves pine grove woodland",
    "mountain": "mountain hill peak cliff ridge valley volcano",
    "city": "city tower castle town house lighthouse street village building cottage",
    "garden": "flower garden meadow bloom blossom tulip",
}
_STEMS = {motif: frozenset(words.split()) for motif, words in _VOCAB.items()}
_SUFFIXES = ("s", "es", "ies", "ing", "ed", "y", "ier", "iest")


def _expand_word(word: str) -> set[str]:
    """The word plus the stems its plural, -ing, -ed or -y ending may hide."""
    forms = {word}
    for suffix in _SUFFIXES:
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 2:
            forms |= {base, base + "e", base + "y" if suffix[0] == "i" else base}
            if base[-1] == base[-2]:  # starry, sunny, shipping
                forms.add(base[:-1])
    return forms


def expand_prompt(prompt: str) -> list[set[str]]:
    """Each word of the prompt as the English stems it may stand for, in order; the words
    of other languages through their tables, Chinese, Japanese and Thai ones at the end."""
    expanded = []
    for word in words_of(prompt):
        forms = _expand_word(word) if word.isascii() else {word}
        expanded.append(forms | english_for(word))
    return expanded + [{english} for english in english_inside(prompt)]


def detect_motifs(prompt: str) -> tuple[str, ...]:
    """Motif names found in the prompt, in a stable order."""
    found: list[str] = []
    for forms in expand_prompt(prompt):
        found += [m for m, stems in _STEMS.items() if m not in found and forms & stems]
    return tuple(found)
