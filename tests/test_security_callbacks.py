"""Security findings 8 and 9 through the real app (Flask test client, real PostgreSQL):

- every registered page's layout and callbacks follow the page registry's `roles` (the navbar's rule),
  for admin, operator and viewer: a new page cannot forget its check;
- every callback in the callback map, fuzzed with wrong-typed inputs as a viewer of acme, answers
  without a 500 and without anything of globex.
"""
from __future__ import annotations

import itertools
import json
import re

import dash
import plotly.utils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tds_dash.auth.page_access import callback_roles
from tests.conftest import ensure_test_user
from tests.test_tenant_isolation import _outputs, assert_no_secret, signed_in_client, two_tenants  # noqa: F401

ROLES = ("admin", "operator", "viewer")


@pytest.fixture
def users(two_tenants):  # noqa: F811 -- the fixture imported above
    app, ids = two_tenants
    engine = app.server.extensions["tds"].engine
    for role in ROLES:
        ensure_test_user(engine, f"acme-{role}", role, () if role == "admin" else ("acme",))
    own = {"device": engine.connect().exec_driver_sql(
        "SELECT min(d.id) FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.slug = 'acme'").scalar_one()}
    return app, ids, own


def allowed(page: dict, role: str) -> bool:
    return not page.get("roles") or role in page["roles"]


def render(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def layout_kwargs(page: dict, own: dict) -> dict:
    names = re.findall(r"<([^>]+)>", page.get("path_template") or "")
    return {name: str(own["device"]) if name == "device_id" else "GW-0101" for name in names}


def test_sec801_every_page_layout_and_nav_link_follow_the_registry_roles(users):
    app, _, own = users
    pages = [page for page in dash.page_registry.values()]
    assert any(page.get("roles") for page in pages) and len(pages) >= 10
    for role in ROLES:
        client = signed_in_client(app, f"acme-{role}")
        with client:
            navbar = render(client.get("/_dash-layout").get_json())
            for page in pages:
                shown = render(page["layout"](**layout_kwargs(page, own)))
                restricted = "page-restricted" in shown
                assert restricted is not allowed(page, role), (page["path"], role, shown[:200])
                if page.get("nav_key"):
                    assert (f'"href": "{page["relative_path"]}"' in navbar) is allowed(page, role), (page["path"], role)


def test_sec802_every_callback_of_a_restricted_page_refuses_other_roles(users):
    app, _, _ = users
    by_module = {page["module"]: page for page in dash.page_registry.values()}
    checked = 0
    for role in ROLES:
        client = signed_in_client(app, f"acme-{role}")
        for output, spec in list(app.callback_map.items()):
            if spec.get("callback") is None:
                continue  # clientside
            module = getattr(spec["callback"], "__wrapped__", spec["callback"]).__module__
            page = by_module.get(module)
            if page is None:
                continue
            assert callback_roles(app, output) == tuple(page.get("roles") or ())
            response = client.post("/_dash-update-component", json=request_body(output, spec, lambda _: None))
            if allowed(page, role):
                assert response.status_code != 403, (output, role)
            else:
                assert response.status_code == 403, (output, role, response.status_code)
                checked += 1
    assert checked >= 4  # the ingest and admin callbacks, for operator and viewer


# --------------------------------------------------------------------------- finding 9: fuzzing

SQL = ["1; DROP TABLE users", "3 OR 1=1", "' OR '1'='1", "1 UNION SELECT password_hash FROM users", "%", ""]
FIXED = (True, "1; DROP", ["3 OR 1=1"], "9999-12-31", "1900-01-01", {"x": 1}, -1, 2**64)
DATES = ["1900-01-01", "9999-12-31", "0001-01-01", "2026-02-30", "2026-11-01T25:00", "yesterday"]


def wrong_values(ids: dict):
    """Anything a crafted request may send: wrong types, extremes, SQL, absurd dates, B's ids."""
    scalar = st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
        st.sampled_from([0, -1, 2**31, 2**63, -2**63 - 1, ids["account"], ids["gateway"], ids["device"]]),
        st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(SQL + DATES), st.text(max_size=12))
    return st.one_of(scalar, st.lists(scalar, max_size=3),
                     st.dictionaries(st.sampled_from(["points", "id", "page", "minutes", "x"]), scalar, max_size=3))


def _wildcard_items(pattern: str, prop: str, draw_value) -> list:
    template = json.loads(pattern)
    items = []
    for index in range(2):
        concrete = {key: (index + 1 if key == "index" else f"k{index}") if isinstance(value, list) else value
                    for key, value in template.items()}
        items.append({"id": concrete, "property": prop, "value": draw_value(prop)})
    return items


def request_body(output: str, spec: dict, draw_value) -> dict:
    """A /_dash-update-component body for one callback, each value from draw_value(prop)."""
    def dependency(item: dict):
        if item["id"].startswith("{"):
            return _wildcard_items(item["id"], item["property"], draw_value)
        return {**item, "value": draw_value(item["property"])}

    inputs = spec["inputs"]
    changed = [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs and not inputs[0]["id"].startswith("{") else []
    return {"output": output, "outputs": _outputs(output), "inputs": [dependency(i) for i in inputs],
            "state": [dependency(s) for s in spec.get("state", [])], "changedPropIds": changed}


def fuzz_callback(client, output: str, spec: dict, values) -> None:
    """Hypothesis-drawn wrong values for every input and state of one callback (bounded examples)."""
    @settings(max_examples=15, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def fuzz(data):
        body = request_body(output, spec, lambda prop: data.draw(values, label=prop))
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code != 500, (output, body, response.get_data(as_text=True)[:300])
        assert_no_secret(response.get_data(as_text=True), output)

    fuzz()


def test_sec901_every_callback_survives_wrong_typed_inputs_without_500_or_leak(users):
    app, ids, _ = users
    client = signed_in_client(app, "acme-viewer")
    client.get("/_dash-layout")  # registers the pages' router callback too
    values, fuzzed = wrong_values(ids), 0
    for output, spec in list(app.callback_map.items()):
        fuzz_callback(client, output, spec, values)
        # The report's cases, one dependency at a time (the others empty), so none hides behind another's 400.
        positions = len(spec["inputs"]) + len(spec.get("state", []))
        for position, fixed in itertools.product(range(positions), FIXED):
            seen = iter(range(10**6))
            body = request_body(output, spec, lambda prop, p=position, f=fixed: f if next(seen) == p else None)
            response = client.post("/_dash-update-component", json=body)
            assert response.status_code != 500, (output, position, fixed, response.get_data(as_text=True)[:300])
            assert_no_secret(response.get_data(as_text=True), output)
        fuzzed += 1
    assert fuzzed == len(app.callback_map) and fuzzed >= 35
