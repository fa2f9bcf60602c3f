"""Every error of the project, in one tree, doors' own included.

    Exception
    ├── AssistantError                  root of everything the assistant raises on purpose
    │   ├── BadInput                    the caller sent something we refuse (exit 2, HTTP 4xx); nothing changed
    │   │   ├── QuestionError           empty or over-long question
    │   │   ├── SourceError             a path or file that cannot be ingested
    │   │   ├── NotFound                something that does not exist, or that this user may not see
    │   │   ├── ListFormatError         a restricted-party list file that cannot be read (file and line)
    │   │   └── CaseInputError          a case request we refuse
    │   │       ├── CaseNotFound        no such reference (or not visible to the caller's organisation)
    │   │       ├── InvalidTransition   the action is not allowed from the case's current status
    │   │       │   └── CaseClosed      a decision or assignment on a closed case
    │   │       ├── CommentRequired     the action needs a non-empty comment (and an actor)
    │   │       └── IdempotencyConflict the idempotency key was used before for a different request
    │   ├── PermissionDenied            the user is known but their role may not do this (HTTP 403)
    │   ├── OverBudget                  an organisation opened too many cases this hour (HTTP 429)
    │   ├── ConfigError                 settings or data files that are invalid (names file and problem)
    │   ├── IndexUnavailable            the knowledge index cannot be opened or is empty
    │   ├── CaseStoreUnavailable        the case database cannot be opened or migrated
    │   └── ScreeningUnavailable        the restricted-party screening back-end could not answer
    └── DoorError                       raised by a door (web) about the request itself, mapped there
        ├── Unauthorized                no usable credentials: HTTP 401
        ├── CsrfRejected                a form post without the session's CSRF token: HTTP 403
        ├── SignInRequired              a page needs a signed-in browser: redirect to sign-in
        └── RateLimited                 a caller went over its budget: HTTP 429 with Retry-After

Doors (CLI, web, Slack) map these to exit codes, problem+json responses or friendly messages;
anything else that escapes is an internal error and is logged with its traceback, never shown.
Every refusal of a case request is raised before the write transaction commits, so a refused request
leaves the cases and their audit trail exactly as they were. A screening back-end that cannot answer
raises; it never reports "no hits" instead, because an unscreened deal must not look like a clean one.
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


class ListFormatError(BadInput):
    """A list file that is not in a format we read, or breaks it; the message names the file and line.

    Raised before anything is stored, so the list in force stays in force."""


class ScreeningUnavailable(AssistantError):
    """The screening service (e.g. a yente server) refused, failed or did not answer in time."""


class CaseInputError(BadInput):
    """A request to the case queue that was refused as invalid; nothing was changed."""


class CaseNotFound(CaseInputError):
    """No case has this reference, or the caller's organisation may not see it."""


class InvalidTransition(CaseInputError):
    """The requested action is not allowed from the case's current status."""


class CaseClosed(InvalidTransition):
    """The case is closed: it must be reopened before anything else happens to it."""


class CommentRequired(CaseInputError):
    """The action needs a non-empty comment (decisions, reopening, closing an undecided case)."""


class IdempotencyConflict(CaseInputError):
    """An idempotency key was reused with a different request (IETF Idempotency-Key draft: 422)."""


class CaseStoreUnavailable(AssistantError):
    """The case database cannot be reached, opened or brought to the current schema."""


class DoorError(Exception):
    """A problem with the request itself that a door (the web app) detects and answers in its own way."""


class Unauthorized(DoorError):
    """No usable credentials (missing, malformed, unknown or revoked key): HTTP 401."""


class CsrfRejected(DoorError):
    """A form post without the session's CSRF token: HTTP 403."""


class SignInRequired(DoorError):
    """A page needs a signed-in browser: redirect to the sign-in page."""


class RateLimited(DoorError):
    """A caller went over its budget; `retry_after` is whole seconds until a request is allowed again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after} s")
        self.retry_after = retry_after
