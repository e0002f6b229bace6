"""Money as integer minor units of an ISO-4217 currency.

Amounts never travel as floats. `amount_minor` counts the currency's ISO-4217 minor unit (cents for
USD, yen for JPY, fils for KWD); platform mappers convert to each platform's own unit (Meta's offset
table, TikTok major units, Snapchat micros) and refuse conversions that would round.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

# ISO-4217 minor-unit exponents (digits after the decimal point) for the currencies the ad platforms
# accept. Source: ISO 4217 list one (SIX Group), as published.
ISO4217_EXPONENT: dict[str, int] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BOB": 2, "BRL": 2, "CAD": 2, "CHF": 2,
    "CLP": 0, "CNY": 2, "COP": 2, "CRC": 2, "CZK": 2, "DKK": 2, "DZD": 2, "EGP": 2, "EUR": 2, "GBP": 2,
    "GTQ": 2, "HKD": 2, "HNL": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0,
    "KES": 2, "KRW": 0, "KWD": 3, "KZT": 2, "LKR": 2, "MAD": 2, "MOP": 2, "MXN": 2, "MYR": 2, "NGN": 2,
    "NIO": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
    "RON": 2, "RSD": 2, "RUB": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2,
    "UAH": 2, "USD": 2, "UYU": 2, "VES": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO-4217 alphabetic code")]


class UnsupportedCurrency(ValueError):
    """The currency is not one the ad platforms accept (or not ISO-4217)."""


def exponent(currency: str) -> int:
    try:
        return ISO4217_EXPONENT[currency]
    except KeyError:
        raise UnsupportedCurrency(f"unsupported currency {currency!r}") from None


class Money(BaseModel):
    """An exact amount: `amount_minor` ISO-4217 minor units of `currency`."""

    model_config = ConfigDict(frozen=True)

    amount_minor: int = Field(ge=0, description="integer count of the currency's ISO-4217 minor unit")
    currency: CurrencyCode

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        exponent(value)
        return value

    @property
    def major(self) -> Decimal:
        """The amount in major units, exactly (Decimal, never float)."""
        return Decimal(self.amount_minor).scaleb(-exponent(self.currency))

    @classmethod
    def of(cls, major: str | int | Decimal, currency: str) -> Money:
        """Build from a major-unit amount; refuses amounts finer than the currency's minor unit."""
        value = Decimal(str(major))
        minor = value.scaleb(exponent(currency))
        if minor != minor.to_integral_value():
            raise ValueError(f"{major} {currency} has more decimals than {currency} allows")
        return cls(amount_minor=int(minor), currency=currency)

    def __str__(self) -> str:
        return f"{self.major:.{exponent(self.currency)}f} {self.currency}"
