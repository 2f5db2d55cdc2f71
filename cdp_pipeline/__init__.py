"""cdp_pipeline: a customer data platform's nightly pipeline (see README.md)."""

from cdp_pipeline.frames import prefer_jemalloc_pool

prefer_jemalloc_pool()  # before any step allocates: every entry point imports this package
