from datetime import date

from cdp_pipeline.extracts import CRM_CONTACTS, WEBINAR_ATTENDEES
from cdp_pipeline.ingest.landing import complete_drops, extract_files, incomplete_drops

from .helpers import write_drop


def test_only_date_folders_with_an_empty_success_marker_are_complete_and_come_in_date_order(tmp_path):
    write_drop(tmp_path, "crm", "2026-11-03", {"contacts.csv": "x"})
    write_drop(tmp_path, "crm", "2026-11-01", {"contacts.csv": "x"})
    write_drop(tmp_path, "crm", "2026-11-04", {"contacts.csv": "x"}, complete=False)
    non_empty = write_drop(tmp_path, "crm", "2026-11-05", {"contacts.csv": "x"}, complete=False)
    (non_empty / "_SUCCESS").write_text("still copying")
    write_drop(tmp_path, "crm", "not-a-date", {"contacts.csv": "x"})
    write_drop(tmp_path, "store", "2026-11-02", {"orders.csv": "x"})

    drops = complete_drops(tmp_path)

    assert [(d.source, d.date) for d in drops] == [
        ("crm", date(2026, 11, 1)),
        ("store", date(2026, 11, 2)),
        ("crm", date(2026, 11, 3)),
    ]
    assert [d.date for d in complete_drops(tmp_path, "crm")] == [date(2026, 11, 1), date(2026, 11, 3)]
    assert [d.date for d in incomplete_drops(tmp_path, "crm")] == [date(2026, 11, 4), date(2026, 11, 5)]


def test_extract_files_follow_the_extract_glob_and_source(tmp_path):
    write_drop(tmp_path, "webinar", "2026-11-01", {"attendees_2.csv": "x", "attendees_1.csv": "x", "notes.txt": "x"})
    (drop,) = complete_drops(tmp_path)
    assert [p.name for p in extract_files(WEBINAR_ATTENDEES, drop)] == ["attendees_1.csv", "attendees_2.csv"]
    assert extract_files(CRM_CONTACTS, drop) == []
