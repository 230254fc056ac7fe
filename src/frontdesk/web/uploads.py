"""Files posted with a page form, stored through the tickets domain's attachment service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from fastapi import Request
from starlette.datastructures import UploadFile

from frontdesk.core.storage import CHUNK_SIZE, BlobStore
from frontdesk.identity.context import TenantContext
from frontdesk.tickets.models import Ticket
from frontdesk.tickets.service import attachments

MAX_FILES_PER_FORM = 10


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_SIZE):
        yield chunk


async def attach_files(
    request: Request,
    ctx: TenantContext,
    ticket: Ticket,
    uploads: list[UploadFile],
    *,
    message_id: UUID | None,
) -> None:
    """Attach each file (same size, count and type rules as the API); all or none."""
    store: BlobStore = request.app.state.blob_store
    scanner: attachments.Scanner = request.app.state.scanner
    for upload in uploads[:MAX_FILES_PER_FORM]:
        await attachments.add_attachment(
            ctx,
            ticket,
            attachments.Upload(upload.filename, _chunks(upload)),
            message_id=message_id,
            store=store,
            scanner=scanner,
        )
