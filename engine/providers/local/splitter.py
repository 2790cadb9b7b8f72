"""Offline script writer: cut a short story into scenes with narration and visual prompts.

Words, sentences and the places a scene may be cut come from ICU's rules for the story's
script (``engine.segment``), so a Japanese, Thai or Hindi story is cut at its own sentence
marks and between words, never inside one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import regex  # type: ignore[import-untyped]

from engine.media.art.setting import Setting, find_setting, setting_tag
from engine.media.art.vocabulary import expand_prompt
from engine.models import ENGLISH, Language
from engine.segment import Script, dominant_script, sentences, tokens, words
from engine.speech import speaking_time
from engine.story import MAX_SCENES, SECONDS_PER_SCENE, scene_count_for

# A clause cut from a long sentence is read alone over its picture: at least this long.
MIN_CLAUSE_S = 3.0
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


_OPENERS = "\"\u201c\u00ab\u201e'\u2018([{\u300c\u300e\uff08"
_CLOSERS = "\"\u201d\u00bb'\u2019)]}\u300d\u300f\uff09"
# Every script's sentence marks (Unicode's Sentence_Terminal: . ! ? and the Devanagari
# danda, the ideographic full stop, the Arabic question mark and full stop…) and the ellipsis.
_END = regex.compile(r"[\p{Sentence_Terminal}\u2026]+[\"\u201d\u00bb'\u2019)\]}\u300d\u300f]*$")
_DOTTED = re.compile(r"(?:\w\.)+\w")
# Letters with their combining marks (Devanagari, Tamil and vowelled Arabic write vowels
# as marks, which ``\w`` leaves out) and digits; "storm-tossed" and "keeper's" stay whole.
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:['\u2019-][\p{L}\p{M}\p{N}]+)*")
_UNSPACED = frozenset(
    {Script.HAN, Script.KANA, Script.THAI, Script.LAO, Script.KHMER, Script.MYANMAR}
)
# Titles and Latin shorthands are followed by a name or a phrase, never by a new sentence.
_NEVER_SPLIT = _wordset("mr mrs ms dr st prof sr jr mt capt gen col lt sgt rev fr e.g i.e cf vs")
# These end sentences often enough that the next word's case decides.
_SOFT_SPLIT = _wordset("etc a.m p.m approx")
# Latin, CJK (ideographic comma, fullwidth comma/semicolon/colon) and Arabic clause marks.
_CLAUSE_MARKS = frozenset(";:,\u2014\u2013\u3001\uff0c\uff1b\uff1a\u060c\u061b")
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


def _ends_sentence(token: str, following: str, language: Language) -> bool:
    if language.base == "el" and token.endswith((";", "\u037e")):
        return True  # Greek asks with ";" (the Greek question mark, U+037E, folds to it)
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
        # '"Run!" she said', a Japanese quotation followed by "he said" and '«Беги!» —
        # сказал он' are one sentence each: after a closing quote only a capital or a new
        # quotation starts one.
        return _starts_sentence(following)
    return True


def _starts_sentence(text: str) -> bool:
    """Whether text surely opens a sentence: a capital letter, or a new quotation."""
    first = text[:1]
    return first in _OPENERS or first.isupper()


def split_sentences(text: str, language: Language = ENGLISH) -> list[str]:
    """Split text into sentences with collapsed whitespace; every line break is a boundary.

    Between space-separated tokens the rules above decide (titles, initials, quotes);
    inside a token, as in Chinese or Japanese that write no spaces, ICU's sentence rules do.
    """
    found: list[str] = []
    for line in text.splitlines():
        pieces = [p for token in line.split() for p in _inner_sentences(token, language)]
        start = 0
        for i, piece in enumerate(pieces):
            if i + 1 == len(pieces) or _ends_sentence(piece, pieces[i + 1], language):
                found.append(_joined(pieces[start : i + 1]))
                start = i + 1
    return found


def _inner_sentences(token: str, language: Language) -> list[str]:
    """A whitespace token cut where ICU finds a sentence end inside it (Chinese and
    Japanese write no spaces); the rules above then judge each cut like any other."""
    if not _SPACELESS.search(token):
        return [token]
    parts = sentences(token, language.tag)
    # Unicode's sentence rules count an opening bracket as closing punctuation, so "。「"
    # leaves the 「 on the sentence before: it belongs to the quotation it opens.
    for i in range(len(parts) - 1):
        opening = len(parts[i]) - len(parts[i].rstrip(_OPENERS))
        if opening and opening < len(parts[i]):
            parts[i], parts[i + 1] = parts[i][:-opening], parts[i][-opening:] + parts[i + 1]
    return parts


def _joined(pieces: Iterable[str]) -> str:
    text = ""
    for piece in pieces:
        text = f"{text}{_glue(text, piece)}{piece}" if text else piece
    return text


def _clause_cut(words: list[str], phrase_spaces: bool) -> int | None:
    """Index to cut a sentence at the clause boundary nearest its middle, if one is usable.

    With ``phrase_spaces`` (Thai, Lao, Khmer, Burmese: words run together and a space
    ends a phrase) a space is such a boundary.
    """
    size = len(words)
    best: int | None = None
    for i in range(1, size):
        previous = words[i - 1].strip().rstrip(_CLOSERS)
        if (
            previous[-1:] in _CLAUSE_MARKS
            or (phrase_spaces and words[i - 1][-1:].isspace())
            or previous in ("-", "--")
            or words[i].strip().lower() in _CONJUNCTIONS
        ) and (best is None or abs(2 * i - size) < abs(2 * best - size)):
            best = i
    # A cut that leaves a sliver ("Yes, ...") balances nothing; word-level cutting does better.
    if best is not None and min(best, size - best) >= max(1, size // 4):
        return best
    return None


def _refine(units: list[list[str]], scenes: int, phrase_spaces: bool) -> list[list[str]]:
    """Cut the sentences longer than a scene at their middle clause while that balances.

    A sentence is never cut into words: a piece of a few words read alone over its own
    picture is no scene, so only a clause of some seconds' speech stands alone.
    """
    ideal = sum(len(unit) for unit in units) / scenes
    # A unit marked False is kept whole: it has no usable clause boundary.
    parts = [(list(unit), True) for unit in units]
    while True:
        open_ = [i for i, (words, splittable) in enumerate(parts) if splittable]
        if not open_:
            return [words for words, _ in parts]
        longest = max(open_, key=lambda i: len(parts[i][0]))
        words = parts[longest][0]
        if len(words) <= ideal or speaking_time("".join(words)) <= SECONDS_PER_SCENE:
            return [words for words, _ in parts]
        cut = _clause_cut(words, phrase_spaces)
        halves = (words[:cut], words[cut:]) if cut is not None else ()
        if halves and all(speaking_time("".join(h)) >= MIN_CLAUSE_S for h in halves):
            parts[longest : longest + 1] = [(halves[0], True), (halves[1], True)]
        else:
            parts[longest] = (words, False)


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


def _content_words(text: str, language: Language) -> list[str]:
    lowered = text.lower()
    # Scripts written without spaces need ICU's dictionaries to find their words; the
    # regular expression keeps "storm-tossed" and "keeper's" whole in the others.
    spaced = dominant_script(lowered) not in _UNSPACED
    found: list[str] = []
    for raw in _WORD.findall(lowered) if spaced else words(lowered, language.tag):
        word = re.sub(r"['\u2019]s$", "", raw)
        # One character is a whole word in Chinese and Japanese (海, 夜), noise elsewhere.
        wordlike = len(word) > 1 or dominant_script(word) is Script.HAN
        if wordlike and not word.isdigit() and word not in _STOPWORDS:
            found.append(word)
    return found


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _lights(text: str) -> list[str]:
    """The lighting rows the text's own words call for (in any language), in row order."""
    picture = set().union(*expand_prompt(text))
    return [light for light, keys in _LIGHTING if picture & keys]


def _style(words: list[str], setting: Setting | None) -> str:
    counts = Counter(words)
    first = {w: i for i, w in reversed(list(enumerate(words)))}
    # Past tenses and adverbs are rarely what a picture should keep showing; light words
    # belong to the scenes that say them, not to every picture.
    ranked = sorted(
        (w for w in counts if not _lights(w)),
        key=lambda w: (len(w) > 4 and w.endswith(("ed", "ly")), -counts[w], -len(w), first[w]),
    )[:3]
    if ranked and counts[ranked[0]] > 1:
        ranked = [w for w in ranked if counts[w] > 1]
    style = "storybook illustration, consistent characters"
    if ranked:
        style = f"{style}, recurring subjects: {', '.join(ranked)}"
    return f"{style}, {setting_tag(setting)}" if setting else style


def _keywords(text: str, language: Language) -> list[str]:
    words = list(dict.fromkeys(_content_words(text, language)))
    if len(words) > PROMPT_MAX_WORDS:
        keep = sorted(
            range(len(words)),
            key=lambda i: (_singular(words[i]) not in _MOTIFS, -len(words[i]), i),
        )[:PROMPT_MAX_WORDS]
        words = [words[i] for i in sorted(keep)]
    return words


def _title(sentence: str, language: Language) -> str:
    def trim(text: str) -> str:
        return text.lstrip('"\u201c\u00ab\u201e([').rstrip(".,;:!?\u2026\u2014\u2013- " + _CLOSERS)

    if len(sentence) <= TITLE_MAX_CHARS:
        return trim(sentence) or "Untitled"
    head = ""
    for token in tokens(sentence, language.tag):
        if len((head + token).rstrip()) + 1 > TITLE_MAX_CHARS:  # room for the ellipsis
            break
        head += token
    return (trim(head or sentence[: TITLE_MAX_CHARS - 1]) or "Untitled") + "\u2026"


def _glue(before: str, after: str) -> str:
    """What goes between two pieces of narration: nothing in Chinese and Japanese, which
    write no spaces between sentences or clauses, a space everywhere else."""
    if not before or not after:
        return ""
    return "" if _SPACELESS.match(before[-1:]) or _SPACELESS.match(after[:1]) else " "


_SPACELESS = regex.compile(
    r"[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u3000-\u303f\uff00-\uffef]"
)


def split_story(
    story: str, *, language: Language = ENGLISH, max_scenes: int = MAX_SCENES
) -> ScriptDraft:
    """Cut a story into balanced scenes of whole sentences (a long one may be cut at a
    clause), keeping every word in order, as many as ``scene_count_for`` says (a scene a
    sentence while each lasts a few seconds), never more than ``max_scenes``; each scene's
    prompt names its light and the style sheet the story's setting."""
    if max_scenes < 1:
        raise ValueError("invalid scene bounds")
    found = split_sentences(story, language)
    # Each sentence keeps what separates it from the next, so a scene is its tokens joined.
    units = [
        tokens(sentence + _glue(sentence, following), language.tag)
        for sentence, following in zip(found, [*found[1:], ""], strict=False)
    ]
    if not any(units):
        raise ValueError("story too short")
    count = scene_count_for(story, sentences=len(found), most=max_scenes)
    units = _refine(units, count, dominant_script(story) in _UNSPACED)
    count = min(count, len(units))
    starts = _partition([len(unit) for unit in units], count)
    style = _style(_content_words(" ".join(found), language), find_setting(story))
    scenes: list[SceneDraft] = []
    light = [_DEFAULT_LIGHT]
    for start, end in zip(starts, [*starts[1:], len(units)], strict=True):
        narration = "".join(token for unit in units[start:end] for token in unit).strip()
        keywords = " ".join(_keywords(narration, language))
        # The light holds until a scene's own words change it: the night a storm came in
        # is still night when the keeper climbs the tower, until "by morning".
        light = _lights(narration) or light
        head = ", ".join(part for part in (keywords, *light) if part)
        scenes.append(SceneDraft(narration=narration, visual_prompt=f"{head}, {style}"))
    return ScriptDraft(title=_title(found[0], language), style=style, scenes=tuple(scenes))
