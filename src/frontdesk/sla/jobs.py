"""The SLA sweep and the re-targeting after policy and calendar edits, run by the worker."""

from __future__ import annotations

from frontdesk.core.jobs import JobContext, periodic
from frontdesk.sla.service.retarget import retarget_marked
from frontdesk.sla.service.sweep import sweep

SWEEP_EVERY_SECONDS = 15.0
RETARGET_EVERY_SECONDS = 15.0


@periodic("sla.sweep", every_seconds=SWEEP_EVERY_SECONDS)
async def sla_sweep(context: JobContext) -> int:
    """Announce at-risk and breached SLA clocks; a full batch means more are waiting."""
    return await sweep(context.sessionmaker)


@periodic("sla.retarget", every_seconds=RETARGET_EVERY_SECONDS)
async def sla_retarget(context: JobContext) -> int:
    """Move the clocks of tickets marked by a policy or calendar edit, a batch at a time."""
    return await retarget_marked(context.sessionmaker)
