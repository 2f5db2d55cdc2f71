"""Best send time: the local hour of the week each person is most likely to read an email.

Why it is built this way:

* **Sends, not opens.** A person can only open what was sent, so a histogram of open hours mostly
  mirrors past send hours. We estimate, per local send hour, P(human response soon after a send
  | a send at that hour) as successes / trials over *sends*, which corrects the send-time bias
  instead of learning it. Each human OPEN/CLICK is attributed to the send it answers (the latest
  SENT/DELIVERED of the same campaign to that person before it); a send is a success when a human
  response came within ``response_window_hours`` (late responses still belong to their send but
  do not say the hour worked). Sends whose window has not closed yet are left out (censored).
* **Hour of day x weekday, separately.** A person receives a few dozen sends in a season: 168
  hour-of-week cells would hold a fraction of a send each. Reading routines are mostly about the
  time of day, with some days better than others, so we estimate the hour of day and the weekday
  separately (each from all of the person's sends) and recommend their best combination.
* **Reading-hour mixture for the hour of day (empirical Bayes).** Each person reads around one
  local hour; a send g hours away from it is answered with probability level x shape(g). The
  shape is learnt from everyone's data and each person gets a posterior over their reading hour
  whose prior is their cohort's distribution of reading hours (shrunk to the population's), by
  EM. Unlike independent per-hour rates this lets every send, answered or not, say something
  about *every* candidate hour, which matters with a few dozen sends; the posterior also gives
  an honest confidence (the probability that the person reads within +-1 h of the
  recommendation). The person's level is estimated *given* each candidate hour: someone sent
  mostly at their reading hour answers often without being keen, and a level taken from their
  raw response rate would make their far-off sends look like refusals.
* **Beta-Binomial shrinkage for rates.** population -> cohort (time zone, work vs personal
  address, engagement tier) -> person for the overall response level and the weekday profile:
  each level's Beta prior is centred on the level above, with a strength estimated from the
  data by the method of moments (the over-dispersion of the units around their prior means).
  A person with one open stays near their cohort; a person with many follows their own pattern.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from cdp_pipeline.models.timezones import (
    local_hour_of_week_codes,
    next_week_utc,
    resolve_timezones,
)

SEND_TYPES = ("SENT", "DELIVERED")
RESPONSE_TYPES = ("OPEN", "CLICK")
BOUNCE_TYPES = ("BOUNCE_HARD", "BOUNCE_SOFT")
UNKNOWN = "unknown"
DAYS, HOURS = 7, 24

# Free-mail and consumer-ISP domains: an address there is personal, anything else is work.
PERSONAL_DOMAIN_PATTERN = (
    r"^(?:gmail|googlemail|yahoo|ymail|rocketmail|hotmail|outlook|live|msn|icloud|me|mac|aol|"
    r"gmx|web|proton|protonmail|pm|yandex|mail|zoho|tutanota|orange|free|wanadoo|laposte|sfr|"
    r"libero|virgilio|tiscali|alice|t-online|freenet|arcor|posteo|btinternet|sky|virginmedia|"
    r"talktalk|ntlworld|telefonica|movistar|terra|uol|bol|bigpond|optusnet|shaw|rogers|"
    r"sympatico|comcast|verizon|att|sbcglobal|cox|charter|qq|163|126|naver|daum|seznam|wp|o2|"
    r"onet|interia|bluewin|telenet|skynet|ziggo|kpnmail|planet|home|hetnet|online|op|abv)\."
)


@dataclass(frozen=True)
class SendTimeSettings:
    """Tunable choices of the send-time model (defaults are the documented ones)."""

    response_window_hours: float = 24.0  # a response this soon after a send says the hour worked
    personal_evidence: float = 0.5  # confidence from which the basis is 'personal'
    em_iterations: int = 20  # EM rounds learning the response shape and reading-hour priors
    em_sample: int = 100_000  # persons (with a response) the EM rounds learn from
    seed: int = 0  # draws that sample
    hit_tolerance_hours: int = 1  # evaluation: a send within +-1 h of the recommendation is a hit
    min_correlation: float = 1e-4  # bounds of the moment estimate of rho = 1 / (1 + strength)
    max_correlation: float = 0.999


@dataclass
class SendTimeModel:
    """A fitted send-time model: per-person recommendations plus cohort and population fallbacks."""

    settings: SendTimeSettings
    as_of: pd.Timestamp  # only events strictly before this instant were used
    persons: pd.DataFrame  # person_id, cohort, best_hour_local, confidence, basis, sends, responses
    reading_hour: np.ndarray  # persons x 24 posterior probability of reading at each local hour
    person_day_rate: np.ndarray  # persons x 7 posterior response rate by local weekday (Mon=0)
    cohort_best_hour_local: pd.Series  # cohort -> best local hour of week
    population_best_hour_local: int
    response_shape: np.ndarray  # response-rate multiplier by hours away from the reading hour
    heatmap_trials: np.ndarray  # 7 x 24 sends by local weekday x hour (whole population)
    heatmap_successes: np.ndarray  # 7 x 24 of them answered within the response window
    strengths: dict[str, float] = field(default_factory=dict)
    train_sends: int = 0


def email_domain_type(emails: pd.Series) -> pd.Series:
    """'personal' (free-mail / consumer ISP), 'work' (other domains), 'unknown' (no address)."""
    text = emails.astype("string").str.strip().str.lower()
    domain = text.str.replace(r"^.*@", "", regex=True).where(text.str.contains("@", regex=False))
    personal = domain.str.contains(PERSONAL_DOMAIN_PATTERN, regex=True)
    kind = np.where(personal.fillna(False).to_numpy(bool), "personal", "work")
    return pd.Series(np.where(domain.isna(), UNKNOWN, kind), index=emails.index, dtype="string")


def person_cohorts(profiles: pd.DataFrame, tiers: pd.Series | None = None) -> pd.DataFrame:
    """Per profile: time zone (+ basis), address type, engagement tier and the cohort key.

    ``tiers`` is an optional Series person_id -> engagement tier (high / medium / low), e.g.
    ``engagement_scores.set_index("person_id")["tier"]``; persons without one are 'unknown'.
    """
    zones = resolve_timezones(profiles)
    emails = profiles["primary_email"] if "primary_email" in profiles else pd.Series(
        pd.NA, index=profiles.index, dtype="string"
    )
    tier = (
        profiles["person_id"].map(tiers).astype("string").fillna(UNKNOWN)
        if tiers is not None
        else pd.Series(UNKNOWN, index=profiles.index, dtype="string")
    )
    frame = pd.DataFrame(
        {
            "person_id": profiles["person_id"],
            "timezone": zones["timezone"],
            "timezone_basis": zones["timezone_basis"],
            "domain_type": email_domain_type(emails),
            "tier": tier,
        }
    )
    frame["cohort"] = frame["timezone"] + "|" + frame["domain_type"] + "|" + frame["tier"]
    return frame.drop_duplicates("person_id").reset_index(drop=True)


def _with_machine_flag(email_events: pd.DataFrame) -> pd.DataFrame:
    """Events carrying ``is_machine``; flagged by the engagement work when the caller has not."""
    if "is_machine" in email_events:
        return email_events
    from cdp_pipeline.models.human_engagement import flag_machine_engagement

    return flag_machine_engagement(email_events)


def _type_mask(type_codes: np.ndarray, type_names: pd.Index, kinds: tuple[str, ...]) -> np.ndarray:
    """Rows whose event type is one of ``kinds`` (case-insensitive), decided once per type."""
    wanted = np.append(pd.Index(type_names).astype("string").str.upper().isin(kinds), False)
    return wanted[type_codes]  # code -1 (missing type) hits the trailing False


@dataclass
class AttributedSends:
    """Sends as arrays, persons as codes into ``person_ids``: the fast internal form.

    Times are UTC epoch nanoseconds; ``first_response`` is -1 when the send drew no response.
    ``response_person`` / ``response_time`` list every human response (for the baselines).
    """

    person_ids: pd.Index
    person: np.ndarray
    campaign_ids: pd.Index
    campaign: np.ndarray
    send_time: np.ndarray
    first_response: np.ndarray
    responded: np.ndarray
    complete: np.ndarray
    response_person: np.ndarray
    response_time: np.ndarray

    def subset(self, mask: np.ndarray) -> "AttributedSends":
        """The sends selected by ``mask``; persons and responses unchanged."""
        return AttributedSends(
            self.person_ids, self.person[mask], self.campaign_ids, self.campaign[mask],
            self.send_time[mask], self.first_response[mask], self.responded[mask],
            self.complete[mask], self.response_person, self.response_time,
        )

    def frame(self) -> pd.DataFrame:
        """One row per send, readable: person_id, campaign_id, times, responded, complete."""
        def utc(ns):
            return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")

        first = utc(self.first_response).where(self.first_response >= 0)
        return pd.DataFrame(
            {
                "person_id": self.person_ids[self.person],
                "campaign_id": self.campaign_ids[self.campaign],
                "send_time": utc(self.send_time),
                "first_response_time": first,
                "responded": self.responded,
                "complete": self.complete,
            }
        )


def _attribute(
    email_events: pd.DataFrame, as_of: pd.Timestamp, response_window_hours: float
) -> AttributedSends:
    """Array implementation of :func:`attribute_responses`."""
    events = _with_machine_flag(email_events)
    times = pd.DatetimeIndex(events["event_time"]).as_unit("ns")
    usable = np.asarray(times < as_of) & events["person_id"].notna().to_numpy(bool)
    type_codes, type_names = pd.factorize(events["event_type"])
    machine = events["is_machine"].astype("boolean").fillna(False).to_numpy(bool)
    is_send = _type_mask(type_codes, type_names, SEND_TYPES) & usable
    is_bounce = _type_mask(type_codes, type_names, BOUNCE_TYPES) & usable
    is_response = _type_mask(type_codes, type_names, RESPONSE_TYPES) & usable & ~machine

    rows = np.flatnonzero(is_send | is_bounce | is_response)
    # Factorising whole columns and then selecting codes is cheaper than selecting strings;
    # sorted codes make the order of the sends independent of the order of the rows.
    person, person_ids = pd.factorize(events["person_id"], sort=True)
    campaign, campaign_ids = pd.factorize(events["campaign_id"], sort=True, use_na_sentinel=False)
    recipient, recipients = pd.factorize(events["recipient"], sort=True, use_na_sentinel=False)
    pair = person[rows].astype(np.int64) * (len(campaign_ids) + 1) + campaign[rows]
    message = pair * (len(recipients) + 1) + recipient[rows]
    nanoseconds = times.asi8[rows]
    is_send, is_bounce, is_response = is_send[rows], is_bounce[rows], is_response[rows]

    # One send per message (campaign x recipient address): its earliest SENT/DELIVERED row,
    # unless the message bounced. One sort of the message keys gives both.
    mailing = np.flatnonzero(is_send | is_bounce)
    order = mailing[np.argsort(message[mailing], kind="stable")]
    keys = message[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else keys
    never = np.iinfo(np.int64).max
    first_sent = np.minimum.reduceat(np.where(is_send[order], nanoseconds[order], never), starts)
    bounced = np.logical_or.reduceat(is_bounce[order], starts) if len(keys) else keys.astype(bool)
    keep = (first_sent < never) & ~bounced
    send_pair = keys[starts][keep] // (len(recipients) + 1)
    send_time = first_sent[keep]

    responses = np.flatnonzero(is_response)
    response_time = nanoseconds[responses]
    first_response = _latest_send_before(send_pair, send_time, pair[responses], response_time)

    window = int(pd.Timedelta(hours=response_window_hours).value)
    return AttributedSends(
        person_ids=pd.Index(person_ids),
        person=send_pair // (len(campaign_ids) + 1),
        campaign_ids=pd.Index(campaign_ids),
        campaign=send_pair % (len(campaign_ids) + 1),
        send_time=send_time,
        first_response=first_response,
        responded=(first_response >= 0) & (first_response - send_time <= window),
        complete=send_time + window <= as_of.value,
        response_person=pair[responses] // (len(campaign_ids) + 1),
        response_time=response_time,
    )


def _latest_send_before(send_pair, send_time, response_pair, response_time) -> np.ndarray:
    """Per send, the time of the first response attributed to it (-1 if none).

    A response goes to the latest send of its (person, campaign) at or before it: sorting sends
    on one (pair, second) key turns that into a binary search.
    """
    first = np.full(len(send_time), -1, dtype=np.int64)
    if not len(send_time) or not len(response_time):
        return first
    origin = min(send_time.min(), response_time.min())
    span = (max(send_time.max(), response_time.max()) - origin) // 1_000_000_000 + 1
    if (int(max(send_pair.max(), response_pair.max())) + 1) * int(span) >= 2**62:
        raise ValueError("too many (person, campaign) pairs over too long a period to attribute")
    send_key = send_pair * span + (send_time - origin) // 1_000_000_000
    response_key = response_pair * span + (response_time - origin) // 1_000_000_000
    order = np.argsort(send_key, kind="stable")
    position = np.searchsorted(send_key[order], response_key, side="right") - 1
    matched = (position >= 0) & (send_pair[order[np.maximum(position, 0)]] == response_pair)
    never = np.iinfo(np.int64).max
    earliest = np.full(len(send_time), never, dtype=np.int64)
    np.minimum.at(earliest, order[position[matched]], response_time[matched])
    return np.where(earliest < never, earliest, first)


def attribute_responses(
    email_events: pd.DataFrame, as_of: pd.Timestamp, response_window_hours: float = 24.0
) -> pd.DataFrame:
    """One row per send with the human response it drew, using only events before ``as_of``.

    A send is one message: a campaign to one recipient address of a person (its SENT and
    DELIVERED rows collapse to the earliest time); sends that bounced are dropped, they never
    reached anyone. Each human OPEN/CLICK goes to the latest send of the same campaign to the same
    person at or before it. Columns: person_id, campaign_id, send_time, first_response_time,
    responded (a response within the window), complete (the window closed before ``as_of``).
    """
    return _attribute(email_events, as_of, response_window_hours).frame()


def beta_binomial_strength(
    successes: np.ndarray,
    trials: np.ndarray,
    prior_mean: np.ndarray | float,
    settings: SendTimeSettings = SendTimeSettings(),
) -> float:
    """Beta prior strength (a + b) shared by units whose prior means are known, by moments.

    For k ~ BetaBinomial(n, mean m, strength s): E[(k - n m)^2] = n m (1 - m) (1 + (n - 1) rho)
    with rho = 1 / (1 + s), so pooling the units gives
    rho = sum[(k - n m)^2 / (m (1 - m)) - n] / sum[n (n - 1)]. Only units with two or more
    trials carry information on rho. Little spread between units -> a strong prior (shrink hard);
    a lot -> a weak one (trust each unit's data).
    """
    n = np.asarray(trials, dtype=float)
    k = np.asarray(successes, dtype=float)
    m = np.clip(np.broadcast_to(prior_mean, n.shape), 1e-6, 1 - 1e-6)
    use = n >= 2
    n, k, m = n[use], k[use], m[use]
    denominator = (n * (n - 1)).sum()
    if denominator <= 0:
        return 1.0 / settings.min_correlation - 1.0
    numerator = ((k - n * m) ** 2 / (m * (1 - m)) - n).sum()
    rho = numerator / denominator
    rho = float(np.clip(rho, settings.min_correlation, settings.max_correlation))
    return 1.0 / rho - 1.0


def _leave_cell_out_mean(n, k, parent_level, level_strength, profile):
    """Each cell's prior mean from its unit's level estimated *without* that cell.

    A unit's level estimated from all its cells follows each cell's own noise (a person with no
    response gets a level near zero), which hides the spread between hours and makes the moment
    estimate of the hour prior strength collapse; leaving the cell out removes that dependence.
    """
    rest_n = n.sum(axis=1, keepdims=True) - n
    rest_k = k.sum(axis=1, keepdims=True) - k
    level = (rest_k + level_strength * parent_level[:, None]) / (rest_n + level_strength)
    return level * profile


def _counts(codes: np.ndarray, bins: np.ndarray, width: int, units: int, weights=None):
    """units x width matrix of (weighted) counts of (unit, bin) pairs."""
    flat = np.bincount(codes * width + bins, weights=weights, minlength=units * width)
    return flat.reshape(units, width).astype(float)


def _population_zone(cohorts: pd.DataFrame) -> str:
    """The zone given to persons without evidence (resolve_timezones' population choice)."""
    fallback = cohorts.loc[cohorts["timezone_basis"] == "population", "timezone"]
    if len(fallback):
        return str(fallback.iloc[0])
    return str(cohorts["timezone"].value_counts().sort_index().idxmax()) if len(cohorts) else "UTC"


@dataclass
class _Located:
    """Per person (aligned with a person index): time zone code and cohort name."""

    zone: np.ndarray
    zone_names: pd.Index
    cohort: np.ndarray

    def local_hours(self, person: np.ndarray, utc_nanoseconds: np.ndarray) -> np.ndarray:
        """Local hour of week of each (person code, UTC instant)."""
        hours = local_hour_of_week_codes(utc_nanoseconds, self.zone[person], self.zone_names)
        return hours.astype(np.int64)


def _locate(person_ids: pd.Index, cohorts: pd.DataFrame) -> _Located:
    """Each person's zone and cohort; persons without a profile get the population zone."""
    position = pd.Index(cohorts["person_id"]).get_indexer(person_ids)  # -1: no profile
    fallback = _population_zone(cohorts)
    zone = np.append(cohorts["timezone"].to_numpy(object), fallback)[position]
    cohort = np.append(
        cohorts["cohort"].to_numpy(object), f"{fallback}|{UNKNOWN}|{UNKNOWN}"
    )[position]
    zone_code, zone_names = pd.factorize(zone, sort=True)
    return _Located(zone=zone_code, zone_names=pd.Index(zone_names), cohort=cohort)


def _weekday_fit(n_p, k_p, n_c, k_c, n_pop, k_pop, person_cohort, levels, settings):
    """Beta-Binomial posterior rates by local weekday: cohort shrunk to population, person to
    cohort, each prior centred on the level above times its relative weekday profile."""
    level_pop, level_c, level_p = levels["population"], levels["cohort"], levels["person"]
    pop_profile = (k_pop + level_pop) / (n_pop + 1.0) / level_pop  # strength-1 guard: empty days
    cohort_strength = beta_binomial_strength(
        k_c, n_c,
        _leave_cell_out_mean(n_c, k_c, np.full(len(n_c), level_pop), levels["cohort_strength"],
                             pop_profile[None, :]),
        settings,
    )
    cohort_prior = np.clip(level_c[:, None] * pop_profile[None, :], 1e-6, 1 - 1e-6)
    cohort_rate = (k_c + cohort_strength * cohort_prior) / (n_c + cohort_strength)
    cohort_profile = cohort_rate / level_c[:, None]
    person_strength = beta_binomial_strength(
        k_p, n_p,
        _leave_cell_out_mean(n_p, k_p, level_c[person_cohort], levels["person_strength"],
                             cohort_profile[person_cohort]),
        settings,
    )
    person_prior = np.clip(level_p[:, None] * cohort_profile[person_cohort], 1e-6, 1 - 1e-6)
    person_rate = (k_p + person_strength * person_prior) / (n_p + person_strength)
    return pop_profile, cohort_rate, person_rate, cohort_strength, person_strength


# Hours between every candidate reading hour (rows) and every send hour (columns), around the clock.
_HOUR_GAP = np.minimum(
    np.abs(np.subtract.outer(np.arange(HOURS), np.arange(HOURS))),
    HOURS - np.abs(np.subtract.outer(np.arange(HOURS), np.arange(HOURS))),
)
_GAPS = HOURS // 2 + 1  # 0..12 hours away


@dataclass
class ReadingHours:
    """The reading-hour mixture: who reads when, and how the response rate falls off around it."""

    posterior: np.ndarray  # persons x 24: P(the person's reading hour is h | their sends)
    cohort_prior: np.ndarray  # cohorts x 24: share of the cohort reading at each hour
    population_prior: np.ndarray  # 24
    shape: np.ndarray  # 13: response-rate multiplier 0..12 hours away from the reading hour
    prior_strength: float  # Dirichlet strength shrinking cohort priors to the population's


def _normalised_shape(shape: np.ndarray) -> np.ndarray:
    """Scaled so the multiplier averages 1 over the 24 hours (the level keeps its meaning)."""
    return shape / shape[_HOUR_GAP[0]].mean()


# _GAP_INDICATOR[h, g * 24 + c] = 1 when send hour h is g hours away from candidate hour c.
_GAP_INDICATOR = np.zeros((HOURS, _GAPS * HOURS), dtype=np.float32)
_GAP_INDICATOR[np.arange(HOURS)[None, :], _HOUR_GAP * HOURS + np.arange(HOURS)[:, None]] = 1.0


def _gap_sums(counts: np.ndarray) -> np.ndarray:
    """persons x gaps x 24: counts by local hour summed by their gap to each candidate hour."""
    return (counts @ _GAP_INDICATOR).reshape(-1, _GAPS, HOURS)


def _candidate_levels(sends_by_gap, responses, prior_level, strength, shape) -> np.ndarray:
    """persons x 24: each person's response level (rate at an average hour) if they read at c.

    A person's sends are rarely spread evenly over the day, so their overall response rate says
    as much about *when* they were sent as about how keen they are: a person sent mostly at
    their reading hour answers often without being keen. Given a candidate hour c the sends
    amount to ``sum(shape(gap))`` average-hour sends, and the level is the Gamma-Poisson
    posterior mean (responses + strength x prior) / (that exposure + strength).
    """
    exposure = np.einsum("pgc,g->pc", sends_by_gap, shape)
    return (responses[:, None] + strength * prior_level[:, None]) / (exposure + strength)


def _hour_log_likelihood(n, k, prior_level, strength, shape, chunk: int = 16_384):
    """persons x 24 log P(sends and responses | reading hour c), and the level behind it.

    Sends and responses are summed by their gap to each candidate (one matrix product), then
    weighted by the log chance of a response / no response at that gap, ``level(c) x
    shape(gap)``; in chunks of persons to bound memory.
    """
    result = np.empty((len(n), HOURS), dtype=np.float32)
    levels = np.empty((len(n), HOURS), dtype=np.float32)
    responses = k.sum(axis=1, dtype=np.float32)
    shape = shape.astype(np.float32)
    for start in range(0, len(n), chunk):
        rows = slice(start, start + chunk)
        sends, hits = _gap_sums(n[rows]), _gap_sums(k[rows])
        levels[rows] = _candidate_levels(sends, responses[rows], prior_level[rows], strength, shape)
        rate = np.clip(levels[rows, None, :] * shape[None, :, None], 1e-6, 1 - 1e-6)
        result[rows] = (hits * np.log(rate) + (sends - hits) * np.log1p(-rate)).sum(axis=1)
    return result, levels


def _normalised_posterior(log_likelihood, log_prior) -> np.ndarray:
    weights = log_likelihood + log_prior
    weights = np.exp(weights - weights.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def _fitted_shape(posterior, n, k, levels) -> np.ndarray:
    """M-step: responses over level-expected responses, by hours away from the reading hour."""
    observed = posterior.T @ k  # candidate x send hour
    expected = (posterior * levels).T @ n
    gaps = _HOUR_GAP.ravel()
    observed = np.bincount(gaps, weights=observed.ravel(), minlength=_GAPS)
    expected = np.bincount(gaps, weights=expected.ravel(), minlength=_GAPS)
    return _normalised_shape((observed + 1.0) / (expected + 1.0))


def _hour_priors(posterior, cohort, n_cohorts, settings):
    """Population share of each reading hour, and each cohort's shrunk towards it (Dirichlet
    strength by the same moment estimate as the rates, on expected member counts)."""
    population = posterior.mean(axis=0)
    members = np.bincount(cohort, minlength=n_cohorts).astype(float)
    expected = np.stack(
        [np.bincount(cohort, weights=posterior[:, h], minlength=n_cohorts) for h in range(HOURS)],
        axis=1,
    )
    strength = beta_binomial_strength(
        expected, np.repeat(members[:, None], HOURS, axis=1), population[None, :], settings
    )
    cohort_prior = (expected + strength * population) / (members[:, None] + strength)
    return population, cohort_prior, strength


def reading_hours(
    n: np.ndarray,
    k: np.ndarray,
    prior_level: np.ndarray,
    level_strength: float,
    person_cohort: np.ndarray,
    n_cohorts: int,
    settings: SendTimeSettings = SendTimeSettings(),
) -> ReadingHours:
    """Each person's posterior over their reading hour, by empirical-Bayes EM.

    Model: a person reads around one local hour c; a send h hours of the day away from it is
    answered with probability level(c) x shape(gap(h, c)), the person's level given c shrunk
    towards ``prior_level`` (their cohort's) with ``level_strength``. The shape (shared by
    everyone) and the cohort priors over c (shrunk to the population's) are learnt by EM on a
    seeded sample of the persons with at least one response; then every person's posterior is
    computed once. ``n`` / ``k``: persons x 24 sends and quick responses by local hour of day.
    """
    n, k = n.astype(np.float32), k.astype(np.float32)
    answered = np.flatnonzero(k.sum(axis=1) > 0)
    sample = np.random.default_rng(settings.seed).choice(
        answered, size=min(settings.em_sample, len(answered)), replace=False
    )
    rows = np.sort(sample)
    shape = _normalised_shape(1.0 + 2.0 * np.exp(-np.arange(_GAPS) ** 2 / 8.0))  # a start
    population = np.full(HOURS, 1.0 / HOURS)
    cohort_prior = np.full((n_cohorts, HOURS), 1.0 / HOURS)
    strength = 0.0
    for _ in range(settings.em_iterations if len(rows) else 0):
        log_likelihood, levels = _hour_log_likelihood(
            n[rows], k[rows], prior_level[rows], level_strength, shape
        )
        posterior = _normalised_posterior(
            log_likelihood, np.log(cohort_prior[person_cohort[rows]])
        )
        shape = _fitted_shape(posterior, n[rows], k[rows], levels)
        population, cohort_prior, strength = _hour_priors(
            posterior, person_cohort[rows], n_cohorts, settings
        )
    log_likelihood, _ = _hour_log_likelihood(n, k, prior_level, level_strength, shape)
    posterior = _normalised_posterior(log_likelihood, np.log(cohort_prior[person_cohort]))
    return ReadingHours(posterior, cohort_prior, population, shape, strength)


def _fit(
    sends: AttributedSends,
    located: _Located,
    as_of: pd.Timestamp,
    settings: SendTimeSettings,
) -> SendTimeModel:
    """Fits the hierarchy on attributed sends whose response window has closed; ``located``
    gives the zone and cohort of each of ``sends.person_ids``."""
    how = located.local_hours(sends.person, sends.send_time)
    hour, day = how % HOURS, how // HOURS
    success = sends.responded.astype(float)
    person_code, person_ids = sends.person, sends.person_ids
    person_cohort, cohort_names = pd.factorize(located.cohort, sort=True)
    cohort_code = person_cohort[person_code]
    n_persons, n_cohorts = len(person_ids), len(cohort_names)

    level_pop = max(success.mean() if len(success) else 0.0, 1e-6)
    n_cohort = np.bincount(cohort_code, minlength=n_cohorts).astype(float)
    k_cohort = np.bincount(cohort_code, weights=success, minlength=n_cohorts)
    s_cohort_level = beta_binomial_strength(k_cohort, n_cohort, level_pop, settings)
    level_c = (k_cohort + s_cohort_level * level_pop) / (n_cohort + s_cohort_level)
    n_person = np.bincount(person_code, minlength=n_persons).astype(float)
    k_person = np.bincount(person_code, weights=success, minlength=n_persons)
    s_person_level = beta_binomial_strength(k_person, n_person, level_c[person_cohort], settings)
    level_p = (k_person + s_person_level * level_c[person_cohort]) / (n_person + s_person_level)
    levels = {
        "population": level_pop,
        "cohort": level_c,
        "person": level_p,
        "cohort_strength": s_cohort_level,
        "person_strength": s_person_level,
    }

    reading = reading_hours(
        _counts(person_code, hour, HOURS, n_persons),
        _counts(person_code, hour, HOURS, n_persons, success),
        level_c[person_cohort], s_person_level, person_cohort, n_cohorts, settings,
    )
    pop_day, cohort_day, person_day, s_cohort_day, s_person_day = _weekday_fit(
        _counts(person_code, day, DAYS, n_persons),
        _counts(person_code, day, DAYS, n_persons, success),
        _counts(cohort_code, day, DAYS, n_cohorts),
        _counts(cohort_code, day, DAYS, n_cohorts, success),
        np.bincount(day, minlength=DAYS).astype(float),
        np.bincount(day, weights=success, minlength=DAYS),
        person_cohort, levels, settings,
    )

    # The hour most likely to be within the hit tolerance of the reading hour (not the single
    # most likely reading hour: 8 h between two likely 7 h and 9 h wins), and that probability
    # as the confidence. Near-ties (a sharp posterior is within +-1 h of three hours) go to the
    # most likely reading hour itself.
    within = reading.posterior @ (_HOUR_GAP <= settings.hit_tolerance_hours).astype(np.float32)
    best_hour = (within + 1e-3 * reading.posterior).argmax(axis=1)
    confidence = np.take_along_axis(within, best_hour[:, None], axis=1)[:, 0]
    answered = k_person > 0
    basis = np.select(
        [~answered, confidence >= settings.personal_evidence], ["population", "personal"], "blended"
    )
    persons = pd.DataFrame(
        {
            "person_id": person_ids,
            "cohort": cohort_names[person_cohort],
            "best_hour_local": person_day.argmax(axis=1) * HOURS + best_hour,
            "confidence": confidence.astype(float),
            "basis": basis,
            "sends": n_person.astype(np.int64),
            "responses": k_person.astype(np.int64),
        }
    )
    cohort_best = pd.Series(
        cohort_day.argmax(axis=1) * HOURS + reading.cohort_prior.argmax(axis=1),
        index=pd.Index(cohort_names, name="cohort"),
        name="best_hour_local",
    )
    return SendTimeModel(
        settings=settings,
        as_of=as_of,
        persons=persons,
        reading_hour=reading.posterior,
        person_day_rate=person_day,
        cohort_best_hour_local=cohort_best,
        population_best_hour_local=int(
            pop_day.argmax() * HOURS + reading.population_prior.argmax()
        ),
        response_shape=reading.shape,
        heatmap_trials=_counts(day, hour, HOURS, DAYS),
        heatmap_successes=_counts(day, hour, HOURS, DAYS, success),
        strengths={
            "cohort_level": s_cohort_level,
            "person_level": s_person_level,
            "cohort_reading_hour": reading.prior_strength,
            "cohort_day": s_cohort_day,
            "person_day": s_person_day,
        },
        train_sends=len(sends.send_time),
    )


def data_cutoff(reference_date: date | pd.Timestamp) -> pd.Timestamp:
    """Events up to the end of the reference date (UTC) are known on that date."""
    day = pd.Timestamp(reference_date).normalize().tz_localize(None)
    return day.tz_localize("UTC") + pd.Timedelta(days=1)


def fit_send_time_model(
    email_events: pd.DataFrame,
    profiles: pd.DataFrame,
    reference_date: date | pd.Timestamp,
    settings: SendTimeSettings = SendTimeSettings(),
    tiers: pd.Series | None = None,
) -> SendTimeModel:
    """Fits on every send whose response window closed by the end of ``reference_date``.

    ``email_events``: crm_email_events columns + person_id (+ is_machine, else flagged by the
    engagement work). ``profiles``: person_id, timezone, country, primary_email (phone optional).
    ``tiers``: optional person_id -> engagement tier for the cohorts.
    """
    as_of = data_cutoff(reference_date)
    sends = _attribute(email_events, as_of, settings.response_window_hours)
    located = _locate(sends.person_ids, person_cohorts(profiles, tiers))
    return _fit(sends.subset(sends.complete), located, as_of, settings)


def _recommend_local(model: SendTimeModel, cohorts: pd.DataFrame) -> pd.DataFrame:
    """Best local hour of week, confidence and basis for each cohort row (person fallbacks)."""
    known = cohorts.merge(
        model.persons[["person_id", "best_hour_local", "confidence", "basis"]],
        on="person_id",
        how="left",
    )
    fallback = (
        known["cohort"].map(model.cohort_best_hour_local).fillna(model.population_best_hour_local)
    )
    missing = known["best_hour_local"].isna()
    known["best_hour_local"] = known["best_hour_local"].fillna(fallback).astype(np.int64)
    known["confidence"] = known["confidence"].fillna(0.0).astype(float)
    known["basis"] = known["basis"].where(~missing, "population").astype("string")
    return known


def recommend_send_times(
    model: SendTimeModel,
    profiles: pd.DataFrame,
    reference_date: date | pd.Timestamp,
    tiers: pd.Series | None = None,
) -> pd.DataFrame:
    """The ``send_times`` table: one row per profile, the coming week's best hour in UTC.

    Persons without sends in the model get their cohort's choice (or the population's for an
    unseen cohort), confidence 0 and basis 'population'.
    """
    rows = _recommend_local(model, person_cohorts(profiles, tiers))
    how = rows["best_hour_local"].to_numpy()
    return pd.DataFrame(
        {
            "person_id": rows["person_id"],
            "best_hour_utc": next_week_utc(how, rows["timezone"].to_numpy(), reference_date),
            "best_local_hour": how % HOURS,
            "confidence": rows["confidence"].round(4),
            "basis": rows["basis"],
            "timezone": rows["timezone"],
            "timezone_basis": rows["timezone_basis"],
            "best_hour_local": how,
        }
    )


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def population_heatmap(model: SendTimeModel) -> pd.DataFrame:
    """7 x 24 share of sends answered within the window, by local weekday x hour (NaN: none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = model.heatmap_successes / model.heatmap_trials
    return pd.DataFrame(rate, index=list(WEEKDAY_NAMES), columns=list(range(HOURS)))


def heatmap_png(matrix: pd.DataFrame) -> bytes:
    """The population heatmap as a PNG for the UI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 3.2), dpi=100)
    image = axis.imshow(matrix.to_numpy(dtype=float), aspect="auto", cmap="viridis")
    axis.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns], fontsize=7)
    axis.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index])
    axis.set_xlabel("local hour of send")
    axis.set_title("Human response rate within the window, by local send hour")
    figure.colorbar(image, ax=axis, label="response rate")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def circular_hour_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hours between two hours of the day around the clock (23 and 0 are 1 hour apart)."""
    gap = np.abs(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64)) % HOURS
    return np.minimum(gap, HOURS - gap)


def schedule_weights(zone: np.ndarray, send_hour: np.ndarray) -> np.ndarray:
    """Per held-out send, the inverse of how often its zone's sends went out at its local hour.

    Campaigns go out at a few UTC hours, so the held-out sends of a zone pile up at a few local
    hours (four campaigns in four weeks is common). Unweighted, the share of responses near an
    hour mostly says how many sends happened to go out near it: an hour that a big held-out
    campaign hit scores well whoever reads then. Weighting each send by 1 / P(local hour | zone)
    scores every choice as if each zone's sends had been spread evenly over the hours that were
    used (the same correction the model makes for past send hours); each zone keeps its weight.
    """
    zone = np.asarray(zone, dtype=np.int64)
    if not len(zone):
        return np.zeros(0)
    cell = zone * HOURS + np.asarray(send_hour, dtype=np.int64)
    cell_sends = np.bincount(cell)
    zone_sends = np.bincount(zone)
    hours_used = np.bincount(np.flatnonzero(cell_sends) // HOURS, minlength=len(zone_sends))
    return zone_sends[zone] / (hours_used[zone] * cell_sends[cell])


def score_hours(send_hour: np.ndarray, recommended: np.ndarray, responded: np.ndarray,
                weights: np.ndarray, tolerance: int) -> dict[str, float]:
    """Hit rate and response rate of held-out sends for one way of choosing the hour.

    The model and both baselines go through this function with the same sends, responses and
    ``weights`` (:func:`schedule_weights`); ``hit_rate_unadjusted`` is the plain share of
    responded sends within the tolerance, kept to show how much the send schedule weighs.
    """
    near = circular_hour_distance(send_hour, recommended) <= tolerance
    answered, near_weight = weights * responded, weights * near

    def ratio(numerator: float, denominator: float) -> float:
        return float(numerator / denominator) if denominator > 0 else float("nan")

    return {
        "hit_rate": ratio((answered * near).sum(), answered.sum()),
        "response_rate_at_recommended": ratio((near_weight * responded).sum(), near_weight.sum()),
        "hit_rate_unadjusted": ratio((near & responded).sum(), responded.sum()),
        "sends_at_recommended": int(near.sum()),
    }


def person_mode_hours(
    sends: AttributedSends, located: _Located, before: pd.Timestamp
) -> np.ndarray:
    """Baseline: each person's most frequent local hour of human opens/clicks before ``before``
    (ties: the earliest hour); -1 for persons without any."""
    earlier = sends.response_time < before.value
    person = sends.response_person[earlier]
    hour = located.local_hours(person, sends.response_time[earlier]) % HOURS
    counts = _counts(person, hour, HOURS, len(sends.person_ids))
    return np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)


def evaluate_send_times(
    email_events: pd.DataFrame,
    profiles: pd.DataFrame,
    reference_date: date | pd.Timestamp,
    holdout_weeks: int = 4,
    settings: SendTimeSettings = SendTimeSettings(),
    tiers: pd.Series | None = None,
) -> tuple[dict, SendTimeModel]:
    """Fits on the data before the last ``holdout_weeks`` weeks and scores the held-out sends.

    Held-out sends: sends from ``cut = end of reference_date - holdout_weeks`` whose response
    window closed by the end of the reference date. Each is compared with the *local hour of the
    day* its person was recommended at the cut (hours apart around the clock):

    * ``hit_rate``: among held-out sends that drew a human response within the window, the share
      sent within +-``hit_tolerance_hours`` of the recommended hour (one response per send);
    * ``response_rate_at_recommended``: the human response rate of the held-out sends that went
      out within +-``hit_tolerance_hours`` of the recommended hour (an estimate of the rate if
      every person were sent at their recommended hour, since campaigns vary their send hours).

    Both weight each send by :func:`schedule_weights`, so they do not reward an hour for being
    one the few held-out campaigns happened to use; ``hit_rate_unadjusted`` is the plain share.
    Baselines, scored by the same :func:`score_hours` on the same sends and weights:
    ``global_best_hour`` (the single local hour with the best training response rate, for
    everyone) and ``person_mode_hour`` (each person's most frequent local hour of past human
    opens/clicks, the global best hour when they have none).
    Returns the metrics and the model fitted at the cut.
    """
    as_of = data_cutoff(reference_date)
    sends = _attribute(email_events, as_of, settings.response_window_hours)
    located = _locate(sends.person_ids, person_cohorts(profiles, tiers))
    return _evaluate(sends, located, as_of, holdout_weeks, settings)


def fit_and_evaluate_send_times(
    email_events: pd.DataFrame,
    profiles: pd.DataFrame,
    reference_date: date | pd.Timestamp,
    holdout_weeks: int = 4,
    settings: SendTimeSettings = SendTimeSettings(),
    tiers: pd.Series | None = None,
) -> tuple[SendTimeModel, dict]:
    """:func:`fit_send_time_model` and :func:`evaluate_send_times` sharing one attribution pass
    (the nightly run needs both; attribution is most of the cost)."""
    as_of = data_cutoff(reference_date)
    sends = _attribute(email_events, as_of, settings.response_window_hours)
    located = _locate(sends.person_ids, person_cohorts(profiles, tiers))
    model = _fit(sends.subset(sends.complete), located, as_of, settings)
    metrics, _ = _evaluate(sends, located, as_of, holdout_weeks, settings)
    return model, metrics


def _evaluate(
    sends: AttributedSends,
    located: _Located,
    as_of: pd.Timestamp,
    holdout_weeks: int,
    settings: SendTimeSettings,
) -> tuple[dict, SendTimeModel]:
    """The evaluation of :func:`evaluate_send_times` on sends attributed up to ``as_of``."""
    cut = as_of - pd.Timedelta(weeks=holdout_weeks)
    window = int(pd.Timedelta(hours=settings.response_window_hours).value)
    train = sends.subset(sends.send_time + window <= cut.value)
    model = _fit(train, located, cut, settings)

    held = sends.subset((sends.send_time >= cut.value) & sends.complete)
    send_hour = located.local_hours(held.person, held.send_time) % HOURS
    responded = held.responded

    # The model covers every person of ``sends`` in the same order, so codes index it directly.
    model_hour = model.persons["best_hour_local"].to_numpy()[held.person] % HOURS
    trials_by_hour = np.maximum(model.heatmap_trials.sum(axis=0), 1)
    train_hours = model.heatmap_successes.sum(axis=0) / trials_by_hour
    global_hour = int(train_hours.argmax())
    mode = person_mode_hours(sends, located, cut)[held.person]
    mode_hour = np.where(mode >= 0, mode, global_hour)

    tolerance = settings.hit_tolerance_hours
    weights = schedule_weights(located.zone[held.person], send_hour)
    scores = {
        name: score_hours(send_hour, hours, responded, weights, tolerance)
        for name, hours in (
            ("model", model_hour),
            ("global_best_hour", np.full(len(send_hour), global_hour)),
            ("person_mode_hour", mode_hour),
        )
    }
    metrics = scores.pop("model")
    baselines = scores
    for name, baseline in baselines.items():
        for measure, lift in (("hit_rate", "hit_rate_lift"),
                              ("response_rate_at_recommended", "response_rate_lift")):
            ratio = metrics[measure] / baseline[measure] if baseline[measure] else float("nan")
            metrics[f"{lift}_vs_{name}"] = ratio
    metrics.update(
        {
            "holdout_weeks": holdout_weeks,
            "holdout_start": cut.isoformat(),
            "holdout_sends": int(len(send_hour)),
            "holdout_responses": int(responded.sum()),
            "holdout_response_rate": float(responded.mean()) if len(send_hour) else float("nan"),
            "holdout_campaigns": int(len(np.unique(held.campaign))),
            "train_sends": model.train_sends,
            "global_best_local_hour": global_hour,
            "response_window_hours": settings.response_window_hours,
            "hit_tolerance_hours": tolerance,
            "prior_strengths": {k: round(v, 3) for k, v in model.strengths.items()},
            "baselines": baselines,
        }
    )
    return metrics, model


def human_response_counts(email_events: pd.DataFrame) -> pd.Series:
    """Human opens and clicks per person: the evidence behind a personal recommendation."""
    human = email_events["event_type"].isin(["OPEN", "CLICK"]) & ~email_events["is_machine"].astype(bool)
    return email_events.loc[human].groupby("person_id").size()


def model_run_record(model: SendTimeModel, metrics: dict, reference_date: date | pd.Timestamp) -> dict:
    """One ``model_runs`` row: the model's own metrics apart from its baselines'.

    The version hashes what defines the fit (settings, prior strengths, training sends), so the
    same inputs give the same version.
    """
    import hashlib
    import json

    own = {k: v for k, v in metrics.items() if k != "baselines"}
    fingerprint = json.dumps(
        {"settings": repr(model.settings), "strengths": model.strengths, "train_sends": int(model.train_sends)},
        sort_keys=True, default=str,
    )
    return {
        "model": "send_time",
        "model_version": "st-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:12],
        "trained_at": pd.Timestamp(reference_date),
        "train_rows": int(model.train_sends),
        "metrics": json.dumps(own, sort_keys=True, default=str),
        "baseline_metrics": json.dumps(metrics.get("baselines", {}), sort_keys=True, default=str),
    }
