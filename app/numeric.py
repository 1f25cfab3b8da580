"""Numbers as Redis reads and writes them.

Redis is strict about the numbers it accepts (``string2ll``: no blanks, no ``+``, no
leading zeros) and INCRBYFLOAT computes in C's ``long double``, which on x86-64 is the
80-bit extended format: a 64-bit significand, where a Python float has 53. Adding 0.1
three times gives "0.3" in Redis but 0.30000000000000004 with floats, so this module
emulates that format exactly with integers and fractions.
"""

from __future__ import annotations

import re
from fractions import Fraction

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def parse_int(data: bytes) -> int | None:
    """Parse a signed 64-bit decimal the way Redis' ``string2ll`` does, or return None.

    Python's ``int()`` is far more forgiving (" 1", "+1", "1_000", "01" all parse), and
    Redis rejects every one of those, so replies would differ.
    """
    if data.isdigit() and len(data) < 19 and (data[0] != 48 or len(data) == 1):
        return int(data)  # the common case: up to 18 digits, no sign, no leading zero, in range
    if not data or len(data) > 20:
        return None
    if data == b"0":
        return 0
    digits = data[1:] if data[0] == 45 else data  # 45 is '-'
    # bytes.isdigit() only accepts ASCII 0-9; a leading zero is not allowed.
    if not digits.isdigit() or digits[0] == 48:
        return None
    value = int(data)
    if value < INT64_MIN or value > INT64_MAX:
        return None
    return value


# --------------------------------------------------------------------------- long double

INF = float("inf")
_SIGNIFICAND_BITS = 64
_MIN_EXPONENT = -16445  # the quantum of the smallest subnormal: 2**-16445
_OVERFLOW = Fraction(2) ** 16384
_MAX_CHARS = 5 * 1024  # MAX_LONG_DOUBLE_CHARS: longer strings are refused

_DECIMAL = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEXADECIMAL = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_INFINITY = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)


def round_long_double(value: Fraction) -> Fraction | float:
    """Round an exact value to the nearest 80-bit long double (ties to even), or +-inf."""
    if value == 0:
        return value
    negative = value < 0
    num, den = abs(value.numerator), value.denominator
    # Find e with 2**e <= |value| < 2**(e+1).
    e = num.bit_length() - den.bit_length()
    if (num << max(0, -e)) < (den << max(0, e)):
        e -= 1
    shift = max(e - (_SIGNIFICAND_BITS - 1), _MIN_EXPONENT)
    if shift >= 0:
        quotient, remainder = divmod(num, den << shift)
        half = den << shift
    else:
        quotient, remainder = divmod(num << -shift, den)
        half = den
    if 2 * remainder > half or (2 * remainder == half and quotient & 1):
        quotient += 1
    rounded = Fraction(quotient << shift) if shift >= 0 else Fraction(quotient, 1 << -shift)
    if rounded >= _OVERFLOW:
        return -INF if negative else INF
    return -rounded if negative else rounded


def parse_long_double(data: bytes) -> Fraction | float | None:
    """Parse like Redis' ``string2ld`` (strtold, whole string, no NaN, no range error).

    Returns the exact value of the nearest long double, +-inf for a literal "inf", or
    None when Redis would answer "value is not a valid float".
    """
    if not data or len(data) >= _MAX_CHARS:
        return None
    match = _DECIMAL.fullmatch(data)
    if match and (match[2] or match[3]):
        sign, whole, fraction, exponent = match.groups()
        fraction = fraction or b""
        digits = (whole + fraction).lstrip(b"0")
        if not digits:
            return Fraction(0)
        power = _exponent(exponent) - len(fraction)
        magnitude = len(digits) + power  # |value| < 10**magnitude
        if magnitude > 4934:
            return None  # overflow: strtold says ERANGE and HUGE_VAL
        if magnitude < -4952:
            return None  # underflow to zero: ERANGE
        exact = Fraction(_digits_to_int(digits)) * Fraction(10) ** power
        return _in_range(round_long_double(-exact if sign == b"-" else exact))
    match = _HEXADECIMAL.fullmatch(data)
    if match and (match[2] or match[3]):
        sign, whole, fraction, exponent = match.groups()
        fraction = fraction or b""
        mantissa = int(whole + fraction or b"0", 16)
        if mantissa == 0:
            return Fraction(0)
        power = _exponent(exponent) - 4 * len(fraction)
        if power > 20000:
            return None
        if power < -40000:
            return None
        exact = Fraction(mantissa) * Fraction(2) ** power
        return _in_range(round_long_double(-exact if sign == b"-" else exact))
    match = _INFINITY.fullmatch(data)
    if match:
        return -INF if match[1] == b"-" else INF
    return None


def _exponent(text: bytes | None) -> int:
    """The exponent of a float literal. Thousands of digits are allowed, but past nine
    the value is far out of range whatever the mantissa, so it is clamped."""
    if not text:
        return 0
    digits = text.lstrip(b"+-").lstrip(b"0")
    value = int(digits or b"0") if len(digits) <= 9 else 10**9
    return -value if text[:1] == b"-" else value


# Python refuses int <-> decimal string conversions past 4300 digits (a guard against
# quadratic time), but long doubles have up to 4933 integer digits and strtold reads up to
# 5119 characters: convert in pieces below the limit.
_PIECE_DIGITS = 4000
_PIECE = 10**_PIECE_DIGITS


def _digits_to_int(digits: bytes) -> int:
    value = 0
    for start in range(0, len(digits), _PIECE_DIGITS):
        piece = digits[start : start + _PIECE_DIGITS]
        value = value * 10 ** len(piece) + int(piece)
    return value


def _int_to_digits(value: int) -> bytes:
    high, low = divmod(value, _PIECE)
    if not high:
        return b"%d" % low
    return _int_to_digits(high) + b"%0*d" % (_PIECE_DIGITS, low)


def _in_range(value):
    # A finite literal that overflows or underflows to zero is a range error in strtold.
    if value in (INF, -INF) or value == 0:
        return None
    return value


def format_long_double(value: Fraction) -> bytes:
    """Format like Redis' ``ld2string(..., LD_STR_HUMAN)``: ``%.17Lf`` minus trailing zeros."""
    negative = value < 0
    scaled = abs(value) * 10**17
    units, remainder = divmod(scaled.numerator, scaled.denominator)
    # Round half to even on the exact value, as glibc's printf does.
    if 2 * remainder > scaled.denominator or (2 * remainder == scaled.denominator and units & 1):
        units += 1
    whole, decimals = divmod(units, 10**17)
    text = b"%s.%017d" % (_int_to_digits(whole), decimals)
    text = text.rstrip(b"0").rstrip(b".")
    if negative and text != b"0":
        text = b"-" + text
    return text


# --------------------------------------------------------------------------- double (strtod)

# What C's strtod reads: blanks, a sign, then a hexadecimal or decimal number, "inf",
# "infinity" or "nan(...)". An exponent letter without digits is not part of it ("1e"
# reads as 1, stopping at the "e"), and "0x" without digits reads as 0.
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:"
    rb"(0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)"
    rb"|((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    rb"|(inf(?:inity)?)"
    rb"|(nan(?:\([0-9A-Za-z_]*\))?))",
    re.IGNORECASE,
)


def strtod(data: bytes) -> tuple[float, int, bool]:
    """C's ``strtod`` on ``data``: (value, bytes consumed, ERANGE). Nothing consumed, not
    even blanks, when no number starts the string (the value is then 0).

    Python's float() rounds decimal strings exactly as glibc does, and float.fromhex hex
    ones; what differs is what they accept ("1_0", " 1 ") and that they do not report a
    value that overflowed or underflowed to zero, which Redis refuses (ERANGE).
    """
    match = _STRTOD.match(data)
    if match is None:
        return 0.0, 0, False
    sign, hexadecimal, decimal, infinity, _nan = match.groups()
    negative = sign == b"-"
    if infinity:
        return (-INF if negative else INF), match.end(), False
    if _nan is not None:
        return float("nan"), match.end(), False
    if hexadecimal:
        try:
            value = float.fromhex(hexadecimal.decode())
        except OverflowError:
            value = INF
        digits = hexadecimal[2:].split(b"p")[0].split(b"P")[0]
    else:
        value = float(decimal)
        digits = decimal.lower().split(b"e")[0]
    nonzero = digits.strip(b"0.") != b""
    erange = value == INF or (value == 0.0 and nonzero)
    return (-value if negative else value), match.end(), erange


# Plain decimals ("12", "-0.5"), the usual scores, which float() reads exactly as strtod
# does; short enough that they can neither overflow nor underflow.
_PLAIN_DECIMAL = re.compile(rb"-?[0-9]{1,300}(?:\.[0-9]{1,300})?")


def parse_double(data: bytes) -> float | None:
    """A whole argument as a double, as Redis' ``string2d`` reads scores and coordinates:
    no leading blank, nothing left over, no NaN, no value past the range of a double
    (1e400) or lost below it (1e-400); otherwise None ("value is not a valid float")."""
    if _PLAIN_DECIMAL.fullmatch(data):
        return float(data)
    if not data or data[:1] in b" \t\n\v\f\r":
        return None
    value, consumed, erange = strtod(data)
    if consumed != len(data) or value != value or (erange and (value in (INF, -INF) or value == 0.0)):
        return None
    return value
