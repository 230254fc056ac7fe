"""Ids of several tenants at once, as the worker's batches read them."""

from uuid import uuid4

from frontdesk.core.repository import ids_by_tenant


def test_pairs_become_each_tenants_ids_once_in_order_without_missing_ids() -> None:
    acme, globex = uuid4(), uuid4()
    first, second, third = uuid4(), uuid4(), uuid4()
    pairs = [(acme, first), (globex, third), (acme, second), (acme, first), (globex, None)]

    assert ids_by_tenant(pairs) == {acme: [first, second], globex: [third]}


def test_no_pairs_no_tenants() -> None:
    assert ids_by_tenant([]) == {}
