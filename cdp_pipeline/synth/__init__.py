"""``cdp synth``: a realistic, deterministic landing folder of nightly drops plus its truth.

See ``README.md`` in this folder for what the people do, which flaws appear and what the truth
folder holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from cdp_pipeline.synth.generate import generate

__all__ = ["generate", "SynthSummary"]
