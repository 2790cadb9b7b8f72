"""Offline script writer: cut a short story into scenes with narration and visual prompts."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

MIN_SCENES = 3
MAX_SCENES = 8
WORDS_PER_SCENE = 25
TITLE_MAX_CHARS = 60
PROMPT_MAX_WORDS = 12


@dataclass(frozen=True)
class SceneDraft:
    """One scene: the words read aloud and the prompt its picture is drawn from."""

    narration: str
    visual_prompt: str


@dataclass(frozen=True)
class ScriptDraft:
    """A story cut into scenes that share one style sheet."""

    title: str
    style: str
    scenes: tuple[SceneDraft, ...]


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_OPENERS = "\"\u201c\u00ab\u201e'\u2018([{"
_CLOSERS = "\"\u201d\u00bb'\u2019)]}"
_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f]+[\"\u201d\u00bb'\u2019)\]}]*$")
_DOTTED = re.compile(r"(?:\w\.)+\w")
_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")
# Titles and Latin shorthands are followed by a name or a phrase, never by a new sentence.
_NEVER_SPLIT = _wordset("mr mrs ms dr st prof sr jr mt capt gen col lt sgt rev fr e.g i.e cf vs")
# These end sentences often enough that the next word's case decides.
_SOFT_SPLIT = _wordset("etc a.m p.m approx")
_CLAUSE_MARKS = frozenset(";:,\u2014\u2013")
_CONJUNCTIONS = _wordset("and but then when while")
_STOPWORDS = _wordset(
    """a an the and or but nor so yet if then than that this these those there here of to in
    on at by for with from into onto over under about above below after before again once
    up down out off through until while when where why how what which who whom whose as
    is am are was were be been being have has had do does did done will would shall should
    can could may might must not no yes very too just only also even still ever never
    i me my mine we us our ours you your yours he him his she her hers it its they them
    their theirs myself himself herself itself ourselves themselves all any both each few
    more most other some such own same one every again said says say get got let like
    across against along among around away behind beside between beyond near toward
    towards inside outside within without upon"""
)
# Lighting follows the story's dominant mood; on a tie the earlier row wins.
_LIGHTING: tuple[tuple[str, frozenset[str]], ...] = (
    ("moonlit", _wordset("night midnight moon moonlight star dark darkness")),
    ("warm firelight", _wordset("fire flame candle hearth fireplace torch campfire")),
    ("cold winter light", _wordset("snow winter ice frost frozen blizzard snowflake")),
    ("stormy light", _wordset("storm thunder lightning rain tempest")),
    ("soft dawn light", _wordset("dawn sunrise morning")),
)
_DEFAULT_LIGHT = "golden-hour light"
# Words image generators key on; a long scene keeps these before anything else.
_MOTIFS = _wordset(
    """night sea ocean storm fire forest snow city lighthouse dragon castle mountain river
    moon sun star ship boat garden desert rain wave island village tower cave sky cloud
    house tree king queen princess knight wolf bird cat dog fox horse child girl boy
    lamp lantern road bridge field meadow lake"""
).union(*(words for _, words in _LIGHTING))


def _ends_sentence(token: str, following: str) -> bool:
    match = _END.search(token)
    if match is None:
        return False
    mark = match.group().rstrip(_CLOSERS)
    before = token[: match.start()].lstrip(_OPENERS).lower()
    next_is_lower = following.lstrip(_OPENERS)[:1].islower()
    if mark == ".":
        if before in _NEVER_SPLIT or (len(before) == 1 and before.isalpha()):
            return False  # abbreviation or an initial such as "J."
        if before in _SOFT_SPLIT or _DOTTED.fullmatch(before):
            return not next_is_lower
    if match.group() != mark:
        return not next_is_lower  # '"Run!" she said' is one sentence
    return True


def split_sentences(text: str) -> list[str]:
    """Split text into sentences with collapsed whitespace; every line break is a boundary."""
    sentences: list[str] = []
    for line in text.splitlines():
        tokens = line.split()
        start = 0
        for i, token in enumerate(tokens):
            if i + 1 == len(tokens) or _ends_sentence(token, tokens[i + 1]):
                sentences.append(" ".join(tokens[start : i + 1]))
                start = i + 1
    return sentences


def _clause_cut(words: list[str]) -> int | None:
    """Index to cut a sentence at the clause boundary nearest its middle, if one is usable."""
    size = len(words)
    best: int | None = None
    for i in range(1, size):
        previous = words[i - 1].rstrip(_CLOSERS)
        if (
            previous[-1:] in _CLAUSE_MARKS
            or previous in ("-", "--")
            or words[i].lower() in _CONJUNCTIONS
        ) and (best is None or abs(2 * i - size) < abs(2 * best - size)):
            best = i
    # A cut that leaves a sliver ("Yes, ...") balances nothing; word-level cutting does better.
    if best is not None and min(best, size - best) >= max(1, size // 4):
        return best
    return None


def _refine(units: list[list[str]], scenes: int, total: int) -> list[list[str]]:
    """Break units until there are enough of them and none is longer than a scene."""
    ideal = total / scenes
    # A unit marked False is kept whole: a sentence somewhat over size reads better intact.
    parts = [(list(unit), True) for unit in units]
    while True:
        open_ = [i for i, (words, splittable) in enumerate(parts) if splittable and len(words) > 1]
        if not open_:
            return [words for words, _ in parts]
        longest = max(open_, key=lambda i: len(parts[i][0]))
        words = parts[longest][0]
        short = len(parts) < scenes
        if not short and len(words) <= ideal:
            return [words for words, _ in parts]
        cut = _clause_cut(words)
        if cut is not None:
            pieces = [(words[:cut], True), (words[cut:], True)]
        elif short or len(words) > 2 * ideal:
            pieces = [([word], False) for word in words]
        else:
            pieces = [(words, False)]
        parts[longest : longest + 1] = pieces


def _partition(sizes: list[int], groups: int) -> list[int]:
    """Start indexes of a contiguous partition with the smallest possible largest group,
    and among those the most even one (least sum of squares)."""
    low, high = max(sizes), sum(sizes)
    while low < high:
        cap = (low + high) // 2
        used, load = 1, 0
        for size in sizes:
            used, load = (used + 1, size) if load + size > cap else (used, load + size)
        low, high = (low, cap) if used <= groups else (cap + 1, high)
    count = len(sizes)
    prefix = [0]
    for size in sizes:
        prefix.append(prefix[-1] + size)
    worst = (sum(sizes) + 1) ** 2
    cost = [[worst] * (count + 1) for _ in range(groups + 1)]
    back = [[0] * (count + 1) for _ in range(groups + 1)]
    cost[0][0] = 0
    for g in range(1, groups + 1):
        for end in range(g, count - (groups - g) + 1):
            for start in range(end - 1, g - 2, -1):
                load = prefix[end] - prefix[start]
                if load > low:
                    break
                candidate = cost[g - 1][start] + load * load
                if candidate < cost[g][end]:
                    cost[g][end], back[g][end] = candidate, start
    starts: list[int] = []
    end = count
    for g in range(groups, 0, -1):
        end = back[g][end]
        starts.append(end)
    return starts[::-1]


def _content_words(text: str) -> list[str]:
    words: list[str] = []
    for raw in _WORD.findall(text.lower()):
        word = re.sub(r"['\u2019]s$", "", raw)
        if len(word) > 1 and not word.isdigit() and word not in _STOPWORDS:
            words.append(word)
    return words


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _style(words: list[str]) -> str:
    stems = [_singular(w) for w in words]
    hits = [
        sum(s in keys or w in keys for w, s in zip(words, stems, strict=True))
        for _, keys in _LIGHTING
    ]
    light = _LIGHTING[hits.index(max(hits))][0] if max(hits, default=0) > 0 else _DEFAULT_LIGHT
    counts = Counter(words)
    first = {w: i for i, w in reversed(list(enumerate(words)))}
    # Past tenses and adverbs are rarely what a picture should keep showing.
    ranked = sorted(
        counts,
        key=lambda w: (len(w) > 4 and w.endswith(("ed", "ly")), -counts[w], -len(w), first[w]),
    )[:3]
    if ranked and counts[ranked[0]] > 1:
        ranked = [w for w in ranked if counts[w] > 1]
    style = f"storybook illustration, {light}, consistent characters"
    return f"{style}, recurring subjects: {', '.join(ranked)}" if ranked else style


def _keywords(text: str) -> list[str]:
    words = list(dict.fromkeys(_content_words(text)))
    if len(words) > PROMPT_MAX_WORDS:
        keep = sorted(
            range(len(words)),
            key=lambda i: (_singular(words[i]) not in _MOTIFS, -len(words[i]), i),
        )[:PROMPT_MAX_WORDS]
        words = [words[i] for i in sorted(keep)]
    return words


def _title(sentence: str) -> str:
    def trim(text: str) -> str:
        return text.lstrip('"\u201c\u00ab\u201e([').rstrip(".,;:!?\u2026\u2014\u2013- " + _CLOSERS)

    if len(sentence) <= TITLE_MAX_CHARS:
        return trim(sentence) or "Untitled"
    head = ""
    for word in sentence.split():
        if len(head) + len(word) + 2 > TITLE_MAX_CHARS:  # room for the space and the ellipsis
            break
        head = f"{head} {word}".lstrip()
    return (trim(head or sentence[: TITLE_MAX_CHARS - 1]) or "Untitled") + "\u2026"


def split_story(
    story: str, *, min_scenes: int = MIN_SCENES, max_scenes: int = MAX_SCENES
) -> ScriptDraft:
    """Cut a story into balanced scenes of whole sentences, keeping every word in order."""
    if min_scenes < 1 or max_scenes < min_scenes:
        raise ValueError("invalid scene bounds")
    sentences = split_sentences(story)
    units = [sentence.split() for sentence in sentences]
    total = sum(len(unit) for unit in units)
    if total < min_scenes:
        raise ValueError("story too short")
    # Never above total: min_scenes <= total by the guard, and the rounded count is smaller.
    count = min(max((total + WORDS_PER_SCENE // 2) // WORDS_PER_SCENE, min_scenes), max_scenes)
    units = _refine(units, count, total)
    starts = _partition([len(unit) for unit in units], count)
    style = _style(_content_words(" ".join(sentences)))
    scenes: list[SceneDraft] = []
    for start, end in zip(starts, [*starts[1:], len(units)], strict=True):
        narration = " ".join(word for unit in units[start:end] for word in unit)
        keywords = " ".join(_keywords(narration))
        prompt = f"{keywords}, {style}" if keywords else style
        scenes.append(SceneDraft(narration=narration, visual_prompt=prompt))
    return ScriptDraft(title=_title(sentences[0]), style=style, scenes=tuple(scenes))
