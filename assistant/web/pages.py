"""Server-rendered pages: ask and screen for resellers, the queue and case pages for compliance.

Every page needs a signed-in session (see `auth.py`); every form post checks the session's CSRF token.
Pages call the same service methods as the JSON API, so access rules are identical in both.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..enums import LEVELS, STATUSES
from ..errors import BadInput, NotFound, SignInRequired
from ..risk.triage import DealFields
from .auth import PageAuth, home_for, page_auth, read_session, require_csrf
from .context import WebContext, get_context
from .limits import MAX_FIELD_CHARS, MAX_TEXT_CHARS

CHANNEL = "web"

Ctx = Annotated[WebContext, Depends(get_context)]
Auth = Annotated[PageAuth, Depends(page_auth)]
Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=MAX_TEXT_CHARS)]
Field_ = Annotated[str, Form(max_length=MAX_FIELD_CHARS)]

router = APIRouter(include_in_schema=False)


def render(
    ctx: WebContext, request: Request, auth: PageAuth, name: str, status_code: int = 200, **context: Any
) -> Response:
    """A page with what every template needs: the user and the CSRF token."""
    base = {"user": auth.user, "csrf": auth.session.csrf, "error": None}
    return ctx.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


@router.get("/")
def index(request: Request, ctx: Ctx) -> Response:
    """Signed in: the user's home page; otherwise the sign-in page."""
    try:
        auth = page_auth(request, ctx)
    except SignInRequired:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(home_for(auth.user), status_code=303)


# -- ask ------------------------------------------------------------------------------------------------


@router.get("/ask", response_class=HTMLResponse)
def ask_page(request: Request, ctx: Ctx, auth: Auth) -> Response:
    return render(ctx, request, auth, "ask.html", question="", answer=None)


@router.post("/ask", response_class=HTMLResponse)
def ask_submit(request: Request, ctx: Ctx, auth: Auth, question: Text = "", csrf_token: Csrf = "") -> Response:
    """Answer a question; sources are listed under the answer, each expandable to its quote."""
    require_csrf(auth.session, csrf_token)
    try:
        answer = ctx.service.ask(question, auth.user, channel=CHANNEL)
    except BadInput as exc:
        return render(ctx, request, auth, "ask.html", 400, question=question, answer=None, error=str(exc))
    return render(ctx, request, auth, "ask.html", question=answer.question, answer=answer)


@router.post("/feedback", response_class=HTMLResponse)
def feedback_submit(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    answer_id: Annotated[str, Form(max_length=64)] = "",
    question: Text = "",
    helpful: Annotated[str, Form(max_length=8)] = "",
    csrf_token: Csrf = "",
) -> Response:
    require_csrf(auth.session, csrf_token)
    try:
        ctx.service.record_feedback(
            auth.user, answer_id=answer_id, question=question, helpful=helpful == "yes", channel=CHANNEL
        )
    except BadInput as exc:
        return render(ctx, request, auth, "ask.html", 400, question=question, answer=None, error=str(exc))
    return render(ctx, request, auth, "ask.html", question="", answer=None, notice="Thank you for the feedback.")


# -- screen ---------------------------------------------------------------------------------------------


@router.get("/screen", response_class=HTMLResponse)
def screen_page(request: Request, ctx: Ctx, auth: Auth) -> Response:
    return render(ctx, request, auth, "screen.html", form={}, result=None)


@router.post("/screen", response_class=HTMLResponse)
def screen_submit(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    scenario: Text = "",
    product: Field_ = "",
    end_user: Field_ = "",
    country: Field_ = "",
    partner: Field_ = "",
    csrf_token: Csrf = "",
) -> Response:
    """Screen a deal: level, reasons with their clauses, next steps and, when compliance must look, a case."""
    require_csrf(auth.session, csrf_token)
    form = {"scenario": scenario, "product": product, "end_user": end_user, "country": country, "partner": partner}
    fields = DealFields(product=product, end_user=end_user, country=country, partner=partner)
    deal = ctx.service.deal_from(scenario, fields)
    try:
        result = ctx.service.screen(deal, auth.user, channel=CHANNEL)
    except BadInput as exc:
        return render(ctx, request, auth, "screen.html", 400, form=form, result=None, error=str(exc))
    return render(ctx, request, auth, "screen.html", form=form, result=result)


# -- cases ----------------------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def queue_page(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    status: Annotated[str, Query(max_length=32)] = "",
    level: Annotated[str, Query(max_length=32)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The queue: compliance sees every case, others their organisation's; undecided and overdue first."""
    status_filter = status if status in STATUSES else None
    level_filter = level if level in LEVELS else None
    # The service orders the queue (undecided by SLA first) and pages it, so no case is ever left out.
    items, next_cursor = ctx.service.case_page(
        auth.user, status=status_filter, level=level_filter, limit=100, cursor=cursor or None
    )
    rows = [{"case": item.case, "sla": item.sla, "overdue": item.overdue} for item in items]
    return render(
        ctx,
        request,
        auth,
        "queue.html",
        rows=rows,
        statuses=STATUSES,
        level_names=LEVELS,
        status=status_filter or "",
        level=level_filter or "",
        next_cursor=next_cursor,
    )


def _case_page(
    ctx: WebContext, request: Request, auth: PageAuth, ref: str, status_code: int = 200, **extra: Any
) -> Response:
    view = ctx.service.case_view(ref, auth.user)
    return render(
        ctx,
        request,
        auth,
        "case.html",
        status_code,
        case=view.case,
        reasons=view.case.reasons,
        events=view.events,
        actors=view.actors,
        sla=view.sla,
        overdue=view.overdue,
        can_decide=view.may_decide,
        **extra,
    )


@router.get("/cases/{ref}", response_class=HTMLResponse)
def case_page(request: Request, ctx: Ctx, auth: Auth, ref: str) -> Response:
    """Facts, reasons with citations, the audit trail and (for compliance) the decision form."""
    return _case_page(ctx, request, auth, ref)


@router.post("/cases/{ref}/decide", response_class=HTMLResponse)
def decide_submit(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    ref: str,
    decision: Annotated[str, Form(max_length=16)] = "",
    comment: Field_ = "",
    csrf_token: Csrf = "",
) -> Response:
    """Record the decision with the signed-in user as actor, then show the case again."""
    require_csrf(auth.session, csrf_token)
    try:
        ctx.service.decide_case(ref, decision, auth.user, comment)
    except NotFound:
        raise
    except BadInput as exc:
        return _case_page(ctx, request, auth, ref, 400, error=str(exc), comment=comment)
    return RedirectResponse(f"/cases/{ref}", status_code=303)


# -- API documentation (rendered here: the stock Swagger page loads its code from a CDN) ----------------


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request, ctx: Ctx) -> Response:
    """The JSON API's routes and request bodies, from the OpenAPI document (also at /v1/openapi.json)."""
    spec = request.app.openapi()
    routes = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", ""), "doc": op.get("description", "")}
        for path, ops in spec.get("paths", {}).items()
        for method, op in ops.items()
    ]
    session = read_session(request, ctx)
    return ctx.templates.TemplateResponse(
        request,
        "docs.html",
        {"routes": routes, "user": None, "csrf": session.csrf if session else "", "error": None},
    )
