"""Personal data never reaches logs or previews in the clear."""

import pandas as pd

from cdp_pipeline.privacy import hash_email, mask_email, mask_frame, mask_text


def test_an_address_is_masked_to_its_first_letters_and_top_level_domain():
    assert mask_email("jane.doe@acme.com") == "j***@a***.com"


def test_free_text_loses_every_address_and_phone_number():
    text = mask_text("jane@acme.com called from +34 612 34 56 78 and (555) 010-0199")
    assert "jane@acme.com" not in text
    assert "612 34 56 78" not in text and "010-0199" not in text


def test_dates_and_file_paths_stay_readable():
    line = "crm/2026-11-02/contacts.csv line 12 at 2026-11-02 10:00:00 (02/11/2026)"
    assert mask_text(line) == line


def test_a_masked_frame_keeps_numbers_and_masks_text_columns():
    frame = pd.DataFrame({"email": ["ann@x.org", None], "orders": [3, 4]})
    masked = mask_frame(frame)
    assert masked["email"].tolist()[0] == "a***@x***.org"
    assert pd.isna(masked["email"].tolist()[1])
    assert masked["orders"].tolist() == [3, 4]


def test_the_erasure_hash_is_one_way_and_stable():
    hashed = hash_email(pd.Series(["ann@x.org", "ann@x.org", None]))
    assert hashed[0] == hashed[1] and len(hashed[0]) == 64 and "ann" not in hashed[0]
    assert pd.isna(hashed[2])
