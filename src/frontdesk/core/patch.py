"""PATCH bodies: JSON Merge Patch (RFC 7396) and JSON Patch (RFC 6902) applied to a document."""

from __future__ import annotations

import copy
import json
from typing import Any, TypeVar

import jsonpatch
from fastapi import Request
from pydantic import BaseModel, ValidationError

from frontdesk.core.errors import (
    InvalidPatch,
    MalformedJson,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PLAIN_JSON = "application/json"


def apply_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def apply_json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise InvalidPatch("a JSON Patch body is an array of operations")
    try:
        patched = jsonpatch.JsonPatch(operations).apply(document)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise InvalidPatch(str(exc)) from exc
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:
        raise InvalidPatch(f"malformed JSON Patch: {exc}") from exc
    if not isinstance(patched, dict):
        raise InvalidPatch("the patched document must stay an object")
    return patched


def media_type_of(content_type: str | None) -> str:
    return (content_type or PLAIN_JSON).split(";", 1)[0].strip().lower()


def apply_patch_body(
    document: dict[str, Any], body: bytes, content_type: str | None
) -> dict[str, Any]:
    """Apply a raw PATCH body to `document` (a copy of the editable fields) by its media type.

    With a merge patch, `null` clears a field; since every editable field of the document is
    present, clearing means setting it to null, which the update schema then validates.
    """
    media_type = media_type_of(content_type)
    if media_type not in (MERGE_PATCH, JSON_PATCH, PLAIN_JSON):
        raise UnsupportedMediaType(
            f"PATCH accepts {MERGE_PATCH}, {JSON_PATCH} or {PLAIN_JSON}, not {media_type}"
        )
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson() from exc
    if media_type == JSON_PATCH:
        return apply_json_patch(copy.deepcopy(document), parsed)
    if not isinstance(parsed, dict):
        raise InvalidPatch("a merge patch body is a JSON object")
    unknown = sorted(set(parsed) - set(document))
    if unknown:
        raise InvalidPatch(f"unknown or read-only fields: {', '.join(unknown)}", fields=unknown)
    explicit_nulls = {key for key, value in parsed.items() if value is None}
    patched = apply_merge_patch(document, parsed)
    assert isinstance(patched, dict)
    for key in explicit_nulls:
        patched[key] = None
    return patched


ModelT = TypeVar("ModelT", bound=BaseModel)

#: Update models referenced from PATCH request bodies; the OpenAPI builder adds their schemas.
PATCH_MODELS: list[type[BaseModel]] = []


def editable_view(model: type[BaseModel], snapshot: dict[str, Any]) -> dict[str, Any]:
    """The fields of `snapshot` that `model` (an update schema) lets a PATCH change."""
    return {name: snapshot[name] for name in model.model_fields if name in snapshot}


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(request: Request, version: int) -> None:
    """412 when `If-Match` names no current representation (RFC 9110 §13.1.1, weak compare)."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    if "*" in tags:
        return
    current = etag(version)
    if not any(tag.removeprefix("W/") == current for tag in tags):
        raise PreconditionFailed(current_etag=current)


def validation_problem(exc: ValidationError) -> ValidationFailed:
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return ValidationFailed(errors=errors)


async def read_patch(
    request: Request, model: type[ModelT], current: dict[str, Any], version: int | None
) -> ModelT:
    """Apply the request's PATCH body to `current` and validate the result as `model`.

    `version` is None for resources without an ETag; `If-Match` is then not checked.
    """
    if version is not None:
        check_if_match(request, version)
    patched = apply_patch_body(current, await request.body(), request.headers.get("Content-Type"))
    try:
        return model.model_validate(patched)
    except ValidationError as exc:
        raise validation_problem(exc) from exc


def patch_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """The `openapi_extra` of a PATCH route: the body formats it accepts."""
    PATCH_MODELS.append(model)
    merge_patch = {"$ref": f"#/components/schemas/{model.__name__}"}
    operation = {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string"},
            "from": {"type": "string"},
            "value": {},
        },
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                MERGE_PATCH: {"schema": merge_patch},
                PLAIN_JSON: {"schema": merge_patch},
                JSON_PATCH: {"schema": {"type": "array", "items": operation}},
            },
        },
        "parameters": [
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "The ETag you read; the update fails with 412 if it changed.",
            }
        ],
    }
