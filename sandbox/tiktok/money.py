"""Money as TikTok takes it: decimal numbers in the account currency's MAJOR unit.

Precision is the currency's (USD 2 decimals, JPY integers only). Minimums and the maximum are USD
amounts times the currency's "Budget Verification Ratio" (TTDOC:1739381246298114: campaign minimum 50 USD,
ad group daily minimum 20 USD, maximum 10 000 000 USD; JPY ratio 100). Ratios other than USD and JPY are
rough exchange-rate approximations (UNCONFIRMED): seed the real ones through `currencies` in the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sandbox.tiktok.errors import ApiError, param_error

CAMPAIGN_MIN_USD = Decimal(50)
ADGROUP_DAILY_MIN_USD = Decimal(20)
MAX_USD = Decimal(10_000_000)

# ISO 4217 currencies without minor units.
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF"}
)

DEFAULT_RATIOS: dict[str, Decimal] = {
    "USD": Decimal(1),
    "JPY": Decimal(100),  # from the Budget doc example (ad group daily range [2 000, 1 000 000 000))
    # UNCONFIRMED approximations below; override with a seed.
    "EUR": Decimal(1),
    "GBP": Decimal(1),
    "CHF": Decimal(1),
    "CAD": Decimal(1),
    "AUD": Decimal(1),
    "NZD": Decimal(1),
    "SGD": Decimal(1),
    "SAR": Decimal(3),
    "AED": Decimal(3),
    "BRL": Decimal(5),
    "CNY": Decimal(5),
    "HKD": Decimal(5),
    "MYR": Decimal(4),
    "MXN": Decimal(20),
    "TRY": Decimal(20),
    "THB": Decimal(30),
    "TWD": Decimal(30),
    "INR": Decimal(50),
    "PHP": Decimal(50),
    "KRW": Decimal(1000),
    "IDR": Decimal(10000),
    "VND": Decimal(20000),
}


@dataclass(frozen=True)
class Currency:
    code: str
    precision: int
    ratio: Decimal

    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.precision)

    def fmt(self, amount: Decimal) -> str:
        return str(amount.quantize(self.quantum()))


def default_currency(code: str) -> Currency:
    return Currency(code, 0 if code in ZERO_DECIMAL else 2, DEFAULT_RATIOS.get(code, Decimal(1)))


def check_precision(field: str, amount: Decimal, currency: Currency) -> None:
    if amount != amount.quantize(currency.quantum()):
        if currency.precision == 0:
            raise param_error(field, f"Amounts in {currency.code} must be integers.")
        raise param_error(
            field, f"Amounts in {currency.code} allow at most {currency.precision} decimal places."
        )


def check_budget(
    field: str,
    amount: Decimal,
    currency: Currency,
    minimum_usd: Decimal,
    *,
    inclusive: bool,
    what: str,
) -> None:
    """Precision, minimum (USD x ratio) and maximum; the message states the minimum in the currency."""
    check_precision(field, amount, currency)
    minimum = minimum_usd * currency.ratio
    maximum = MAX_USD * currency.ratio
    too_low = amount < minimum if inclusive else amount <= minimum
    if too_low:
        relation = "greater than or equal to" if inclusive else "greater than"
        raise param_error(
            field, f"The {what} budget must be {relation} {currency.fmt(minimum)} {currency.code}."
        )
    if amount >= maximum:
        raise param_error(
            field, f"The {what} budget must be less than {currency.fmt(maximum)} {currency.code}."
        )


def require_positive(field: str, amount: Decimal, currency: Currency) -> None:
    check_precision(field, amount, currency)
    if amount <= 0:
        raise ApiError(40002, f"{field}: Must be greater than 0.")


def as_number(amount: Decimal) -> float:
    """Budgets come back as JSON numbers (e.g. 50.0)."""
    return float(amount)
