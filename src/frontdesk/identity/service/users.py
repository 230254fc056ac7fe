"""Users: global identities that memberships and portal contacts point at."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.core.audit import record_change, record_update
from frontdesk.core.errors import AlreadyExists
from frontdesk.core.security import hash_password
from frontdesk.identity.models import User
from frontdesk.identity.repository import normalize_email, user_by_email
from frontdesk.identity.schemas import MeUpdate, UserPublic


def user_snapshot(user: User) -> dict[str, object]:
    return UserPublic.model_validate(user).model_dump(mode="json")


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    display_name: str | None = None,
    password: str | None = None,
    is_platform_admin: bool = False,
) -> User:
    """Create a user; AlreadyExists when the email (case-insensitively) is taken."""
    email = normalize_email(email)
    if await user_by_email(session, email) is not None:
        raise AlreadyExists(f"a user with email {email} already exists")
    user = User(
        email=email,
        display_name=display_name or email.split("@", 1)[0],
        password_hash=hash_password(password) if password else None,
        is_platform_admin=is_platform_admin,
    )
    session.add(user)
    await session.flush()
    record_change(
        session,
        subject_type="user",
        action="created",
        tenant_id=None,
        subject_id=user.id,
        snapshot=user_snapshot(user),
    )
    return user


async def update_profile(session: AsyncSession, user: User, changes: MeUpdate) -> User:
    before = user_snapshot(user)
    user.display_name = changes.display_name
    user.locale = changes.locale
    user.timezone = changes.timezone
    await session.flush()
    after = user_snapshot(user)
    record_update(
        session,
        subject_type="user",
        tenant_id=None,
        subject_id=user.id,
        before=before,
        after=after,
    )
    return user
