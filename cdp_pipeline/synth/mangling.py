"""How people and systems mangle an email address on its way into a source record."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdp_pipeline.synth import vocab


@dataclass(frozen=True)
class TypoRates:
    """Per-record probabilities of each kind of damage (rates differ per source)."""

    case: float = 0.05
    spaces: float = 0.02
    domain_typo: float = 0.015
    local_typo: float = 0.005
    invalid: float = 0.005
    gmail_variant: float = 0.15  # of gmail addresses: dots removed or a +tag


def typed_emails(
    rng: np.random.Generator, true: np.ndarray, first: np.ndarray, last: np.ndarray, rates: TypoRates
) -> tuple[np.ndarray, np.ndarray]:
    """(typed address, still reaches the true mailbox?) for each true address.

    Case, spaces and gmail dot/+tag variants still deliver; misspellings and invalid entries do not.
    """
    n = len(true)
    typed = pd.Series(true, dtype=object).copy()
    delivers = np.ones(n, dtype=bool)
    u = rng.random((n, 6))
    local = typed.str.split("@").str[0]
    domain = typed.str.split("@").str[1].fillna("")

    gmail = (domain == "gmail.com").to_numpy() & (u[:, 0] < rates.gmail_variant)
    plus = rng.random(n) < 0.5
    tags = np.array(["shop", "news", "promo", "store", "web"], dtype=object)[rng.integers(0, 5, size=n)]
    typed[gmail & plus] = local[gmail & plus] + "+" + tags[gmail & plus] + "@gmail.com"
    typed[gmail & ~plus] = local[gmail & ~plus].str.replace(".", "", regex=False) + "@gmail.com"

    dom_typo = u[:, 1] < rates.domain_typo
    for good, bad in vocab.DOMAIN_TYPOS.items():
        rows = dom_typo & (domain == good).to_numpy()
        choice = np.array(bad, dtype=object)[rng.integers(0, len(bad), size=rows.sum())]
        typed[rows] = local[rows] + "@" + choice
        delivers[rows] = False
    other = dom_typo & ~domain.isin(list(vocab.DOMAIN_TYPOS)).to_numpy() & (domain != "").to_numpy()
    # swapped letters in a company domain: acme.com -> acem.com
    d = domain[other]
    swapped = d.str[:2] + d.str[3:4] + d.str[2:3] + d.str[4:]
    typed[other] = local[other] + "@" + swapped
    delivers[other] = False

    loc_typo = (u[:, 2] < rates.local_typo) & (local.str.len() > 3).to_numpy()
    lt = typed[loc_typo]
    typed[loc_typo] = lt.str[:1] + lt.str[2:]  # a dropped second letter
    delivers[loc_typo] = False

    invalid = u[:, 3] < rates.invalid
    pattern = np.array(vocab.INVALID_EMAILS, dtype=object)[rng.integers(0, len(vocab.INVALID_EMAILS), size=n)]
    f = pd.Series(first, dtype=object).fillna("").str.lower()
    l = pd.Series(last, dtype=object).fillna("").str.lower().str.replace(" ", "", regex=False)
    inv = pd.Series(pattern, dtype=object)
    inv = inv.where(inv != "{first}@", f + "@")
    inv = inv.where(inv != "{first}.{last}@", f + "." + l + "@")
    typed[invalid] = inv[invalid].to_numpy()
    delivers[invalid] = False

    case = u[:, 4] < rates.case
    upper = rng.random(n) < 0.3
    typed[case & upper] = typed[case & upper].str.upper()
    typed[case & ~upper] = typed[case & ~upper].str[:1].str.upper() + typed[case & ~upper].str[1:]

    spaces = u[:, 5] < rates.spaces
    pad = np.array([" ", "  ", "\t"], dtype=object)[rng.integers(0, 3, size=n)]
    lead = rng.random(n) < 0.5
    typed[spaces & lead] = pad[spaces & lead] + typed[spaces & lead]
    typed[spaces & ~lead] = typed[spaces & ~lead] + pad[spaces & ~lead]
    return typed.to_numpy(dtype=object), delivers
