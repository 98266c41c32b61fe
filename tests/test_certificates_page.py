"""The gateway page's Certificates card and the gateways list's badge: the functions the callbacks call,
against a real PostgreSQL (roles, accounts, one-time key, refusals in the user's words); one Chromium test
of an operator issuing and revoking."""
from __future__ import annotations

import types
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tds_dash.certificates import page_actions
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.pki import new_key
from tds_dash.queries.certificates import certificate_states
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.certificates_tools import provision_fleet
from tests.helpers import settings_for

ZONE = ZoneInfo("America/Sao_Paulo")


def _csr(common_name: str) -> str:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
    return builder.sign(new_key(), hashes.SHA256()).public_bytes(Encoding.PEM).decode()


def ids_in(tree) -> dict:
    """Every component with an id in a Dash tree, by id (dict ids as their 'certificate' value)."""
    found, stack = {}, [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if node is None or isinstance(node, (str, int, float)):
            continue
        node_id = getattr(node, "id", None)
        if node_id is not None:
            found[node_id["certificate"] if isinstance(node_id, dict) else node_id] = node
        stack.append(getattr(node, "children", None))
    return found


@pytest.fixture
def page(database, tmp_path):
    """Viewers of acme (GW-A1, GW-A2) as operator and viewer, an admin of everything; beta's GW-B1."""
    provision_fleet(database, {"GW-A1": "acme", "GW-A2": "acme", "GW-B1": "beta"})
    settings = settings_for(database, types.SimpleNamespace(url="mqtt://127.0.0.1:1"), TDS_PKI_DIR=tmp_path / "pki")
    engine, pki = database.engine(), PkiConfig.from_settings(settings)
    acme = Scope(account_ids=(database.query("SELECT id FROM accounts WHERE slug = 'acme'")[0][0],))

    def viewer(role: str, scope: Scope = acme, language: str = "en"):
        return page_actions.Viewer(engine, pki, scope, role, None, f"page-{role}", language, ZONE)

    return types.SimpleNamespace(operator=viewer("operator"), viewer=viewer("viewer"),
                                 admin=viewer("admin", ALL_ACCOUNTS), pt=viewer("operator", language="pt-BR"),
                                 engine=engine, database=database)


def test_cpg001_operator_issues_key_shown_once_viewer_reads_only(page):
    assert "gateway-certs-empty" in ids_in(page_actions.body(page.viewer, "GW-A1"))
    result, body = page_actions.issue(page.operator, "GW-A1", None)
    shown = ids_in(result)
    assert "BEGIN PRIVATE KEY" in shown["gateway-cert-key"].value and "gateway-cert-dl-key" in shown
    assert shown["gateway-cert-dl-key"].href.startswith("data:application/x-pem-file;base64,")
    certificate_id = page.database.query("SELECT id FROM gateway_certificates")[0][0]
    assert certificate_id in ids_in(body)  # its revoke button
    stored = page.database.query("SELECT row_to_json(c)::text FROM gateway_certificates c")[0][0]
    assert "PRIVATE KEY" not in stored
    # The viewer sees the row, with no revoke button, no issue controls, and is refused if it tries anyway.
    seen = ids_in(page_actions.body(page.viewer, "GW-A1"))
    assert f"gateway-cert-row-{certificate_id}" in seen and certificate_id not in seen and "gateway-cert-issue" not in seen
    refused, _ = page_actions.issue(page.viewer, "GW-A1", None)
    assert refused.id == "gateway-cert-error" and "role" in refused.children
    assert page.database.query("SELECT count(*) FROM gateway_certificates")[0][0] == 1
    assert "gateway-cert-gaps" in seen and "PUBACK" in str(seen["gateway-cert-gaps"].children) + str(
        page_actions.body(page.viewer, "GW-A1")[0].children)


def test_cpg002_csr_signed_or_refused_in_the_users_words(page):
    result, _ = page_actions.issue(page.operator, "GW-A1", _csr("GW-A1"))
    shown = ids_in(result)
    assert "gateway-cert-pem" in shown and "gateway-cert-key" not in shown and "gateway-cert-dl-key" not in shown
    wrong, _ = page_actions.issue(page.pt, "GW-A1", _csr("GW-B1"))
    assert wrong.children == "O CN do CSR precisa ser exatamente o número de série do gateway."
    assert page_actions.issue(page.operator, "GW-A1", "junk")[0].children == "This is not a valid PEM CSR."
    assert page_actions.issue(page.operator, "GW-A1", "  ")[0].children == "Paste the gateway's CSR (PEM)."
    foreign, body = page_actions.issue(page.operator, "GW-B1", None)
    assert foreign.children == "Gateway not found." and body == []
    assert page.database.query("SELECT count(*) FROM gateway_certificates")[0][0] == 1


def test_cpg003_revoke_needs_a_reason_and_this_gateways_certificate(page):
    page_actions.issue(page.admin, "GW-B1", None)
    page_actions.issue(page.operator, "GW-A1", None)
    (beta_id,), (acme_id,) = page.database.query("SELECT id FROM gateway_certificates ORDER BY id")
    assert page_actions.ask_revoke(acme_id) == (True, acme_id, "") and page_actions.ask_revoke(None)[0] is False
    assert page_actions.revoke(page.operator, "GW-A1", beta_id, "x")[0].children == "Certificate not found."
    assert page_actions.revoke(page.operator, "GW-A2", acme_id, "x")[0].children == "Certificate not found."
    assert page_actions.revoke(page.viewer, "GW-A1", acme_id, "x")[0].id == "gateway-cert-error"
    assert page_actions.revoke(page.operator, "GW-A1", acme_id, " ")[0].children == \
        "Say why it is revoked (1 to 500 characters)."
    done, body = page_actions.revoke(page.operator, "GW-A1", acme_id, "stolen")
    assert done.id == "gateway-cert-revoked" and acme_id not in ids_in(body)  # no revoke button any more
    assert page.database.query("SELECT status, revocation_reason, revoked_by FROM gateway_certificates"
                               " WHERE id = %s", (acme_id,))[0] == ("revoked", "stolen", "page-operator")
    assert page_actions.revoke(page.operator, "GW-A1", acme_id, "again")[0].children == \
        "This certificate was already revoked."


def test_cpg004_gateways_list_badges(page):
    page_actions.issue(page.operator, "GW-A1", None)
    page_actions.issue(page.admin, "GW-B1", None)
    ids = dict(page.database.query("SELECT serial, id FROM gateways"))
    page.database.execute("UPDATE gateway_certificates SET not_after = now() + interval '10 days'"
                          " WHERE gateway_id = %s", (ids["GW-B1"],))
    now = datetime.now(timezone.utc)

    def states(gateway_ids=tuple(ids.values())):
        with page.engine.connect() as conn:
            return certificate_states(conn, list(gateway_ids), now)

    assert states() == {ids["GW-A1"]: "ok", ids["GW-A2"]: "none", ids["GW-B1"]: "expiring"}
    acme_id = page.database.query("SELECT c.id FROM gateway_certificates c WHERE gateway_id = %s", (ids["GW-A1"],))
    page_actions.revoke(page.operator, "GW-A1", acme_id[0][0], "lost")
    assert states()[ids["GW-A1"]] == "revoked"
    assert states(()) == {}
    from tds_dash.fleet.gateway_list import certificate_badge

    assert certificate_badge("expiring", "pt-BR", "GW-B1").children == "expira em < 30 dias"
    assert certificate_badge("ok", "en", "GW-A1") is None


def _clicked(duo, selector) -> bool:
    """Scroll the button into view and click it; False while it is covered, missing or re-rendered."""
    import json

    from selenium.common.exceptions import ElementClickInterceptedException, WebDriverException

    if isinstance(selector, dict):  # a pattern-matching id, rendered as sorted compact JSON
        selector = "[id='" + json.dumps(selector, sort_keys=True, separators=(",", ":")) + "']"
    try:
        button = duo.driver.find_element("css selector", selector)
        duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        try:
            button.click()
        except ElementClickInterceptedException:
            # Near the page's end headless Chromium may report the centre below its viewport: a visible,
            # enabled button is clicked through the DOM instead (still the real button and callback).
            if not (button.is_displayed() and button.is_enabled()):
                return False
            duo.driver.execute_script("arguments[0].click()", button)
        return True
    except WebDriverException:
        return False


@pytest.mark.browser
def test_cpg005_browser_operator_issues_then_revokes(dash_duo, database, tmp_path):
    from tds_dash.app import create_app
    from tests.conftest import ensure_test_user
    from tests.helpers import free_port, wait_until

    provision_fleet(database, {"GW-A1": "acme"})
    app = create_app(settings_for(database, types.SimpleNamespace(url="mqtt://127.0.0.1:1"),
                                  TDS_PKI_DIR=tmp_path / "pki"))
    ensure_test_user(app.server.extensions["tds"].engine, "cert-olga", "operator", ("acme",))
    dash_duo.start_server(app, port=free_port(), sign_in_as="cert-olga")
    dash_duo.driver.get(dash_duo.server_url + "/gateways/GW-A1")
    dash_duo.wait_for_contains_text("#gateway-certificates", "PUBACK")
    wait_until(lambda: _clicked(dash_duo, "#gateway-cert-issue"), message="issue")  # below the fold
    dash_duo.wait_for_element("#gateway-cert-key")
    assert "BEGIN PRIVATE KEY" in dash_duo.find_element("#gateway-cert-key").get_attribute("value")
    certificate_id = wait_until(lambda: database.scalar("SELECT id FROM gateway_certificates"))
    wait_until(lambda: _clicked(dash_duo, {"type": "gateway-cert-revoke", "certificate": certificate_id}),
               message="revoke")
    dash_duo.wait_for_element("#gateway-cert-revoke-reason").send_keys("stolen")
    wait_until(lambda: _clicked(dash_duo, "#gateway-cert-revoke-ok"), message="confirm")  # the modal fades in
    dash_duo.wait_for_element("#gateway-cert-revoked")
    assert database.query("SELECT status, revocation_reason, revoked_by FROM gateway_certificates") == [
        ("revoked", "stolen", "cert-olga")]
    dash_duo.driver.get(dash_duo.server_url + "/gateways/GW-A1")  # a reload: the key is gone for good
    dash_duo.wait_for_element(f"#gateway-cert-row-{certificate_id}")
    assert dash_duo.driver.find_elements("css selector", "#gateway-cert-key") == []
    dash_duo.driver.get(dash_duo.server_url + "/gateways")
    dash_duo.wait_for_text_to_equal("#gateways-cert-GW-A1", "revogado")
    assert dash_duo.get_logs() == []
