"""Human vs machine opens and clicks, rule by rule, on hand-written emails."""

from __future__ import annotations

import pandas as pd

from cdp_pipeline.models.human_engagement import flag_machine_engagement, human_responses

T0 = pd.Timestamp("2026-11-02 09:00", tz="UTC")
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)


def email(recipient="ana@example.com", campaign="C1", delivered_after=3, sent=True, delivered=True):
    """The send and delivery rows of one email (seconds after T0)."""
    rows = []
    if sent:
        rows.append((campaign, recipient, "SENT", 0, None, None))
    if delivered:
        rows.append((campaign, recipient, "DELIVERED", delivered_after, None, None))
    return rows


def frame(rows) -> pd.DataFrame:
    """Rows of (campaign, recipient, type, seconds after T0, user agent, link)."""
    out = pd.DataFrame(rows, columns=["campaign_id", "recipient", "event_type", "seconds", "user_agent", "link_url"])
    out.insert(0, "event_id", [f"E{i}" for i in range(len(out))])
    out["event_time"] = (T0 + pd.to_timedelta(out.pop("seconds"), unit="s")).astype("datetime64[us, UTC]")
    return out.astype({"campaign_id": "string", "recipient": "string", "event_type": "string",
                       "user_agent": "string", "link_url": "string"})


def reasons(rows) -> list:
    flagged = flag_machine_engagement(frame(rows))
    return [None if pd.isna(r) else r for r in flagged["machine_reason"]]


def test_bare_mozilla_agent_is_an_apple_privacy_proxy_open_even_hours_later():
    assert reasons([*email(), ("C1", "ana@example.com", "OPEN", 7200, "Mozilla/5.0", None)])[-1] == "privacy_proxy_user_agent"


def test_mac_webkit_agent_without_browser_token_is_a_proxy_but_safari_is_human():
    proxy = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    rows = [*email(), ("C1", "ana@example.com", "OPEN", 3600, proxy, None), ("C1", "ana@example.com", "OPEN", 3700, SAFARI, None)]
    assert reasons(rows)[-2:] == ["privacy_proxy_user_agent", None]


def test_gmail_image_proxy_is_human_when_it_fetches_at_reading_time():
    gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    assert reasons([*email(), ("C1", "ana@example.com", "OPEN", 1800, gmail, None)])[-1] is None


def test_self_declared_link_scanner_click_is_machine():
    rows = [*email(), ("C1", "ana@example.com", "CLICK", 900, "Mimecast URL Protect/1.0", "https://s/a")]
    assert reasons(rows)[-1] == "scanner_user_agent"


def test_events_without_any_user_agent_are_judged_by_timing_alone():
    rows = [*email(delivered_after=3), ("C1", "ana@example.com", "OPEN", 10, None, None),
            ("C1", "ana@example.com", "OPEN", 600, None, None)]
    without_column = flag_machine_engagement(frame(rows).drop(columns="user_agent"))
    assert reasons(rows)[-2:] == ["open_instant_after_delivery", None]
    assert list(without_column["machine_reason"].iloc[-2:].fillna("human")) == ["open_instant_after_delivery", "human"]


def test_open_seconds_after_delivery_is_machine_and_minutes_after_is_human():
    rows = [*email(delivered_after=3), ("C1", "ana@example.com", "OPEN", 10, OUTLOOK, None),
            ("C1", "ana@example.com", "OPEN", 600, OUTLOOK, None)]
    assert reasons(rows)[-2:] == ["open_instant_after_delivery", None]


def test_without_a_delivery_the_send_time_is_the_reference():
    rows = [*email(delivered=False), ("C1", "ana@example.com", "OPEN", 5, OUTLOOK, None)]
    assert reasons(rows)[-1] == "open_instant_after_delivery"


def test_recipient_case_and_spaces_do_not_split_an_email():
    rows = [*email(recipient="Ana@Example.com "), ("C1", "ana@example.com", "OPEN", 8, OUTLOOK, None)]
    assert reasons(rows)[-1] == "open_instant_after_delivery"


def test_recipient_opening_within_a_minute_on_every_campaign_is_behind_a_proxy():
    rows = []
    for number in range(3):
        campaign = f"C{number}"
        rows += email(recipient="bo@example.com", campaign=campaign)
        rows.append((campaign, "bo@example.com", "OPEN", 50, OUTLOOK, None))  # 47 s: not "instant"
        rows.append((campaign, "bo@example.com", "OPEN", 5400, OUTLOOK, None))  # reading later: human
    flagged = flag_machine_engagement(frame(rows))
    opens = flagged[flagged["event_type"] == "OPEN"]
    quick = opens["event_time"] == T0 + pd.Timedelta(seconds=50)
    assert (opens.loc[quick, "machine_reason"] == "recipient_instant_pattern").all()
    assert not opens.loc[~quick, "is_machine"].any()


def test_two_quick_opens_are_not_yet_a_pattern():
    rows = []
    for campaign in ("C1", "C2"):
        rows += email(recipient="bo@example.com", campaign=campaign)
        rows.append((campaign, "bo@example.com", "OPEN", 50, OUTLOOK, None))
    assert reasons(rows)[2] is None and reasons(rows)[-1] is None


def test_several_links_clicked_within_seconds_are_a_scanner_burst():
    rows = [*email(), ("C1", "ana@example.com", "CLICK", 3600, OUTLOOK, "https://s/a"),
            ("C1", "ana@example.com", "CLICK", 3603, OUTLOOK, "https://s/b")]
    assert reasons(rows)[-2:] == ["scanner_link_burst", "scanner_link_burst"]


def test_same_link_twice_or_links_minutes_apart_are_human():
    same = [*email(), ("C1", "ana@example.com", "CLICK", 3600, OUTLOOK, "https://s/a"),
            ("C1", "ana@example.com", "CLICK", 3602, OUTLOOK, "https://s/a")]
    apart = [*email(), ("C1", "ana@example.com", "CLICK", 3600, OUTLOOK, "https://s/a"),
             ("C1", "ana@example.com", "CLICK", 3900, OUTLOOK, "https://s/b")]
    assert reasons(same)[-2:] == [None, None]
    assert reasons(apart)[-2:] == [None, None]


def test_click_seconds_after_delivery_is_machine():
    rows = [*email(), ("C1", "ana@example.com", "CLICK", 12, OUTLOOK, "https://s/a")]
    assert reasons(rows)[-1] == "click_instant_after_delivery"


def test_sends_deliveries_bounces_and_opt_outs_are_never_machine():
    rows = [*email(), ("C1", "ana@example.com", "BOUNCE_SOFT", 4, None, None),
            ("C1", "ana@example.com", "UNSUBSCRIBE", 5, "Mozilla/5.0", None)]
    flagged = flag_machine_engagement(frame(rows))
    assert not flagged["is_machine"].any()
    assert flagged["machine_reason"].isna().all()


def test_flags_are_added_to_the_events_without_reordering_or_dropping_them():
    events = frame([*email(), ("C1", "ana@example.com", "OPEN", 5, "Mozilla/5.0", None)])
    flagged = flag_machine_engagement(events)
    assert flagged["event_id"].tolist() == events["event_id"].tolist()
    assert set(events.columns) < set(flagged.columns)
    assert flagged["is_machine"].dtype == bool


def test_human_responses_keep_only_human_opens_and_clicks():
    events = frame([*email(), ("C1", "ana@example.com", "OPEN", 5, "Mozilla/5.0", None),
                    ("C1", "ana@example.com", "OPEN", 1200, OUTLOOK, None),
                    ("C1", "ana@example.com", "CLICK", 1250, OUTLOOK, "https://s/a")])
    assert human_responses(events)["event_id"].tolist() == ["E3", "E4"]


def test_human_responses_respect_flags_already_on_the_events():
    events = flag_machine_engagement(frame([*email(), ("C1", "ana@example.com", "OPEN", 1200, OUTLOOK, None)]))
    events.loc[events["event_type"] == "OPEN", "is_machine"] = True
    assert human_responses(events).empty
