from __future__ import annotations

# The client scripts run under the SDKs' own venvs and import `runware`, which the kit's venv
# does not have: --doctest-modules must not import them.
collect_ignore_glob = ["clients/*.py"]
