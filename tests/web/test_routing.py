"""Route order: the app lists its busiest routers first, which is safe only without overlaps."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import iter_route_contexts

from frontdesk.core.config import Settings
from frontdesk.web.app import create_app

PARAMETER = re.compile(r"\{([^}:]+)(:[^}]+)?\}")


def test_every_route_is_the_first_to_match_its_own_paths() -> None:
    """A path made from each route's template (every parameter filled in) is matched first by
    that route, for each of its methods: no route shadows another, so the routers' order only
    decides how soon a route is found."""
    app = create_app(Settings(data_dir=Path("unused"), embedded_worker=False))
    routes = [c for c in iter_route_contexts(app.routes) if getattr(c, "methods", None)]
    assert len(routes) > 150
    shadowed = []
    for route in routes:
        path = PARAMETER.sub(lambda m: f"some-{m.group(1)}", route.path_format)
        for method in route.methods:
            first = next(r for r in routes if method in r.methods and r.path_regex.match(path))
            if first.path_format != route.path_format:
                shadowed.append(f"{method} {route.path_format} by {first.path_format}")
    assert shadowed == []


def test_the_ticket_routes_come_before_the_other_tenant_routes() -> None:
    app = create_app(Settings(data_dir=Path("unused"), embedded_worker=False))
    paths = [c.path_format for c in iter_route_contexts(app.routes) if getattr(c, "methods", None)]
    tenant_paths = [p for p in paths if p.startswith("/api/v1/tenants/{tenant}")]
    assert tenant_paths[0] == "/api/v1/tenants/{tenant}/tickets"
