"""What an administrator and a viewer do with users, roles and tokens, in a real headless Chromium."""
from __future__ import annotations

import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.conftest import ensure_test_user, open_user_menu, sign_in
from tests.helpers import free_port, settings_for

pytestmark = pytest.mark.browser


@pytest.fixture
def app(database, mosquitto):
    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme"], 1, 1), {"acme": "Acme Energia"})
    return create_app(settings_for(database, mosquitto))


def test_adm001_admin_creates_a_viewer_after_a_validation_error(dash_duo, app):
    dash_duo.start_server(app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/admin")
    dash_duo.wait_for_text_to_equal("h3", "Usuários e contas")
    dash_duo.find_element("#admin-username").send_keys("nova-viewer")
    dash_duo.find_element("#admin-password").send_keys("curta")
    dash_duo.find_element("#admin-create").click()
    dash_duo.wait_for_contains_text("#admin-error", "Senha: pelo menos 10")
    dash_duo.find_element("#admin-password").send_keys(" mas agora longa")
    dash_duo.find_element("#admin-create").click()
    dash_duo.wait_for_element("#admin-ok")
    dash_duo.wait_for_contains_text("#admin-users-table", "nova-viewer")
    dash_duo.wait_for_contains_text("#admin-audit-table", "create")
    assert dash_duo.get_logs() == []


def test_adm002_viewer_sees_no_admin_link_is_refused_and_can_make_a_token(dash_duo, app):
    ensure_test_user(app.server.extensions["tds"].engine, "vera", "viewer", ("acme",))
    dash_duo.start_server(app, port=free_port(), sign_in_as="vera")
    # Not even in the closed "Mais" menu (textContent: also what is not shown), which does list her tokens.
    navbar = dash_duo.driver.execute_script("return document.querySelector('.navbar').textContent")
    assert "Administração" not in navbar and "Tokens de API" in navbar
    dash_duo.driver.get(dash_duo.server_url + "/admin")
    dash_duo.wait_for_contains_text("#_pages_content", "Acesso restrito a administradores")
    dash_duo.driver.get(dash_duo.server_url + "/tokens")
    dash_duo.wait_for_element("#tokens-name").send_keys("planilha")
    dash_duo.find_element("#tokens-create").click()
    secret = dash_duo.wait_for_element("#tokens-secret").text
    assert secret.startswith("tds_")
    dash_duo.wait_for_contains_text("#tokens-table", "planilha")
    # Signing out ends the session: the app sends the person back to the login form.
    open_user_menu(dash_duo)
    dash_duo.find_element("#nav-logout").click()
    dash_duo.wait_for_element("#login-form")


def test_adm003_wrong_password_shows_an_error_on_the_login_form(dash_duo, app):
    ensure_test_user(app.server.extensions["tds"].engine, "vera", "viewer", ("acme",))
    dash_duo.start_server(app, port=free_port(), sign_in_as=None)
    dash_duo.wait_for_element("#login-form")
    sign_in(dash_duo, "vera", "not the password", expect_success=False)
    dash_duo.wait_for_contains_text("#login-error", "inválidos")
