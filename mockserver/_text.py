"""Deterministic, plausible replies: the same prompt and seed always give the same prose.

Not a language model: sentences are assembled from small phrase banks around the words of
the last user message, so a person can tell replies apart and see what they answer, and a
test can rely on them. Token counts use one simple rule everywhere (words and punctuation
marks), so ``usage`` adds up.
"""

from __future__ import annotations

import functools
import random
import re
import zlib
from collections.abc import Sequence

__all__ = ["count_tokens", "reasoning_for", "reply_for", "take_tokens"]

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_STOPWORDS = frozenset("""
about above after again against also because been before being below between both could
does doing down during each from further have having here into itself just more most
only other over same should some such than that their them then there these they this
those through under until very what when where which while will with would your yours
please tell explain write give make show
""".split())

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
_FALLBACK_TOPICS = ("your question", "this topic", "the request", "the idea")
_FALLBACK_OTHERS = ("the wider context", "everyday practice", "the available evidence",
                    "the details", "common experience", "recent changes")
_THOUGHTS = (
    "The user is asking about {topic}.",
    "I should check what matters most here: {other}.",
    "Let me structure the answer: first the main point, then the context.",
    "I need to keep the answer clear and not too long.",
    "A comparison with {other} would make this easier to follow.",
)


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


def _rng(salt: str, seed: int, prompt: str) -> random.Random:
    # Seeding from an int is cheap; str hashes are salted per process, crc32 is not.
    return random.Random((seed << 32) ^ zlib.crc32(f"{salt}\x00{prompt}".encode()))


@functools.lru_cache(maxsize=1024)
def _topics(prompt: str) -> tuple[str, ...]:
    words = [w.lower() for w in _WORD.findall(prompt) if w.lower() not in _STOPWORDS]
    return tuple(dict.fromkeys(words))


def _fill(rng: random.Random, template: str, topics: Sequence[str]) -> str:
    topic = rng.choice(topics) if topics else rng.choice(_FALLBACK_TOPICS)
    others = [t for t in topics if t != topic] or list(_FALLBACK_OTHERS)
    return template.format(topic=topic, other=rng.choice(others))


def reply_for(prompt: str, seed: int) -> str:
    """A few paragraphs of prose about the prompt's words; a function of (prompt, seed)."""
    rng = _rng("reply", seed, prompt)
    topics = _topics(prompt)
    paragraphs = []
    for index in range(rng.randint(1, 3)):
        sentences = [_fill(rng, rng.choice(_OPENINGS), topics)] if index == 0 else []
        sentences += [_fill(rng, t, topics) for t in rng.sample(_BODY, rng.randint(2, 4))]
        paragraphs.append(" ".join(sentences))
    paragraphs[-1] += " " + _fill(rng, rng.choice(_CLOSINGS), topics)
    return "\n\n".join(paragraphs)


def reasoning_for(prompt: str, seed: int) -> str:
    """The model's visible reasoning for ``thinkingLevel``-style settings."""
    rng = _rng("reasoning", seed, prompt)
    topics = _topics(prompt)
    return " ".join(_fill(rng, t, topics) for t in rng.sample(_THOUGHTS, 3))
