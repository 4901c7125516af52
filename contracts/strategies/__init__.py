"""Hypothesis strategies for Runware requests and replies, compiled from the document.

Imported on its own (``from contracts import strategies``) so that the checks do not pay
for Hypothesis. Valid draws always pass :func:`contracts.check_request`; each invalid draw
breaks exactly the rule it is labelled with.
"""

from ._invalid import InvalidCase, invalid_requests
from ._responses import RESPONSE_KINDS, responses
from ._valid import requests, tasks

__all__ = ["RESPONSE_KINDS", "InvalidCase", "invalid_requests", "requests", "responses", "tasks"]
