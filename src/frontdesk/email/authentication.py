"""Whether a mail's From domain was authenticated, by the `Authentication-Results` header
(RFC 8601) that the desk's own receiving server added.

Only the topmost header carrying the trusted authserv-id counts: the receiving server prepends
its header, so anything below it (or with another id) may have been written by the sender.
A pass counts only when aligned with the From domain: DKIM's `header.d`, or SPF's
`smtp.mailfrom` domain, equal to it or a parent domain of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

COMMENT = re.compile(r"\([^()]*\)")
PASSING_METHODS = ("dkim", "spf")


@dataclass(frozen=True)
class AuthResult:
    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str
    results: tuple[AuthResult, ...]


def _without_comments(value: str) -> str:
    previous = None
    while previous != value:  # comments nest
        previous, value = value, COMMENT.sub(" ", value)
    return value


def parse_authentication_results(value: str) -> AuthResults | None:
    """One header's value; None when it has no authserv-id."""
    clauses = [clause.strip() for clause in _without_comments(value).split(";")]
    head = clauses[0].split()
    if not head:
        return None
    results = []
    for clause in clauses[1:]:
        tokens = clause.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        properties = {}
        for token in tokens[1:]:
            name, sep, prop_value = token.partition("=")
            if sep:
                properties[name.lower()] = prop_value.strip('"').lower()
        results.append(AuthResult(method.lower().split("/")[0], result.lower(), properties))
    return AuthResults(head[0].lower(), tuple(results))


def _aligned(domain: str, from_domain: str) -> bool:
    domain = domain.rsplit("@", 1)[-1].strip(".").lower()
    return bool(domain) and (from_domain == domain or from_domain.endswith("." + domain))


def _passes_aligned(result: AuthResult, from_domain: str) -> bool:
    if result.result != "pass" or result.method not in PASSING_METHODS:
        return False
    if result.method == "dkim":
        return _aligned(result.properties.get("header.d", ""), from_domain)
    # SPF speaks for the envelope sender; a HELO name says nothing about From.
    return _aligned(result.properties.get("smtp.mailfrom", ""), from_domain)


def from_domain_authenticated(
    headers: Sequence[str], trusted_authserv_id: str | None, sender: str | None
) -> bool:
    """True when the topmost header of `trusted_authserv_id` has an aligned dkim or spf pass
    for the sender's domain. `headers` are the message's Authentication-Results, top first."""
    if not trusted_authserv_id or not sender or "@" not in sender:
        return False
    from_domain = sender.rsplit("@", 1)[1].lower()
    for value in headers:
        parsed = parse_authentication_results(value)
        if parsed is None or parsed.authserv_id != trusted_authserv_id.lower():
            continue
        return any(_passes_aligned(result, from_domain) for result in parsed.results)
    return False
