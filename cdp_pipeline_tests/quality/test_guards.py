from cdp_pipeline.quality.guards import evaluate_guards, quarantine_share_reason, snapshot_loss_reason


def test_a_file_is_held_only_when_more_than_the_allowed_share_is_quarantined():
    assert quarantine_share_reason(100, 50, 0.5) is None
    assert "51 of 100 rows quarantined" in quarantine_share_reason(100, 51, 0.5)
    assert quarantine_share_reason(0, 0, 0.5) is None  # an empty file has nothing to judge


def test_a_handful_of_rows_is_too_few_to_judge_a_file_by_its_quarantined_share():
    assert quarantine_share_reason(3, 3, 0.5) is None
    assert quarantine_share_reason(20, 20, 0.5) is not None
    assert quarantine_share_reason(3, 3, 0.5, min_rows=1) is not None


def test_a_snapshot_is_held_when_it_loses_more_than_the_allowed_share_of_records():
    assert snapshot_loss_reason(1000, 200, 0.2) is None
    assert "would delete 900 of 1000 records" in snapshot_loss_reason(1000, 900, 0.2)
    assert snapshot_loss_reason(0, 0, 0.2) is None  # the first snapshot has nothing to lose


def test_increments_are_never_judged_on_snapshot_loss():
    assert not evaluate_guards(10, 0, 0.5, previous_records=None, lost_records=10).held
    verdict = evaluate_guards(30, 29, 0.5, previous_records=100, lost_records=90)
    assert verdict.held and len(verdict.reasons) == 2 and ";" in verdict.message
