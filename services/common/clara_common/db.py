"""The MongoDB client factory and the indexes the services rely on.

Build one client per process (PyMongo's client is thread-safe but not fork-safe) and pass it down.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

from clara_common.settings import CommonSettings, SettingsError, secret_value

log = logging.getLogger(__name__)

# A document as the clients made here return it: PyMongo's default document class.
Document = dict[str, Any]

# Indexes on the predictions collection, each with the query it serves.
PREDICTION_INDEXES = [
    # The monitor's date ranges and the logger's "validated since" look-ups.
    IndexModel([("timestamp_validated", ASCENDING)], name="timestamp_validated"),
    # Look-ups by image. Not unique: an existing collection may hold the same image twice.
    IndexModel([("filename", ASCENDING)], name="filename"),
    # The logger's "validated but not logged yet" look-up.
    IndexModel([("logged", ASCENDING), ("timestamp_validated", ASCENDING)], name="logged_timestamp_validated"),
    # The monitor's tail and backlog: validated predictions not logged, neither set aside (`logged_error`) nor
    # marked by the logger as having no verdict (`logger_pending`); and the logger's look for ones to mark.
    # Both kinds keep `logged: false`: without the two equalities, every request read them all again. A mark,
    # rather than the verdict in this key: the embedded database bounds one field of an index scan (after
    # equalities), and the tail needs that range on the validation time (the recent ones are the LiveTail's);
    # a condition on the verdict beside it was checked document by document, every pending one read.
    IndexModel(
        [
            ("logged", ASCENDING),
            ("logged_error", ASCENDING),
            ("logger_pending", ASCENDING),
            ("timestamp_validated", ASCENDING),
        ],
        name="logged_logged_error_logger_pending_timestamp_validated",
    ),
    # The monitor's tail: the predictions marked as having no verdict that have one now, by type of verdict
    # (sparse: only marked predictions carry the field).
    IndexModel(
        [("logger_pending", ASCENDING), ("output_validated", ASCENDING)],
        name="logger_pending_output_validated",
        sparse=True,
    ),
    # The monitor's /metrics: predictions not reviewed yet (no validation time) by prediction time.
    IndexModel([("timestamp_validated", ASCENDING), ("timestamp", ASCENDING)], name="timestamp_validated_timestamp"),
    # The traffic summary's predictions of a day, and the logger's "last prediction" (clara_common/traffic.py).
    IndexModel([("timestamp", ASCENDING)], name="timestamp"),
    # The logger's "documents bound to this batch" look-up, when it finishes a batch (sparse: only
    # documents the logger has claimed carry the field).
    IndexModel([("logger_batch", ASCENDING)], name="logger_batch", sparse=True),
    # A reconcile's "counted on this day" look-up: the validation time of the copy the logger counted
    # (sparse: only documents the logger has claimed carry it).
    IndexModel([("logged_as.timestamp_validated", ASCENDING)], name="logged_as_timestamp_validated", sparse=True),
    # The monitor's training tab: the predictions already used for retraining.
    IndexModel([("trained", DESCENDING)], name="trained"),
    # A reconcile's "set aside as malformed" look-up: their invalid records may sit on the day of their
    # prediction time (sparse: only documents the logger set aside carry the field).
    IndexModel([("logged_error", ASCENDING)], name="logged_error", sparse=True),
]
# Index options that change what an index holds or allows; two indexes on the same keys that agree on
# these serve the same queries, whatever their names.
_DEFAULT_OPTIONS: dict[str, Any] = {
    "unique": False,
    "sparse": False,
    "partialFilterExpression": None,
    "collation": None,
}
# Whether each client's server splits `$or` (see splits_or), asked once per client.
_SPLITS_OR: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def splits_or(collection: Collection[Any]) -> bool:
    """Return whether the collection's server is SecantusDB (the embedded database), whose `$or` reads every document.

    MongoDB plans each branch of an `$or` on its own index and merges what they find. SecantusDB 0.7
    answers any `$or` with a collection scan: see find_any. Asked once per client (buildInfo names
    SecantusDB's version), then kept.
    """
    client = collection.database.client
    known = _SPLITS_OR.get(client)
    if known is None:
        known = _SPLITS_OR[client] = "secantusVersion" in client.server_info()
    return known


def find_any(
    collection: Collection[Any], queries: Iterable[dict[str, Any]], projection: dict[str, Any] | None = None
) -> Iterator[Any]:
    """Yield the documents any of the queries finds, once each; each query should be served by an index.

    On MongoDB, one `$or`: each branch goes through its own index, and the server returns each document
    once. On the embedded database, one query per branch, merged here: its `$or` is a collection scan
    (docs/benchmarks.md, "Query shapes").
    """
    queries = list(queries)
    if len(queries) > 1 and not splits_or(collection):
        yield from collection.find({"$or": queries}, projection)
        return
    seen = set()
    for query in queries:
        for doc in collection.find(query, projection):
            if doc["_id"] not in seen:
                seen.add(doc["_id"])
                yield doc


def find_once(
    collection: Collection[Any], queries: Iterable[dict[str, Any]], projection: dict[str, Any] | None = None
) -> list[Any]:
    """Return the documents any of the queries finds, once each (find_any, as a list)."""
    return list(find_any(collection, queries, projection))


# Authentication mechanisms that log in with a password (pymongo's default, SCRAM, is one of them).
_PASSWORD_MECHANISMS = {"SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN", "DEFAULT"}


def redact_uri(uri: str) -> str:
    """Return `uri` with the password of its user information replaced by `***`, for log lines."""
    scheme, sep, rest = uri.partition("://")
    # The user information ends at the last "@" (RFC 3986 and pymongo want any "@" in it escaped);
    # one in the query as well hides more than the password, never less.
    userinfo, at, hosts = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return uri
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hosts}"


def mongodb_password(settings: CommonSettings) -> str | None:
    """Return the password to log in with when MONGODB_URI names a user but no password, else None.

    It is MONGODB_PASSWORD or the content of MONGODB_PASSWORD_FILE. A URI with a password of its own,
    or with no user, or with a mechanism that takes no password (X.509, AWS, ...) uses neither.
    """
    uri = settings.MONGODB_URI.get_secret_value()
    parts = urlsplit(uri)
    mechanism = parse_qs(parts.query).get("authMechanism", ["DEFAULT"])[-1].upper()
    if not parts.username or parts.password is not None or mechanism not in _PASSWORD_MECHANISMS:
        return None
    password = secret_value("MONGODB_PASSWORD", settings.MONGODB_PASSWORD, settings.MONGODB_PASSWORD_FILE)
    if password is None:
        raise SettingsError(
            f"MONGODB_URI={redact_uri(uri)} names a user but no password: set MONGODB_PASSWORD_FILE or MONGODB_PASSWORD"
        )
    return password


def make_client(settings: CommonSettings, appname: str = "clara", **kwargs: Any) -> MongoClient[Document]:
    """Return a MongoClient for MONGODB_URI (and its password, see mongodb_password) with the configured timeouts.

    `appname` names the connection in the server's logs and currentOp: each service passes its own.
    """
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": settings.MONGODB_TIMEOUT_MS,
        "connectTimeoutMS": settings.MONGODB_TIMEOUT_MS,
        "tz_aware": True,
        "appname": appname,
    }
    if (password := mongodb_password(settings)) is not None:
        # Given apart from the URI, it needs no percent-escaping and never shows in the URI.
        options["password"] = password
    options.update(kwargs)
    return MongoClient(settings.MONGODB_URI.get_secret_value(), **options)


def get_database(client: MongoClient[Document], settings: CommonSettings) -> Database[Document]:
    """Return the configured database (MONGODB_DB)."""
    return client[settings.MONGODB_DB]


def predictions(client: MongoClient[Document], settings: CommonSettings) -> Collection[Document]:
    """Return the collection the classifier writes its predictions to (PREDICTIONS_COLLECTION)."""
    return get_database(client, settings)[settings.PREDICTIONS_COLLECTION]


def _key(pattern: Mapping[str, object] | Iterable[tuple[str, object]]) -> list[tuple[str, object]]:
    # 1, 1.0 and Int64(1) are the same direction; "text" or "2dsphere" stay as they are.
    items = pattern.items() if isinstance(pattern, Mapping) else pattern
    return [(name, float(kind) if isinstance(kind, (int, float)) else kind) for name, kind in items]


def _options(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {name: spec.get(name, default) for name, default in _DEFAULT_OPTIONS.items()}


def equivalent_index(wanted: Mapping[str, Any], existing: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Return the name of an existing index (from index_information()) with the keys and options of `wanted`."""
    for name, info in existing.items():
        if _key(info["key"]) == _key(wanted["key"]) and _options(info) == _options(wanted):
            return name
    return None


def ensure_index_models(collection: Collection[Document], models: Sequence[IndexModel]) -> list[str]:
    """Create each index unless an equivalent one exists under any name; return the names of those in place.

    An index that cannot be created (another index holds its name or its keys with other options) is
    logged and skipped: a service runs without it rather than not at all.
    """
    existing = collection.index_information()
    names = []
    for model in models:
        wanted = model.document
        if (same := equivalent_index(wanted, existing)) is not None:
            names.append(same)
            continue
        try:
            names += collection.create_indexes([model])
        except OperationFailure as exc:
            log.warning(
                "index %s on %s not created, going on without it: %s",
                wanted["name"],
                collection.name,
                exc.details.get("errmsg", exc) if exc.details else exc,
            )
    return names


def create_prediction_indexes(collection: Collection[Document]) -> list[str]:
    """Create the indexes the services need on a predictions collection, reusing equivalent ones; return the names."""
    return ensure_index_models(collection, PREDICTION_INDEXES)


def ensure_indexes(client: MongoClient[Document], settings: CommonSettings) -> list[str]:
    """Create the indexes the services need on the configured predictions collection; return their names."""
    return create_prediction_indexes(predictions(client, settings))
