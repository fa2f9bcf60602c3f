"""The JSON API under /v1: ask, screen, cases, decisions, feedback; plus /healthz.

Every route takes `Authorization: Bearer <key>` and acts as the key's user; access rules are the
service's (partners read partner guidance and their own organisation's cases; only compliance decides).
Errors are problem+json (see `app.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from ..answers.models import Answer, Screening
from ..enums import Level, Status
from ..identity import User
from ..risk.triage import DealFields
from .auth import api_user
from .context import WebContext, get_context
from .limits import MAX_FIELD_CHARS, MAX_TEXT_CHARS

CHANNEL = "api"
MAX_IDEMPOTENCY_CHARS = 100

CaseRef = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
Caller = Annotated[User, Depends(api_user)]
Ctx = Annotated[WebContext, Depends(get_context)]
IdempotencyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=MAX_IDEMPOTENCY_CHARS)]


class AskRequest(BaseModel):
    """A question for the guidance."""

    question: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    open_case: bool = Field(default=True, description="staff only: false skips the case (it is still recorded)")


class ScreenRequest(BaseModel):
    """A deal: free text in `scenario`, or structured fields (or both: the fields then add to the text)."""

    scenario: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    product: str = Field(default="", max_length=MAX_FIELD_CHARS)
    end_user: str = Field(default="", max_length=MAX_FIELD_CHARS)
    country: str = Field(default="", max_length=MAX_FIELD_CHARS)
    partner: str = Field(default="", max_length=MAX_FIELD_CHARS)
    notes: str = Field(default="", max_length=MAX_FIELD_CHARS)
    open_case: bool = Field(default=True, description="staff only: false skips the case (it is still recorded)")

    @model_validator(mode="after")
    def _something_to_screen(self) -> ScreenRequest:
        if not (self.scenario or "").strip() and not self.fields().as_text():
            raise ValueError("describe the deal in 'scenario' or give at least one of product, end_user, country")
        return self

    def fields(self) -> DealFields:
        return DealFields(
            product=self.product, end_user=self.end_user, country=self.country, partner=self.partner, notes=self.notes
        )


class DecisionRequest(BaseModel):
    """A compliance decision on a case; the comment is required and goes on the audit trail."""

    decision: Literal["approve", "reject", "needs_info", "needs-info"]
    comment: str = Field(min_length=1, max_length=MAX_FIELD_CHARS)


class FeedbackRequest(BaseModel):
    """Whether an answer helped."""

    answer_id: str = Field(min_length=1, max_length=64)
    question: str = Field(default="", max_length=MAX_TEXT_CHARS)
    helpful: bool
    reason: str | None = Field(default=None, max_length=MAX_FIELD_CHARS)


def scoped_idempotency_key(user: User, presented: str | None) -> str | None:
    """A client's idempotency key, namespaced by door and caller (the service adds the organisation)."""
    if not presented or not presented.strip():
        return None
    return f"{CHANNEL}:{user.id}:{presented.strip()}"


PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key (problem+json)"},
    413: {"description": "Request body too large (problem+json)"},
    422: {"description": "Invalid request (problem+json with `errors`)"},
    429: {"description": "Rate limit exceeded; see Retry-After (problem+json)"},
}

router = APIRouter(prefix="/v1", responses=PROBLEMS)


@router.post("/ask", responses={200: {"model": Answer}}, summary="Ask the guidance a question")
def ask(body: AskRequest, user: Caller, ctx: Ctx, idempotency_key: IdempotencyHeader = None) -> JSONResponse:
    """The ask JSON: an answer with [n] markers and its citations, or a refusal; a risk level and case
    reference when the question describes a risky deal."""
    answer = ctx.service.ask(
        body.question,
        user,
        channel=CHANNEL,
        open_case=body.open_case,
        idempotency_key=scoped_idempotency_key(user, idempotency_key),
    )
    return JSONResponse(answer.to_json_dict())


@router.post("/screen", responses={200: {"model": Screening}}, summary="Screen a deal")
def screen(body: ScreenRequest, user: Caller, ctx: Ctx, idempotency_key: IdempotencyHeader = None) -> JSONResponse:
    """The screen JSON: level, reasons with citations, signals, next steps and the case reference (a partner
    gets the level, partner-worded reasons and partner steps only). A reused Idempotency-Key with another deal
    is a 422 problem."""
    result = ctx.service.screen(
        ctx.service.deal_from(body.scenario, body.fields()),
        user,
        open_case=body.open_case,
        channel=CHANNEL,
        idempotency_key=scoped_idempotency_key(user, idempotency_key),
    )
    return JSONResponse(result.to_json_dict())


@router.get("/cases", summary="List the cases you may see, a page at a time")
def list_cases(
    user: Caller,
    ctx: Ctx,
    status: Annotated[Status | None, Query()] = None,
    level: Annotated[Level | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Compliance sees every case; everyone else their own organisation's. Undecided cases come first, the
    soonest due first; `next_cursor` fetches the next page and is null on the last one."""
    items, next_cursor = ctx.service.case_page(user, status=status, level=level, limit=limit, cursor=cursor)
    return {"items": [item.to_dict(user) for item in items], "next_cursor": next_cursor}


@router.get("/cases/{ref}", summary="One case and its audit trail")
def get_case(ref: CaseRef, user: Caller, ctx: Ctx) -> dict[str, Any]:
    """404 for a case that does not exist and for one of another organisation alike."""
    return ctx.service.case_view(ref, user).to_dict(user)


@router.post("/cases/{ref}/decision", summary="Decide a case (compliance only)")
def decide(ref: CaseRef, body: DecisionRequest, user: Caller, ctx: Ctx) -> dict[str, Any]:
    """Approve, reject or ask for more information, with a comment; the caller is recorded as the actor."""
    ctx.service.decide_case(ref, body.decision.replace("-", "_"), user, body.comment)
    return ctx.service.case_view(ref, user).to_dict(user)


@router.post("/feedback", status_code=201, summary="Say whether an answer helped")
def feedback(body: FeedbackRequest, user: Caller, ctx: Ctx) -> dict[str, Any]:
    """Stores the verdict with the caller's organisation."""
    feedback_id = ctx.service.record_feedback(
        user,
        answer_id=body.answer_id,
        question=body.question,
        helpful=body.helpful,
        reason=body.reason,
        channel=CHANNEL,
    )
    return {"id": feedback_id}


health_router = APIRouter()


@health_router.get("/healthz", summary="Liveness and index size")
def healthz(ctx: Ctx) -> dict[str, Any]:
    """Answers without a key; says how many passages are indexed."""
    return ctx.service.health()
