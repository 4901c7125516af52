"""``responses()``: server replies drawn from the response contract, to test client parsing."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from openapi import Catalog, Spec

from ._valid import _documents, schema_strategies

__all__ = ["RESPONSE_KINDS", "responses"]

# kind → (the supplement's $defs name, wrapped in {"data": [...]}?)
RESPONSE_KINDS = {
    "result": ("TextInferenceResult", True),
    "ack": ("AsyncAcknowledgement", True),
    "poll": ("GetResponseItem", True),
    "chunk": ("StreamChunk", False),
    "error": ("ErrorEnvelope", False),
    "auth": ("AuthenticationReply", True),
    "pong": ("PingReply", True),
}
# Long enough to cross buffer sizes and stream chunk boundaries in client code.
_LONG_TEXT = st.builds(
    lambda word, n: " ".join([word] * n),
    st.sampled_from(["lorem", "Ünïcødé", "🙂", "line\nbreak"]),
    st.integers(500, 5000),
)


def _kind_strategy(spec: Spec, kind: str) -> st.SearchStrategy[Any]:
    key = ("responses", kind)
    cached: st.SearchStrategy[Any] | None = spec.memo.get(key)
    if cached is not None:
        return cached
    name, wrapped = RESPONSE_KINDS[kind]
    schema = spec.protocol["$defs"][name]
    resolver = spec.registry.resolver(base_uri=spec.protocol_uri)
    overrides: dict[str, st.SearchStrategy[Any]] = {}
    if name not in ("AuthenticationReply", "PingReply", "ErrorEnvelope"):
        overrides["taskType"] = st.just(spec.inference_task_type)
    if name in ("TextInferenceResult", "GetResponseItem"):
        overrides["text"] = st.one_of(st.text(max_size=40), _LONG_TEXT)
    item = schema_strategies(spec).for_schema(schema, resolver, overrides=overrides)
    cached = (
        st.fixed_dictionaries({"data": st.lists(item, min_size=1, max_size=3)}) if wrapped else item
    )
    spec.memo[key] = cached
    return cached


@st.composite
def responses(
    draw: st.DrawFn, /, *, spec: Spec | Catalog | None = None, kind: str | None = None
) -> dict[str, Any]:
    """A reply body the response contract allows.

    Args:
        spec: the document; the bundled one by default; with a catalogue, a reply for any
            of its documents.
        kind: ``"result"`` (sync results: long texts, ``finishReason: "length"``, optional
            ``usage``/``cost``/``reasoningContent`` present or absent), ``"ack"``,
            ``"poll"`` (getResponse items in every status), ``"chunk"`` (one stream
            event's JSON), ``"error"``, ``"auth"``, ``"pong"``; ``None`` for any.
    """
    if kind is not None and kind not in RESPONSE_KINDS:
        raise InvalidArgument(
            f"kind={kind!r} is not a reply kind; use one of {', '.join(RESPONSE_KINDS)} or None"
        )
    documents = _documents(spec)
    resolved = documents[0] if len(documents) == 1 else draw(st.sampled_from(documents))
    chosen = kind if kind is not None else draw(st.sampled_from(sorted(RESPONSE_KINDS)))
    body: dict[str, Any] = draw(_kind_strategy(resolved, chosen))
    return body
