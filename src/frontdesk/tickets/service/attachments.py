"""Files attached to a ticket or to one of its messages.

Who sees an attachment (among those who can read the ticket):
- staff see every attachment of the ticket;
- a contact sees the *public* ones, those attached to a public (not internal) message, and the
  ones they uploaded themselves to the ticket without a message (known by `created_by`, the
  uploading principal's actor). Any other attachment on the ticket itself is staff-only, like
  an internal note. Anything a contact may not see answers 404, as if it did not exist.

Who may attach what:
- contacts: to a ticket they can see, either to the ticket itself or to a public message that
  they wrote;
- light agents: to an internal note only (`message_id` is required);
- agents, admins and owners: to the ticket or any of its messages.
Attaching to an internal note needs read access to the ticket, as writing the note does;
anything else needs write access.

Each tenant limits the size of one file and the number of files per ticket (tenant settings
`attachment_max_bytes` and `attachment_max_per_ticket`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from sqlalchemy import Select, and_, func, or_, select

from frontdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.core.files import ContentSniffer, safe_filename
from frontdesk.core.logs import get_logger
from frontdesk.core.repository import scoped
from frontdesk.core.storage import BlobNotFound, BlobStore, StoredBlob
from frontdesk.identity.context import TenantContext
from frontdesk.identity.policy import Role
from frontdesk.tenancy.schemas import TenantSettings
from frontdesk.tickets.models import ScanStatus, Ticket, TicketAttachment, TicketMessage
from frontdesk.tickets.schemas import AttachmentPublic
from frontdesk.tickets.service.messages import get_message
from frontdesk.tickets.service.tickets import get_ticket
from frontdesk.tickets.service.timeline import audit, ticket_event

log = get_logger(__name__)

DEFAULT_LIMITS = TenantSettings()
#: Never served: a scanner found malware in it.
QUARANTINED = frozenset({ScanStatus.INFECTED.value})


class EmptyAttachment(ValidationFailed):
    code = "empty_attachment"
    title = "The file is empty"


class TooManyAttachments(Conflict):
    code = "too_many_attachments"
    title = "The ticket has as many attachments as it may have"


class AttachmentQuarantined(Forbidden):
    code = "attachment_quarantined"
    title = "The file was found to be malicious and is not served"


class Scanner(Protocol):
    """Judges a newly stored file, e.g. with ClamAV; it may read it via `store.open(blob.key)`.

    An exception counts as `failed`; the upload is kept either way, and an `infected` file is
    listed but never served.
    """

    async def scan(self, store: BlobStore, blob: StoredBlob) -> ScanStatus: ...


class SkippingScanner:
    """The default when no scanner is deployed: every file is `skipped`."""

    async def scan(self, store: BlobStore, blob: StoredBlob) -> ScanStatus:
        return ScanStatus.SKIPPED


@dataclass(frozen=True)
class Upload:
    """A file as the client sent it: its claimed name (cleaned before use) and its bytes."""

    filename: str | None
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True)
class Found:
    attachment: TicketAttachment
    #: Attached to a public message: everyone who can read the ticket sees it.
    is_public: bool


def max_bytes(ctx: TenantContext) -> int:
    return int(ctx.tenant.settings.get("attachment_max_bytes", DEFAULT_LIMITS.attachment_max_bytes))


def max_per_ticket(ctx: TenantContext) -> int:
    return int(
        ctx.tenant.settings.get(
            "attachment_max_per_ticket", DEFAULT_LIMITS.attachment_max_per_ticket
        )
    )


def public(found: Found) -> AttachmentPublic:
    row = found.attachment
    return AttachmentPublic(
        id=row.id,
        ticket_id=row.ticket_id,
        message_id=row.message_id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        scan_status=row.scan_status,
        is_public=found.is_public,
        created_at=row.created_at,
    )


def visible_attachments(ctx: TenantContext, ticket: Ticket) -> Select[TicketAttachment, bool]:
    """The ticket's attachments the caller may see, each with its message's `is_internal`
    (None, despite the type, for an attachment on the ticket itself), oldest first."""
    statement = (
        select(TicketAttachment, TicketMessage.is_internal)
        .outerjoin(
            TicketMessage,
            and_(
                TicketMessage.tenant_id == TicketAttachment.tenant_id,
                TicketMessage.id == TicketAttachment.message_id,
            ),
        )
        .where(TicketAttachment.tenant_id == ctx.tenant_id, TicketAttachment.ticket_id == ticket.id)
        .order_by(TicketAttachment.id)
    )
    if ctx.role is Role.CONTACT:
        own_upload = and_(
            TicketAttachment.message_id.is_(None),
            TicketAttachment.created_by == ctx.principal.actor,
        )
        statement = statement.where(or_(TicketMessage.is_internal.is_(False), own_upload))
    return statement


async def list_attachments(ctx: TenantContext, ticket: Ticket) -> list[Found]:
    rows = await ctx.session.execute(visible_attachments(ctx, ticket))
    return [Found(row, is_internal is False) for row, is_internal in rows]


async def get_attachment(ctx: TenantContext, ticket: Ticket, attachment_id: UUID) -> Found:
    row = (
        await ctx.session.execute(
            visible_attachments(ctx, ticket).where(TicketAttachment.id == attachment_id)
        )
    ).first()
    if row is None:
        raise NotFound("attachment not found")
    attachment, is_internal = row
    return Found(attachment, is_internal is False)


async def open_content(attachment: TicketAttachment, store: BlobStore) -> AsyncIterator[bytes]:
    """The file's bytes; refused when quarantined, NotFound when the store lost them."""
    if attachment.scan_status in QUARANTINED:
        raise AttachmentQuarantined()
    try:
        return await store.open(attachment.storage_key)
    except BlobNotFound as exc:
        log.error("attachment_content_missing", attachment_id=str(attachment.id))
        raise NotFound("the attachment's content is missing") from exc


async def add_attachment(
    ctx: TenantContext,
    ticket: Ticket,
    upload: Upload,
    *,
    message_id: UUID | None,
    store: BlobStore,
    scanner: Scanner,
    content_id: str | None = None,
) -> Found:
    """Store an uploaded file on the ticket or one of its messages (who may: see the module).

    The bytes are hashed, measured against the tenant's limit and sniffed for their type as
    they stream into the store. An empty file is refused (422), a too-large one (413), one past
    the ticket's count (409), and none of them leaves a row. The row is written only once the
    whole file is stored; if the count is found full only then (a concurrent upload took the
    last place), the stored blob stays, content-addressed, for the next upload of those bytes.
    A `content_id` (a mail's inline image) makes the file inline, referenced by its message.
    """
    message = await _target_message(ctx, ticket, message_id)
    if message is None or not message.is_internal:
        await get_ticket(ctx, ticket.id, for_write=True)
    await _check_room(ctx, ticket, lock=False)
    filename = safe_filename(upload.filename)
    sniffer = ContentSniffer()
    blob = await store.put(_sniffed(upload.chunks, sniffer), max_bytes=max_bytes(ctx))
    scan_status = await _scan(scanner, store, blob)
    await _check_room(ctx, ticket, lock=True)
    attachment = TicketAttachment(
        tenant_id=ctx.tenant_id,
        ticket_id=ticket.id,
        message_id=message.id if message else None,
        filename=filename,
        content_type=sniffer.content_type(filename),
        size=blob.size,
        sha256=blob.sha256,
        storage_key=blob.key,
        scan_status=scan_status.value,
        is_inline=content_id is not None,
        content_id=content_id,
    )
    ctx.session.add(attachment)
    await ctx.session.flush()
    found = Found(attachment, is_public=message is not None and not message.is_internal)
    await _record(ctx, ticket, found)
    return found


async def _target_message(
    ctx: TenantContext, ticket: Ticket, message_id: UUID | None
) -> TicketMessage | None:
    if message_id is None:
        if ctx.role is Role.LIGHT_AGENT:
            raise Forbidden("light agents attach files to internal notes only")
        return None
    try:
        message = await get_message(ctx, ticket, message_id)
    except NotFound as exc:
        raise NotFound("message not found on this ticket", field="message_id") from exc
    if ctx.role is Role.LIGHT_AGENT and not message.is_internal:
        raise Forbidden("light agents attach files to internal notes only")
    if ctx.role is Role.CONTACT and message.author_contact_id != ctx.contact_id:
        raise Forbidden("customers attach files to their own messages only")
    if message.redacted_at is not None:
        raise Conflict("the message was redacted", field="message_id")
    return message


async def _check_room(ctx: TenantContext, ticket: Ticket, *, lock: bool) -> None:
    """Refuse a file past the ticket's count; with `lock`, concurrent uploads to the ticket
    wait for each other (PostgreSQL) so that they cannot both take the last place."""
    if lock:
        await ctx.session.execute(
            scoped(Ticket, ctx.tenant_id)
            .where(Ticket.id == ticket.id)
            .with_only_columns(Ticket.id)
            .with_for_update()
        )
    count = await ctx.session.scalar(
        select(func.count())
        .select_from(TicketAttachment)
        .where(TicketAttachment.tenant_id == ctx.tenant_id, TicketAttachment.ticket_id == ticket.id)
    )
    limit = max_per_ticket(ctx)
    if (count or 0) >= limit:
        raise TooManyAttachments(f"a ticket may have at most {limit} attachments", limit=limit)


async def _sniffed(chunks: AsyncIterator[bytes], sniffer: ContentSniffer) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        if chunk:
            sniffer.feed(chunk)
            yield chunk
    if sniffer.size == 0:
        # Raised inside the store's write, which then discards its temporary file.
        raise EmptyAttachment()


async def _scan(scanner: Scanner, store: BlobStore, blob: StoredBlob) -> ScanStatus:
    try:
        return await scanner.scan(store, blob)
    except Exception:
        log.exception("attachment_scan_failed", sha256=blob.sha256)
        return ScanStatus.FAILED


async def _record(ctx: TenantContext, ticket: Ticket, found: Found) -> None:
    attachment = found.attachment
    audit(
        ctx.session,
        ticket,
        "attachment_added",
        after={
            "id": attachment.id,
            "filename": attachment.filename,
            "message_id": attachment.message_id,
        },
        internal=not found.is_public,
    )
    await ticket_event(
        ctx.session,
        ticket,
        "created",
        public(found).model_dump(mode="json"),
        subject_type="ticket_attachment",
        subject_id=attachment.id,
    )
