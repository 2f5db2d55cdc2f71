"""Personal data handling shared by every stage: masking for logs and previews, one-way hashes."""

from __future__ import annotations

import hashlib
import re

import pandas as pd

EMAIL_PATTERN = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)*", re.UNICODE)
# Seven or more digits, allowing the separators people type: +34 612 34 56 78, (555) 010-0199;
# dates and times (2026-11-02, 02/11/2026 10:00) are not phone numbers.
PHONE_PATTERN = re.compile(
    r"(?<![\w:/-])(?!\d{4}-\d{2}-\d{2})(?!\d{1,2}/\d{1,2}/\d{4})"
    r"\+?\(?\d[\d\s().-]{5,}\d(?![\w:/-])"
)


def mask_email(email: str | None) -> str | None:
    """``jane.doe@acme.com`` -> ``j***@a***.com``: enough to tell addresses apart in a preview."""
    if email is None or (isinstance(email, float) and pd.isna(email)):
        return None
    text = str(email)
    local, sep, domain = text.partition("@")
    if not sep:
        return text[:1] + "***" if text else text
    host, dot, tld = domain.rpartition(".")
    masked_domain = (host[:1] + "***" + dot + tld) if dot else (domain[:1] + "***")
    return f"{local[:1]}***@{masked_domain}"


def mask_text(text: str | None) -> str | None:
    """Masks every email address and phone-like number inside free text (log lines, errors)."""
    if text is None:
        return None
    text = EMAIL_PATTERN.sub(lambda m: mask_email(m.group(0)), str(text))
    return PHONE_PATTERN.sub(lambda m: m.group(0)[:2] + "***", text)


def mask_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`mask_text` for a column of free text."""
    text = values.astype("string")
    text = text.str.replace(EMAIL_PATTERN, lambda m: mask_email(m.group(0)), regex=True)
    return text.str.replace(PHONE_PATTERN, lambda m: m.group(0)[:2] + "***", regex=True)


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy safe to show in a preview: every text column masked."""
    masked = frame.copy()
    for column in masked.columns:
        if pd.api.types.is_string_dtype(masked[column]) or masked[column].dtype == object:
            masked[column] = mask_series(masked[column])
    return masked


def hash_email(normalised_email: pd.Series) -> pd.Series:
    """One-way SHA-256 of a normalised address: the only trace an erasure may keep."""
    return normalised_email.map(
        lambda e: hashlib.sha256(str(e).encode("utf-8")).hexdigest(), na_action="ignore"
    )
