import pytest

from admin import create_app
from admin.config import ConfigurationError


def test_production_refuses_the_default_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="RENKEI_SECRET_KEY"):
        create_app({"RENKEI_ENV": "production", "RENKEI_VAR_DIR": str(tmp_path)})


def test_production_refuses_an_open_api(tmp_path):
    with pytest.raises(ConfigurationError, match="RENKEI_API_OPEN_FOR_DEVELOPMENT"):
        create_app({"RENKEI_ENV": "production", "SECRET_KEY": "x" * 40, "RENKEI_API_OPEN_FOR_DEVELOPMENT": True,
                    "RENKEI_VAR_DIR": str(tmp_path)})


def test_production_with_a_secret_starts_and_keeps_the_api_closed(tmp_path):
    app = create_app({"RENKEI_ENV": "production", "SECRET_KEY": "x" * 40, "RENKEI_VAR_DIR": str(tmp_path),
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
