"""Errors of the risk package, hung under the project's tree in assistant/errors.py.

    AssistantError
    ├── ScreeningUnavailable        the restricted-party screening back-end could not answer
    └── BadInput
        └── ListFormatError         a restricted-party list file that cannot be read (file and line)

A screening back-end that cannot answer raises; it never reports "no hits" instead, because an
unscreened deal must not look like a clean one.
"""

from __future__ import annotations

from assistant.errors import AssistantError, BadInput


class ScreeningUnavailable(AssistantError):
    """The screening service (e.g. a yente server) refused, failed or did not answer in time."""


class ListFormatError(BadInput):
    """A list file that is not in a format we read, or breaks it; the message names the file and line.

    Raised before anything is stored, so the list in force stays in force."""
