"""Phone numbers as the platform stores them: country code + national number, digits only
(``919876543210``), the form the original product uses in payloads."""

from __future__ import annotations

from flowhook.errors import Code, ValidationFailed


def normalise(number: str, region: str = "IN") -> str:
    """Parse with the account's default region; raise ``INVALID_CONTACT_NUMBER``."""
    import phonenumbers  # here, not at the top: its metadata takes ~0.05 s to import

    raw = (number or "").strip()
    if any(ch.isalpha() for ch in raw):  # phonenumbers would read letters as a keypad
        raise ValidationFailed(
            f"{number!r} is not a valid phone number", code=Code.INVALID_CONTACT_NUMBER
        )
    candidates = [raw]
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw and not raw.startswith("+") and len(digits) > 10:
        candidates.append("+" + digits)  # "919876543210": a country code without the plus
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region.upper())
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return f"{parsed.country_code}{parsed.national_number}"
    raise ValidationFailed(
        f"{number!r} is not a valid phone number", code=Code.INVALID_CONTACT_NUMBER
    )
