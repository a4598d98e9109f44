"""GET /metrics for Prometheus: the same figures as /api/metrics, undefined values left out, its own scrape
token, and the shipped Prometheus configuration, alert rules and Grafana dashboard run by a real Prometheus.

The Prometheus tests need Debian's `prometheus` package (/usr/bin/prometheus and promtool); .ci/run
installs it. Without it they fail under CI (CI set) and are skipped elsewhere.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from clara_common.days import day_start, local_day, today
from clara_common.db import ensure_indexes, predictions
from clara_common.embedded import free_port
from clara_common.ledger import ALERTS_COLLECTION, STATE_COLLECTION, STATE_ID
from clara_common.settings import CommonSettings
from clara_monitor import prometheus, security
from clara_monitor.settings import MonitorSettings
from tests.utils.monitor_app import MakeMonitor
from tests.utils.monitor_databases import log_once, monitor_env, sample_database
from tests.utils.monitor_process import get, running_monitor
from tests.utils.processes import stop
from tests.utils.settings import monitor_settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "clara-dashboard.json"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
WINDOWS = {"1d": 1, "7d": 7, "30d": 30}
USER, PASSWORD, TOKEN = "ada", "correct horse battery staple", "scrape-7c1f0e2a9b"
SCORES = ("accuracy", "precision", "recall", "f1")
STALLED_FOR = timedelta(hours=2)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Return every sample of an exposition as (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def scrape(client: FlaskClient, **kwargs: Any) -> dict[tuple[str, frozenset], float]:
    answer = client.get("/metrics", **kwargs)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return samples(answer.get_data(as_text=True))


def tool(name: str) -> str:
    """Return the path of a Prometheus tool; fail under CI when it is missing, skip elsewhere."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        reason = f"{name} is not installed: apt-get install prometheus (Debian's package)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the Prometheus tests")
        pytest.skip(reason)
    return path


# -- data -------------------------------------------------------------------------------------------


def prediction(n: int, predicted: int, validated: Any, at: Any, validated_at: Any = None, **extra: Any) -> dict:
    return {
        "filename": f"prom-{n}.jpg",
        "output_confidence": 0.99,
        "output_prediction": predicted,
        "output_validated": validated,
        "timestamp": at,
        "logged": False,
        "timestamp_validated": validated_at,
        **extra,
    }


@pytest.fixture(scope="module")
def seeded(mongo_uri: str, mongo_client: MongoClient) -> Iterator[MonitorSettings]:
    """Return settings of a database whose state sets off every shipped alert.

    35 days of sample predictions logged by one logger tick, with a drift event yesterday (150 SIGRE
    predictions) and unreviewed predictions with ISO-string times (in the logger's unreviewed summary);
    then, not logged, 80 wrong predictions validated just now (today's accuracy under 0.8) and a review
    with an unknown class (an invalid record); an open incident of each kind (OPEN_INCIDENTS, as the
    logger stores them); and the logger's last tick moved two hours back (a stalled logger).
    """
    now = datetime.now(UTC)
    with sample_database(mongo_uri, mongo_client, "test_prom", days=35, per_day=120, seed=21, now=now) as settings:
        stage_every_alert(mongo_client, settings, now)
        yield settings


@pytest.fixture(name="monitor_settings")
def seeded_monitor_settings(seeded: MonitorSettings) -> MonitorSettings:
    """Point the `client` fixture's monitor at the module's staged database (`make_monitor` builds the others)."""
    return seeded


def stage_every_alert(mongo_client: MongoClient, settings: MonitorSettings, now: datetime) -> None:
    """Add to the sample predictions what sets off every shipped alert, logging part of it (see `seeded`)."""
    collection = predictions(mongo_client, settings)
    current = today(settings.tz)
    yesterday_noon = day_start(current - timedelta(days=1), settings.tz) + timedelta(hours=12)
    collection.insert_many(
        [prediction(i, 0, 0, yesterday_noon - timedelta(hours=2), yesterday_noon) for i in range(150)]
    )
    local_noon = datetime.combine(current, datetime.min.time()).replace(hour=12)
    collection.insert_many(
        [
            prediction(3000 + i, settings.classes.id_of("blue"), None, local_noon.isoformat()) for i in range(3)
        ]  # local time, no offset
        + [
            prediction(
                3100,
                settings.classes.id_of("blue"),
                None,
                (current - timedelta(days=3)).isoformat() + "T08:00:00+00:00",
            ),
            prediction(
                3101, settings.classes.id_of("blue"), None, (current - timedelta(days=40)).isoformat() + "T08:00:00Z"
            ),
        ]
    )
    log_once(settings, LOGGER_INTERVAL_MINUTES=600)  # recorded in the ledger: "current" all the module long
    just_now = max(now - timedelta(minutes=1), day_start(current, settings.tz))
    blue, grey = settings.classes.id_of("blue"), settings.classes.id_of("grey")
    collection.insert_many(
        [prediction(1000 + i, grey, blue, just_now - timedelta(minutes=5), just_now) for i in range(80)]
        + [prediction(2000, blue, 99, just_now, just_now)]
    )  # an unknown class: invalid
    for incident in open_incidents(current - timedelta(days=2), now):
        mongo_client[settings.MONGODB_DB][ALERTS_COLLECTION].replace_one(
            {"_id": incident["_id"]}, incident, upsert=True
        )
    mongo_client[settings.MONGODB_DB][STATE_COLLECTION].update_one(
        {"_id": STATE_ID}, {"$set": {"last_tick.finished_at": now - STALLED_FOR}}
    )


# (kind, metric, class) of the open incidents staged: one of each kind, one for the whole model.
OPEN_INCIDENTS = [
    ("performance", "recall", "green"),
    ("performance", "accuracy", None),
    ("traffic", "predictions", None),
    ("drift", "predicted_class", None),
]


def open_incidents(day: date, now: datetime) -> list[dict[str, Any]]:
    """Return an open incident of each of OPEN_INCIDENTS opened on `day`, as the logger stores them (docs/signal.md)."""
    return [
        {
            "_id": f"{kind}:{metric}:{name or 'all'}:{day}",
            "kind": kind,
            "metric": metric,
            "class": name,
            "day": day.isoformat(),
            "since": (day - timedelta(days=1)).isoformat(),
            "status": "open",
            "resolved_day": None,
            "value": 0.5 if kind == "performance" else None,
            "reference": 0.87 if kind == "performance" else None,
            "text": f"{name or 'model'} {metric}",
            "webhook": {"state": "off", "attempts": 0, "next_attempt_at": now},
            "created_at": now,
            "updated_at": now,
        }
        for kind, metric, name in OPEN_INCIDENTS
    ]


# -- the figures --------------------------------------------------------------------------------------


def test_every_window_equals_api_metrics_for_the_same_range(seeded: MonitorSettings, client: FlaskClient) -> None:
    current = today(seeded.tz)
    found = scrape(client)
    for window, days in WINDOWS.items():
        start = current - timedelta(days=days - 1)
        api = client.get(f"/api/metrics?start_date={start}&end_date={current}").get_json()
        assert api["total_validated"] > 0
        assert value(found, "clara_validated_predictions", window=window) == api["total_validated"]
        assert value(found, "clara_invalid_records", window=window) == api["invalid_records"]
        for score in SCORES:
            assert value(found, f"clara_{score}", window=window) == api["metrics"][score], (window, score)
        for name, scores in api["class_metrics"].items():
            for score in ("precision", "recall", "f1"):
                assert value(found, f"clara_class_{score}", **{"class": name, "window": window}) == scores[score]
    default = client.get("/api/metrics").get_json()  # the last 7 days, as 7d
    assert value(found, "clara_accuracy", window="7d") == default["metrics"]["accuracy"]
    assert value(found, "clara_invalid_records", window="1d") >= 1
    assert value(found, "clara_accuracy", window="1d") < 0.8


def test_unreviewed_predictions_are_those_made_in_the_window_without_a_review(
    seeded: MonitorSettings, mongo_client: MongoClient, client: FlaskClient
) -> None:
    current = today(seeded.tz)
    made_on: list[date] = []
    for doc in predictions(mongo_client, seeded).find(
        {}, {"timestamp": 1, "output_validated": 1, "timestamp_validated": 1}
    ):
        if doc.get("output_validated") is None and doc.get("timestamp_validated") is None:
            at = doc["timestamp"]
            if isinstance(at, str):
                parsed = datetime.fromisoformat(at)
                at = parsed if parsed.tzinfo else parsed.replace(tzinfo=seeded.tz)
            made_on.append(local_day(at, seeded.tz))
    found = scrape(client)
    for window, days in WINDOWS.items():
        expected = sum(1 for day in made_on if current - timedelta(days=days - 1) <= day <= current)
        assert value(found, "clara_unreviewed_predictions", window=window) == expected, window
    assert value(found, "clara_unreviewed_predictions", window="1d") >= 3  # the ISO strings without an offset


def test_estimated_accuracy_is_todays_estimate_of_api_estimated_performance(
    seeded: MonitorSettings, client: FlaskClient
) -> None:
    current = today(seeded.tz)
    found = scrape(client)
    body = client.get(f"/api/estimated-performance?start_date={current}&end_date={current}").get_json()
    assert body["unreviewed_source"] == "summary" and body["days"][0]["unreviewed"] > 0
    assert value(found, "clara_estimated_accuracy", window="1d") == body["days"][0]["estimated_accuracy"]
    assert {dict(labels)["window"] for name, labels in found if name == "clara_estimated_accuracy"} == {"1d"}


def test_unreviewed_figures_are_the_loggers_summary_as_of_its_tick(
    settings: CommonSettings, db, make_monitor: MakeMonitor
) -> None:
    ensure_indexes(db.client, settings)
    blue = settings.classes.id_of("blue")
    now = datetime.now(UTC)
    collection = predictions(db.client, settings)
    collection.insert_many([prediction(i, blue, None, now - timedelta(minutes=2)) for i in range(5)])
    log_once(settings)
    collection.insert_one(prediction(9, blue, None, now - timedelta(minutes=1)))  # after the tick
    client = make_monitor(monitor_settings(settings))
    found = scrape(client)
    body = client.get("/api/estimated-performance").get_json()
    assert value(found, "clara_unreviewed_predictions", window="1d") == 5
    assert value(found, "clara_estimated_accuracy", window="1d") == body["days"][-1]["estimated_accuracy"]
    assert 0 < value(found, "clara_estimated_accuracy", window="1d") < 1


def test_drift_is_the_latest_day_before_today_with_results(seeded: MonitorSettings, client: FlaskClient) -> None:
    current = today(seeded.tz)
    yesterday = current - timedelta(days=1)
    found = scrape(client)
    days = client.get(f"/api/drift?start_date={yesterday}&end_date={current}").get_json()["days"]
    stored = {d["day"]: d["features"] for d in days}
    assert stored[current.isoformat()], "the tick evaluated today too: the test must show it is left out"
    features = stored[yesterday.isoformat()]
    assert set(features) == {"predicted_class", "true_class", "confidence"}
    for feature, result in features.items():
        labels = {"feature": feature, "algorithm": result["algorithm"]}
        assert value(found, "clara_drift_p_value", **labels) == result["p_value"]
        assert value(found, "clara_drift_statistic", **labels) == result["statistic"]
        assert value(found, "clara_drift_detected", **labels) == {"drift": 1, "no_drift": 0}[result["category"]]
    assert value(found, "clara_drift_detected", feature="predicted_class", algorithm="chi-square") == 1
    assert value(found, "clara_drift_day_timestamp_seconds") == day_start(yesterday, seeded.tz).timestamp()


def test_drift_older_than_the_windows_is_looked_up_in_the_whole_history(
    seeded: MonitorSettings, mongo_client: MongoClient
) -> None:
    current = today(seeded.tz)
    found = prometheus.latest_drift(mongo_client[seeded.MONGODB_DB], current, {})
    assert found is not None and found[0] == (current - timedelta(days=1)).isoformat()
    assert found[1]["predicted_class"]["category"] == "drift"


def test_open_incidents_are_counted_by_kind_metric_and_class(
    seeded: MonitorSettings, mongo_client: MongoClient, client: FlaskClient
) -> None:
    expected: Counter[tuple[str, str, str]] = Counter(
        (doc["kind"], doc["metric"], doc.get("class") or "")
        for doc in mongo_client[seeded.MONGODB_DB][ALERTS_COLLECTION].find({"status": "open"})
    )
    found = scrape(client)
    gauge = {
        (labels["kind"], labels["metric"], labels["class"]): n
        for (name, frozen), n in found.items()
        if name == "clara_open_incidents"
        for labels in [dict(frozen)]
    }
    assert gauge == dict(expected)
    assert all(gauge[(kind, metric, name or "")] >= 1 for kind, metric, name in OPEN_INCIDENTS)


def test_the_incident_rules_replace_the_fixed_accuracy_and_drift_rules() -> None:
    severities = {rule["alert"]: rule["labels"]["severity"] for rule in alert_rules()}
    assert severities == {
        "ClaraPerformanceIncident": "warning",
        "ClaraTrafficIncident": "warning",
        "ClaraDriftNotice": "info",
        "ClaraLoggerStalled": "critical",
    }
    kinds = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    assert 'kind="performance"' in kinds["ClaraPerformanceIncident"]
    assert 'kind="traffic"' in kinds["ClaraTrafficIncident"] and 'kind="drift"' in kinds["ClaraDriftNotice"]


def test_logger_gauges_are_the_status_backlog_and_last_tick(client: FlaskClient) -> None:
    found = scrape(client)
    status = client.get("/api/status").get_json()
    assert value(found, "clara_logger_backlog") == status["backlog"] >= 81  # the tail inserted after the tick
    last_tick = datetime.fromisoformat(status["last_tick_at"]).timestamp()
    assert value(found, "clara_logger_last_tick_timestamp_seconds") == last_tick
    assert time.time() - last_tick > STALLED_FOR.total_seconds() - 60


def test_undefined_values_are_absent_never_zero(settings: CommonSettings, db, make_monitor: MakeMonitor) -> None:
    ensure_indexes(db.client, settings)
    client = make_monitor(monitor_settings(settings))
    empty = scrape(client)
    blue = settings.classes.id_of("blue")
    now = datetime.now(UTC)
    predictions(db.client, settings).insert_one(prediction(1, blue, blue, now - timedelta(seconds=30), now))
    one = scrape(client)
    names = {name for name, _ in empty}
    # Nothing validated: no metric at all; the counts are 0, which is a value.
    assert not names & {
        "clara_accuracy",
        "clara_precision",
        "clara_recall",
        "clara_f1",
        "clara_class_precision",
        "clara_class_recall",
        "clara_class_f1",
        "clara_drift_p_value",
        "clara_drift_statistic",
        "clara_drift_detected",
        "clara_drift_day_timestamp_seconds",
        "clara_logger_last_tick_timestamp_seconds",
        "clara_estimated_accuracy",
    }
    assert all(value(empty, "clara_validated_predictions", window=w) == 0 for w in WINDOWS)
    assert value(empty, "clara_logger_backlog") == 0
    # One correct blue prediction: blue's scores and accuracy are 1; every other class is undefined.
    for window in WINDOWS:
        assert value(one, "clara_accuracy", window=window) == 1.0
        assert value(one, "clara_class_precision", **{"class": "blue", "window": window}) == 1.0
    classes = {dict(labels)["class"] for name, labels in one if name.startswith("clara_class_")}
    assert classes == {"blue"}
    assert ("clara_logger_last_tick_timestamp_seconds", frozenset()) not in one


def test_a_hellinger_result_has_a_statistic_and_no_p_value(settings: CommonSettings) -> None:
    drift = {
        "predicted_class": {"algorithm": "hellinger", "statistic": 0.31, "p_value": None, "category": "drift"},
        "true_class": {"algorithm": "hellinger", "statistic": None, "p_value": None, "category": "insufficient_data"},
    }
    registry = prometheus.CollectorRegistry(auto_describe=False)
    registry.register(prometheus.Families(prometheus.drift_families(("2026-01-05", drift), settings)))
    found = samples(prometheus.generate_latest(registry).decode())
    hellinger = {"feature": "predicted_class", "algorithm": "hellinger"}
    assert value(found, "clara_drift_statistic", **hellinger) == 0.31
    assert value(found, "clara_drift_detected", **hellinger) == 1
    assert not [k for k in found if k[0] == "clara_drift_p_value"]
    assert not [k for k in found if dict(k[1]).get("feature") == "true_class"]


def test_the_exposition_is_prometheus_text_with_the_security_headers(client: FlaskClient) -> None:
    answer = client.get("/metrics")
    again = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert answer.headers["Cache-Control"] == "no-store"
    for name, expected in security.SECURITY_HEADERS.items():
        assert answer.headers[name] == expected
    # A registry per request: a second answer has each series once, not twice.
    text = again.get_data(as_text=True)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == len(set(line.rsplit(" ", 1)[0] for line in lines))
    assert text.count("\nclara_estimated_accuracy{") == 1  # today's only, once


# -- authentication -----------------------------------------------------------------------------------


def with_auth(settings: CommonSettings, **auth: str) -> MonitorSettings:
    return MonitorSettings.from_env({}, MONGODB_URI=settings.MONGODB_URI, MONGODB_DB=settings.MONGODB_DB, **auth)


def test_metrics_asks_for_basic_credentials_when_authentication_is_on(
    settings: CommonSettings, make_monitor: MakeMonitor
) -> None:
    client = make_monitor(with_auth(settings, MONITOR_USERNAME=USER, MONITOR_PASSWORD=PASSWORD))
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="CLARA Monitor"'
    assert client.get("/metrics", headers=basic(USER, PASSWORD)).status_code == 200
    assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 401  # no token configured


def test_the_metrics_token_opens_metrics_and_nothing_else(settings: CommonSettings, make_monitor: MakeMonitor) -> None:
    locked = with_auth(settings, MONITOR_USERNAME=USER, MONITOR_PASSWORD=PASSWORD, METRICS_TOKEN=TOKEN)
    client = make_monitor(locked)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 200
    assert client.get("/metrics", headers=basic(USER, PASSWORD)).status_code == 200
    for wrong in (TOKEN + "x", TOKEN[:-1], "", PASSWORD):
        answer = client.get("/metrics", headers=bearer(wrong))
        assert answer.status_code == 401, wrong
        assert answer.get_json()["error"]
    for path in ("/", "/api/metrics", "/api/status", "/data"):
        assert client.get(path, headers=bearer(TOKEN)).status_code == 401, path
        assert client.get(path, headers=basic(USER, PASSWORD)).status_code == 200, path


def test_the_metrics_token_alone_guards_metrics_and_leaves_the_rest_open(
    settings: CommonSettings, make_monitor: MakeMonitor
) -> None:
    client = make_monitor(with_auth(settings, METRICS_TOKEN=TOKEN))
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="CLARA Monitor"'
    assert client.get("/metrics", headers=bearer("guess")).status_code == 401
    assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 200
    assert client.get("/api/metrics").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_token_is_compared_in_constant_time(
    settings: CommonSettings, compared: list[tuple[bytes, bytes]], make_monitor: MakeMonitor
) -> None:
    client = make_monitor(with_auth(settings, METRICS_TOKEN=TOKEN))
    assert client.get("/metrics", headers=bearer("guess")).status_code == 401
    assert compared == [(b"guess", TOKEN.encode())]


def test_the_metrics_token_stays_out_of_the_settings_repr() -> None:
    assert TOKEN not in repr(MonitorSettings.from_env({"METRICS_TOKEN": TOKEN}))


# -- a real Prometheus --------------------------------------------------------------------------------


def dashboard_queries() -> list[str]:
    """Return every PromQL expression of the shipped dashboard, its variables set to their defaults."""
    dashboard = json.loads(DASHBOARD.read_text())
    defaults = {
        v["name"]: v["current"].get("value") for v in dashboard["templating"]["list"] if v["type"] != "datasource"
    }
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, default in defaults.items():
                expr = expr.replace("${" + name + "}", default).replace("$" + name, default)
            assert "$" not in expr, expr
            queries.append(expr)
    return queries


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def prometheus_api(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as answer:
        body = json.load(answer)
    assert body["status"] == "success", body
    return body["data"]


def query(port: int, expr: str) -> list[dict[str, Any]]:
    return prometheus_api(port, "/api/v1/query", query=expr)["result"]


def wait_for(check, what: str, timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
            if found:
                return found
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s; prometheus said:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def test_the_shipped_rules_and_config_pass_promtool() -> None:
    promtool = tool("promtool")
    rules = subprocess.run([promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in rules.stdout + rules.stderr
    config = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS_CONFIG)], capture_output=True, text=True, timeout=60
    )
    assert config.returncode == 0, config.stdout + config.stderr


def test_a_real_prometheus_scrapes_metrics_and_every_dashboard_query_and_alert_has_data(
    seeded: MonitorSettings, tmp_path: Path, client: FlaskClient
) -> None:
    binary = tool("prometheus")
    env = monitor_env(seeded, MONITOR_USERNAME=USER, MONITOR_PASSWORD=PASSWORD, METRICS_TOKEN=TOKEN)
    with running_monitor(env, tmp_path / "monitor.log", workers=1) as server:
        assert get(server.host, server.port, "/metrics")[0] == 401
        port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(ALERTS)],
            "scrape_configs": [
                {
                    "job_name": "clara-monitor",
                    "metrics_path": "/metrics",
                    "scrape_timeout": "1s",
                    "static_configs": [{"targets": [f"{server.host}:{server.port}"]}],
                    "authorization": {"type": "Bearer", "credentials": TOKEN},
                }
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = tmp_path / "prometheus.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(lambda: query(port, 'up{job="clara-monitor"} == 1'), "no successful scrape", 60, log)
            rules = wait_for(
                lambda: [
                    r
                    for g in prometheus_api(port, "/api/v1/rules")["groups"]
                    for r in g["rules"]
                    if r.get("lastEvaluation", "0001").startswith("2")
                ],
                "the alert rules were not evaluated",
                30,
                log,
            )
            assert {r["name"] for r in rules} == {r["alert"] for r in alert_rules()}
            assert all(r["health"] == "ok" for r in rules), rules
            empty = [expr for expr in dashboard_queries() if not query(port, expr)]
            assert empty == [], f"dashboard queries without data: {empty}"
            silent = [rule["alert"] for rule in alert_rules() if not query(port, rule["expr"])]
            assert silent == [], f"alert expressions without data on a state that should set them off: {silent}"
            # The scraped values are the monitor's.
            scraped = {r["metric"]["window"]: float(r["value"][1]) for r in query(port, "clara_validated_predictions")}
            direct = scrape(client, headers={})
            assert scraped == {w: value(direct, "clara_validated_predictions", window=w) for w in WINDOWS}
        finally:
            stop(process, 30)
    assert TOKEN not in server.log_tail(100_000)
