"""The tenant's brand as files: a stylesheet of its colours and its logo."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from frontdesk.core.db import DbSession
from frontdesk.core.errors import NotFound
from frontdesk.core.storage import BlobNotFound, BlobStore
from frontdesk.web.portal.access import PortalTenant
from frontdesk.web.portal.branding import brand_css, brand_of, branding_row

router = APIRouter(prefix="/portal/{tenant}", include_in_schema=False)


@router.get("/brand.css")
async def brand_stylesheet(session: DbSession, tenant: PortalTenant) -> Response:
    brand = await brand_of(session, tenant)
    return Response(
        brand_css(brand),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=60"},
    )


@router.get("/logo")
async def logo(request: Request, session: DbSession, tenant: PortalTenant) -> StreamingResponse:
    row = await branding_row(session, tenant.id)
    if row is None or row.logo_storage_key is None or row.logo_content_type is None:
        raise NotFound("this portal has no logo")
    store: BlobStore = request.app.state.blob_store
    try:
        content = await store.open(row.logo_storage_key)
    except BlobNotFound as exc:
        raise NotFound("the logo file is missing") from exc
    return StreamingResponse(
        content,
        media_type=row.logo_content_type,
        headers={
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
