from __future__ import annotations

import pytest

from engine.providers.local.splitter import (
    MAX_SCENES,
    MIN_SCENES,
    ScriptDraft,
    split_sentences,
    split_story,
)

LIGHTHOUSE = (
    "The lighthouse keeper lived alone on a rock. Every night he climbed the tower to light "
    "the lamp. One winter a terrible storm rolled in from the sea. Waves crashed against the "
    "walls and the wind howled. Far away, a small ship was lost in the dark. The keeper saw "
    "its lights blinking between the waves. He turned the great lamp toward the ship. The "
    "captain saw the beam and steered away from the rocks. At dawn the ship reached the "
    "harbour safely. The sailors never forgot the keeper of the lighthouse."
)
DIALOGUE = (
    'The Dragon\n\n"Who goes there?" asked the dragon. The girl did not answer…\n'
    "She raised her lantern (it was nearly out) and stepped closer.\n"
    "Mr. Brown, the baker, had told her: dragons hate cold snow!"
)
SPANISH = (
    "El viejo farero subió a la torre. La tormenta rugía sobre el mar oscuro. "
    "¿Vendrá el barco esta noche? ¡Sí, al amanecer llegó al puerto!"
)
RUSSIAN = (
    "Старый смотритель поднялся на маяк. Над морем бушевала страшная буря. "
    "Корабль шёл прямо к скалам! Тогда он зажёг большой огонь."
)


def words_of(draft: ScriptDraft) -> list[str]:
    return " ".join(scene.narration for scene in draft.scenes).split()


def sizes_of(draft: ScriptDraft) -> list[int]:
    return [len(scene.narration.split()) for scene in draft.scenes]


def test_sentences_keep_abbreviations_decimals_and_initials() -> None:
    text = (
        "Mr. Smith met Dr. Jones 3.5 km from St. Mary's church, i.e. near the sea. "
        "They sold nets, ropes, etc. and went home. J. R. R. Tolkien wrote books! "
        "We ate, drank, etc. Then we slept. He flew to the U.S.A. and stayed. "
        "She left the U.K. Then she wrote."
    )
    assert split_sentences(text) == [
        "Mr. Smith met Dr. Jones 3.5 km from St. Mary's church, i.e. near the sea.",
        "They sold nets, ropes, etc. and went home.",
        "J. R. R. Tolkien wrote books!",
        "We ate, drank, etc.",
        "Then we slept.",
        "He flew to the U.S.A. and stayed.",
        "She left the U.K.",
        "Then she wrote.",
    ]


def test_sentences_split_on_mark_combinations_quotes_and_lines() -> None:
    text = 'Really?! Yes\u2026 "Run!" she said.  He ran.\n(It worked.) "Stop." Then\n\nthe end'
    assert split_sentences(text) == [
        "Really?!",
        "Yes\u2026",
        '"Run!" she said.',
        "He ran.",
        "(It worked.)",
        '"Stop."',
        "Then",
        "the end",
    ]


def test_ten_sentence_story_gives_balanced_scenes() -> None:
    draft = split_story(LIGHTHOUSE)
    sizes = sizes_of(draft)
    assert MIN_SCENES <= len(sizes) <= MAX_SCENES
    assert max(sizes) / min(sizes) <= 2
    # Every scene ends on a sentence end: the story has enough sentences to need no cuts.
    assert all(scene.narration.endswith(".") for scene in draft.scenes)


def test_partition_minimises_the_largest_scene() -> None:
    story = " ".join(["one two three four five six seven eight nine ten."] * 6)
    assert sizes_of(split_story(story)) == [20, 20, 20]
    uneven = " ".join(" ".join(["sail"] * size) + "." for size in (8, 2, 2, 8, 4, 2))
    # Largest scene 10 is the best possible; [8 | 2 2 8 | 4 2] would reach 12.
    assert sizes_of(split_story(uneven)) == [10, 10, 6]
    # Most even by squares would be [3, 4, 11]; the largest scene must win.
    skewed = " ".join(" ".join(["sail"] * size) + "." for size in (3, 4, 10, 1))
    assert sizes_of(split_story(skewed)) == [7, 10, 1]


def test_one_sentence_story_gives_three_scenes() -> None:
    with_clauses = "The old keeper climbed the stairs, lit the lamp, and watched the sea."
    assert [s.narration for s in split_story(with_clauses).scenes] == [
        "The old keeper climbed the stairs,",
        "lit the lamp,",
        "and watched the sea.",
    ]
    no_clauses = "A small red fox ran quickly across the frozen river at dawn"
    assert sizes_of(split_story(no_clauses)) == [4, 4, 4]
    # Cuts after "Yes," or before "again." would leave one-word scenes; word cuts balance.
    edges = "Yes, the small red fox ran quickly across the frozen river, again."
    assert max(sizes_of(split_story(edges))) <= 5
    sliver = "The keeper woke before the sun rose today. Yes, he saw a ship sail past the rocks."
    assert sizes_of(split_story(sliver)) == [8, 5, 4]
    joined = "The fox ran to the river but the bird flew to the hill then they met at dawn"
    assert [s.narration for s in split_story(joined).scenes] == [
        "The fox ran to the river",
        "but the bird flew to the hill",
        "then they met at dawn",
    ]


def test_sentence_longer_than_a_scene_is_cut_at_a_clause() -> None:
    story = (
        "The sea was calm. The sky was pink. The gulls were loud. The keeper walked down "
        "to the harbour to meet the boat, and the fishermen gave him fish, still wet."
    )
    draft = split_story(story)
    # The cut nearest the middle; "fish, | still wet" would leave a sliver and no gain.
    assert sizes_of(draft) == [12, 11, 8]
    assert draft.scenes[-1].narration.startswith("and the fishermen")


def test_long_story_gives_max_scenes() -> None:
    story = " ".join(
        f"On day {day} the keeper climbed the tower and watched the grey sea for ships."
        for day in range(22)
    )
    assert len(story.split()) >= 300
    draft = split_story(story)
    assert len(draft.scenes) == MAX_SCENES
    assert max(sizes_of(draft)) - min(sizes_of(draft)) <= 15


@pytest.mark.parametrize("story", [LIGHTHOUSE, DIALOGUE, SPANISH, RUSSIAN, "one two three"])
def test_words_are_kept_in_order(story: str) -> None:
    draft = split_story(story)
    assert words_of(draft) == story.split()
    assert all(scene.narration for scene in draft.scenes)


def test_scene_count_never_exceeds_word_count() -> None:
    for count in range(MIN_SCENES, 60):
        story = " ".join(f"w{i}" for i in range(count))
        draft = split_story(story)
        assert MIN_SCENES <= len(draft.scenes) <= min(count, MAX_SCENES)
    assert len(split_story("one two three four five", min_scenes=5).scenes) == 5
    assert len(split_story("one two three four five", min_scenes=1).scenes) == 1


@pytest.mark.parametrize("story", ["", "   \n ", "Hello there.", "Hi!\n\nBye."])
def test_too_short_story_raises(story: str) -> None:
    with pytest.raises(ValueError, match="story too short"):
        split_story(story)


def test_title_short_first_sentence() -> None:
    assert split_story(LIGHTHOUSE).title == "The lighthouse keeper lived alone on a rock"
    assert split_story(DIALOGUE).title == "The Dragon"
    assert split_story(SPANISH).title == "El viejo farero subió a la torre"


def test_title_long_first_sentence_is_cut_at_a_word() -> None:
    story = (
        "Once upon a time, in a kingdom far beyond the seven silver mountains, there lived "
        "a very small dragon. It was shy."
    )
    title = split_story(story).title
    assert title == "Once upon a time, in a kingdom far beyond the seven silver\u2026"
    assert len(title) <= 60
    assert story.startswith(title.removesuffix("\u2026"))


def test_visual_prompts_follow_their_scene_and_share_the_style() -> None:
    story = (
        "A red dragon slept deep inside the mountain cave. "
        "A wild storm broke over the grey sea. "
        "The old keeper lit the lighthouse lamp at midnight."
    )
    draft = split_story(story)
    salient = ["dragon", "storm", "lighthouse"]
    assert len(draft.scenes) == 3
    for scene, word in zip(draft.scenes, salient, strict=True):
        assert scene.visual_prompt.endswith(", " + draft.style)
        own = scene.visual_prompt.removesuffix(draft.style)
        assert word in own
        assert not any(other in own for other in salient if other != word)


def test_long_scene_prompt_keeps_motifs_and_drops_stopwords() -> None:
    sentence = (
        "Tall quiet painted wooden houses lined narrow winding cobbled streets with busy noisy "
        "markets selling bright fresh fruit beside the old {}."
    )
    motifs = ("sea", "fox", "cat")  # shorter than the other words, so kept as motifs
    story = " ".join(sentence.format(motif) for motif in motifs)
    draft = split_story(story)
    for scene, motif in zip(draft.scenes, motifs, strict=True):
        keywords = scene.visual_prompt.removesuffix(", " + draft.style).split()
        assert len(keywords) <= 12
        assert keywords[-1] == motif
        assert not {"the", "with", "beside"} & set(keywords)


def test_style_picks_lighting_and_recurring_subjects() -> None:
    style = split_story(LIGHTHOUSE).style
    assert "moonlit" in style
    assert "keeper" in style and "lighthouse" in style
    snowy = split_story("Snow fell on the village. The children built a snowman in the snow.")
    assert "cold winter light" in snowy.style and "snow" in snowy.style
    fire = split_story("They sat by the fire. The fire crackled and warmed their hands.")
    assert "warm firelight" in fire.style
    possessive = split_story("The dragon's cave was dark. The dragon slept. The dragon's egg.")
    assert possessive.style.endswith("recurring subjects: dragon")
    stars = split_story("The stars came out. The stars were bright. We sang songs together.")
    assert "moonlit" in stars.style
    walker = split_story("The wolf walked. The wolf walked slowly. The wolf walked home.")
    assert walker.style.endswith("recurring subjects: wolf, walked")
    plain = split_story("A boy and his dog walked to the shop to buy some bread.")
    assert "golden-hour light" in plain.style


@pytest.mark.parametrize("story", [SPANISH, RUSSIAN])
def test_non_english_story_splits_on_its_sentences(story: str) -> None:
    assert len(split_sentences(story)) == 4
    draft = split_story(story)
    assert len(draft.scenes) == 3
    assert all(scene.narration[-1] in ".!?" for scene in draft.scenes)
    assert all(scene.visual_prompt.endswith(draft.style) for scene in draft.scenes)


def test_split_is_deterministic() -> None:
    assert split_story(DIALOGUE) == split_story(DIALOGUE)
    assert split_story(LIGHTHOUSE) == split_story(LIGHTHOUSE)


def test_invalid_bounds_raise() -> None:
    with pytest.raises(ValueError, match="invalid scene bounds"):
        split_story(LIGHTHOUSE, min_scenes=5, max_scenes=4)
