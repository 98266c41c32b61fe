"""Money for display: centavos only at the edge (formatting, statements), never inside the engine."""
from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from babel import numbers

from tds_dash.tariffs.model import CURRENCY

CENTAVO = Decimal("0.01")
_LOCALES = {"pt-BR": "pt_BR", "en": "en_US"}


def to_centavos(value: Decimal) -> Decimal:
    """Rounded to the centavo, half to even (ABNT NBR 5891, the Brazilian rounding rule)."""
    return value.quantize(CENTAVO, rounding=ROUND_HALF_EVEN)


def format_brl(value: Decimal | None, language: str = "pt-BR") -> str:
    """Decimal('1234.565') -> 'R$ 1.234,56' (pt-BR) or 'R$1,234.56' (en); None -> '—'."""
    if value is None:
        return "—"
    text = numbers.format_currency(to_centavos(value), CURRENCY, locale=_LOCALES.get(language, "pt_BR"),
                                   decimal_quantization=False)
    return text.replace("\xa0", " ")  # Babel's no-break space would not survive CSV or copy-paste as typed


def split_centavos(values: Sequence[Decimal]) -> list[Decimal]:
    """Each value in centavos so that they add up to the rounded exact total (largest remainder).

    Rounding buckets one by one can miss the month's total by a centavo or two; statements that list
    buckets use this so the lines shown add up to the total shown.
    """
    if not values:
        return []
    with decimal.localcontext() as context:
        context.prec = 120  # the exact sum first: the engine's amounts can carry many decimal places
        target = to_centavos(sum(values, Decimal(0)))
        floors = [v.quantize(CENTAVO, rounding=ROUND_FLOOR) for v in values]
        missing = int((target - sum(floors, Decimal(0))) / CENTAVO)
        order = sorted(range(len(values)), key=lambda i: (floors[i] - values[i], i))  # largest remainder first
        for i in order[:missing]:
            floors[i] += CENTAVO
    return floors


def stored_decimal(text) -> Decimal:
    """A decimal string kept in a page's store (it comes back from the browser): anything else is a ValueError."""
    try:
        value = Decimal(str(text))
    except ArithmeticError:  # decimal.InvalidOperation is not a ValueError
        raise ValueError(f"not a decimal: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {text!r}")
    return value
