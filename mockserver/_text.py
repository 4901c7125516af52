"""Deterministic, plausible replies: the same prompt and seed always give the same prose.

Not a language model: sentences are assembled from small phrase banks around the words of
the conversation, so a person can tell replies apart and see what they answer, and a test
can rely on them. Token counts use one simple rule everywhere (Latin words, CJK characters
and punctuation marks), so ``usage`` adds up.

Speed matters here (every sync request generates text): the sentences for a prompt are
formatted once and cached with their token counts; a seed then only picks among them with
integer arithmetic, so a reply costs a few joins.
"""

from __future__ import annotations

import bisect
import functools
import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CJK",
    "REPLY_POOL",
    "Bank",
    "Reply",
    "cached_count",
    "candidates",
    "count_tokens",
    "lead_count",
    "reply_bank",
    "reply_for",
    "take_tokens",
]

# Han, kana and Hangul are written without spaces, and real tokenizers give them about one
# token per character, not one per run: each is a token of its own (so are CJK symbols such
# as U+3005 and U+3007, which count as word characters). The CJK symbols block starts after U+3000,
# the ideographic space, which stays whitespace. Planes 2 and 3 hold only ideographs.
CJK = (
    "\u1100-\u11ff\u3001-\u303f\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
    "\uf900-\ufaff\uff66-\uffdc\U00020000-\U0003ffff"
)
# Other words are runs of word characters; any other mark that is not a space is one token
# (full-width punctuation included). Runs first: the prose is mostly Latin.
_TOKEN = re.compile(f"[^\\W{CJK}]+|[{CJK}]|[^\\w\\s]")
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_STOPWORDS = frozenset(
    """
about above after again against also because been before being below between both could
does doing down during each from further have having here into itself just more most only
other over same should some such than that their them then there these they this those
through under until very what when where which while will with would your yours please tell
explain write give make show""".split()
)

_OPENINGS = (
    "Here is a short answer about {topic}.",
    "Good question about {topic}.",
    "Let me address {topic} directly.",
    "In short, {topic} comes down to a few points.",
    "Thinking about {topic}, three things stand out.",
    "To answer your question on {topic}:",
)
_BODY = (
    "The most important factor is how {topic} interacts with {other}.",
    "Most sources agree that {topic} depends on {other} more than people expect.",
    "A practical way to look at {topic} is to start from {other} and work backwards.",
    "It helps to compare {topic} with {other}, since the two are often confused.",
    "Historically, {topic} changed a great deal once {other} became common.",
    "If you only remember one thing, remember that {topic} is shaped by {other}.",
    "There is no single right answer, but {other} is usually a good place to begin.",
    "Some details about {topic} vary by context, so treat this as a general guide.",
    "The trade-off is between speed and accuracy, and {other} tips the balance.",
    "Experts tend to measure {topic} against {other} before drawing conclusions.",
)
_CLOSINGS = (
    "Let me know if you would like more detail on {topic}.",
    "I hope this gives you a useful starting point.",
    "That covers the essentials of {topic}.",
    "Feel free to ask a follow-up question about {other}.",
)
_THOUGHTS = (
    "The user is asking about {topic}.",
    "I should check what matters most here: {other}.",
    "Let me structure the answer: first the main point, then the context.",
    "I need to keep the answer clear and not too long.",
    "A comparison with {other} would make this easier to follow.",
)
# Lead-ins put before a reply when the pool's replies collide after a cut (numberResults > 1
# with a small maxTokens or early stop sequences). Each starts with a token no opening and no
# other lead starts with, so even one-token texts differ; some start with punctuation, so
# stop sequences made of letters leave them something. After these come list numbers ("1.",
# "2.", ...): an endless supply of distinct first tokens.
_LEADS = (
    "Sure.",
    "Certainly.",
    "Yes:",
    "Okay,",
    "Well,",
    "Briefly:",
    "Overall,",
    "Right.",
    "Absolutely.",
    "Of course.",
    "Happy to help.",
    "So,",
    "Now,",
    "First,",
    "Quick answer:",
    "Put simply:",
    "**Short answer:**",
    "> In brief:",
    "(A quick summary.)",
    "- Key point:",
    "# Answer",
)
_FALLBACK_TOPICS = ("your question", "this topic", "the request", "the idea")
_FALLBACK_OTHERS = (
    "the wider context",
    "everyday practice",
    "the available evidence",
    "the details",
    "common experience",
    "recent changes",
)
_VARIANTS = 4  # formatted variants of each template, with different words filled in
REPLY_POOL = 64  # replies composed per prompt; a seed picks one
_THOUGHT_POOL = 16
_MASK = (1 << 64) - 1


def count_tokens(text: str) -> int:
    """Tokens as the mock counts them: Latin words, CJK characters, punctuation marks."""
    return len(_TOKEN.findall(text))


# Conversations are resent turn after turn: their messages are counted once. Only short
# ones are kept: the cache holds its keys, and 4,096 prompts of 8 MB would be 32 GB. A long
# text is counted again (one regex pass, which its parse cost more than anyway).
_CACHED_CHARS = 4096
_counted = functools.lru_cache(maxsize=4096)(count_tokens)


def cached_count(text: str) -> int:
    """``count_tokens(text)``, remembered for texts of up to 4,096 characters."""
    return _counted(text) if len(text) <= _CACHED_CHARS else count_tokens(text)


def take_tokens(text: str, limit: int) -> str:
    """The prefix of ``text`` that holds exactly ``limit`` tokens (all of it if fewer)."""
    if limit <= 0:
        return ""
    for index, match in enumerate(_TOKEN.finditer(text)):
        if index == limit - 1:
            return text[: match.end()]
    return text


Sentence = tuple[str, int]  # the text and its token count


@dataclass(frozen=True, slots=True)
class _Sentences:
    openings: tuple[Sentence, ...]
    bodies: tuple[Sentence, ...]
    closings: tuple[Sentence, ...]
    thoughts: tuple[Sentence, ...]


_PLAIN_WORDS = (
    "report",
    "summary",
    "value",
    "item",
    "detail",
    "sample",
    "record",
    "note",
    "city",
    "river",
    "project",
    "answer",
    "example",
    "result",
    "topic",
    "list",
)


def topic_words(prompt: str) -> tuple[str, ...]:
    """Words a reply about ``prompt`` may use: the prompt's own first, then plain ones."""
    words = [w.lower() for w in _WORD.findall(prompt[:4096]) if w.lower() not in _STOPWORDS]
    return tuple(dict.fromkeys((*words[:12], *_PLAIN_WORDS)))


def _sentences(prompt: str) -> _Sentences:
    """Every sentence a reply about ``prompt`` may use, formatted once."""
    words = [w.lower() for w in _WORD.findall(prompt) if w.lower() not in _STOPWORDS]
    topics = tuple(dict.fromkeys(words))[:12]
    # crc32, not hash(): str hashes are salted per process, replies must not be.
    rng = random.Random(zlib.crc32(prompt.encode("utf-8", "replace")))

    def fill(templates: tuple[str, ...]) -> tuple[Sentence, ...]:
        out = []
        for template in templates:
            for _ in range(_VARIANTS):
                topic = rng.choice(topics) if topics else rng.choice(_FALLBACK_TOPICS)
                others = [t for t in topics if t != topic] or list(_FALLBACK_OTHERS)
                text = template.format(topic=topic, other=rng.choice(others))
                out.append((text, count_tokens(text)))
        return tuple(out)

    return _Sentences(fill(_OPENINGS), fill(_BODY), fill(_CLOSINGS), fill(_THOUGHTS))


def _start(seed: int, salt: int) -> int:
    """splitmix64 of (seed, salt): the state ``_picks`` starts from."""
    z = (seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    return ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK


def _picks(seed: int, salt: int) -> Iterator[int]:
    """An endless, cheap stream of well-mixed numbers for (seed, salt): splitmix64 to
    start, then a 64-bit LCG; each pick takes the high bits."""
    z = _start(seed, salt)
    while True:
        z = (z * 6364136223846793005 + 1442695040888963407) & _MASK
        yield z >> 33


def _offset(salt: int) -> int:
    """What ``salt`` adds to a seed's first state in ``_start``."""
    return (salt * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & _MASK


_REPLY_OFFSET, _THOUGHT_OFFSET = _offset(1), _offset(3)  # the salts of replies, reasonings


def _first_pick(seed: int, offset: int) -> int:
    """``next(_picks(seed, salt))`` for ``offset = _offset(salt)``, without a generator:
    every reply takes one or two, and literal masks and a salt added ahead of time halve
    the cost of the big-integer arithmetic."""
    z = (seed * 0x9E3779B97F4A7C15 + offset) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return ((z * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF) >> 33


def _pick(picks: Iterator[int], sentences: tuple[Sentence, ...], chosen: list[str]) -> int:
    text, tokens = sentences[next(picks) % len(sentences)]
    chosen.append(text)
    return tokens


@dataclass(frozen=True, slots=True)
class Reply:
    """Generated text with its token count, and where each sentence ends: ``marks`` holds
    (end offset, tokens up to there), so a cut text is counted without re-tokenising."""

    text: str
    tokens: int
    marks: tuple[tuple[int, int], ...]

    def tokens_before(self, offset: int) -> int:
        """Tokens in ``text[:offset]``."""
        index = bisect.bisect_right(self.marks, (offset, self.tokens + 1)) - 1
        start, counted = self.marks[index] if index >= 0 else (0, 0)
        return counted + count_tokens(self.text[start:offset]) if offset > start else counted


def _compose(bank: _Sentences, seed: int) -> Reply:
    """A few paragraphs of prose from ``bank``, chosen by ``seed``."""
    picks = _picks(seed, 1)
    parts: list[str] = []
    marks: list[tuple[int, int]] = []
    offset = tokens = 0
    count = 1 + next(picks) % 3
    for index in range(count):
        chosen: list[Sentence] = []
        if index == 0:
            chosen.append(bank.openings[next(picks) % len(bank.openings)])
        for _ in range(2 + next(picks) % 3):
            chosen.append(bank.bodies[next(picks) % len(bank.bodies)])
        if index == count - 1:
            chosen.append(bank.closings[next(picks) % len(bank.closings)])
        for position, (text, counted) in enumerate(chosen):
            if parts:
                separator = " " if position else "\n\n"
                parts.append(separator)
                offset += len(separator)
            parts.append(text)
            offset += len(text)
            tokens += counted
            marks.append((offset, tokens))
    return Reply("".join(parts), tokens, tuple(marks))


def _think(bank: _Sentences, seed: int) -> tuple[str, int]:
    picks = _picks(seed, 3)
    chosen: list[str] = []
    tokens = sum(_pick(picks, bank.thoughts, chosen) for _ in range(3))
    return " ".join(chosen), tokens


@dataclass(frozen=True, slots=True)
class Bank:
    """Every reply and reasoning a seed can pick for one prompt (see :func:`reply_bank`).

    ``cuts`` is the caller's memo of what it derives from a reply (``_inference`` keeps each
    reply cut by a request's stop sequences and token cap there): a reply is a pure function
    of (prompt, seed), so the same cut of it need not be computed twice."""

    replies: tuple[Reply, ...]
    thoughts: tuple[tuple[str, int], ...]
    cuts: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def index(self, seed: int) -> int:
        """Which of ``replies`` is the seed's (``reply_for``'s pick)."""
        return _first_pick(seed, _REPLY_OFFSET) % len(self.replies)

    def reasoning(self, seed: int) -> tuple[str, int]:
        """The seed's visible reasoning (for thinking settings), and its token count."""
        return self.thoughts[_first_pick(seed, _THOUGHT_OFFSET) % len(self.thoughts)]


# Replies take their topics from the start of the conversation; so does the cache's key,
# which bounds what the cache holds (512 keys of at most this many characters).
_TOPIC_CHARS = 4096


def reply_bank(prompt: str) -> Bank:
    """Every reply and reasoning about ``prompt`` a seed can pick, composed once (a few
    hundred microseconds per new prompt; then each reply is a lookup)."""
    return _bank_of(prompt[:_TOPIC_CHARS])


@functools.lru_cache(maxsize=512)
def _bank_of(prompt: str) -> Bank:
    sentences = _sentences(prompt)
    return Bank(
        tuple(_compose(sentences, n) for n in range(REPLY_POOL)),
        tuple(_think(sentences, n) for n in range(_THOUGHT_POOL)),
    )


def reply_for(prompt: str, seed: int, *, salt: int = 0) -> Reply:
    """Prose about the prompt's words; a pure function of (prompt, seed, salt). A different
    ``salt`` gives a different reply for the same seed (for distinct numberResults)."""
    replies = reply_bank(prompt).replies
    return replies[(_first_pick(seed, _REPLY_OFFSET) + salt) % len(replies)]


def _lead(number: int) -> tuple[str, int]:
    text = _LEADS[number] if number < len(_LEADS) else f"{number - len(_LEADS) + 1}."
    return text, count_tokens(text)


def _behind(lead: tuple[str, int], reply: Reply) -> Reply:
    """``reply`` with a lead-in before it, its marks moved along."""
    text, tokens = lead
    shift = len(text) + 1
    return Reply(
        f"{text} {reply.text}",
        tokens + reply.tokens,
        ((len(text), tokens), *((end + shift, counted + tokens) for end, counted in reply.marks)),
    )


def candidates(prompt: str, seed: int, *, leads: int) -> Iterator[Reply]:
    """Every reply a result with this seed may take, in order of preference: the seed's own
    (``reply_for``), the rest of the prompt's pool, then the seed's own behind ``leads``
    lead-ins (distinct first tokens). Deterministic, and lazy: a caller searching for a
    reply that survives a cut stops early."""
    replies = reply_bank(prompt).replies
    start = _first_pick(seed, _REPLY_OFFSET)
    for salt in range(len(replies)):
        yield replies[(start + salt) % len(replies)]
    own = replies[start % len(replies)]
    for number in range(leads):
        yield _behind(_lead(number), own)


def lead_count(results: int) -> int:
    """How many lead-ins ``candidates`` should offer for a task with ``results`` results:
    every named one, and one list number per result, so that a token cap alone can never
    leave two results with the same text."""
    return len(_LEADS) + results
