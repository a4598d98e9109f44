"""The drift vocabulary: the features the logger tests for drift, their names in words, and what a class's
share is a share of. The logger's notices, /api/drift, Prometheus and the page (through /api/vocabulary)
all take them from here."""

from __future__ import annotations

# In the order the page and Prometheus list them.
FEATURES = ("predicted_class", "true_class", "confidence")
FEATURE_NAMES = {"predicted_class": "predicted class", "true_class": "true class", "confidence": "confidence"}
# A class feature's shift is a move in its share of this population (confidence has no classes).
SHARE_OF = {"predicted_class": "of predictions", "true_class": "of reviewed predictions"}
