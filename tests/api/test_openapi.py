"""What the OpenAPI document promises about errors, and the ``Allow`` header of a 405.
(``test_schemathesis.py`` checks the whole document against a running server.)"""

from __future__ import annotations

from typing import Any

import pytest

from support.app import error_code

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/v1/flows", "GET, POST"),  # two routes share the path
        ("PATCH", "/v1/flows", "GET, POST"),
        ("OPTIONS", "/v1/webhooks/x", "DELETE, GET, PUT"),
        ("TRACE", "/v1/webhooks/check", "POST"),  # not /v1/webhooks/{webhook_id}
        ("GET", "/v1/flows/x/executions", "POST"),  # the trigger's path
    ],
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_405_names_every_method_of_the_path_in_allow(
    api: Any, method: str, path: str, allowed: str
) -> None:
    _, key = await api.account()
    async with api.session.request(
        method, api.base_url + path, headers={"Authorization": f"Bearer {key}"}
    ) as resp:
        assert resp.status == 405
        assert resp.headers.get("Allow") == allowed
        assert error_code(await resp.json()) == "METHOD_NOT_ALLOWED"


async def test_every_documented_error_is_the_error_envelope(api: Any) -> None:
    status, document = await api.request("GET", "/openapi.json")
    assert status == 200
    envelope = document["components"]["schemas"]["Error"]
    assert envelope["required"] == ["error"]
    body = document["components"]["schemas"][envelope["properties"]["error"]["$ref"].split("/")[-1]]
    assert set(body["required"]) == {"code", "message", "details"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in operations(document):
        errors = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
        for status_code, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status_code)


async def test_operations_document_their_credentials_and_the_errors_they_cause(
    api: Any,
) -> None:
    _, document = await api.request("GET", "/openapi.json")
    schemes = document["components"]["securitySchemes"]
    assert {s["scheme"] for s in schemes.values()} == {"bearer"}
    by_name = {(m, p): o for m, p, o in operations(document)}
    assert by_name["GET", "/v1/flows"]["security"] == [{"apiKey": []}]
    assert by_name["PATCH", "/v1/operator/accounts/{account_id}"]["security"] == [
        {"operatorToken": []}
    ]
    assert "security" not in by_name["POST", "/kairos-apis/outbound/create"]  # security-id
    for (method, path), operation in by_name.items():
        if "security" in operation:
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
    trigger = by_name["POST", "/v1/flows/{flow_id}/executions"]["responses"]
    assert {"202", "400", "401", "403", "404", "413", "422"} <= set(trigger)
    assert "409" in by_name["DELETE", "/v1/webhooks/{webhook_id}"]["responses"]
    assert "400" in by_name["GET", "/v1/executions"]["responses"]  # INVALID_CURSOR
    flow_body = by_name["POST", "/v1/flows"]["requestBody"]["content"]["application/json"]
    assert flow_body["schema"]["required"] == ["name", "entry", "widgets"]


def test_forbidding_nul_marks_free_text_and_leaves_stricter_schemas_alone() -> None:
    """The API refuses NUL in all text (422 NUL_NOT_ALLOWED), and its document says so."""
    from flowhook.api.app import create_app
    from flowhook.api.openapi import NO_NUL
    from flowhook.settings import Settings

    document = create_app(Settings(database_url="sqlite://")).openapi()
    trigger = document["components"]["schemas"]["Trigger"]["properties"]
    assert trigger["cli"]["anyOf"][0]["pattern"] == NO_NUL
    assert trigger["variables"]["propertyNames"] == {"pattern": NO_NUL}
    assert trigger["version"]["enum"] == ["prod", "test"] and "pattern" not in trigger["version"]
    listing = {p["name"]: p for p in document["paths"]["/v1/executions"]["get"]["parameters"]}
    assert listing["flow_id"]["schema"]["anyOf"][0]["pattern"] == r"^[A-Za-z0-9\-]{1,64}$"
