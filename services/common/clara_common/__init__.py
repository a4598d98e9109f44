"""Code every CLARA Monitor service shares: the record contract, settings, classes, days, the database."""
