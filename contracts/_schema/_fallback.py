"""Hand a schema node to ``jsonschema`` when it uses annotation-dependent keywords.

Only ``unevaluatedProperties``, ``unevaluatedItems`` and ``$dynamicRef`` come here (see
``_compile``). The kit's own format checkers are plugged in, so ``format`` is still judged
to the RFCs. jsonschema is imported only when such a keyword is met: its format extras take
most of a second to import, which a mock's start-up should not pay for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._compile import RawError, Validate
from ._formats import FORMATS

if TYPE_CHECKING:  # referencing exports no Resolver; annotations only
    from referencing._core import Resolver

__all__ = ["jsonschema_fallback"]


def _strings_only(check: Callable[[str], bool]) -> Callable[[object], bool]:
    # Formats assert on strings only; any other type passes (JSON Schema 2020-12, 7.1).
    return lambda value: not isinstance(value, str) or check(value)


def jsonschema_fallback(schema: Any, resolver: Resolver[Any]) -> Validate:
    """A validator for ``schema`` backed by ``jsonschema``, yielding the kit's raw errors."""
    from jsonschema import Draft202012Validator, FormatChecker

    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checkers[name] = (_strings_only(check), ())
    # jsonschema takes the resolver (base URI and registry) only through a private field;
    # without it, relative $refs would resolve against this node instead of its document.
    validator = Draft202012Validator(schema, format_checker=checker, _resolver=resolver)  # type: ignore[call-arg]

    def validate(instance: Any, path: tuple[Any, ...], errs: list[RawError]) -> None:
        for error in validator.iter_errors(instance):
            keyword = str(error.validator)
            errs.append(
                (
                    keyword,
                    (*path, *error.absolute_path),
                    error.instance,
                    error.schema,
                    error.message,
                )
            )

    return validate
