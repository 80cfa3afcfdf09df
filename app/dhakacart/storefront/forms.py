"""The storefront's forms. Every one is a FlaskForm, so every one carries and checks a CSRF token.

The forms check shape (required, lengths, formats) so errors appear next to the field; the account,
cart and order services still enforce the business rules (stock, duplicate e-mails, ownership).
"""

from __future__ import annotations

import uuid

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Regexp,
    ValidationError,
)

from ..accounts.service import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ..cart.service import MAX_QUANTITY_PER_LINE
from ..phone import normalize_bd_mobile

PAYMENT_LABELS = {"cod": "Cash on delivery"}


def bangladeshi_mobile(form: FlaskForm, field: StringField) -> None:
    """Accepts 01712-345678, +880 1712 345678, ...; stores the normalised +8801XXXXXXXXX."""
    try:
        field.data = normalize_bd_mobile(field.data or "")
    except ValueError:
        raise ValidationError(
            "Enter a Bangladeshi mobile number: 11 digits starting 013–019, e.g. 01712 345678."  # noqa: RUF001
        ) from None


def uuid_key(form: FlaskForm, field: HiddenField) -> None:
    try:
        uuid.UUID(field.data or "")
    except ValueError:
        raise ValidationError("This form has expired; please submit it again.") from None


class LogoutForm(FlaskForm):
    """No fields: the CSRF token alone (log-out is a POST so no link or image can trigger it)."""


class RemoveFromCartForm(FlaskForm):
    """No fields: the CSRF token alone."""


class QuantityForm(FlaskForm):
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[
            InputRequired("Enter how many you want."),
            NumberRange(1, MAX_QUANTITY_PER_LINE, f"Choose between 1 and {MAX_QUANTITY_PER_LINE}."),
        ],
    )


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired("Enter your e-mail address."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)]
    )
    next = HiddenField()


class RegisterForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter your name."), Length(max=120)])
    email = EmailField("E-mail", validators=[DataRequired("Enter your e-mail address."), Length(max=254)])
    phone = StringField(
        "Mobile number", validators=[DataRequired("Enter your mobile number."), bangladeshi_mobile]
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(
                MIN_PASSWORD_LENGTH,
                MAX_PASSWORD_LENGTH,
                f"Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[
            DataRequired("Repeat your password."),
            EqualTo("password", "The passwords do not match."),
        ],
    )
    next = HiddenField()


class CheckoutForm(FlaskForm):
    name = StringField(
        "Recipient's name", validators=[DataRequired("Enter the recipient's name."), Length(max=120)]
    )
    phone = StringField(
        "Mobile number", validators=[DataRequired("Enter a mobile number."), bangladeshi_mobile]
    )
    address = TextAreaField(
        "Address",
        description="House, road, area",
        validators=[DataRequired("Enter the delivery address."), Length(5, 500, "Enter the full address.")],
    )
    city = StringField("City or district", validators=[DataRequired("Enter the city."), Length(max=80)])
    postal_code = StringField(
        "Postal code",
        validators=[
            DataRequired("Enter the postal code."),
            Regexp(r"^\d{4}$", message="Bangladeshi postal codes have four digits, e.g. 1207."),
        ],
    )
    payment_method = RadioField(
        "Payment method",
        choices=[SelectChoice(value, label) for value, label in PAYMENT_LABELS.items()],
        default="cod",
        validators=[DataRequired("Choose how to pay.")],
    )
    # One key per rendering of the form: submitting it twice (double click, reload) places one order.
    idempotency_key = HiddenField(validators=[uuid_key])
