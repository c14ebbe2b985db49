"""Sample values as people read them: ``18403700`` not ``1.84037e+07``, ``0.18`` not
``0.18000030517578125`` (a float32 from SNMP or psutil, printed in full)."""

from __future__ import annotations

import math


def format_value(value: float) -> str:
    """Whole numbers in full, others to two decimals (three significant digits below 1),
    with no trailing zeros; NaN and infinities as Python writes them."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == int(value) and abs(value) < 1e18:
        return str(int(value))
    if abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
        if "e" in text:
            return text
    return text.rstrip("0").rstrip(".") if "." in text else text
