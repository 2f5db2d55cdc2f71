"""``cdp synth``: a realistic, deterministic landing folder of nightly drops plus its truth.

See ``README.md`` in this folder for what the people do, which flaws appear and what the truth
folder holds.
"""

from cdp_pipeline.synth.generate import SynthSummary, generate

__all__ = ["generate", "SynthSummary"]
