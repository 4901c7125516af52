"""textInference emulation: what a task asks for, turned into result items.

Everything a model document decides (defaults, which settings exist) is read from the
``Spec``; what is Runware's API behaviour (``maxTokens`` caps the completion,
``stopSequences`` cut it, a thinking setting adds ``reasoningContent``) is implemented here,
once, for every model.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from openapi import Spec

from ._config import MockConfig, ReplyRule
from ._json_output import JsonOption, draw_json, json_option
from ._json_output import dumps as dumps_json
from ._text import (
    Bank,
    Reply,
    cached_count,
    candidates,
    count_tokens,
    lead_count,
    reply_bank,
    take_tokens,
    topic_words,
)

__all__ = [
    "IMAGE_PROMPT_TOKENS",
    "Generation",
    "SeedSource",
    "generate",
    "last_user_message",
    "message_text",
]

UINT32 = 2**32
# Prompt tokens per image (an image part of a message, or an item of ``inputs.images``): the
# mock's policy. Runware bills images as prompt tokens (py-legacy's usage breaks prompt
# tokens down by modality, protocol reference section 2) but publishes no count per image;
# 256 is the order of what vision models charge for one small image.
IMAGE_PROMPT_TOKENS = 256
_THINKING_SETTINGS = ("thinkingLevel", "reasoningEffort", "thinking")
_THINKING_OFF = {"off", "none", "disabled", False, None}


class SeedSource:
    """Seeds for tasks that send none: random, or reproducible from the mock's ``seed``."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def __call__(self) -> int:
        return self._rng.getrandbits(32)

    @property
    def draw(self) -> Callable[[], int]:
        """``self`` as a C call (no Python frame per seed)."""
        return functools.partial(self._rng.getrandbits, 32)


@dataclass(slots=True)  # not frozen: one is built per result, and frozen init is slower
class Generation:
    """One generated result, before it is shaped for a delivery method."""

    result_index: int
    seed: int
    text: str
    reasoning: str | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    thinking_tokens: int
    rule: ReplyRule | None = None
    # A scripted JSON reply that does not fit the request's jsonSchema: the journal's
    # violation about it (the script is wrong, and the test that set it should know).
    problem: dict[str, Any] | None = None

    def item(self, task: Mapping[str, Any], *, config: MockConfig) -> dict[str, Any]:
        """The sync result item (also the ``success`` body of async and webhook results)."""
        item: dict[str, Any] = {
            "taskType": task["taskType"],
            "taskUUID": task["taskUUID"],
            "text": self.text,
            "finishReason": self.finish_reason,
            "seed": self.seed,
            "resultIndex": self.result_index,
        }
        if self.reasoning is not None:
            item["reasoningContent"] = self.reasoning
        return self._account(item, task, config)

    def accounting(self, task: Mapping[str, Any], *, config: MockConfig) -> dict[str, Any]:
        """``usage`` and ``cost``, each only when the task asked for it."""
        return self._account({}, task, config)

    def _account(
        self, extra: dict[str, Any], task: Mapping[str, Any], config: MockConfig
    ) -> dict[str, Any]:
        """``extra`` with ``accounting()``'s fields added (no dict built to merge)."""
        if task.get("includeUsage") is True:
            extra["usage"] = {
                "promptTokens": self.prompt_tokens,
                "completionTokens": self.completion_tokens,
                "totalTokens": self.prompt_tokens + self.completion_tokens + self.thinking_tokens,
                "thinkingTokens": self.thinking_tokens,
            }
        if task.get("includeCost") is True:
            extra["cost"] = round(
                self.prompt_tokens * config.prompt_price_per_token
                + (self.completion_tokens + self.thinking_tokens)
                * config.completion_price_per_token,
                10,
            )
        return extra


def _is_image(part: Any) -> bool:
    # Runware names no part types; every convention in use (image, image_url, input_image)
    # puts "image" in the part's type.
    kind = part.get("type") if isinstance(part, dict) else None
    return isinstance(kind, str) and "image" in kind.lower()


def message_text(content: Any) -> str:
    """The text of a message's ``content``, however the document shapes it: the string
    itself, or the ``text`` of its text parts (one per line) when it is a list of parts;
    never the JSON of the parts. Anything else has no text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str) and not _is_image(part)
        )
    return ""


def _image_count(task: Mapping[str, Any], messages: Sequence[Any]) -> int:
    """Images in a task: image parts of its messages and items of ``inputs.images``."""
    count = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            count += sum(1 for part in content if _is_image(part))
    inputs = task.get("inputs")
    images = inputs.get("images") if isinstance(inputs, dict) else None
    return count + (len(images) if isinstance(images, list) else 0)


def last_user_message(messages: Sequence[Any]) -> str:
    """The last user message's text; it may be asked of an invalid body (fault matching runs
    before validation), so anything that is not a message is passed over."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message.get("content", ""))
    last = messages[-1] if messages else None
    return message_text(last.get("content", "")) if isinstance(last, dict) else ""


@dataclass(frozen=True, slots=True)
class _Document:
    """What ``generate`` reads from a document: read once per document, not per task."""

    settings: Mapping[str, Any]  # the documented defaults of settings.*, by setting name
    count: int  # numberResults by default
    delivery: str  # deliveryMethod by default (what reply rules match)
    json: JsonOption | None  # the JSON output option, if the document has one


_DOCUMENT = "mockserver.inference-document"
_NO_SETTINGS: Mapping[str, Any] = MappingProxyType({})


def _document(spec: Spec) -> _Document:
    found: _Document | None = spec.memo.get(_DOCUMENT)
    if found is None:
        defaults = spec.defaults
        found = spec.memo[_DOCUMENT] = _Document(
            settings=MappingProxyType(
                {
                    path.split(".", 1)[1]: value
                    for path, value in defaults.items()
                    if path.startswith("settings.")
                }
            ),
            count=_as_int(defaults.get("numberResults"), 1),
            delivery=str(defaults.get("deliveryMethod", "sync")),
            json=json_option(spec),
        )
    return found


def _fits(schema: Mapping[str, Any], value: Any) -> bool:
    from contracts import check_value

    return not check_value(value, schema=schema)


def _as_int(value: Any, default: int) -> int:
    # JSON Schema counts 1.0 as an integer: so does the emulation.
    return default if value is None else int(value)


def _cut(reply: Reply, stops: Sequence[str], max_tokens: int | None) -> tuple[str, int, str]:
    """Apply stop sequences, then the token cap: (text, its tokens, finishReason)."""
    finish = "stop"
    text, tokens = reply.text, reply.tokens
    positions = [p for s in stops if isinstance(s, str) and s and (p := text.find(s)) >= 0]
    if positions:
        cut = min(positions)
        text, tokens = text[:cut], reply.tokens_before(cut)
    if max_tokens is not None and tokens > max_tokens:
        text, tokens, finish = take_tokens(text, max_tokens), max_tokens, "length"
    return text, tokens, finish


# Cuts of one prompt's replies kept, at most: the common request sends the same stop
# sequences and cap every time, so a pool of 64 replies needs 64.
_CUTS_KEPT = 256


def _cut_reply(
    bank: Bank, seed: int, stops: Sequence[str], max_tokens: int | None
) -> tuple[str, int, str]:
    """``_cut(reply_for(prompt, seed), stops, max_tokens)``, each cut computed once: a
    reply is a pure function of (prompt, seed), so its cut is one of (reply, stops, cap)."""
    index = bank.index(seed)
    try:
        key = (index, tuple(stops), max_tokens)
        found: tuple[str, int, str] | None = bank.cuts.get(key)
    except TypeError:  # a stop sequence that is no string (the cut ignores it): not kept
        return _cut(bank.replies[index], stops, max_tokens)
    if found is None:
        cuts = bank.cuts
        if len(cuts) >= _CUTS_KEPT:
            cuts.clear()
        found = cuts[key] = _cut(bank.replies[index], stops, max_tokens)
    return found


def _distinct(
    topics: str,
    seed: int,
    stops: Sequence[str],
    max_tokens: int | None,
    seen: set[str],
    results: int,
) -> tuple[str, int, str] | None:
    """The first candidate reply for ``seed`` whose text, once cut, no earlier result of the
    task has: some SDKs de-duplicate results by text (js-legacy then waits forever). None
    when every candidate collides (stop sequences that cut every candidate to the same few
    texts); the search is bounded, the cut is never bent to make texts differ."""
    for reply in candidates(topics, seed, leads=lead_count(results)):
        cut = _cut(reply, stops, max_tokens)
        if cut[0] not in seen:
            return cut
    return None


def generate(
    task: Mapping[str, Any],
    *,
    spec: Spec,
    config: MockConfig,
    rules: Sequence[ReplyRule],
    seeds: Callable[[], int],
) -> list[Generation]:
    """Every result a textInference task asks for (``numberResults`` of them)."""
    document = _document(spec)
    # A setting is the task's if it sets it, else the document's default.
    given = task.get("settings") or _NO_SETTINGS
    defaults = document.settings
    count = _as_int(task.get("numberResults"), document.count)
    base_seed = _as_int(task.get("seed"), -1)
    if base_seed < 0:
        base_seed = seeds()
    prompt, topics, prompt_tokens = _prompt_accounting(task, given, defaults)
    rule = _matching_rule(rules, task, prompt, delivery=document.delivery) if rules else None
    thinks, off = _thinking(given, defaults)
    stops, max_tokens = _cut_settings(given, defaults)
    option = document.json
    schema = option.schema(task) if option is not None and option.wanted(task) else None
    if rule is not None:
        return _scripted_results(
            rule,
            count,
            base_seed,
            schema=schema,
            stops=stops,
            max_tokens=max_tokens,
            off=off,
            prompt_tokens=prompt_tokens,
        )
    return _generated_results(
        count,
        base_seed,
        topics=topics,
        schema=schema,
        stops=stops,
        max_tokens=max_tokens,
        thinks=thinks,
        prompt_tokens=prompt_tokens,
    )


def _generated_results(
    count: int,
    base_seed: int,
    *,
    topics: str,
    schema: Mapping[str, Any] | None,
    stops: Sequence[str],
    max_tokens: int | None,
    thinks: bool,
    prompt_tokens: int,
) -> list[Generation]:
    """The results no reply rule scripts: replies about ``topics``, or in JSON mode values
    drawn from the request's ``schema``; reasoning when a thinking setting is on."""
    # The replies (and reasonings) a seed picks from: built only for the branches below
    # that use them, as before, and looked up once per task.
    bank = reply_bank(topics) if schema is None or thinks else None
    results: list[Generation] = []
    seen: set[str] = set()
    for index in range(count):
        seed = base_seed + index
        if seed >= UINT32:
            seed %= UINT32
        reasoning: str | None = None
        thinking_tokens = 0
        if schema is not None:
            text, tokens, finish = _json_text(schema, seed, topics, stops, max_tokens)
        else:
            assert bank is not None
            text, tokens, finish = _cut_reply(bank, seed, stops, max_tokens)
            # Texts distinct after the cut, which can shorten two replies to one prefix.
            # Result 0 is always the seed's own reply, as with numberResults 1; the search
            # runs only on a collision, so a task with one result never pays for it.
            if index and text in seen:
                other = _distinct(topics, seed, stops, max_tokens, seen, count)
                if other is not None:
                    text, tokens, finish = other
            seen.add(text)
        if thinks:
            assert bank is not None
            reasoning, thinking_tokens = bank.reasoning(seed)
        results.append(
            # positionally, in field order: keywords cost 5% of generate()
            Generation(index, seed, text, reasoning, finish, prompt_tokens, tokens, thinking_tokens)
        )
    return results


def _scripted_results(
    rule: ReplyRule,
    count: int,
    base_seed: int,
    *,
    schema: Mapping[str, Any] | None,
    stops: Sequence[str],
    max_tokens: int | None,
    off: bool,
    prompt_tokens: int,
) -> list[Generation]:
    """A reply rule's results: its text or JSON sent as written, also for numberResults > 1
    (the user chose it), with its reasoning, finishReason and usage if it sets them."""
    results: list[Generation] = []
    for index in range(count):
        seed = base_seed + index
        if seed >= UINT32:
            seed %= UINT32
        text, tokens, finish = _scripted_text(rule, stops, max_tokens)
        problem = None
        # A scripted JSON reply is sent as written, and checked against the request's schema.
        if rule.json is not None and schema is not None and not _fits(schema, rule.json):
            problem = _scripted_mismatch()
        reasoning: str | None = None
        thinking_tokens = 0
        if not off and rule.reasoning is not None:
            reasoning = rule.reasoning
            thinking_tokens = count_tokens(reasoning)
        prompted = prompt_tokens
        if rule.finish_reason is not None:
            finish = rule.finish_reason
        if rule.usage:  # the rule's counts stand in for the computed ones
            usage = rule.usage
            prompted = usage.get("promptTokens", prompted)
            tokens = usage.get("completionTokens", tokens)
            thinking_tokens = usage.get("thinkingTokens", thinking_tokens)
        # Thinking off: no reasoning and no thinking tokens, whatever a rule's usage says.
        thinking_tokens = 0 if off else thinking_tokens
        results.append(
            Generation(
                index,
                seed,
                text,
                reasoning,
                finish,
                prompted,
                tokens,
                thinking_tokens,
                rule,
                problem,
            )
        )
    return results


def _scripted_text(
    rule: ReplyRule, stops: Sequence[str], max_tokens: int | None
) -> tuple[str, int, str]:
    """A rule's text, or its JSON, as written: (text, its tokens, finishReason) once cut."""
    written = rule.text if rule.json is None else dumps_json(rule.json)
    return _cut(Reply(written, count_tokens(written), ()), stops, max_tokens)


def _scripted_mismatch() -> dict[str, Any]:
    """The journal's violation about a scripted JSON reply that does not fit the schema."""
    return {
        "code": "scriptedReplyMismatch",
        "parameter": "jsonSchema",
        "message": "The scripted reply's JSON does not fit the request's "
        "jsonSchema: fix the reply rule (json = …) or the "
        "schema the client sends.",
    }


def _prompt_accounting(
    task: Mapping[str, Any], given: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[str, str, int]:
    """(the prompt rules match, the topics replies are about, the prompt's tokens)."""
    messages = task.get("messages") or []
    system = given["systemPrompt"] if "systemPrompt" in given else defaults.get("systemPrompt")
    prompt_tokens = cached_count(system) if isinstance(system, str) else 0
    contents = []
    parts = False
    prompt = None  # last_user_message(messages), found on the way
    for message in messages:
        if isinstance(message, dict):
            content = message.get("content", "")
            if not isinstance(content, str):
                parts = True  # its text parts count as text, its image parts below
                content = message_text(content)
            if message.get("role") == "user":
                prompt = content
            contents.append(content)
            prompt_tokens += cached_count(content)
    if prompt is None:  # no user message: the last message's text, if it is one
        prompt = contents[-1] if messages and isinstance(messages[-1], dict) else ""
    if parts or "inputs" in task:
        prompt_tokens += IMAGE_PROMPT_TOKENS * _image_count(task, messages)
    # Replies are about the last user message first, then the rest of the conversation.
    contents.reverse()
    return prompt, prompt + " " + " ".join(contents), prompt_tokens


def _matching_rule(
    rules: Sequence[ReplyRule], task: Mapping[str, Any], prompt: str, *, delivery: str
) -> ReplyRule | None:
    """The first reply rule for this prompt, model and delivery method, if any."""
    if "deliveryMethod" in task:  # else the document's default
        delivery = str(task["deliveryMethod"])
    model = task.get("model")
    for candidate in rules:
        if candidate.matches(prompt, model=model, delivery_method=delivery):
            return candidate
    return None


def _thinking(given: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[bool, bool]:
    """(thinks, off): whether the first thinking setting there is is on, or turned off.

    Generated reasoning needs a thinking setting that is on; a rule's reasoning is the
    user's and goes unless the task turns thinking off (or the document has no setting)."""
    for name in _THINKING_SETTINGS:
        if name in given or name in defaults:
            off = (given[name] if name in given else defaults[name]) in _THINKING_OFF
            return not off, off
    return False, False


def _cut_settings(
    given: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[Sequence[str], int | None]:
    """(stopSequences, maxTokens): what cuts a completion."""
    cap = given["maxTokens"] if "maxTokens" in given else defaults.get("maxTokens")
    max_tokens = None if cap is None else int(cap)
    stops = (
        given["stopSequences"] if "stopSequences" in given else defaults.get("stopSequences")
    ) or ()
    return stops, max_tokens


def _json_text(
    schema: Mapping[str, Any],
    seed: int,
    topics: str,
    stops: Sequence[str],
    max_tokens: int | None,
) -> tuple[str, int, str]:
    """JSON mode: a value drawn from the request's own schema, as text; maxTokens may cut
    it mid-value (finishReason "length"), as a real model's is."""
    written = dumps_json(draw_json(schema, seed=seed, words=topic_words(topics)))
    return _cut(Reply(written, count_tokens(written), ()), stops, max_tokens)
