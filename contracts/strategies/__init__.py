"""Hypothesis strategies for Runware requests and replies, compiled from the document.

Imported on its own (``from contracts import strategies``) so that the checks do not pay
for Hypothesis. Valid draws always pass :func:`contracts.check_request`: ``requests()``
hunts boundaries, ``realistic_requests()`` draws what an application sends. Each invalid
draw breaks exactly the rule it is labelled with; ``invalid_request_cases()`` lists one
such case per rule, the same every run.
"""

from ._invalid import InvalidCase, invalid_request_cases, invalid_requests
from ._realistic import realistic_requests
from ._responses import RESPONSE_KINDS, responses
from ._valid import requests, tasks
from ._values import schema_values

__all__ = [
    "RESPONSE_KINDS",
    "InvalidCase",
    "invalid_request_cases",
    "invalid_requests",
    "realistic_requests",
    "requests",
    "responses",
    "schema_values",
    "tasks",
]
