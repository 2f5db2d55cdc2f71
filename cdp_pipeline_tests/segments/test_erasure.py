"""Erasure: the person goes everywhere, only hashes stay, and it survives re-delivery."""

from __future__ import annotations

import pandas as pd

from cdp_pipeline.erasure import (
    ERASED_RECORDS_FILE,
    RECORD_HASH_COLUMN,
    ErasureState,
    apply_erasure,
    drop_erased_addresses,
    drop_persons,
    erased_record_hashes,
    without_erased_records,
)
from cdp_pipeline.ingest.state import Ledger, StateStore
from cdp_pipeline_tests.segments.helpers import profile_emails, profiles, run


def identity_map(rows):
    return pd.DataFrame(rows, columns=["source", "source_record_id", "person_id"])


def addresses(rows):
    return pd.DataFrame(rows, columns=["person_id", "email"])


def requests(*emails):
    return pd.DataFrame(
        {"request_id": [f"r{i}" for i in range(len(emails))], "email": list(emails),
         "requested_at": pd.Timestamp("2026-11-01", tz="UTC")}
    )


IDENTITIES = identity_map(
    [("crm", "c1", "jane"), ("webinar", "w9:jane.work@acme.com", "jane"), ("crm", "c2", "joe")]
)
EMAILS = addresses([("jane", "janedoe@gmail.com"), ("jane", "jane.work@acme.com"),
                    ("joe", "joe@example.com")])


def test_the_person_an_address_resolves_to_is_erased_whichever_form_it_was_written_in():
    erased, ledger = apply_erasure(IDENTITIES, EMAILS, requests(" Jane.Doe+shop@GMAIL.com"), None)
    assert erased == ["jane"]
    # only hashes persist: one column, every value a SHA-256 hex digest
    assert list(ledger.columns) == ["email_hash"] and len(ledger)
    assert ledger["email_hash"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_erasure_survives_redelivery_of_the_same_data_from_the_ledger_alone():
    _, ledger = apply_erasure(IDENTITIES, EMAILS, requests("janedoe@gmail.com"), [])
    # next run: no new request, the data comes back and identity assigns a new person id
    redelivered = addresses([("p-new", "janedoe@gmail.com"), ("joe", "joe@example.com")])
    erased, ledger_after = apply_erasure(identity_map([]), redelivered, None, ledger)
    assert erased == ["p-new"]
    assert ledger_after.equals(ledger)


def test_an_address_known_only_from_a_webinar_registration_resolves_to_its_person():
    only_webinar = addresses([("joe", "joe@example.com")])
    erased, _ = apply_erasure(IDENTITIES, only_webinar, requests("JANE.WORK@acme.com "), [])
    assert erased == ["jane"]


def test_requests_for_unknown_addresses_erase_nobody_but_are_remembered():
    erased, ledger = apply_erasure(IDENTITIES, EMAILS, requests("stranger@example.com"), ["ab"])
    assert erased == []
    assert "ab" in set(ledger["email_hash"]) and len(ledger) > 1


def test_drop_persons_and_drop_erased_addresses_remove_every_row_of_the_erased():
    frame = pd.DataFrame({"person_id": ["jane", "joe", "jane", None], "x": [1, 2, 3, 4]})
    assert drop_persons(frame, ["jane"])["x"].tolist() == [2, 4]
    _, ledger = apply_erasure(IDENTITIES, EMAILS, requests("janedoe@gmail.com"), [])
    raw = pd.DataFrame({"email": ["Jane.Doe@gmail.com", "joe@example.com", None]})
    assert drop_erased_addresses(raw, "email", ledger)["email"].tolist()[:1] == ["joe@example.com"]
    assert len(drop_erased_addresses(raw, "email", ledger)) == 2


def test_an_erased_person_is_in_no_segment_table():
    people = ["jane", "joe"]
    erased, _ = apply_erasure(IDENTITIES, profile_emails(people), requests("jane@example.com"), [])
    kept = drop_persons(profiles(people), erased)
    _, tables = run(["joe"], profile_frame=kept,
                    emails=drop_persons(profile_emails(people), erased),
                    tiers={"jane": "low", "joe": "low"})
    everyone = set().union(*(set(t["person_id"]) for t in tables.values()))
    assert erased == ["jane"] and everyone == {"joe"}


def test_a_snapshot_delivering_an_erased_contact_again_loses_it_before_resolution():
    remembered = erased_record_hashes(["crm:C2", "store:S9", "web:cookie-1"])
    assert len(remembered) == 2  # only snapshot records come back; cookies and orders do not
    frames = {"crm_contacts": pd.DataFrame({"record_id": ["C1", " C2 "]}),
              "store_customers": pd.DataFrame({"customer_id": ["S1"]})}
    tables, removed = without_erased_records(frames, remembered)
    assert tables["crm_contacts"]["record_id"].tolist() == ["C1"]
    assert tables["store_customers"]["customer_id"].tolist() == ["S1"]
    assert removed == {"crm_contacts": 1}


def test_erasure_rewrites_a_stored_extract_whole_though_it_judged_rows_by_a_few_columns(tmp_path):
    """Identity reads only some columns of an extract; the stored table keeps all of them, and
    loses exactly the erased rows."""
    stored = pd.DataFrame({"record_id": ["C1", "C2", "C3"], "first_name": ["Ana", "Bo", "Cy"],
                           "job_title": ["CTO", "CFO", "CEO"]})
    StateStore(tmp_path).commit("crm_contacts", stored, Ledger())
    pd.DataFrame({RECORD_HASH_COLUMN: sorted(erased_record_hashes(["crm:C2"]))}).to_parquet(
        tmp_path / ERASED_RECORDS_FILE)

    tables, removed = ErasureState(tmp_path).drop_redelivered({"crm_contacts": stored[["record_id"]]})

    assert tables["crm_contacts"]["record_id"].tolist() == ["C1", "C3"] and removed == {"crm_contacts": 1}
    after, _ = StateStore(tmp_path).load("crm_contacts")
    pd.testing.assert_frame_equal(after, stored.drop(index=1).reset_index(drop=True))


def test_the_purge_reads_the_sources_again_only_when_someone_asked_to_be_erased(tmp_path):
    """Resolution lets its source frames go; most nights the ledger is empty and nothing is read."""
    stored = pd.DataFrame({"record_id": ["C1", "C2"], "email": ["janedoe@gmail.com", "joe@example.com"]})
    StateStore(tmp_path).commit("crm_contacts", stored, Ledger())
    reads = []

    def read_frames():
        reads.append(1)
        return {"crm_contacts": stored}

    state = ErasureState(tmp_path)
    nobody = state.purge(read_frames, None, None, state.record_requests(None))
    assert reads == [] and nobody.removed == {}

    state.purge(read_frames, None, None, state.record_requests(requests("joe@example.com")))
    assert reads == [1]
