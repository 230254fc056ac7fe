"""Reading HTML form fields: an empty field is absent, a bad one names itself in the error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from frontdesk.core.errors import ValidationFailed

E = TypeVar("E", bound=StrEnum)
MAX_FIELD = 200_000


async def read_form(request: Request) -> AsyncIterator[FormData]:
    """The posted form, its uploaded files closed once the request is done."""
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()


PageForm = Annotated[FormData, Depends(read_form)]


def text(form: FormData, name: str, *, required: bool = False, max_length: int = 500) -> str:
    raw = form.get(name)
    value = raw.strip() if isinstance(raw, str) else ""
    if required and not value:
        raise ValidationFailed(f"{name} is required", field=name)
    if len(value) > max_length:
        raise ValidationFailed(f"{name} is longer than {max_length} characters", field=name)
    return value


def optional_uuid(form: FormData, name: str) -> UUID | None:
    value = text(form, name, max_length=40)
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} is not a valid id", field=name) from exc


def choice(form: FormData, name: str, enum: type[E]) -> E | None:
    value = text(form, name, max_length=40)
    if not value:
        return None
    try:
        return enum(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} is not one of the choices", field=name) from exc


def integer(form: FormData, name: str) -> int | None:
    value = text(form, name, max_length=12)
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} is not a number", field=name) from exc


def tag_list(form: FormData, name: str) -> list[str]:
    raw = text(form, name, max_length=4000)
    return [tag.strip() for tag in raw.replace("\n", ",").split(",") if tag.strip()]


def files(form: FormData, name: str) -> list[UploadFile]:
    """The uploaded files of a multiple file input; a browser sends an empty part for none."""
    return [
        item
        for item in form.getlist(name)
        if isinstance(item, UploadFile) and (item.filename or item.size)
    ]
