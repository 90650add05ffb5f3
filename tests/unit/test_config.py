import pytest

from loansyncro.config import DEFAULT_AMQP_URI, DEFAULT_DATABASE_URL, ConfigError, load_settings


def test_defaults_point_at_localhost():
    settings = load_settings({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.amqp_uri == DEFAULT_AMQP_URI
    assert "127.0.0.1" in settings.database_url
    assert settings.sqlalchemy_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x@localhost/db", "DATABASE_URL='mysql://x@localhost/db' is invalid"),
        ("DATABASE_URL", "postgresql://localhost:99999/db", "DATABASE_URL=.* has an invalid port"),
        ("AMQP_URI", "http://localhost", "AMQP_URI='http://localhost' is invalid"),
        ("GATEWAY_PORT", "eighty", "GATEWAY_PORT='eighty' is invalid: expected a whole number"),
        ("GATEWAY_PORT", "70000", "GATEWAY_PORT='70000' is out of range"),
        ("RPC_TIMEOUT", "soon", "RPC_TIMEOUT='soon' is invalid"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT='xml' is invalid: expected one of json, kv"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' is invalid"),
    ],
)
def test_bad_setting_names_the_variable(variable, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({variable: value})
