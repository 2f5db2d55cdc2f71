"""Best send time: the local hour of the week each person is most likely to read an email.

Why it is built this way:

* **Sends, not opens.** A person can only open what was sent, so a histogram of open hours mostly
  mirrors past send hours. We estimate, per local send hour, P(human response soon after a send
  | a send at that hour) as successes / trials over *sends*, which corrects the send-time bias
  instead of learning it. Each human OPEN/CLICK is attributed to the send it answers (the latest
  SENT/DELIVERED of the same campaign to that person before it); a send is a success when a human
  response came within ``response_window_hours`` (late responses still belong to their send but
  do not say the hour worked). Sends whose window has not closed yet are left out (censored).
* **Separable hour-of-day x weekday.** A person receives a few dozen sends in a season: 168
  hour-of-week cells would hold a fraction of a send each. Reading routines are mostly about the
  time of day, with some days better than others, so we estimate a 24-hour profile and a 7-day
  profile separately (31 parameters, each using all of the person's sends) and recommend their
  best combination. Hours are smoothed with a small circular triangular kernel (weights sum to 1,
  so no send is counted twice): a person who reads at 08:00 also answers 07:00 and 09:00 sends
  soon, and neighbouring hours share their evidence.
* **Hierarchical empirical Bayes (Beta-Binomial).** population -> cohort (time zone, work vs
  personal address, engagement tier) -> person. Each level's rates get a Beta prior centred on
  the level above, for the overall response level and for the relative hour / weekday profile;
  the prior strength of every level is estimated from the data by the method of moments (the
  over-dispersion of the units around their prior means). A person with one open stays near their
  cohort; a person with many follows their own pattern.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from cdp_pipeline.models.timezones import local_hour_of_week, next_week_utc, resolve_timezones

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
    hour_kernel: tuple[float, ...] = (1.0, 2.0, 3.0, 2.0, 1.0)  # circular, centred, +-2 h
    personal_evidence: float = 0.5  # own-data weight at the chosen hour from which basis=personal
    hit_tolerance_hours: int = 1  # evaluation: a send within +-1 h of the recommendation is a hit
    min_correlation: float = 1e-4  # bounds of the moment estimate of rho = 1 / (1 + strength)
    max_correlation: float = 0.999


@dataclass
class LevelFit:
    """Posterior rates of one level of the hierarchy and the prior strength used to get them."""

    rate: np.ndarray  # units x bins posterior mean response rate
    trials: np.ndarray  # units x bins smoothed sends (the evidence)
    strength: float  # Beta prior strength (a + b) estimated from the data


@dataclass
class SendTimeModel:
    """A fitted send-time model: per-person recommendations plus cohort and population fallbacks."""

    settings: SendTimeSettings
    as_of: pd.Timestamp  # only events strictly before this instant were used
    persons: pd.DataFrame  # person_id, cohort, best_hour_local, confidence, basis, sends, responses
    person_hour_rate: np.ndarray  # persons x 24 posterior response rate by local hour of day
    person_day_rate: np.ndarray  # persons x 7 posterior response rate by local weekday (Mon=0)
    cohort_best_hour_local: pd.Series  # cohort -> best local hour of week
    population_best_hour_local: int
    heatmap_trials: np.ndarray  # 7 x 24 sends by local weekday x hour (whole population)
    heatmap_successes: np.ndarray  # 7 x 24 of them answered within the response window
    strengths: dict[str, float] = field(default_factory=dict)
    train_sends: int = 0


def email_domain_type(emails: pd.Series) -> pd.Series:
    """'personal' (free-mail / consumer ISP), 'work' (any other domain) or 'unknown' (no address)."""
    domain = emails.astype("string").str.strip().str.lower().str.extract(r"@([^@\s]+)$")[0]
    personal = domain.str.contains(PERSONAL_DOMAIN_PATTERN, regex=True)
    kind = np.where(personal.fillna(False).to_numpy(bool), "personal", "work")
    return pd.Series(np.where(domain.isna(), UNKNOWN, kind), index=emails.index, dtype="string")


def person_cohorts(profiles: pd.DataFrame, tiers: pd.Series | None = None) -> pd.DataFrame:
    """Per profile: time zone (+ basis), address type, engagement tier and the cohort key.

    ``tiers`` is an optional Series person_id -> engagement tier (high / medium / low); persons
    without one are in tier 'unknown'.
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
    events = _with_machine_flag(email_events)
    events = events[events["event_time"] < as_of]
    events = events[events["person_id"].notna()]
    kind = events["event_type"].astype("string").str.upper()

    is_send = kind.isin(SEND_TYPES).to_numpy(bool)
    is_bounce = kind.isin(BOUNCE_TYPES).to_numpy(bool)
    machine = events["is_machine"].astype("boolean").fillna(False).to_numpy(bool)
    is_response = kind.isin(RESPONSE_TYPES).to_numpy(bool) & ~machine

    message = events[["person_id", "campaign_id", "recipient"]].astype("string").fillna("")
    msg_codes, _ = pd.factorize(pd.MultiIndex.from_frame(message))
    pc_codes, _ = pd.factorize(pd.MultiIndex.from_frame(message[["person_id", "campaign_id"]]))
    bounced = np.zeros(len(events), dtype=bool)
    bounced[msg_codes[is_bounce]] = True

    keep = is_send & ~bounced[msg_codes]
    sends = (
        pd.DataFrame(
            {
                "person_id": events["person_id"].to_numpy()[keep],
                "campaign_id": events["campaign_id"].to_numpy()[keep],
                "send_time": events["event_time"].array[keep],
                "_msg": msg_codes[keep],
                "_pc": pc_codes[keep],
            }
        )
        .sort_values(["_msg", "send_time"], kind="stable")
        .drop_duplicates("_msg")
        .sort_values("send_time", kind="stable")
        .reset_index(drop=True)
    )
    sends["_send"] = np.arange(len(sends))

    responses = pd.DataFrame(
        {
            "_pc": pc_codes[is_response],
            "response_time": events["event_time"].array[is_response],
        }
    ).sort_values("response_time", kind="stable")
    matched = pd.merge_asof(
        responses,
        sends[["_pc", "send_time", "_send"]],
        left_on="response_time",
        right_on="send_time",
        by="_pc",
        direction="backward",
    ).dropna(subset=["_send"])
    first = matched.groupby(matched["_send"].astype(np.int64))["response_time"].min()

    window = pd.Timedelta(hours=response_window_hours)
    result = sends[["person_id", "campaign_id", "send_time"]].copy()
    result["first_response_time"] = first.reindex(np.arange(len(sends))).array
    delay = result["first_response_time"] - result["send_time"]
    result["responded"] = (delay <= window).fillna(False).astype(bool)
    result["complete"] = (result["send_time"] + window) <= as_of
    return result


def circular_smooth(counts: np.ndarray, kernel: tuple[float, ...]) -> np.ndarray:
    """Circular convolution along the last axis with a centred kernel rescaled to sum to 1."""
    weights = np.asarray(kernel, dtype=float)
    weights = weights / weights.sum()
    half = len(weights) // 2
    smoothed = np.zeros(counts.shape, dtype=float)
    for position, weight in enumerate(weights):
        smoothed += weight * np.roll(counts, position - half, axis=-1)
    return smoothed


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
    denominator = (n[use] * (n[use] - 1)).sum()
    if denominator <= 0:
        return 1.0 / settings.min_correlation - 1.0
    numerator = ((k[use] - n[use] * m[use]) ** 2 / (m[use] * (1 - m[use])) - n[use]).sum()
    rho = float(np.clip(numerator / denominator, settings.min_correlation, settings.max_correlation))
    return 1.0 / rho - 1.0


def shrink_rates(
    trials: np.ndarray,
    successes: np.ndarray,
    prior_mean: np.ndarray,
    kernel: tuple[float, ...] | None,
    settings: SendTimeSettings = SendTimeSettings(),
) -> LevelFit:
    """Posterior mean rates (k + s m) / (n + s) of one level, counts optionally smoothed."""
    prior = np.clip(prior_mean, 1e-6, 1 - 1e-6)
    strength = beta_binomial_strength(successes, trials, prior, settings)
    if kernel is not None:
        trials, successes = circular_smooth(trials, kernel), circular_smooth(successes, kernel)
    rate = (successes + strength * prior) / (trials + strength)
    return LevelFit(rate=rate, trials=np.asarray(trials, dtype=float), strength=strength)


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


def _send_cohorts(sends: pd.DataFrame, cohorts: pd.DataFrame) -> pd.DataFrame:
    """Each send's person's time zone and cohort (persons without a profile: population zone)."""
    zone = _population_zone(cohorts)
    lookup = cohorts.set_index("person_id")
    timezone = sends["person_id"].map(lookup["timezone"]).fillna(zone).astype("string")
    cohort = sends["person_id"].map(lookup["cohort"])
    cohort = cohort.fillna(timezone + f"|{UNKNOWN}|{UNKNOWN}").astype("string")
    return pd.DataFrame({"timezone": timezone, "cohort": cohort}, index=sends.index)


def _profile_fits(n_p, k_p, n_c, k_c, n_pop, k_pop, person_cohort, level_p, level_c, level_pop,
                  kernel, settings):
    """Cohort then person posteriors of one relative profile (hour of day or weekday)."""
    smooth = (lambda x: circular_smooth(x, kernel)) if kernel is not None else (lambda x: x)
    pop_rate = (smooth(k_pop) + level_pop) / (smooth(n_pop) + 1.0)  # strength-1 guard: empty bins
    pop_profile = pop_rate / level_pop
    cohort = shrink_rates(n_c, k_c, level_c[:, None] * pop_profile[None, :], kernel, settings)
    cohort_profile = cohort.rate / level_c[:, None]
    person = shrink_rates(
        n_p, k_p, level_p[:, None] * cohort_profile[person_cohort], kernel, settings
    )
    return pop_profile, cohort, person


def fit_send_time_model_from_sends(
    sends: pd.DataFrame,
    cohorts: pd.DataFrame,
    as_of: pd.Timestamp,
    settings: SendTimeSettings = SendTimeSettings(),
) -> SendTimeModel:
    """Fits the hierarchy on attributed, complete sends (see :func:`attribute_responses`)."""
    located = _send_cohorts(sends, cohorts)
    how = local_hour_of_week(sends["send_time"], located["timezone"]).to_numpy().astype(np.int64)
    hour, day = how % HOURS, how // HOURS
    success = sends["responded"].to_numpy(dtype=float)
    person_code, person_ids = pd.factorize(sends["person_id"], sort=True)
    cohort_code, cohort_names = pd.factorize(located["cohort"], sort=True)
    n_persons, n_cohorts = len(person_ids), len(cohort_names)
    person_cohort = np.zeros(n_persons, dtype=np.int64)
    person_cohort[person_code] = cohort_code

    level_pop = max(success.mean() if len(success) else 0.0, 1e-6)
    n_cohort = np.bincount(cohort_code, minlength=n_cohorts).astype(float)
    k_cohort = np.bincount(cohort_code, weights=success, minlength=n_cohorts)
    s_cohort_level = beta_binomial_strength(k_cohort, n_cohort, level_pop, settings)
    level_c = (k_cohort + s_cohort_level * level_pop) / (n_cohort + s_cohort_level)
    n_person = np.bincount(person_code, minlength=n_persons).astype(float)
    k_person = np.bincount(person_code, weights=success, minlength=n_persons)
    s_person_level = beta_binomial_strength(k_person, n_person, level_c[person_cohort], settings)
    level_p = (k_person + s_person_level * level_c[person_cohort]) / (n_person + s_person_level)

    def fits(bins, width, kernel):
        return _profile_fits(
            _counts(person_code, bins, width, n_persons),
            _counts(person_code, bins, width, n_persons, success),
            _counts(cohort_code, bins, width, n_cohorts),
            _counts(cohort_code, bins, width, n_cohorts, success),
            np.bincount(bins, minlength=width).astype(float),
            np.bincount(bins, weights=success, minlength=width),
            person_cohort, level_p, level_c, level_pop, kernel, settings,
        )

    pop_hour, cohort_hour, person_hour = fits(hour, HOURS, settings.hour_kernel)
    pop_day, cohort_day, person_day = fits(day, DAYS, None)

    best_hour = person_hour.rate.argmax(axis=1)
    best_day = person_day.rate.argmax(axis=1)
    evidence = person_hour.trials[np.arange(n_persons), best_hour]
    confidence = evidence / (evidence + person_hour.strength)
    persons = pd.DataFrame(
        {
            "person_id": person_ids,
            "cohort": cohort_names[person_cohort],
            "best_hour_local": best_day * HOURS + best_hour,
            "confidence": confidence,
            "basis": np.where(confidence >= settings.personal_evidence, "personal", "blended"),
            "sends": n_person.astype(np.int64),
            "responses": k_person.astype(np.int64),
        }
    )
    cohort_best = pd.Series(
        cohort_day.rate.argmax(axis=1) * HOURS + cohort_hour.rate.argmax(axis=1),
        index=pd.Index(cohort_names, name="cohort"),
        name="best_hour_local",
    )
    return SendTimeModel(
        settings=settings,
        as_of=as_of,
        persons=persons,
        person_hour_rate=person_hour.rate,
        person_day_rate=person_day.rate,
        cohort_best_hour_local=cohort_best,
        population_best_hour_local=int(pop_day.argmax() * HOURS + pop_hour.argmax()),
        heatmap_trials=_counts(day, hour, HOURS, DAYS),
        heatmap_successes=_counts(day, hour, HOURS, DAYS, success),
        strengths={
            "cohort_level": s_cohort_level,
            "person_level": s_person_level,
            "cohort_hour": cohort_hour.strength,
            "person_hour": person_hour.strength,
            "cohort_day": cohort_day.strength,
            "person_day": person_day.strength,
        },
        train_sends=len(sends),
    )


def data_cutoff(reference_date: date | pd.Timestamp) -> pd.Timestamp:
    """Events up to the end of the reference date (UTC) are known on that date."""
    return pd.Timestamp(reference_date).normalize().tz_localize(None).tz_localize("UTC") + pd.Timedelta(
        days=1
    )


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
    sends = attribute_responses(email_events, as_of, settings.response_window_hours)
    return fit_send_time_model_from_sends(
        sends[sends["complete"]], person_cohorts(profiles, tiers), as_of, settings
    )


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
    """7 x 24 share of sends answered within the window, by local weekday and hour (NaN: no sends)."""
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


def _hit_metrics(send_hour: np.ndarray, recommended: np.ndarray, responded: np.ndarray,
                 tolerance: int) -> dict[str, float]:
    """Hit rate and response rate of held-out sends for one way of choosing the hour."""
    near = circular_hour_distance(send_hour, recommended) <= tolerance
    return {
        "hit_rate": float(near[responded].mean()) if responded.any() else float("nan"),
        "response_rate_at_recommended": float(responded[near].mean()) if near.any() else float("nan"),
        "sends_at_recommended": int(near.sum()),
    }


def person_mode_hours(
    email_events: pd.DataFrame, cohorts: pd.DataFrame, before: pd.Timestamp
) -> pd.Series:
    """Baseline: each person's most frequent local hour of human opens/clicks (ties: earliest)."""
    events = _with_machine_flag(email_events)
    kind = events["event_type"].astype("string").str.upper()
    human = (
        kind.isin(RESPONSE_TYPES)
        & ~events["is_machine"].astype("boolean").fillna(False)
        & events["person_id"].notna()
        & (events["event_time"] < before)
    )
    responses = events.loc[human.to_numpy(bool), ["person_id", "event_time"]].reset_index(drop=True)
    located = _send_cohorts(responses, cohorts)
    hour = local_hour_of_week(responses["event_time"], located["timezone"]).to_numpy() % HOURS
    code, person_ids = pd.factorize(responses["person_id"], sort=True)
    counts = _counts(code, hour.astype(np.int64), HOURS, len(person_ids))
    return pd.Series(counts.argmax(axis=1), index=person_ids, name="mode_hour")


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

    Baselines on the same sends: ``global_best_hour`` (the single local hour with the best
    training response rate, for everyone) and ``person_mode_hour`` (each person's most frequent
    local hour of past human opens/clicks, the global best hour when they have none).
    Returns the metrics and the model fitted at the cut.
    """
    as_of = data_cutoff(reference_date)
    cut = as_of - pd.Timedelta(weeks=holdout_weeks)
    window = pd.Timedelta(hours=settings.response_window_hours)
    cohorts = person_cohorts(profiles, tiers)
    sends = attribute_responses(email_events, as_of, settings.response_window_hours)
    train = sends[sends["send_time"] + window <= cut]
    model = fit_send_time_model_from_sends(train, cohorts, cut, settings)

    held = sends[(sends["send_time"] >= cut) & sends["complete"]].reset_index(drop=True)
    located = _send_cohorts(held, cohorts)
    send_hour = local_hour_of_week(held["send_time"], located["timezone"]).to_numpy() % HOURS
    responded = held["responded"].to_numpy(bool)

    recommended = _recommend_local(model, cohorts).set_index("person_id")["best_hour_local"] % HOURS
    model_hour = held["person_id"].map(recommended)
    model_hour = model_hour.fillna(model.population_best_hour_local % HOURS).to_numpy(np.int64)
    train_hours = model.heatmap_successes.sum(axis=0) / np.maximum(model.heatmap_trials.sum(axis=0), 1)
    global_hour = int(train_hours.argmax())
    mode = person_mode_hours(email_events, cohorts, cut)
    mode_hour = held["person_id"].map(mode).fillna(global_hour).to_numpy(np.int64)

    tolerance = settings.hit_tolerance_hours
    metrics = _hit_metrics(send_hour, model_hour, responded, tolerance)
    baselines = {
        "global_best_hour": _hit_metrics(send_hour, np.full(len(held), global_hour), responded,
                                         tolerance),
        "person_mode_hour": _hit_metrics(send_hour, mode_hour, responded, tolerance),
    }
    for name, baseline in baselines.items():
        metrics[f"hit_rate_lift_vs_{name}"] = metrics["hit_rate"] / baseline["hit_rate"]
        metrics[f"response_rate_lift_vs_{name}"] = (
            metrics["response_rate_at_recommended"] / baseline["response_rate_at_recommended"]
        )
    metrics.update(
        {
            "holdout_weeks": holdout_weeks,
            "holdout_start": cut.isoformat(),
            "holdout_sends": int(len(held)),
            "holdout_responses": int(responded.sum()),
            "holdout_response_rate": float(responded.mean()) if len(held) else float("nan"),
            "train_sends": int(len(train)),
            "global_best_local_hour": global_hour,
            "response_window_hours": settings.response_window_hours,
            "hit_tolerance_hours": tolerance,
            "prior_strengths": {k: round(v, 3) for k, v in model.strengths.items()},
            "baselines": baselines,
        }
    )
    return metrics, model
