"""Accounts: registration and password checks (argon2id), shared by the API and the storefront."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound, ValidationFailed, field_error
from ..extensions import db
from ..models import User
from ..phone import normalize_bd_mobile

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128

# argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): strong, yet a few
# concurrent logins cannot exhaust a pod's memory limit (64 MiB profiles would). Tests use the
# cheapest profile so hundreds of accounts can be made quickly; rehash-on-login upgrades them.
_HASHERS = {
    "production": PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),
    "test": PasswordHasher.from_parameters(profiles.CHEAPEST),
}
_dummy_hashes: dict[str, str] = {}


def _hasher_name() -> str:
    return "test" if current_app and current_app.config.get("TESTING") else "production"


def _hasher() -> PasswordHasher:
    return _HASHERS[_hasher_name()]


def _dummy_hash() -> str:
    # Verified against when the e-mail is unknown, so a wrong e-mail costs as much as a wrong password.
    name = _hasher_name()
    if name not in _dummy_hashes:
        _dummy_hashes[name] = _HASHERS[name].hash("dhakacart-timing-equaliser")
    return _dummy_hashes[name]


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed("invalid e-mail address", details=field_error("email", str(exc))) from None


def _check_password(password: str) -> None:
    if not (MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH):
        raise ValidationFailed(
            "password too short or too long",
            details=[{"field": "password",
                      "message": f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"}],
        )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def register_user(email: str, password: str, name: str, phone: str, *, role: str = "customer") -> User:
    """Create a customer; Conflict if the e-mail is taken, ValidationFailed on bad fields."""
    email = normalize_email(email)
    _check_password(password)
    name = name.strip()
    if not name:
        raise ValidationFailed("name is required", details=field_error("name", "must not be empty"))
    try:
        phone = normalize_bd_mobile(phone)
    except ValueError as exc:
        raise ValidationFailed("invalid phone number", details=field_error("phone", str(exc))) from None
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this e-mail already exists", code="email_taken")
    user = User(email=email, password_hash=hash_password(password), name=name, phone=phone, role=role)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # two registrations racing for the same e-mail
        db.session.rollback()
        raise Conflict("an account with this e-mail already exists", code="email_taken") from None
    return user


def authenticate(email: str, password: str) -> User | None:
    try:
        email = normalize_email(email)
    except ValidationFailed:
        return None
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher().verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        # Accounts made through the API before passwords were taken verbatim hold the hash of the
        # trimmed password; accept it once and store the hash of what the user really types.
        if password.strip() == password or not _verify(user.password_hash, password.strip()):
            return None
        user.password_hash = hash_password(password)
        db.session.commit()
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def set_password(user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = hash_password(password)
    db.session.commit()
