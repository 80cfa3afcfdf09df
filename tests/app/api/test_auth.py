"""Registration, login, JWT checks, refresh rotation with reuse detection, logout, /me."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.app.conftest import PASSWORD, TEST_SECRET

NEW_USER = {
    "email": "Rahim@Example.com",
    "password": "nakshi-kantha-42",
    "name": "Rahim Uddin",
    "phone": "01812-345678",
}


def register(client, **changes):
    return client.post("/api/v1/auth/register", json={**NEW_USER, **changes})


def login(client, email="rahim@example.com", password=NEW_USER["password"]):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_register_normalises_email_and_phone(client):
    response = register(client)
    assert response.status_code == 201
    user = response.get_json()
    assert user["email"] == "rahim@example.com"
    assert user["phone"] == "+8801812345678"
    assert user["role"] == "customer"
    assert "password" not in str(user)


def test_register_twice_is_409(client):
    register(client)
    again = register(client, email="RAHIM@example.com")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "body.phone"),
        ({"email": "not-an-email"}, "body.email"),
        ({"password": "short"}, "body.password"),
        ({"name": ""}, "body.name"),
        ({"role": "admin"}, "body.role"),
    ],
)
def test_register_validates_each_field(client, changes, field):
    response = register(client, **changes)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert [d["field"] for d in error["details"]] == [field]


def test_a_password_is_taken_as_typed_and_its_length_counts_every_character(client):
    padded = "  " + NEW_USER["password"] + "  "
    assert register(client, password=padded).status_code == 201
    assert login(client, password=padded).status_code == 200
    assert login(client, password=NEW_USER["password"]).status_code == 401
    # Trimming first would have let 130 characters through a field whose maxLength is 128.
    too_long = register(client, email="karim@example.com", password=" " * 122 + "abcdefgh")
    assert too_long.status_code == 422
    assert [d["field"] for d in too_long.get_json()["error"]["details"]] == ["body.password"]


def test_an_account_hashed_from_a_trimmed_password_still_logs_in_and_is_rehashed(app, client):
    from dhakacart.accounts import service
    from dhakacart.extensions import db
    from dhakacart.models import User

    assert register(client).status_code == 201
    padded = " " + NEW_USER["password"] + " "
    assert login(client, password=padded).status_code == 200  # hash of the trimmed one matches
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "rahim@example.com"))
        assert service._verify(user.password_hash, padded)
    assert login(client, password=padded).status_code == 200


def test_login_returns_bearer_tokens(client):
    register(client)
    body = login(client).get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    claims = jwt.decode(
        body["access_token"], TEST_SECRET, algorithms=["HS256"], audience="dhakacart-api", issuer="dhakacart"
    )
    assert claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900


def test_login_with_wrong_password_or_unknown_email_is_401(client):
    register(client)
    for response in (login(client, password="wrong-password"), login(client, email="nobody@example.com")):
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_credentials"


def test_me_requires_a_valid_access_token(client, customer):
    assert client.get("/api/v1/me", headers=customer).get_json()["email"] == customer.email
    missing = client.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer garbage"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def _forge(claims, key=TEST_SECRET, algorithm="HS256"):
    now = datetime.now(UTC)
    base = {
        "iss": "dhakacart",
        "aud": "dhakacart-api",
        "sub": "1",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "typ": "access",
        "jti": "x",
    }
    base.update(claims)
    return {"Authorization": f"Bearer {jwt.encode(base, key, algorithm=algorithm)}"}


@pytest.mark.parametrize(
    ("headers_factory", "code"),
    [
        (
            lambda uid: _forge({"sub": str(uid), "exp": datetime.now(UTC) - timedelta(seconds=1)}),
            "token_expired",
        ),
        (lambda uid: _forge({"sub": str(uid), "iss": "someone-else"}), "invalid_token"),
        (lambda uid: _forge({"sub": str(uid), "aud": "other-api"}), "invalid_token"),
        (
            lambda uid: _forge({"sub": str(uid)}, key="another-secret-of-sufficient-length-000"),
            "invalid_token",
        ),
        (lambda uid: _forge({"sub": str(uid)}, algorithm="HS512"), "invalid_token"),
        (lambda uid: _forge({"sub": str(uid), "typ": "refresh"}), "invalid_token"),
        (
            lambda uid: {
                "Authorization": "Bearer " + jwt.encode({"sub": str(uid)}, key=None, algorithm="none")
            },
            "invalid_token",
        ),
    ],
    ids=["expired", "issuer", "audience", "signature", "algorithm", "refresh-as-access", "alg-none"],
)
def test_rejects_tokens_that_fail_any_check(client, customer, headers_factory, code):
    response = client.get("/api/v1/me", headers=headers_factory(customer.user_id))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == code


def test_a_well_formed_forged_token_with_the_right_key_works(client, customer):
    # The counterpart of the test above: the checks are on the claims, not on something incidental.
    assert client.get("/api/v1/me", headers=_forge({"sub": str(customer.user_id)})).status_code == 200


def test_refresh_rotates_and_the_new_tokens_work(client, customer):
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert response.status_code == 200
    tokens = response.get_json()
    assert tokens["refresh_token"] != customer.refresh_token
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code
        == 200
    )
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code
        == 200
    )


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, customer):
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": customer.refresh_token}).get_json()
    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert reuse.status_code == 401
    assert reuse.get_json()["error"]["code"] == "refresh_token_reused"
    # The legitimate newer token from the same login is now revoked too.
    descendant = client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert descendant.status_code == 401


def test_other_logins_survive_a_reuse_in_one_family(client, customer):
    second_login = login(client, email=customer.email, password=PASSWORD).get_json()
    client.post("/api/v1/auth/refresh", json={"refresh_token": customer.refresh_token})
    client.post("/api/v1/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": second_login["refresh_token"]}).status_code
        == 200
    )


def test_an_access_token_is_not_a_refresh_token(client, customer):
    access = customer["Authorization"].split()[1]
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": access}).status_code == 401


def test_logout_revokes_the_refresh_token(client, customer):
    assert (
        client.post("/api/v1/auth/logout", json={"refresh_token": customer.refresh_token}).status_code == 204
    )
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_logout_with_a_bad_token_is_401(client):
    assert client.post("/api/v1/auth/logout", json={"refresh_token": "nope"}).status_code == 401
