"""clara-logger: profile validated predictions with whylogs, keep their history, watch for drift."""
