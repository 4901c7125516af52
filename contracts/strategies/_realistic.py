"""``realistic_requests()``: requests an application would send, drawn from the document.

``requests()`` hunts boundaries (the longest prompt, the largest ``maxTokens``); this draws
what a person's app sends: an everyday question, a system prompt, a short conversation with
assistant turns, settings near their defaults, now and then ``includeUsage`` or a webhook.
Each body is a few hundred bytes, so it fits ``curl -d "$line"``, and the mock answers it.

What the strategy knows by name are the parameters of Runware's text-inference API
(``messages``, ``settings.systemPrompt``, ``settings.stopSequences``, ``deliveryMethod``,
``webhookURL``); what it knows about each is only what the document says. Every limit, enum,
default and model id is read from it, and every candidate value is checked against the
parameter's schema before it is offered. Other optional parameters are drawn by kind:
booleans and enums from their values (the default first), numbers by :func:`_inside`.
Optional strings, arrays and objects it has no plausible value for (``inputs.images``) are
left out: a realistic request is not a complete one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from contracts._engine import engine_for
from contracts._request import check_request
from contracts._schema import _numbers
from openapi import Parameter, Spec

from ._from_schema import _number
from ._valid import _spec

__all__ = ["realistic_requests"]

_MEMO = "contracts.strategies.realistic"

QUESTIONS = (
    "Why is the sky blue?",
    "What's a good name for a grey kitten?",
    "How long should I boil an egg for a runny yolk?",
    "Can you explain what a mortgage is in simple terms?",
    "What is the difference between weather and climate?",
    "Write a haiku about Monday mornings.",
    "Translate 'Where is the train station?' into French.",
    "Give me three ideas for a quick vegetarian dinner.",
    "How do I politely decline a meeting invitation?",
    "Summarise the plot of Romeo and Juliet in two sentences.",
    "What does HTTP status 404 mean?",
    "How many minutes are there in a week?",
    "Suggest a 20-minute workout I can do at home.",
    "Write a Python function that checks whether a string is a palindrome.",
    "Is it safe to leave cooked rice out overnight?",
    "Wie spät ist es in Tokio, wenn es in Berlin 9 Uhr ist?",
    "¿Qué puedo cocinar con arroz, huevos y espinacas?",
    "今日は晴れで20度です。何を着ればいいですか?",
)
# user, assistant, user, …: each ends on the user's turn, as a request to a chat model does.
CONVERSATIONS = (
    (
        "I'm planning a trip to Lisbon in May.",
        "Lovely choice! May is warm and not too crowded. How many days will you stay?",
        "Four days. What should I not miss?",
    ),
    (
        "Can you help me write an email to my landlord?",
        "Of course. What should the email be about?",
        "The heating has been broken for a week.",
    ),
    (
        "What's the difference between a list and a tuple in Python?",
        "A list can be changed after it is created; a tuple cannot.",
        "So when would I prefer a tuple?",
    ),
    (
        "Recommend a book for a long flight.",
        "How about 'The Martian' by Andy Weir? It is gripping and funny.",
        "I've read it. Something similar?",
    ),
    (
        "My sourdough never rises much.",
        "That often means the starter is not active enough. How do you feed it?",
        "Once a day, with equal weights of flour and water.",
    ),
    (
        "How do I convert Celsius to Fahrenheit?",
        "Multiply by 9/5, then add 32.",
        "So what is 25 degrees Celsius?",
    ),
    (
        "Let's play twenty questions. I'm thinking of an animal.",
        "Is it a mammal?",
        "Yes.",
        "Does it live in the water?",
        "No, it lives in trees.",
    ),
)
SYSTEM_PROMPTS = (
    "You are a helpful assistant. Answer concisely.",
    "You are a friendly cooking assistant. Suggest recipes with common ingredients.",
    "You are a customer-support agent for an online bookshop. Be polite and brief.",
    "Reply in the same language as the user.",
    "You are a patient tutor. Explain step by step.",
    "Answer in at most three sentences.",
)
STOP_SEQUENCES = ("\n\n", "User:", "###", "</answer>")
# .invalid names never resolve (RFC 6761), and the mock's allowlist (loopback only, by
# default) leaves them uncalled: the task is acknowledged, the delivery journaled as not
# attempted, and nothing leaves the machine.
WEBHOOK_URLS = (
    "https://hooks.example-app.invalid/runware",
    "https://api.bookshop.invalid/webhooks/inference",
    "http://callbacks.staging.invalid:8080/runware/done",
)
# The outer twentieth of a range, at each end, is left to requests() and its boundaries.
_MARGIN = Decimal("0.05")
_SOMETIMES = st.sampled_from([False, False, True])  # about one draw in three
_RARELY = st.sampled_from([False] * 5 + [True])  # about one in six
_NAMED = frozenset(
    {
        "taskType",
        "taskUUID",
        "model",
        "messages",
        "deliveryMethod",
        "webhookURL",
        "settings",
        "settings.systemPrompt",
        "settings.stopSequences",
    }
)


def _inside(param: Parameter) -> st.SearchStrategy[Any] | None:
    """Plausible numbers for ``param``: its default, or a value well inside its limits.

    Within a quarter of the range around the default (the middle without one), never in
    the outer 5% of the range nor on a boundary; on the ``multipleOf`` grid, written as
    exact decimals. A wide integer range (``maxTokens``, ``seed``) is drawn by magnitude:
    powers of two inside it. A range open at one end offers the default alone; without a
    default, nothing.
    """
    schema, integer = param.schema, param.type == "integer"
    default = param.default if param.has_default and _numbers.is_number(param.default) else None
    low, high = schema.get("minimum"), schema.get("maximum")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if (low is None and xlow is None) or (high is None and xhigh is None):
        return None if default is None else st.just(default)
    lo = _numbers.as_decimal(low if low is not None else xlow)
    hi = _numbers.as_decimal(high if high is not None else xhigh)
    step = (
        _numbers.as_decimal(schema["multipleOf"])
        if "multipleOf" in schema
        else (
            Decimal(1)
            if integer
            else Decimal(10) ** (math.floor(math.log10(hi - lo)) - 2)
            if hi > lo
            else Decimal(1)
        )
    )
    k_lo = int((lo / step).to_integral_value(ROUND_CEILING))
    k_hi = int((hi / step).to_integral_value(ROUND_FLOOR))
    k_lo += 1 if low is None and k_lo * step == lo else 0
    k_hi -= 1 if high is None and k_hi * step == hi else 0
    if k_lo > k_hi:
        return None if default is None else st.just(default)
    if integer and hi - lo > 1000:
        powers = [2**j for j in range(4, 64) if lo < 2**j < hi and 2**j % step == 0]
        if powers:
            drawn: st.SearchStrategy[Any] = st.sampled_from(powers)
            return drawn if default is None else st.one_of(st.just(default), drawn)
    # Never a boundary itself, when the range has an inside at all.
    margin = max(1 if k_hi - k_lo >= 2 else 0, int((k_hi - k_lo) * _MARGIN))
    inner_lo, inner_hi = k_lo + margin, k_hi - margin
    centre = (
        (k_lo + k_hi) // 2
        if default is None
        else int((_numbers.as_decimal(default) / step).to_integral_value())
    )
    half = max(1, round((k_hi - k_lo) / 4))
    start, end = max(inner_lo, centre - half), min(inner_hi, centre + half)
    if start > end:
        start, end = inner_lo, inner_hi
    drawn = st.integers(start, end).map(lambda k: _number(Decimal(k) * step, integer=integer))
    # The default a third of the time: an app that sets temperature often sets it to that.
    return drawn if default is None else st.one_of(st.just(default), drawn, drawn)


def _by_kind(param: Parameter, valid: Callable[[Any], bool]) -> st.SearchStrategy[Any] | None:
    if "const" in param.schema:
        return st.just(param.const)
    values: Sequence[Any] | None = param.enum
    if values is None and param.type == "boolean":
        values = (False, True)
    if values is not None:
        first = [param.default] if param.has_default else []
        ordered = [v for v in _distinct([*first, *values]) if valid(v)]
        return st.sampled_from(ordered) if ordered else None
    if param.type in ("integer", "number"):
        return _inside(param)
    return None


def _distinct(values: Sequence[Any]) -> list[Any]:
    """``values`` without repeats, in order (``False`` and ``0`` stay apart, as in JSON)."""
    seen: list[Any] = []
    for value in values:
        if not any(type(v) is type(value) and v == value for v in seen):
            seen.append(value)
    return seen


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one document allows, turned into plausible choices (built once per spec)."""

    task_type: str
    model: str
    # (the turns, the system messages that may open them)
    conversations: tuple[tuple[tuple[Mapping[str, str], ...], tuple[Mapping[str, str], ...]], ...]
    system_prompts: tuple[str, ...]  # empty when the document has no settings.systemPrompt
    stop_sequences: tuple[tuple[str, ...], ...]
    webhooks: tuple[str, ...]
    deliveries: tuple[str, ...]  # the document's, its default first
    settings: Mapping[str, st.SearchStrategy[Any]]
    extras: Mapping[str, st.SearchStrategy[Any]]  # other optional top-level parameters
    required: Mapping[str, st.SearchStrategy[Any]]  # required beyond the named ones
    min_tasks: int
    max_tasks: int


def _plan(spec: Spec) -> _Plan:
    built: _Plan | None = spec.memo.get(_MEMO)
    if built is not None:
        return built
    compiler = engine_for(spec).compiler
    resolver = spec.registry.resolver(base_uri=spec.document_uri)

    def checker(param: Parameter) -> Callable[[Any], bool]:
        return compiler.predicate_in(param.schema, resolver)

    params = {p.path: p for p in spec.parameters()}
    task_type = spec.inference_task_type
    if "messages" not in params:
        raise InvalidArgument(
            f"spec={spec!r}: realistic_requests() needs a messages "
            f"parameter in the {task_type} task of {spec.source}"
        )
    conversations = _conversations(params["messages"], checker(params["messages"]), resolver)
    if not conversations:
        raise InvalidArgument(
            f"spec={spec!r}: no conversation of realistic_requests() fits "
            f"the messages schema of {spec.source} (a user message with "
            "short text content is the least it needs)"
        )

    def offered(path: str, pool: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v for v in pool if checker(params[path])(v)) if path in params else ()

    stops = [[s] for s in STOP_SEQUENCES] + [list(STOP_SEQUENCES[:2])]
    deliveries = offered(
        "deliveryMethod",
        [params["deliveryMethod"].default, *spec.delivery_methods]
        if "deliveryMethod" in params
        else [],
    )
    kinds = {path: _by_kind(p, checker(p)) for path, p in params.items() if path not in _NAMED}
    settings = {
        path.partition(".")[2]: s
        for path, s in kinds.items()
        if path.startswith("settings.") and path.count(".") == 1 and s is not None
    }
    top = {path: s for path, s in kinds.items() if "." not in path and s is not None}
    missing = [
        path
        for path, p in params.items()
        if p.required and "." not in path and path not in _NAMED and path not in top
    ]
    if missing:
        raise InvalidArgument(
            f"spec={spec!r}: realistic_requests() has no plausible value for "
            f"the required parameter(s) {missing} of {spec.source}; draw "
            "with requests() instead"
        )
    body = spec.request_schema
    built = _Plan(
        task_type=task_type,
        model=spec.model_id,
        conversations=conversations,
        system_prompts=offered("settings.systemPrompt", SYSTEM_PROMPTS),
        stop_sequences=tuple(map(tuple, offered("settings.stopSequences", stops))),
        webhooks=offered("webhookURL", WEBHOOK_URLS),
        deliveries=tuple(_distinct(deliveries)),
        settings=settings,
        extras={k: v for k, v in top.items() if not params[k].required},
        required={k: v for k, v in top.items() if params[k].required},
        min_tasks=max(1, int(body.get("minItems", 1))),
        max_tasks=max(1, int(body.get("minItems", 1)), min(2, int(body.get("maxItems", 2)))),
    )
    spec.memo[_MEMO] = built
    return built


def _conversations(
    messages: Parameter, valid: Callable[[Any], bool], resolver: Any
) -> tuple[tuple[tuple[Mapping[str, str], ...], tuple[Mapping[str, str], ...]], ...]:
    """Each conversation of the banks that the document's roles and limits allow, with the
    system messages that may open it (none unless ``system`` is a role)."""
    items = messages.schema.get("items") or {}
    if "$ref" in items:
        items = resolver.lookup(items["$ref"]).contents
    role = (items.get("properties") or {}).get("role") or {}
    roles = Parameter(path="role", schema=role).enum or ("user", "assistant")
    if "user" not in roles:
        return ()
    turns: list[Sequence[str]] = [(q,) for q in QUESTIONS]
    if "assistant" in roles:
        turns += CONVERSATIONS
    systems = (
        [{"role": "system", "content": p} for p in SYSTEM_PROMPTS] if "system" in roles else []
    )
    found = []
    for texts in turns:
        said = tuple(
            {"role": "user" if i % 2 == 0 else "assistant", "content": text}
            for i, text in enumerate(texts)
        )
        if valid(list(said)):
            found.append((said, tuple(m for m in systems if valid([m, *said]))))
    return tuple(found)


@st.composite
def _task(draw: st.DrawFn, plan: _Plan, *, streamable: bool) -> dict[str, Any]:
    said, systems = draw(st.sampled_from(plan.conversations))
    opening: Mapping[str, str] | None = None
    if bool(systems) and draw(_SOMETIMES):
        opening = draw(st.sampled_from(systems))
    messages = said if opening is None else (opening, *said)
    task: dict[str, Any] = {
        "taskType": plan.task_type,
        "taskUUID": str(draw(st.uuids(version=4))),
        "model": plan.model,
        "messages": [dict(m) for m in messages],
    }
    for name, strategy in plan.required.items():
        task[name] = draw(strategy)
    settings: dict[str, Any] = {}
    if plan.system_prompts and opening is None and draw(_SOMETIMES):
        settings["systemPrompt"] = draw(st.sampled_from(plan.system_prompts))
    chosen = sorted(plan.settings)
    for name in (
        draw(st.lists(st.sampled_from(chosen), max_size=min(3, len(chosen)), unique=True))
        if chosen
        else ()
    ):
        settings[name] = draw(plan.settings[name])
    if bool(plan.stop_sequences) and draw(_RARELY):
        stops: tuple[str, ...] = draw(st.sampled_from(plan.stop_sequences))
        settings["stopSequences"] = list(stops)
    if settings:
        task["settings"] = settings
    deliveries = [d for d in plan.deliveries if streamable or d != "stream"]
    delivery = draw(st.sampled_from([None, *deliveries])) if deliveries else None
    if delivery is not None:
        task["deliveryMethod"] = delivery
    if plan.webhooks and delivery != "stream" and draw(_RARELY):
        task["webhookURL"] = draw(st.sampled_from(plan.webhooks))
    extras = sorted(plan.extras)
    for name in (
        draw(st.lists(st.sampled_from(extras), max_size=min(2, len(extras)), unique=True))
        if extras
        else ()
    ):
        task[name] = draw(plan.extras[name])
    return task


@st.composite
def realistic_requests(draw: st.DrawFn, /, *, spec: Spec | None = None) -> list[dict[str, Any]]:
    """A request body an application would plausibly send, valid by the document.

    One task (now and then two) with a fresh ``taskUUID``: an everyday question, or a short
    conversation with assistant turns, sometimes a system prompt; a few settings near their
    documented defaults; one of the document's delivery methods (a ``stream`` task always
    alone); now and then ``includeCost``/``includeUsage`` or a ``webhookURL`` on a
    ``.invalid`` host, which the mock acknowledges and never calls. Each body is well under
    4 KiB, and every draw passes :func:`contracts.check_request`.

    Args:
        spec: the document (``openapi.load(...)``); the bundled one by default.

    Raises:
        InvalidArgument: when drawn, if ``spec`` is not a ``Spec``, or its inference task
            leaves no plausible request (no ``messages`` a user can fill, a required
            parameter with no plausible value).

    Example:
        >>> from hypothesis import given
        >>> @given(realistic_requests())
        ... def test_my_client_sends_it(body): ...
    """
    resolved = _spec(spec)
    plan = _plan(resolved)
    count = draw(st.sampled_from([plan.min_tasks] * 5 + [plan.max_tasks]))
    body: list[dict[str, Any]] = draw(
        st.lists(
            _task(plan, streamable=count == 1),
            min_size=count,
            max_size=count,
            unique_by=lambda task: str(task["taskUUID"]),
        )
    )
    # A net for cross-parameter rules no single candidate check sees (if/then, dependents).
    assume(not check_request(body, spec=resolved))
    return body
