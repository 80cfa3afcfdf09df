"""Password hashing: argon2id with bounded memory in production, cheap only under TESTING."""

from argon2 import extract_parameters
from dhakacart.accounts import service


def test_production_hasher_is_argon2id_with_bounded_memory():
    hashed = service._HASHERS["production"].hash("correct horse battery")
    assert hashed.startswith("$argon2id$")
    parameters = extract_parameters(hashed)
    assert parameters.memory_cost == 19 * 1024  # KiB: OWASP's minimum for argon2id, and pod-friendly
    assert parameters.time_cost >= 2


def test_passwords_are_never_stored_in_clear(app):
    with app.app_context():
        user = service.register_user("clear@example.com", "plain-text-secret", "C", "01712345678")
        assert "plain-text-secret" not in user.password_hash
        assert service.authenticate("clear@example.com", "plain-text-secret").id == user.id
        assert service.authenticate("clear@example.com", "wrong-secret") is None
