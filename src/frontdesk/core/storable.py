"""Free-form JSON that both databases can store and every response can render."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator


def _check_storable(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text cannot contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text cannot contain lone surrogates") from exc
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and infinities are not JSON numbers")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item)


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    # Python's JSON reader lets NaN, infinities and lone surrogates (`"\ud800"`) through; PostgreSQL
    # refuses them and U+0000, and a surrogate cannot even be written out in a response.
    _check_storable(value)
    return value


#: A JSON object given by a client, e.g. a group's routing configuration or custom fields.
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_json)]
