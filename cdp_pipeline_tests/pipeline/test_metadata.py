"""What assets show in the UI about a frame, without keeping the frame."""

import subprocess
import sys
import textwrap


def test_describing_a_frame_keeps_no_reference_to_it():
    # In a fresh process: Dagster compiles TableSchema's constructor on its first call only.
    code = textwrap.dedent("""
        import gc, weakref
        import pandas as pd
        from cdp_pipeline.defs.metadata import frame_metadata

        frame = pd.DataFrame({"email": ["a@example.com"], "_raw_email": ["a@example.com"]})
        described = weakref.ref(frame)
        frame_metadata(frame)
        del frame
        gc.collect()
        print("freed" if described() is None else "kept")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "freed"
