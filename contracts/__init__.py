"""Contract checks for Runware text-inference payloads, driven by the OpenAPI document.

>>> from contracts import check_request
>>> [v.parameter for v in check_request([{"taskType": "textInference"}])]
['model', 'messages', 'taskUUID']
"""

from ._engine import precompile
from ._json import JSONProblem, parse_json
from ._request import check_request, validate_request
from ._response import check_response, reply_shape
from ._value import check_value
from ._violation import ContractViolation, Violation

__all__ = [
    "ContractViolation",
    "JSONProblem",
    "Violation",
    "check_request",
    "check_response",
    "check_value",
    "parse_json",
    "precompile",
    "reply_shape",
    "validate_request",
]
