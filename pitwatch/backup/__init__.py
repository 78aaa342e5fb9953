"""Backups proven by restore (docs/backup.md).

``run_backup`` dumps the platform's database (PostgreSQL: ``pg_dump --format=custom``;
SQLite: the online backup API) into a timestamped, checksummed file; ``verify_latest``
restores the newest one into a scratch database, runs the full ledger check and counts the
money tables there, and times it. Both record their runs in pitwatch's state database
(``backup_runs``), which the state exporter turns into the metrics of
collectors/catalog/backup.py.
"""
