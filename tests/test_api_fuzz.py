"""schemathesis against the real app from docs/openapi.yaml, as a viewer and as an operator (token header):
no 500, every response in its documented status, content type, headers and schema, nothing of another account.

Bounded: at most FUZZ_EXAMPLES cases per operation and role (about a minute here in total).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.explorer_data import api_token
from tests.helpers import settings_for
from tests.test_api_resources import add_readings

FUZZ_EXAMPLES = 15
OPENAPI = Path(__file__).parent.parent / "docs" / "openapi.yaml"
# In every name and serial of the other account. Built at run time: Hypothesis also draws strings from the
# literals of the code under test (e.g. "SECRET_KEY"), and a token named that way echoed back is no leak.
SECRET = "".join(("QWX", "HIDDEN"))


@pytest.fixture
def fuzz_app(database, mosquitto):
    """acme (GW-0101, 2 devices) and the other account 'secret-co' (GW-<SECRET>-0101, devices named <SECRET> …)."""
    fleet = simulator.build_fleet(["acme"], 1, 2) + simulator.build_fleet(["secret-co"], 1, 2,
                                                                           serial_prefix=f"GW-{SECRET}")
    simulator.provision_fleet(database.engine(), fleet, {"acme": "Acme", "secret-co": f"{SECRET} Co"})
    database.execute("UPDATE devices SET name = %s || ' ' || code, code = %s || '-' || code"
                     " WHERE account_id = (SELECT id FROM accounts WHERE slug = 'secret-co')", (SECRET, SECRET))
    add_readings(database, database.scalar("SELECT min(id) FROM devices"))  # the examples' device 1: kept, not erased
    # Fuzzing sends hundreds of requests a minute by design: the rate limit has its own tests (test_sec02x).
    return create_app(settings_for(database, mosquitto, TDS_API_RATE_LIMIT="100000/minute"))


@pytest.mark.slow
@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_api120_fuzz_every_operation_from_the_openapi_file(fuzz_app, role):
    import hypothesis
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    headers = api_token(fuzz_app, f"fuzz-{role}", role, ("acme",))
    schema = schemathesis.openapi.from_path(OPENAPI)
    schema.app = fuzz_app.server
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(hypothesis.HealthCheck),
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        @hypothesis.given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers=headers)
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            assert SECRET not in response.text, (case.method, case.formatted_path, response.text[:300])
            case.validate_response(response, checks=checks, headers=headers)

        run()
    assert len(seen) == len(operations)  # every operation was called
    statuses = set().union(*seen.values())
    assert 200 in statuses and 404 in statuses and 500 not in statuses
    if role == "viewer":  # every write refused, whatever the body
        assert seen["POST /api/v1/gateways"] <= {400, 403} and seen["POST /api/v1/devices/import"] <= {400, 403}
    else:
        assert {201, 422} & seen["POST /api/v1/gateways"], seen["POST /api/v1/gateways"]
    print(role, {key: sorted(value) for key, value in sorted(seen.items())})
