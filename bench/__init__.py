"""`make bench`: the sync engine against a peer (dlt) and the floor (fetching alone), on one sandbox and one
PostgreSQL, plus incremental, memory and rate-limit runs. See docs/performance.md."""
