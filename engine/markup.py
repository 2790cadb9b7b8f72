"""The story behind its markup: what a voice reads and a caption shows, never the formatting.

``plain_text`` reduces Markdown (CommonMark, with Discord's ``~~strike~~``, ``||spoiler||``
and ``-# subtext``), HTML and Discord's raw tokens to the words a person reads. The Markdown
is rendered to HTML by markdown-it-py (raw HTML passes through it), and one pass of the
standard library's HTML parser then keeps the text: HTML's own tags go (other words in
angle brackets are the story's), entities are unescaped,
``<script>`` and ``<style>`` go with their content, block ends become line breaks. Bare
URLs are removed (a masked link keeps its text); Discord's ``<@123>``-style tokens that
reach the engine unresolved are dropped; ``@everyone`` and ``@here`` lose their ``@``.

``spoken_text`` is what a voice should read of a text: the same text without its emoji
(whole graphemes, so ZWJ families, flags, keycaps and skin tones go at once).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from engine.segment import graphemes, is_emoji

# A stand-in for a removed token, so the spaces and punctuation around it can be tidied
# afterwards; a noncharacter, which no story contains and both parsers pass through.
_GONE = "\ufdd0"
# Discord's raw tokens: mentions of users (<@1>, <@!1>), roles (<@&1>) and channels (<#1>),
# custom emoji (<:name:1>, <a:name:1>), timestamps (<t:1:R>), guild navigation (<id:home>)
# and slash-command mentions (</name sub:1>).
_DISCORD_TOKEN = re.compile(
    r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:-?\d+(?::[tTdDfFRsS])?|id:\w+|/[\w -]+:\d+)>"
)
_PINGS = re.compile(r"(?<!\w)@(everyone|here)\b")
_SPOILER = re.compile(r"\|\|(.+?)\|\|", re.DOTALL)
_SUBTEXT = re.compile(r"(?m)^[ \t]*-#[ \t]+")
# A URL with a scheme or a www. host, without the sentence's punctuation that follows it.
_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"]*[^\s<>\".,;:!?'()\[\]{}«»“”‘’]")
# Removal leaves spaces before punctuation ("Hi <@1>, you" -> "Hi , you"): tidy only there.
# A comma left before a sentence's end, or after a line's start, goes with the token.
_GONE_AT_END = re.compile(rf"[,;:]?(?:[^\S\n]*{_GONE})+[^\S\n]*(?=[.!?…。]|$)", re.MULTILINE)
_GONE_BEFORE_MARK = re.compile(rf"(?:[^\S\n]*{_GONE})+[^\S\n]*(?=[,;:)\]}}])")
_GONE_LEADING = re.compile(rf"^(?:[^\S\n]*{_GONE})+[^\S\n]*[,;:]?", re.MULTILINE)
# Typography, not pictures: kept unless written as emoji (with the emoji variation selector).
_TEXT_SYMBOLS = frozenset("©®™")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "table",
     "hr", "section", "article", "header", "footer", "aside", "figure", "details", "summary"}
)  # fmt: skip
_LINES = frozenset({"br", "li", "tr", "dt", "dd"})
_HIDDEN = frozenset({"script", "style", "template", "head", "title", "noscript"})
# Every other element a story's HTML may use. A word in angle brackets that is none of
# these ("He found <the key>") is the story's own text, and so is a known name written
# with a bare word after it ("under <a stone>"): real markup gives attributes values.
_INLINE = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em", "font", "i",
     "img", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
     "sup", "time", "tt", "u", "var", "wbr", "html", "body", "main", "nav", "center", "caption",
     "thead", "tbody", "tfoot", "td", "th", "col", "colgroup", "dl", "picture", "source",
     "video", "audio", "iframe", "form", "input", "button", "label", "select", "option",
     "textarea", "meta", "link", "base", "svg", "path", "ruby", "rt", "rp"}
)  # fmt: skip

_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("strikethrough")
# Normalising would turn NUL into U+FFFD and hide it from the control-character check.
_MARKDOWN.disable("normalize")


def plain_text(story: str) -> str:
    """The story's words without Markdown, HTML, URLs or Discord's raw tokens.

    Line breaks stay (one for a line, a blank line between paragraphs); other runs of
    spaces collapse to one. Letters of every script and emoji are left as they are.
    """
    text = story.replace("\r\n", "\n").replace("\r", "\n")
    text = _DISCORD_TOKEN.sub(_GONE, text)
    text = _SUBTEXT.sub("", text)
    text = _SPOILER.sub(r"\1", text)
    reader = _TextOf()
    reader.feed(_MARKDOWN.render(text))
    reader.close()
    text = _PINGS.sub(r"\1", reader.text())
    text = _URL.sub(_GONE, text)
    for tidy in (_GONE_LEADING, _GONE_AT_END, _GONE_BEFORE_MARK):
        text = tidy.sub("", text)
    text = text.replace(_GONE, " ")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def spoken_text(text: str) -> str:
    """The text a voice should read: without emoji, each removed whole, spaces collapsed."""
    kept = "".join(g for g in graphemes(text) if g in _TEXT_SYMBOLS or not is_emoji(g))
    lines = (_SPACES.sub(" ", line).strip() for line in kept.split("\n"))
    return "\n".join(lines).strip()


class _TextOf(HTMLParser):
    """The text of an HTML fragment: data kept, tags dropped, blocks ended by line breaks.

    The newlines markdown-it writes between the tags it renders are layout, not the story:
    right after a break they are skipped. A newline inside a paragraph is the author's.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._hidden = 0
        self._unseen: list[str] = []  # hidden text, given back if its tag never closes
        self._at_break = True
        self._numbers: list[int | None] = []  # per open list: the next item's number

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not _is_markup(tag, attrs):
            self.handle_data(_as_text(self.get_starttag_text() or ""))
            return
        if tag in _HIDDEN:
            self._hidden += 1
        if tag in ("ol", "ul"):
            start = dict(attrs).get("start") or "1"
            self._numbers.append(int(start) if tag == "ol" and start.isdigit() else None)
        if tag in _BLOCKS:
            self._break("\n\n")
        elif tag in _LINES:
            self._break("\n")
        if tag == "li" and self._numbers and self._numbers[-1] is not None:
            # "1984. It was a cold April day." is read as a numbered list: keep the number.
            self.handle_data(f"{self._numbers[-1]}. ")
            self._numbers[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in _BLOCKS | _LINES | _HIDDEN | _INLINE:
            self.handle_data(_as_text(f"</{tag}>"))
            return
        if tag in ("ol", "ul") and self._numbers:
            self._numbers.pop()
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
            if not self._hidden:
                self._unseen.clear()
        if tag in _BLOCKS:
            self._break("\n\n")
        elif tag in ("td", "th"):
            self._parts.append(" ")
        elif tag in _LINES:
            self._break("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            self._unseen.append(data)
            return
        if self._at_break:
            data = data.lstrip("\n")
        if data:
            self._parts.append(data)
            self._at_break = not data.strip()

    def _break(self, text: str) -> None:
        self._parts.append(text)
        self._at_break = True

    def close(self) -> None:
        super().close()
        if self._hidden and self.rawdata:
            # The parser keeps an unclosed <script>'s content to itself: take it back.
            self._unseen.append(self.rawdata)
            self.rawdata = ""

    def text(self) -> str:
        # A <script> or <style> never closed hid the rest of the story, not markup.
        return "".join(self._parts + self._unseen)


def _is_markup(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    known = tag in _BLOCKS or tag in _LINES or tag in _HIDDEN or tag in _INLINE
    return known and all(value is not None for _, value in attrs)


def _as_text(tag_text: str) -> str:
    """A would-be tag that is the story's words: its words, without the brackets."""
    return tag_text.strip("</>").strip()
