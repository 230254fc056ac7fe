"""Whether a recipient wants a kind of mail (per-type opt-outs)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.email.service.recipients import Recipient


async def wants(session: AsyncSession, tenant_id: UUID, kind: str, recipient: Recipient) -> bool:
    """Every recipient wants every kind until preferences exist to say otherwise."""
    return True
