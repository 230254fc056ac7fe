"""Response shapes shared by every router."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from frontdesk.core.patch import etag


def with_etag(body: BaseModel, version: int, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status_code, headers={"ETag": etag(version)}
    )
