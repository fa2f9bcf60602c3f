"""The project's errors, in one small tree.

    AssistantError                  root of everything the assistant raises on purpose
    ├── BadInput                    the caller sent something we refuse (exit 2, HTTP 4xx)
    │   ├── QuestionError           empty or over-long question
    │   └── SourceError             a path or file that cannot be ingested
    │   └── NotFound                something that does not exist, or that this user may not see
    ├── PermissionDenied            the user is known but their role may not do this (HTTP 403)
    ├── OverBudget                  an organisation opened too many cases this hour (HTTP 429)
    ├── ConfigError                 settings or data files that are invalid (names file and problem)
    └── IndexUnavailable            the knowledge index cannot be opened or is empty

Doors (CLI, web, Slack) map these to exit codes, problem+json responses or friendly messages;
anything else that escapes is an internal error and is logged with its traceback, never shown.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Root of every error the assistant raises deliberately."""


class BadInput(AssistantError):
    """The caller's input was refused; nothing was changed."""


class QuestionError(BadInput):
    """A question that is empty, too long or otherwise unusable."""


class SourceError(BadInput):
    """A file or folder that cannot be read or parsed for ingestion."""


class NotFound(BadInput):
    """Unknown, or not visible to this user (the two are indistinguishable on purpose)."""


class PermissionDenied(AssistantError):
    """The user's role may not perform this action."""


class OverBudget(AssistantError):
    """An organisation reached its budget of new cases for the hour; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(AssistantError):
    """Invalid settings or policy/data files; the message names the file and the problem."""


class IndexUnavailable(AssistantError):
    """The knowledge index is missing, empty or cannot be reached."""
