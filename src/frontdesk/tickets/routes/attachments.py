"""Files on a ticket: multipart uploads, metadata and downloads (as attachments, never inline)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import StreamingResponse

from frontdesk.core.files import content_disposition, served_content_type
from frontdesk.core.storage import CHUNK_SIZE, BlobStore
from frontdesk.identity.context import TenantContext
from frontdesk.identity.dependencies import permits
from frontdesk.identity.policy import Action
from frontdesk.tickets.schemas import AttachmentPublic
from frontdesk.tickets.service import attachments, tickets

router = APIRouter(
    prefix="/api/v1/tenants/{tenant}/tickets/{ticket_id}/attachments", tags=["attachments"]
)

Readers = Annotated[TenantContext, permits(Action.ATTACHMENT_READ)]
#: Even a file the browser could render stays inert: no scripts, no plugins, no frames.
DOWNLOAD_CSP = "default-src 'none'; sandbox"
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, always as a download, typed by what they are "
        "(anything a browser could run as application/octet-stream)",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def blob_store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blob_store
    return store


async def scanner(request: Request) -> attachments.Scanner:
    found: attachments.Scanner = request.app.state.scanner
    return found


Store = Annotated[BlobStore, Depends(blob_store)]


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_SIZE):
        yield chunk


@router.get("", response_model=list[AttachmentPublic])
async def list_attachments(ticket_id: UUID, ctx: Readers) -> list[AttachmentPublic]:
    """The ticket's files, oldest first; customers get the public ones and their own uploads."""
    ticket = await tickets.get_ticket(ctx, ticket_id)
    return [attachments.public(f) for f in await attachments.list_attachments(ctx, ticket)]


@router.post("", response_model=AttachmentPublic, status_code=201)
async def upload_attachment(
    ticket_id: UUID,
    ctx: Annotated[TenantContext, permits(Action.ATTACHMENT_WRITE)],
    store: Store,
    file_scanner: Annotated[attachments.Scanner, Depends(scanner)],
    file: Annotated[UploadFile, File(description="The file; its declared type is ignored")],
    message_id: Annotated[
        UUID | None, Form(description="Attach to this message of the ticket")
    ] = None,
) -> AttachmentPublic:
    """Attach a file to the ticket, or to one of its messages with `message_id`.

    Too large for the tenant: 413; empty: 422; the ticket's count reached: 409.
    """
    ticket = await tickets.get_ticket(ctx, ticket_id)
    found = await attachments.add_attachment(
        ctx,
        ticket,
        attachments.Upload(file.filename, _chunks(file)),
        message_id=message_id,
        store=store,
        scanner=file_scanner,
    )
    return attachments.public(found)


@router.get("/{attachment_id}", response_model=AttachmentPublic)
async def get_attachment(ticket_id: UUID, attachment_id: UUID, ctx: Readers) -> AttachmentPublic:
    ticket = await tickets.get_ticket(ctx, ticket_id)
    return attachments.public(await attachments.get_attachment(ctx, ticket, attachment_id))


@router.get(
    "/{attachment_id}/content", response_class=StreamingResponse, responses=DOWNLOAD_RESPONSES
)
async def download_attachment(
    ticket_id: UUID, attachment_id: UUID, ctx: Readers, store: Store
) -> StreamingResponse:
    """The file, streamed as a download with its sniffed type (markup and scripts as bytes)."""
    ticket = await tickets.get_ticket(ctx, ticket_id)
    attachment = (await attachments.get_attachment(ctx, ticket, attachment_id)).attachment
    content = await attachments.open_content(attachment, store)
    return StreamingResponse(
        content,
        media_type=served_content_type(attachment.content_type),
        headers={
            "Content-Disposition": content_disposition(attachment.filename),
            "Content-Length": str(attachment.size),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private",
            "Content-Security-Policy": DOWNLOAD_CSP,
        },
    )
