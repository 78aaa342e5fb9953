"""The matching of the wallet against its counterparties: one matcher a pair (``psp``,
``affiliate``, ``internal``) plus the rejected input rows (``rejects``), each returning an
``engine.MatchResult``; ``engine`` holds the DuckDB join they share."""
