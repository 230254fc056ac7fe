"""Identity errors with their own stable codes."""

from frontdesk.core.errors import Conflict, ValidationFailed


class LastOwner(Conflict):
    code = "last_owner"
    title = "A tenant keeps at least one owner"


class NotAMember(ValidationFailed):
    code = "not_a_member"
    title = "The user is not a member of this tenant"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "The email address belongs to another contact"


class DomainTaken(Conflict):
    code = "domain_taken"
    title = "The domain belongs to another organization"
