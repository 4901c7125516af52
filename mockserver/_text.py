"""Deterministic, plausible replies: the same prompt and seed always give the same prose.

Not a language model: sentences are assembled from small phrase banks around the words of
the conversation, so a person can tell replies apart and see what they answer, and a test
can rely on them. Token counts use one simple rule everywhere (words and punctuation
marks), so ``usage`` adds up.

Speed matters here (every sync request generates text): the sentences for a prompt are
formatted once and cached with their token counts; a seed then only picks among them with
integer arithmetic, so a reply costs a few joins.
"""

from __future__ import annotations

import functools
import random
import re
import zlib
from dataclasses import dataclass

__all__ = ["count_tokens", "reasoning_for", "reply_for", "take_tokens"]

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_STOPWORDS = frozenset("""
about above after again against also because been before being below between both could
does doing down during each from further have having here into itself just more most only
other over same should some such than that their them then there these they this those
through under until very what when where which while will with would your yours please tell
explain write give make show""".split())

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
_FALLBACK_TOPICS = ("your question", "this topic", "the request", "the idea")
_FALLBACK_OTHERS = ("the wider context", "everyday practice", "the available evidence",
                    "the details", "common experience", "recent changes")
_VARIANTS = 4  # formatted variants of each template, with different words filled in
_MASK = (1 << 64) - 1


def count_tokens(text: str) -> int:
    """Tokens as the mock counts them: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def take_tokens(text: str, limit: int) -> str:
    """The prefix of ``text`` that holds exactly ``limit`` tokens (all of it if fewer)."""
    if limit <= 0:
        return ""
    for index, match in enumerate(_TOKEN.finditer(text)):
        if index == limit - 1:
            return text[:match.end()]
    return text


Sentence = tuple[str, int]  # the text and its token count


@dataclass(frozen=True, slots=True)
class _Bank:
    openings: tuple[Sentence, ...]
    bodies: tuple[Sentence, ...]
    closings: tuple[Sentence, ...]
    thoughts: tuple[Sentence, ...]


@functools.lru_cache(maxsize=1024)
def _bank(prompt: str) -> _Bank:
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

    return _Bank(fill(_OPENINGS), fill(_BODY), fill(_CLOSINGS), fill(_THOUGHTS))


def _stream_of(seed: int, salt: int) -> int:
    """splitmix64 of (seed, salt): cheap, well-mixed bits to pick sentences with."""
    z = (seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def reply_for(prompt: str, seed: int) -> tuple[str, int]:
    """A few paragraphs of prose about the prompt's words, and their token count; a pure
    function of (prompt, seed)."""
    bank = _bank(prompt)
    bits = _stream_of(seed, 1) | (_stream_of(seed, 2) << 64)
    paragraphs: list[str] = []
    tokens = 0
    count = 1 + bits % 3
    bits //= 3
    for index in range(count):
        chosen: list[Sentence] = []
        if index == 0:
            chosen.append(bank.openings[bits % len(bank.openings)])
            bits //= len(bank.openings)
        for _ in range(2 + bits % 3):
            bits //= 3
            chosen.append(bank.bodies[bits % len(bank.bodies)])
            bits //= len(bank.bodies)
        if index == count - 1:
            chosen.append(bank.closings[bits % len(bank.closings)])
            bits //= len(bank.closings)
        paragraphs.append(" ".join(text for text, _ in chosen))
        tokens += sum(n for _, n in chosen)
    return "\n\n".join(paragraphs), tokens


def reasoning_for(prompt: str, seed: int) -> tuple[str, int]:
    """The model's visible reasoning (for thinking settings), and its token count."""
    bank = _bank(prompt)
    bits = _stream_of(seed, 3)
    chosen = []
    for _ in range(3):
        chosen.append(bank.thoughts[bits % len(bank.thoughts)])
        bits //= len(bank.thoughts)
    return " ".join(text for text, _ in chosen), sum(n for _, n in chosen)
