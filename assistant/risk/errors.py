"""Errors of the risk package, hung under the project's tree in assistant/errors.py.

    AssistantError
    └── ScreeningUnavailable        the restricted-party screening back-end could not answer

A screening back-end that cannot answer raises; it never reports "no hits" instead, because an
unscreened deal must not look like a clean one.
"""

from __future__ import annotations

from assistant.errors import AssistantError


class ScreeningUnavailable(AssistantError):
    """The screening service (e.g. a yente server) refused, failed or did not answer in time."""
