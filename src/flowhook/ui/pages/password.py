"""Changing one's password (``/password``): any signed-in user, viewers included, for their
own user. A user who signed in with a one-time password is sent here from every other
page until they have chosen their own (``ui/session.py``, ``usecases/users.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from flowhook.errors import Code, FlowhookError
from flowhook.statuses import status_of
from flowhook.ui.app import page_router
from flowhook.ui.render import render
from flowhook.ui.session import runtime_of, signed_in_as_is
from flowhook.usecases import users
from flowhook.usecases.users import MIN_PASSWORD, PasswordChange, Visitor

router = page_router()
AnyVisitorDep = Annotated[Visitor, Depends(signed_in_as_is)]
_FIELDS = ("current_password", "new_password", "repeat_password")


def _page(
    request: Request,
    visitor: Visitor,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "password.html",
        status_code=status_code,
        title="Change your password",
        forced=visitor.user.must_change_password,
        min_length=MIN_PASSWORD,
        errors=errors or {},
    )


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.get("/password")
async def password_page(request: Request, visitor: AnyVisitorDep) -> Response:
    return _page(request, visitor)


@router.post("/password")
async def change_password(request: Request, visitor: AnyVisitorDep) -> Response:
    form = await request.form()
    try:
        change = PasswordChange.model_validate({name: _text(form, name) for name in _FIELDS})
        await users.change_password(runtime_of(request), visitor, change)
    except ValidationError as exc:
        errors = {
            str(e["loc"][0]): str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors(include_url=False)
        }
        return _page(request, visitor, errors=errors, status_code=422)
    except FlowhookError as exc:
        if exc.code not in (Code.VALIDATION_FAILED, Code.INVALID_CREDENTIALS):
            raise
        errors = {d["path"]: d["message"] for d in exc.details or []}
        return _page(request, visitor, errors=errors, status_code=status_of(exc))
    return RedirectResponse("/?password=changed", status_code=303)
