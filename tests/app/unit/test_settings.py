import pytest
from dhakacart import create_app
from dhakacart.settings import ConfigError, load_settings

STRONG = "x" * 40


def test_defaults_to_sqlite_in_the_instance_folder(tmp_path):
    settings = load_settings({}, tmp_path)
    assert settings.environment == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'dhakacart.sqlite3'}"
    assert settings.ratelimit_storage_uri == "memory://"
    assert settings.cors_origins == ()
    assert len(settings.secret_key) >= 32


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({"DHAKACART_ENV": "production"}, tmp_path)
    with pytest.raises(ConfigError, match="SECRET_KEY: must be set"):
        load_settings({"DHAKACART_ENV": "production", "SECRET_KEY": "short"}, tmp_path)


def test_create_app_fails_fast_in_production_without_secret(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"ENVIRON": {"DHAKACART_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}})


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"DHAKACART_ENV": "staging"}, "DHAKACART_ENV"),
        ({"DATABASE_URL": "mysql://db/shop"}, "DATABASE_URL"),
        ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "https://shop.example.com/"}, "CORS_ORIGINS"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"RATELIMIT_STORAGE_URI": "redis-host"}, "RATELIMIT_STORAGE_URI"),
        ({"RATELIMIT_STORAGE_URI": "etcd://host:2379"}, "RATELIMIT_STORAGE_URI"),
        # a scheme `limits` knows but whose client the shop does not install
        ({"RATELIMIT_STORAGE_URI": "memcached://cache:11211"}, "RATELIMIT_STORAGE_URI"),
        ({"RATELIMIT_STORAGE_URI": "redis://"}, "RATELIMIT_STORAGE_URI"),
        ({"METRICS_PORT": "http"}, "METRICS_PORT"),
        ({"RATELIMIT_DEFAULT": "lots"}, "RATELIMIT_DEFAULT"),
        ({"RATELIMIT_DEFAULT": "300 per fortnight"}, "RATELIMIT_DEFAULT"),
        ({"RATELIMIT_AUTH": "0 per minute"}, "RATELIMIT_AUTH"),
        ({"RATELIMIT_AUTH": "10/minute;ten/hour"}, "RATELIMIT_AUTH"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, environ, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings(environ, tmp_path)


def test_parses_every_variable(tmp_path):
    settings = load_settings(
        {
            "DHAKACART_ENV": "production",
            "SECRET_KEY": STRONG,
            "DATABASE_URL": "postgresql://u:p@db:5432/shop?sslmode=require",
            "CORS_ORIGINS": "https://a.example.com, https://b.example.com",
            "RATELIMIT_STORAGE_URI": "redis://r:6379",
            "LOG_LEVEL": "debug",
            "TRUSTED_PROXY_HOPS": "1",
            "METRICS_PORT": "9102",
        },
        tmp_path,
    )
    assert settings.is_production
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/shop?sslmode=require"
    assert settings.cors_origins == ("https://a.example.com", "https://b.example.com")
    assert settings.log_level == "DEBUG"
    assert settings.trusted_proxy_hops == 1
    assert settings.metrics_port == 9102


def test_secret_key_never_appears_in_repr(tmp_path):
    settings = load_settings({"SECRET_KEY": STRONG}, tmp_path)
    assert STRONG not in repr(settings)


def test_redis_rate_limit_storage_is_supported(tmp_path):
    # The shop ships the redis client, so the documented shared storage really works.
    app = create_app(
        {
            "ENVIRON": {
                "DHAKACART_ENV": "test",
                "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
            }
        }
    )
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379"
    # A dead or black-holed Redis must cost a request a fraction of a second, not redis-py's
    # default (no timeout, retries with backoff) before the limiter falls back to memory.
    options = app.config["RATELIMIT_STORAGE_OPTIONS"]
    assert options["socket_timeout"] <= 0.5 and options["socket_connect_timeout"] <= 0.5
    assert options["retry"].get_retries() == 1
    assert app.config["RATELIMIT_KEY_PREFIX"] == "dhakacart"


def test_memory_rate_limits_need_no_storage_options(tmp_path):
    app = create_app({"ENVIRON": {"DHAKACART_ENV": "test", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}})
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["RATELIMIT_STORAGE_OPTIONS"] == {}


def test_an_unreachable_rate_limit_store_falls_back_instead_of_failing_requests(tmp_path):
    from tests.app.conftest import migrate

    app = create_app(
        {
            "ENVIRON": {
                "DHAKACART_ENV": "test",
                "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1",
            }
        }
    )
    migrate(app)
    assert app.test_client().get("/api/v1/categories").status_code == 200


def test_catalog_cache_seconds_defaults_and_validation():
    from dhakacart.settings import ConfigError, load_settings

    base = {"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": "k" * 40}
    assert load_settings({**base, "DHAKACART_ENV": "test"}).catalog_cache_seconds == 0
    assert load_settings({**base, "DHAKACART_ENV": "development"}).catalog_cache_seconds == 0
    assert load_settings({**base, "DHAKACART_ENV": "production"}).catalog_cache_seconds == 5
    assert load_settings({**base, "DHAKACART_ENV": "production",
                          "CATALOG_CACHE_SECONDS": "0"}).catalog_cache_seconds == 0
    for bad in ("-1", "soon", "301"):
        with pytest.raises(ConfigError, match="CATALOG_CACHE_SECONDS"):
            load_settings({**base, "CATALOG_CACHE_SECONDS": bad})


def test_rate_limits_default_to_300_and_10_per_minute(tmp_path):
    settings = load_settings({}, tmp_path)
    assert (settings.ratelimit_default, settings.ratelimit_auth) == ("300 per minute", "10 per minute")


def test_rate_limits_come_from_the_environment(tmp_path):
    settings = load_settings({"RATELIMIT_DEFAULT": " 5000/minute ", "RATELIMIT_AUTH": "5/minute;50/hour"},
                             tmp_path)
    assert (settings.ratelimit_default, settings.ratelimit_auth) == ("5000/minute", "5/minute;50/hour")
    app = create_app({"ENVIRON": {"DHAKACART_ENV": "test", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                                  "RATELIMIT_DEFAULT": "5000/minute", "RATELIMIT_AUTH": "5/minute"}})
    assert (app.config["DEFAULT_RATE_LIMIT"], app.config["AUTH_RATE_LIMIT"]) == ("5000/minute", "5/minute")


def test_a_bad_rate_limit_says_how_to_write_one(tmp_path):
    with pytest.raises(ConfigError, match=r"RATELIMIT_DEFAULT: 'lots' is not a rate limit .*300 per minute"):
        load_settings({"RATELIMIT_DEFAULT": "lots"}, tmp_path)


def test_order_statuses_and_roles_are_written_once():
    """The API's OrderStatus and the tables' check constraints come from models.py's one list."""
    import typing

    from dhakacart.models import ORDER_STATUSES, ROLES, Order, User
    from dhakacart.schemas import OrderStatus

    assert typing.get_args(OrderStatus) == ORDER_STATUSES
    checks = {str(c.sqltext) for table in (Order.__table__, User.__table__) for c in table.constraints
              if hasattr(c, "sqltext")}
    assert f"status IN {ORDER_STATUSES!r}" in checks and f"role IN {ROLES!r}" in checks
