import pytest

from admin import create_app
from admin.config import ConfigurationError
from residents.crypto import new_key_entry


def test_production_refuses_the_default_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="RENKEI_SECRET_KEY"):
        create_app({"RENKEI_ENV": "production", "RENKEI_VAR_DIR": str(tmp_path)})


@pytest.mark.parametrize("mode", ["testing", "production"])
def test_any_mode_but_development_with_the_open_api_flag_refuses_to_start(tmp_path, mode):
    """Issue 26: a server in testing mode with the flag answered every caller as a platform operator."""
    with pytest.raises(ConfigurationError, match=f"RENKEI_API_OPEN_FOR_DEVELOPMENT is on with RENKEI_ENV={mode}"):
        create_app({"RENKEI_ENV": mode, "SECRET_KEY": "x" * 40, "RENKEI_API_OPEN_FOR_DEVELOPMENT": True,
                    "RENKEI_VAR_DIR": str(tmp_path)})


def test_the_open_api_says_so_loudly_at_start_and_opens_nothing_to_a_caller_on_another_machine(tmp_path, capfd):
    from admin.extensions import db

    app = create_app({"RENKEI_ENV": "development", "RENKEI_API_OPEN_FOR_DEVELOPMENT": True,
                      "RENKEI_VAR_DIR": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.db'}"})
    assert "RENKEI_API_OPEN_FOR_DEVELOPMENT is ON" in capfd.readouterr().err
    with app.app_context():
        db.create_all()
    client = app.test_client()
    assert client.get("/api/v1/tenants", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/api/v1/tenants", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    remote = client.get("/api/v1/tenants", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert remote.status_code == 401 and remote.mimetype == "application/problem+json"


def test_the_open_api_opens_nothing_to_a_remote_caller_a_proxy_on_this_machine_passes_on(tmp_path):
    """A local reverse proxy listed in RENKEI_TRUSTED_PROXIES: the connection is loopback, but the
    caller it passes on (X-Forwarded-For) is on another machine, so the open API stays shut."""
    from admin.extensions import db

    app = create_app({"RENKEI_ENV": "development", "RENKEI_API_OPEN_FOR_DEVELOPMENT": True,
                      "RENKEI_TRUSTED_PROXIES": "127.0.0.1/32",
                      "RENKEI_VAR_DIR": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.db'}"})
    with app.app_context():
        db.create_all()
    client = app.test_client()
    local = {"REMOTE_ADDR": "127.0.0.1"}
    assert client.get("/api/v1/tenants", environ_base=local).status_code == 200
    passed_on = client.get("/api/v1/tenants", environ_base=local, headers={"X-Forwarded-For": "192.0.2.10"})
    assert passed_on.status_code == 401
    assert client.get("/api/v1/tenants", environ_base=local,
                      headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_production_with_a_secret_starts_and_keeps_the_api_closed(tmp_path):
    app = create_app({"RENKEI_ENV": "production", "SECRET_KEY": "x" * 40, "RENKEI_VAR_DIR": str(tmp_path),
                      "RENKEI_KEYCLOAK_ADMIN_PASSWORD": "a-real-master-password-42",
                      "RENKEI_RESIDENT_KEYS": new_key_entry("production"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    response = app.test_client().get("/api/v1/tenants")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_development_can_open_the_api_explicitly(tmp_path):
    from admin.extensions import db

    app = create_app({"RENKEI_ENV": "development", "RENKEI_API_OPEN_FOR_DEVELOPMENT": True,
                      "RENKEI_VAR_DIR": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.db'}"})
    with app.app_context():
        db.create_all()
    assert app.test_client().get("/api/v1/tenants").status_code == 200


def test_database_url_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RENKEI_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("RENKEI_ENV", "development")
    monkeypatch.setenv("RENKEI_VAR_DIR", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db")


def _production(tmp_path, **settings):
    from admin import create_app

    return create_app({"RENKEI_ENV": "production", "SECRET_KEY": "x" * 40, "RENKEI_VAR_DIR": str(tmp_path),
                       "RENKEI_KEYCLOAK_ADMIN_PASSWORD": "a-real-master-password-42",
                       "RENKEI_RESIDENT_KEYS": new_key_entry("production"), **settings})


@pytest.mark.parametrize("password", ["admin", "ADMIN", "changeme", "short-pw"])
def test_production_refuses_a_default_keycloak_admin_password(tmp_path, password):
    from admin.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="RENKEI_KEYCLOAK_ADMIN_PASSWORD"):
        _production(tmp_path, RENKEI_KEYCLOAK_ADMIN_PASSWORD=password)


def test_production_defaults_to_no_master_password_and_the_commands_needing_it_refuse(tmp_path, monkeypatch):
    from admin.config import from_environment, settle_defaults

    for mode, password in (("production", ""), ("development", "admin"), ("testing", "admin")):
        settings = from_environment({"RENKEI_ENV": mode})
        settle_defaults(settings)
        assert settings["RENKEI_KEYCLOAK_ADMIN_PASSWORD"] == password
    app = _production(tmp_path, RENKEI_KEYCLOAK_ADMIN_PASSWORD="", RENKEI_TRUSTED_KEYS=str(tmp_path / "trusted-keys"),
                      SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")  # an app server starts without it
    from core.signing import generate_key

    # the owner's maintenance identity, its public key in the installation's trusted folder
    generate_key(tmp_path / "signing" / "signing-key.pem", tmp_path / "trusted-keys")
    result = app.test_cli_runner().invoke(args=["keycloak", "bootstrap", "--maintenance-identity"])
    assert result.exit_code == 2 and "RENKEI_KEYCLOAK_ADMIN_PASSWORD is empty" in result.output


@pytest.mark.parametrize("proxies", ["0.0.0.0/0", "::/0", "10.0.0.0/8", "192.0.2.10, 172.16.0.0/12"])
def test_production_refuses_trusting_forwarded_headers_from_a_whole_network(tmp_path, proxies):
    from admin.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="RENKEI_TRUSTED_PROXIES.*RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V"):
        _production(tmp_path, RENKEI_TRUSTED_PROXIES=proxies)


def test_production_accepts_its_load_balancers_and_a_narrower_limit_can_be_set(tmp_path):
    from admin.config import ConfigurationError

    assert _production(tmp_path, RENKEI_TRUSTED_PROXIES="192.0.2.10, 192.0.2.0/28, 2001:db8::/64")
    with pytest.raises(ConfigurationError):
        _production(tmp_path, RENKEI_TRUSTED_PROXIES="192.0.2.0/28", RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V4=30)


def test_production_warns_at_start_when_the_checkpoints_have_no_copy_off_the_host(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("RENKEI_CHECKPOINT_COPY_DIR", raising=False)
    with caplog.at_level("WARNING", logger="renkei"):
        _production(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")
    assert "RENKEI_CHECKPOINT_COPY_DIR is not set" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="renkei"):
        _production(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}",
                    RENKEI_CHECKPOINT_COPY_DIR=str(tmp_path / "elsewhere"))
    assert "RENKEI_CHECKPOINT_COPY_DIR" not in caplog.text


@pytest.mark.parametrize("copy", ["audit-checkpoints", "audit-checkpoints/copy", "."])
def test_production_refuses_a_checkpoint_copy_that_is_the_checkpoint_folder(tmp_path, copy):
    from admin.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="RENKEI_CHECKPOINT_COPY_DIR .* is the checkpoint folder"):
        _production(tmp_path, RENKEI_CHECKPOINT_COPY_DIR=str(tmp_path / copy))


def test_production_refuses_to_start_without_the_residents_key_and_says_which_setting(tmp_path):
    for missing in ({"RENKEI_RESIDENT_KEYS": ""}, {"RENKEI_RESIDENT_KEYS": "", "RENKEI_RESIDENT_KEY_FILE": str(tmp_path / "none")},
                    {"RENKEI_RESIDENT_KEYS": "k1:dG9vLXNob3J0"}):
        with pytest.raises(ConfigurationError, match="RENKEI_RESIDENT_KEYS"):
            _production(tmp_path, **missing)
    key_file = tmp_path / "resident.keys"
    key_file.write_text(new_key_entry("k2") + "\n" + new_key_entry("k1") + "\n")
    assert _production(tmp_path, RENKEI_RESIDENT_KEYS="", RENKEI_RESIDENT_KEY_FILE=str(key_file)).config["RENKEI_ENV"] == "production"


@pytest.mark.parametrize("mode", ["development", "production"])
def test_the_residents_realm_may_not_be_the_staff_realm(tmp_path, mode):
    """Residents sign in to the portal in a realm of their own (issue 42 item 4), never the staff realm."""
    with pytest.raises(ConfigurationError, match="RENKEI_RESIDENTS_REALM must not be the staff realm"):
        create_app({"RENKEI_ENV": mode, "SECRET_KEY": "x" * 40, "RENKEI_VAR_DIR": str(tmp_path),
                    "RENKEI_KEYCLOAK_ADMIN_PASSWORD": "a-real-master-password-42",
                    "RENKEI_RESIDENT_KEYS": new_key_entry("production"), "RENKEI_KEYCLOAK_REALM": "kumamoto",
                    "RENKEI_RESIDENTS_REALM": "kumamoto", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'r.db'}"})


def test_production_refuses_a_lowered_password_hashing_cost(tmp_path, monkeypatch):
    """The suite's realms hash passwords once (tests/conftest.py HASH_ITERATIONS); a production realm keeps
    Keycloak's own cost, so the setting that lowers it stops the start."""
    from admin.config import from_environment

    monkeypatch.setenv("RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS", "1")
    assert from_environment()["RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS"] == 1
    with pytest.raises(ConfigurationError, match="RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS is set"):
        _production(tmp_path, RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS=1)
    monkeypatch.delenv("RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS")
    assert _production(tmp_path / "kept") is not None  # unset: Keycloak's own cost, the start goes on


def test_the_realms_password_policy_names_the_hashing_cost_only_when_one_is_set():
    from tenancy.identity.keycloak import KeycloakSettings
    from tenancy.identity.keycloak.realm import realm_security

    kept = realm_security(KeycloakSettings(url="http://kc.test", realm="r"))["passwordPolicy"]
    lowered = realm_security(KeycloakSettings(url="http://kc.test", realm="r", password_hash_iterations=1))
    assert "hashIterations" not in kept
    assert "hashAlgorithm" not in kept
    assert lowered["passwordPolicy"] == kept + " and hashAlgorithm(pbkdf2-sha256) and hashIterations(1)"
