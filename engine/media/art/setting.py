"""The place a whole story happens in, found from all its words, and its tag in a prompt.

The script writer finds it once for the story and writes ``setting: sea`` into the style
sheet every prompt carries, so that every picture of the story stands in the same place;
the illustrator reads the tag back and draws the setting under each scene's own motifs.
"""

from __future__ import annotations

import re
from collections import Counter
from enum import StrEnum

from engine.media.art.vocabulary import expand_prompt


class Setting(StrEnum):
    SEA = "sea"
    ISLAND = "island"  # the sea all round, and land to stand on
    CITY = "city"
    VILLAGE = "village"
    FOREST = "forest"
    DESERT = "desert"
    SNOW = "snow"
    MOUNTAIN = "mountain"
    SPACE = "space"


_VOTES: dict[Setting, frozenset[str]] = {
    setting: frozenset(words.split())
    for setting, words in {
        Setting.SEA: "sea ocean wave shore beach coast harbour harbor ship boat sail lighthouse",
        Setting.ISLAND: "island",
        Setting.CITY: "city street building skyscraper",
        Setting.VILLAGE: "village town cottage farm",
        Setting.FOREST: "forest wood woods tree jungle pine woodland grove",
        Setting.DESERT: "desert dune oasis cactus",
        Setting.SNOW: "snow winter ice frost glacier blizzard snowman",
        Setting.MOUNTAIN: "mountain peak cliff valley hill ridge",
        Setting.SPACE: "space planet rocket galaxy astronaut comet",
    }.items()
}
SEA_SETTINGS = frozenset({Setting.SEA, Setting.ISLAND})
# The motifs a setting paints under every scene.
BASE_MOTIFS: dict[Setting, tuple[str, ...]] = {
    Setting.SEA: ("sea",),
    Setting.ISLAND: ("sea",),
    Setting.CITY: ("city",),
    Setting.VILLAGE: ("city",),
    Setting.FOREST: ("forest",),
    Setting.DESERT: ("desert",),
    Setting.SNOW: ("snow",),
    Setting.MOUNTAIN: ("mountain",),
    Setting.SPACE: ("space",),
}
_TAG = re.compile(r"\bsetting:\s*([a-z]+)")


def find_setting(story: str) -> Setting | None:
    """The setting most of the story's place words point to (the first named on a tie);
    an island wins over the sea around it whenever one is named."""
    votes: Counter[Setting] = Counter()
    for forms in expand_prompt(story):
        for setting, words in _VOTES.items():
            if forms & words:
                votes[setting] += 1
    if not votes:
        return None
    sea = votes[Setting.SEA] + votes[Setting.ISLAND]
    best = max(votes, key=lambda s: sea if s in SEA_SETTINGS else votes[s])  # first on a tie
    if best in SEA_SETTINGS:
        return Setting.ISLAND if votes[Setting.ISLAND] else Setting.SEA
    return best


def setting_tag(setting: Setting) -> str:
    return f"setting: {setting.value}"


def read_setting(prompt: str) -> Setting | None:
    """The setting a prompt's tag names, if it names one this illustrator knows."""
    match = _TAG.search(prompt.lower())
    if match is None or match.group(1) not in Setting._value2member_map_:
        return None
    return Setting(match.group(1))
