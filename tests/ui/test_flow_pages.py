"""The Flows pages rendered by the server, over plain HTTP: what each page shows, the
problems of a document at their paths, publishing, the drawing and its fallback without
Graphviz, and who may do what (a viewer reads only, another account finds nothing)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from flowhook.graphs.render import NOT_INSTALLED
from flowhook.usecases import flows, webhooks
from flowhook.usecases.flows import FlowSource
from flowhook.usecases.webhooks import WebhookIn
from support.app import Api
from support.console_http import SignIn, signed_in
from support.graphviz import dot_command
from support.receiver import receiver

__all__ = ["dot_command", "signed_in"]

FLOW: dict[str, Any] = {
    "name": "remind",
    "entry": {"start": "greet"},
    "widgets": {
        "greet": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "Hello"}],
            "next": "done",
        },
        "done": {"type": "end"},
    },
}


def textarea(page: str) -> str:
    match = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.DOTALL)
    assert match, page
    return html.unescape(match[1])


async def stored(api: Api, account: Any, document: dict[str, Any] = FLOW) -> str:
    saved = await flows.create(api.runtime, account, FlowSource(json.dumps(document).encode()))
    return saved.record.flow_id


async def test_the_list_links_each_flow_and_says_whether_it_is_published(
    api: Api, signed_in: SignIn
) -> None:
    account, _, admin = await signed_in()
    flow_id = await stored(api, account)
    status, page, _ = await admin.get("/flows")
    assert status == 200
    assert f'<a href="/flows/{flow_id}">remind</a>' in page
    assert "not published" in page and 'href="/flows/new"' in page


async def test_the_flow_page_inlines_the_drawing_with_clickable_widget_nodes(
    api: Api, signed_in: SignIn, dot_command: str
) -> None:
    account, _, admin = await signed_in()
    flow_id = await stored(api, account)
    status, page, _ = await admin.get(f"/flows/{flow_id}")
    assert status == 200
    assert "<svg" in page and "<?xml" not in page
    for widget_id in ("greet", "done"):
        url = f"/flows/{flow_id}/widgets/{widget_id}?version=test"
        assert f'<g id="widget-{widget_id}" class="node widget" hx-get="{url}"' in page
        assert f'<a href="{url}" hx-get="{url}" hx-target="#widget-details">' in page
    assert "Never published" in page  # the diff of a flow never published


async def test_without_graphviz_the_flow_page_says_so_and_lists_the_widgets(
    api: Api, signed_in: SignIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    account, _, admin = await signed_in()
    flow_id = await stored(api, account)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on it
    status, page, _ = await admin.get(f"/flows/{flow_id}")
    assert status == 200
    assert html.escape(NOT_INSTALLED) in page and "<svg" not in page
    assert f'href="/flows/{flow_id}/widgets/greet?version=test"' in page


async def test_problems_are_shown_at_their_paths_and_lines_and_the_text_is_kept(
    api: Api, signed_in: SignIn
) -> None:
    _, _, admin = await signed_in()
    broken = json.loads(json.dumps(FLOW))
    broken["name"] = "has space"
    broken["widgets"]["greet"]["next"] = "nowhere"
    text = json.dumps(broken, indent=2)
    status, page, _ = await admin.post("/flows", {"document": text, "format": "json"})
    assert status == 422
    assert '<code class="path">$.name</code> <span class="badge bad">INVALID_VALUE</span>' in page
    assert '<code class="path">$.widgets.greet.next</code>' in page
    assert "no widget &#39;nowhere&#39; in this flow" in page
    next_line = text.splitlines().index('      "next": "nowhere"') + 1
    assert f"(line {next_line})" in page and "(line 2)" in page  # "name" is on line 2
    assert textarea(page) == text  # kept, to fix in place


async def test_a_yaml_flow_is_created_and_yaml_aliases_are_refused_with_their_code(
    api: Api, signed_in: SignIn
) -> None:
    _, _, admin = await signed_in()
    aliased = "name: a\nentry: {start: x}\nwidgets:\n  x: &end {type: end}\n  y: *end\n"
    status, page, _ = await admin.post("/flows", {"document": aliased, "format": "yaml"})
    assert status == 422 and "YAML_ALIAS_FORBIDDEN" in page
    document = "name: greet\nentry: {start: x}\nwidgets:\n  x: {type: end}\n"
    status, _, headers = await admin.post("/flows", {"document": document, "format": "yaml"})
    assert status == 303
    flow_id = headers["Location"].removeprefix("/flows/")
    status, page, _ = await admin.get(f"/flows/{flow_id}/edit?format=yaml")
    assert status == 200 and textarea(page).startswith("name: greet\n")


async def test_a_name_taken_is_shown_at_the_name(api: Api, signed_in: SignIn) -> None:
    account, _, admin = await signed_in()
    await stored(api, account)
    status, page, _ = await admin.post("/flows", {"document": json.dumps(FLOW), "format": "json"})
    assert status == 409
    assert '<code class="path">$.name</code> <span class="badge bad">FLOW_NAME_TAKEN</span>' in page


async def test_editing_saves_the_test_version_and_the_diff_shows_it(
    api: Api, signed_in: SignIn
) -> None:
    account, _, admin = await signed_in()
    flow_id = await stored(api, account)
    assert (await admin.post(f"/flows/{flow_id}/publish"))[0] == 303
    edited = json.loads(json.dumps(FLOW))
    edited["description"] = "says hello"
    status, _, headers = await admin.post(
        f"/flows/{flow_id}", {"document": json.dumps(edited), "format": "json"}
    )
    assert (status, headers["Location"]) == (303, f"/flows/{flow_id}")
    _, page, _ = await admin.get(f"/flows/{flow_id}")
    assert "<code>description</code>" in page and "says hello" in page
    assert "Prod is the same as test" not in page


async def test_publishing_is_refused_while_a_saved_webhook_is_missing(
    api: Api, signed_in: SignIn
) -> None:
    account, _, admin = await signed_in()
    document = json.loads(json.dumps(FLOW))
    document["widgets"]["greet"] = {"type": "webhook", "webhook": "crm_events", "next": "done"}
    flow_id = await stored(api, account, document)
    _, page, _ = await admin.get(f"/flows/{flow_id}")
    assert "WEBHOOK_NOT_FOUND" in page  # a warning before publishing
    status, page, _ = await admin.post(f"/flows/{flow_id}/publish")
    assert status == 409
    assert "Not published:" in page and "$.widgets.greet.webhook" in page
    assert (await flows.get(api.runtime, account, flow_id)).prod_doc is None


async def test_publishing_makes_prod_and_the_prod_drawing(api: Api, signed_in: SignIn) -> None:
    account, _, admin = await signed_in()
    flow_id = await stored(api, account)
    status, _, headers = await admin.post(f"/flows/{flow_id}/publish")
    assert (status, headers["Location"]) == (303, f"/flows/{flow_id}?version=prod&published=1")
    assert (await flows.get(api.runtime, account, flow_id)).prod_doc is not None
    _, page, _ = await admin.get(headers["Location"])
    assert "Published: prod now runs this version." in page
    assert f'href="/flows/{flow_id}/widgets/greet?version=prod"' in page


async def test_widget_details_are_a_fragment_for_htmx_and_a_page_otherwise(
    api: Api, signed_in: SignIn
) -> None:
    account, _, admin = await signed_in()
    flow_id = await stored(api, account)
    status, fragment, _ = await admin.get(
        f"/flows/{flow_id}/widgets/greet", **{"HX-Request": "true"}
    )
    assert status == 200 and "<html" not in fragment
    assert "Widget <code>greet</code>" in fragment and "$flow.key.greeting" in fragment
    assert f'<a href="/flows/{flow_id}/widgets/done?version=test">done</a>' in fragment
    status, page, _ = await admin.get(f"/flows/{flow_id}/widgets/greet")
    assert status == 200 and "<html" in page and "Widget <code>greet</code>" in page
    assert (await admin.get(f"/flows/{flow_id}/widgets/nope"))[0] == 404


async def test_a_viewer_reads_but_cannot_create_edit_or_publish(
    api: Api, signed_in: SignIn, dot_command: str
) -> None:
    account, _, _admin = await signed_in()
    _, _, viewer = await signed_in(account=account, role="viewer")
    flow_id = await stored(api, account)
    status, page, _ = await viewer.get(f"/flows/{flow_id}")
    assert status == 200 and "<svg" in page
    assert "Publish test" not in page and "/edit" not in page
    assert 'href="/flows/new"' not in (await viewer.get("/flows"))[1]
    assert (await viewer.get("/flows/new"))[0] == 403
    assert (await viewer.get(f"/flows/{flow_id}/edit"))[0] == 403
    document = {"document": json.dumps({**FLOW, "name": "other"}), "format": "json"}
    assert (await viewer.post("/flows", document))[0] == 403
    assert (await viewer.post(f"/flows/{flow_id}", document))[0] == 403
    assert (await viewer.post(f"/flows/{flow_id}/publish"))[0] == 403
    record = await flows.get(api.runtime, account, flow_id)
    assert record.prod_doc is None and [
        f.name for f in await flows.list_all(api.runtime, account)
    ] == ["remind"]


async def test_a_post_without_the_csrf_token_is_refused(api: Api, signed_in: SignIn) -> None:
    account, _, admin = await signed_in()
    flow_id = await stored(api, account)
    assert (await admin.post(f"/flows/{flow_id}/publish", csrf=False))[0] == 403
    assert (await flows.get(api.runtime, account, flow_id)).prod_doc is None


async def test_another_accounts_flow_is_not_found_on_any_flow_page(
    api: Api, signed_in: SignIn
) -> None:
    account, _, _ = await signed_in("acme")
    _, _, other = await signed_in("other")
    flow_id = await stored(api, account)
    for path in (f"/flows/{flow_id}", f"/flows/{flow_id}/edit", f"/flows/{flow_id}/widgets/greet"):
        assert (await other.get(path))[0] == 404, path
    document = {"document": json.dumps(FLOW), "format": "json"}
    assert (await other.post(f"/flows/{flow_id}", document))[0] == 404
    assert (await other.post(f"/flows/{flow_id}/publish"))[0] == 404
    assert (await flows.get(api.runtime, account, flow_id)).prod_doc is None
    assert f"/flows/{flow_id}" not in (await other.get("/flows"))[1]


async def test_a_flow_saved_from_the_new_flow_starter_sends_its_flow_complete_message(
    api: Api, signed_in: SignIn
) -> None:
    """Home's "Where to start": a default webhook, a flow, a trigger, then the flow-complete
    message under Deliveries. The New flow page's starter, saved as it is, sends it."""
    account, key, admin = await signed_in(http_enabled=True)
    async with receiver() as rec:
        hook = WebhookIn.model_validate({"name": "mine", "url": rec.url, "is_default": True})
        await webhooks.create(api.runtime, account, hook)
        _, page, _ = await admin.get("/flows/new")
        status, _, headers = await admin.post(
            "/flows", {"document": textarea(page), "format": "json"}
        )
        assert status == 303
        flow_id = headers["Location"].removeprefix("/flows/")
        assert (await admin.post(f"/flows/{flow_id}/publish"))[0] == 303
        status, started = await api.request(
            "POST", f"/v1/flows/{flow_id}/executions", key=key, json={}
        )
        assert status == 202
        [delivered] = await rec.wait_for(1)
        assert delivered.json()["phonon-uuid"] == started["uuid"]
        assert delivered.json()["flowStatus"] == "COMPLETED"


async def test_the_flow_page_says_how_to_trigger_the_flow(api: Api, signed_in: SignIn) -> None:
    """What to do after Publish: the page shows the trigger request for this flow, and that
    request, sent with the account's API key, starts an execution."""
    account, key, admin = await signed_in()
    flow_id = await stored(api, account)
    _, page, _ = await admin.get(f"/flows/{flow_id}")
    assert 'id="trigger"' not in page  # not published: nothing to trigger yet
    assert "publish it to trigger it" in page
    await admin.post(f"/flows/{flow_id}/publish")
    _, page, _ = await admin.get(f"/flows/{flow_id}?version=prod&published=1")
    match = re.search(r'<pre id="trigger">(.*?)</pre>', page, re.DOTALL)
    assert match, page
    command = html.unescape(match[1])
    url = re.search(r"curl -X POST (\S+)", command)
    assert url and url[1] == f"{api.base_url}/v1/flows/{flow_id}/executions"
    assert "Authorization: Bearer $KEY" in command
    body = re.search(r"-d '(.*)'", command)
    assert body
    status, started = await api.request(
        "POST", url[1].removeprefix(api.base_url), key=key, json=json.loads(body[1])
    )
    assert status == 202
    done = await api.wait_for(started["uuid"], key)
    assert done["status"] == "COMPLETED" and done["flow_id"] == flow_id
