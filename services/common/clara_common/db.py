"""The MongoDB client factory and the indexes the services rely on.

Build one client per process (PyMongo's client is thread-safe but not fork-safe) and pass it down.
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from clara_common.settings import Settings

# Indexes on the predictions collection, each with the query it serves.
PREDICTION_INDEXES = [
    # The monitor's date ranges and the logger's "validated since" look-ups.
    IndexModel([("timestamp_validated", ASCENDING)], name="timestamp_validated"),
    # Look-ups by image. Not unique: an existing collection may hold the same image twice.
    IndexModel([("filename", ASCENDING)], name="filename"),
    # The logger's "validated but not logged yet" look-up.
    IndexModel([("logged", ASCENDING), ("timestamp_validated", ASCENDING)], name="logged_timestamp_validated"),
    # The logger's "documents bound to this batch" look-up, when it finishes a batch (sparse: only
    # documents the logger has claimed carry the field).
    IndexModel([("logger_batch", ASCENDING)], name="logger_batch", sparse=True),
    # A reconcile's "counted on this day" look-up: the validation time of the copy the logger counted
    # (sparse: only documents the logger has claimed carry it).
    IndexModel([("logged_as.timestamp_validated", ASCENDING)], name="logged_as_timestamp_validated", sparse=True),
    # The monitor's training tab: the predictions already used for retraining.
    IndexModel([("trained", DESCENDING)], name="trained"),
]


def make_client(settings: Settings, **kwargs: object) -> MongoClient:
    """Return a MongoClient for MONGODB_URI with the configured server-selection timeout."""
    options: dict[str, object] = {
        "serverSelectionTimeoutMS": settings.MONGODB_TIMEOUT_MS,
        "connectTimeoutMS": settings.MONGODB_TIMEOUT_MS,
        "tz_aware": True,
        "appname": "clara-monitor",
    }
    options.update(kwargs)
    return MongoClient(settings.MONGODB_URI, **options)


def get_database(client: MongoClient, settings: Settings) -> Database:
    """Return the configured database (MONGODB_DB)."""
    return client[settings.MONGODB_DB]


def predictions(client: MongoClient, settings: Settings) -> Collection:
    """Return the collection the classifier writes its predictions to (PREDICTIONS_COLLECTION)."""
    return get_database(client, settings)[settings.PREDICTIONS_COLLECTION]


def create_prediction_indexes(collection: Collection) -> list[str]:
    """Create the indexes the services need on a predictions collection; return their names."""
    return collection.create_indexes(PREDICTION_INDEXES)


def ensure_indexes(client: MongoClient, settings: Settings) -> list[str]:
    """Create the indexes the services need on the configured predictions collection; return their names."""
    return create_prediction_indexes(predictions(client, settings))
