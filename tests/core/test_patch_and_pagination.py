"""JSON Merge Patch (RFC 7396), JSON Patch (RFC 6902), and keyset pagination through the API."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any
from uuid import UUID

import httpx
import pytest

from frontdesk.core.errors import (
    InvalidCursor,
    InvalidPatch,
    InvalidSort,
    MalformedJson,
    UnsupportedMediaType,
)
from frontdesk.core.pagination import decode_cursor, encode_cursor, parse_sort
from frontdesk.core.patch import apply_json_patch, apply_merge_patch, apply_patch_body
from frontdesk.identity.models import Group
from tests.factories import World

# --- JSON Merge Patch ------------------------------------------------------------------------

#: RFC 7396, Appendix A: (original, patch, result)
RFC_7396_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(
    ("original", "patch", "result"), RFC_7396_EXAMPLES, ids=[str(i) for i in range(1, 16)]
)
def test_merge_patch_rfc_7396_examples(original: Any, patch: Any, result: Any) -> None:
    original_copy, patch_copy = copy.deepcopy(original), copy.deepcopy(patch)
    assert apply_merge_patch(original, patch) == result
    # Neither input is changed.
    assert original == original_copy
    assert patch == patch_copy


def test_merge_patch_result_shares_nothing_with_the_patch() -> None:
    patch = {"a": {"b": [1, 2]}, "c": [{"d": 1}]}
    result = apply_merge_patch({}, patch)
    result["a"]["b"].append(3)
    result["c"][0]["d"] = 2
    assert patch == {"a": {"b": [1, 2]}, "c": [{"d": 1}]}


def test_merge_patch_replaces_arrays_whole_and_merges_objects_deeply() -> None:
    target = {"tags": ["a", "b"], "settings": {"x": 1, "y": {"z": 2, "w": 3}}, "keep": True}
    patch = {"tags": ["c"], "settings": {"y": {"w": None, "v": 4}}}
    assert apply_merge_patch(target, patch) == {
        "tags": ["c"],
        "settings": {"x": 1, "y": {"z": 2, "v": 4}},
        "keep": True,
    }


def test_merge_patch_body_keeps_explicit_nulls_of_known_fields() -> None:
    """Every editable field is present; a null clears it (the schema decides if it may)."""
    document = {"name": "Support", "description": "First line", "routing_config": {"a": 1}}
    patched = apply_patch_body(
        document,
        json.dumps({"description": None, "routing_config": {"a": None, "b": 2}}).encode(),
        "application/merge-patch+json",
    )
    assert patched == {"name": "Support", "description": None, "routing_config": {"b": 2}}
    assert document["description"] == "First line"


def test_patch_body_refusals() -> None:
    document = {"name": "Support"}
    with pytest.raises(InvalidPatch) as unknown:
        apply_patch_body(document, b'{"nmae": "typo"}', "application/merge-patch+json")
    assert unknown.value.data["fields"] == ["nmae"]
    with pytest.raises(InvalidPatch):
        apply_patch_body(document, b'["not", "an", "object"]', "application/merge-patch+json")
    with pytest.raises(MalformedJson):
        apply_patch_body(document, b"{nope", "application/json")
    with pytest.raises(UnsupportedMediaType):
        apply_patch_body(document, b'{"name": "x"}', "text/plain")
    # Media type parameters and case do not matter; no Content-Type means plain JSON.
    assert apply_patch_body(document, b'{"name": "x"}', "Application/JSON; charset=utf-8") == {
        "name": "x"
    }
    assert apply_patch_body(document, b'{"name": "y"}', None) == {"name": "y"}


# --- JSON Patch ------------------------------------------------------------------------------

DOCUMENT = {"name": "Support", "tags": ["a", "b"], "settings": {"x": 1}}


@pytest.mark.parametrize(
    ("operations", "result"),
    [
        ([{"op": "replace", "path": "/name", "value": "Sales"}], {**DOCUMENT, "name": "Sales"}),
        ([{"op": "add", "path": "/tags/-", "value": "c"}], {**DOCUMENT, "tags": ["a", "b", "c"]}),
        ([{"op": "add", "path": "/tags/0", "value": "z"}], {**DOCUMENT, "tags": ["z", "a", "b"]}),
        ([{"op": "remove", "path": "/tags/0"}], {**DOCUMENT, "tags": ["b"]}),
        (
            [{"op": "add", "path": "/settings/y", "value": 2}],
            {**DOCUMENT, "settings": {"x": 1, "y": 2}},
        ),
        (
            [{"op": "move", "from": "/settings/x", "path": "/settings/z"}],
            {**DOCUMENT, "settings": {"z": 1}},
        ),
        (
            [{"op": "copy", "from": "/name", "path": "/settings/label"}],
            {**DOCUMENT, "settings": {"x": 1, "label": "Support"}},
        ),
        (
            [
                {"op": "test", "path": "/name", "value": "Support"},
                {"op": "replace", "path": "/name", "value": "Tested"},
            ],
            {**DOCUMENT, "name": "Tested"},
        ),
        ([{"op": "replace", "path": "", "value": {"other": True}}], {"other": True}),
        ([], DOCUMENT),
    ],
)
def test_json_patch_operations(operations: list[dict[str, Any]], result: dict[str, Any]) -> None:
    document = copy.deepcopy(DOCUMENT)
    assert apply_json_patch(document, operations) == result
    assert document == DOCUMENT  # applied to a copy


@pytest.mark.parametrize(
    "operations",
    [
        {"op": "replace", "path": "/name", "value": "x"},
        "replace",
        None,
        42,
        [42],
        ["replace"],
        [{"op": "frobnicate", "path": "/name"}],
        [{"path": "/name", "value": "x"}],
        [{"op": "replace", "value": "x"}],
        [{"op": "replace", "path": "/name"}],
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "remove", "path": "/tags/9"}],
        [{"op": "add", "path": "/tags/9", "value": 1}],
        [{"op": "add", "path": "/missing/deeper", "value": 1}],
        [{"op": "move", "from": "/missing", "path": "/name"}],
        [{"op": "move", "from": "/settings", "path": "/settings/x"}],
        [{"op": "copy", "from": "/missing", "path": "/name"}],
        [{"op": "test", "path": "/name", "value": "Sales"}],
        [{"op": "test", "path": "/missing", "value": None}],
        [{"op": "replace", "path": "name", "value": "no leading slash"}],
        [{"op": "replace", "path": "", "value": ["not", "an", "object"]}],
        [{"op": "replace", "path": "", "value": None}],
    ],
)
def test_json_patch_refusals(operations: Any) -> None:
    document = copy.deepcopy(DOCUMENT)
    with pytest.raises(InvalidPatch):
        apply_json_patch(document, operations)
    assert document == DOCUMENT


def test_a_failing_operation_applies_none_of_the_patch() -> None:
    document = copy.deepcopy(DOCUMENT)
    with pytest.raises(InvalidPatch):
        apply_json_patch(
            document,
            [
                {"op": "replace", "path": "/name", "value": "Changed"},
                {"op": "test", "path": "/name", "value": "Support"},
            ],
        )
    assert document == DOCUMENT


def test_json_patch_body_is_applied_by_media_type() -> None:
    body = json.dumps([{"op": "replace", "path": "/name", "value": "Sales"}]).encode()
    assert apply_patch_body({"name": "Support"}, body, "application/json-patch+json") == {
        "name": "Sales"
    }
    # The same array as a merge patch is refused: a merge patch is an object.
    with pytest.raises(InvalidPatch):
        apply_patch_body({"name": "Support"}, body, "application/merge-patch+json")


# --- cursors and sorts -----------------------------------------------------------------------

SORTS = {"name": Group.name, "created_at": Group.created_at}
SOME_ID = UUID("01a2019b-66a2-719a-893a-ff7ea4c8cd55")


def test_parse_sort() -> None:
    assert parse_sort(None, SORTS, "name").descending is False
    descending = parse_sort("-created_at", SORTS, "name")
    assert (descending.name, descending.descending) == ("-created_at", True)
    assert descending.column is Group.created_at
    for bad in ("nope", "--name", "-", "", "name ", "Name"):
        if bad == "":
            assert parse_sort(bad, SORTS, "name").name == "name"  # empty means the default
            continue
        with pytest.raises(InvalidSort):
            parse_sort(bad, SORTS, "name")


def test_cursor_round_trip() -> None:
    from datetime import UTC, datetime

    by_name = parse_sort("-name", SORTS, "name")
    cursor = encode_cursor(by_name, "Zoë", SOME_ID)
    assert "=" not in cursor
    assert decode_cursor(cursor, by_name) == ("Zoë", SOME_ID)

    by_time = parse_sort("created_at", SORTS, "name")
    at = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(by_time, at, SOME_ID), by_time) == (at, SOME_ID)

    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, by_time)  # another sort's cursor
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, parse_sort("name", SORTS, "name"))  # another direction
    raw = base64.urlsafe_b64encode(b'["created_at", 12, "x"]').decode()
    with pytest.raises(InvalidCursor):
        decode_cursor(raw, by_time)


# --- keyset pagination through the API -------------------------------------------------------

GROUPS = "/api/v1/tenants/acme/groups"
NAMES = ["kilo", "alpha", "golf", "echo", "charlie", "india", "bravo"]


async def create_group(client: httpx.AsyncClient, world: World, name: str) -> dict[str, Any]:
    response = await client.post(GROUPS, json={"name": name}, headers=world.a["owner"].auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def walk(
    client: httpx.AsyncClient,
    world: World,
    path: str,
    *,
    limit: int,
    sort: str | None = None,
    between_pages: Any = None,
    auth: dict[str, str] | None = None,
    **filters: str,
) -> list[list[dict[str, Any]]]:
    """Every page, following next_cursor; `between_pages(n)` runs after page n."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **filters}
        if sort is not None:
            params["sort"] = sort
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(path, params=params, headers=auth or world.a["owner"].auth)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        if between_pages is not None:
            await between_pages(len(pages))
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the walk does not end"


@pytest.mark.parametrize("sort", ["name", "-name", None])
async def test_walk_groups_by_name(
    client: httpx.AsyncClient, world: World, sort: str | None
) -> None:
    for name in NAMES:
        await create_group(client, world, name)
    pages = await walk(client, world, GROUPS, limit=3, sort=sort)

    assert [len(page) for page in pages] == [3, 3, 1]
    names = [item["name"] for page in pages for item in page]
    expected = sorted(NAMES, reverse=sort == "-name")
    assert names == expected  # each exactly once, in order
    ids = [item["id"] for page in pages for item in page]
    assert len(set(ids)) == len(NAMES)


async def test_a_page_that_fills_exactly_has_no_next_cursor(
    client: httpx.AsyncClient, world: World
) -> None:
    for name in NAMES[:6]:
        await create_group(client, world, name)
    pages = await walk(client, world, GROUPS, limit=3, sort="name")
    assert [len(page) for page in pages] == [3, 3]
    empty = await walk(
        client, world, "/api/v1/tenants/acmeco/groups", limit=3, auth=world.b["owner"].auth
    )
    assert empty == [[]]


@pytest.mark.parametrize("sort", ["created_at", "-created_at"])
async def test_walk_groups_by_creation(client: httpx.AsyncClient, world: World, sort: str) -> None:
    for name in NAMES:
        await create_group(client, world, name)
    everything = (
        await client.get(GROUPS, params={"limit": 200}, headers=world.a["owner"].auth)
    ).json()["items"]
    expected = sorted(everything, key=lambda g: (g["created_at"], g["id"]))
    if sort.startswith("-"):
        expected.reverse()

    pages = await walk(client, world, GROUPS, limit=3, sort=sort)
    assert [item["id"] for page in pages for item in page] == [g["id"] for g in expected]


async def test_ties_on_the_sort_key_are_broken_by_id(
    client: httpx.AsyncClient, world: World
) -> None:
    """Seven contacts of the same name: the id keeps the walk whole and in a stable order."""
    path = "/api/v1/tenants/acme/contacts"
    made = []
    for index in range(7):
        response = await client.post(
            path,
            json={"name": "Sam Same", "emails": [f"sam{index}@twins.example"]},
            headers=world.a["owner"].auth,
        )
        assert response.status_code == 201
        made.append(response.json()["id"])
    for sort, reverse in (("name", False), ("-name", True)):
        pages = await walk(client, world, path, limit=3, sort=sort, q="Sam")
        ids = [item["id"] for page in pages for item in page]
        assert ids == sorted(made, key=UUID, reverse=reverse)


@pytest.mark.parametrize("sort", ["name", "-name"])
async def test_walk_stays_consistent_when_groups_are_added_and_removed_mid_walk(
    client: httpx.AsyncClient, world: World, sort: str
) -> None:
    created = {name: await create_group(client, world, name) for name in NAMES}
    descending = sort == "-name"
    # After the first page, add one group behind the cursor and one ahead of it, and delete one
    # not yet reached.
    behind, ahead = ("aaa", "zzz") if not descending else ("zzz", "aaa")
    doomed = "echo"

    async def between_pages(page: int) -> None:
        if page == 1:
            await create_group(client, world, behind)
            await create_group(client, world, ahead)
            deleted = await client.delete(
                f"{GROUPS}/{created[doomed]['id']}", headers=world.a["owner"].auth
            )
            assert deleted.status_code == 204

    pages = await walk(client, world, GROUPS, limit=3, sort=sort, between_pages=between_pages)
    names = [item["name"] for page in pages for item in page]

    first_page = sorted(NAMES, reverse=descending)[:3]
    assert names[:3] == first_page
    # Nothing twice, nothing skipped: the new group ahead is seen, the one behind is not,
    # the deleted one is not.
    assert len(names) == len(set(names))
    assert behind not in names
    assert ahead in names
    assert doomed not in names
    expected = sorted([*NAMES, ahead], reverse=descending)
    expected.remove(doomed)
    assert names == expected


async def test_walk_of_the_audit_log(client: httpx.AsyncClient, world: World) -> None:
    """The audit log walks newest first, by timestamp, with nothing lost between pages."""
    for name in NAMES:
        await create_group(client, world, name)
    path = "/api/v1/tenants/acme/audit"
    everything = (
        await client.get(path, params={"limit": 200}, headers=world.a["owner"].auth)
    ).json()["items"]
    assert len(everything) > 7
    pages = await walk(client, world, path, limit=4)
    walked = [item["id"] for page in pages for item in page]
    assert walked == [entry["id"] for entry in everything]
    times = [entry["at"] for entry in everything]
    assert times == sorted(times, reverse=True)
