"""The seed's planted event, found by the logger as one incident that names it, announced and resolved once each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

from clara_common.days import short_day
from clara_common.db import make_client
from clara_logger import alerts, history, state
from clara_logger.drift import DRIFT
from clara_logger.tick import LoggerService
from clara_seed.generator import SeedPlan, generate
from clara_seed.loader import insert_missing
from tests.utils.settings import logger_settings

pytestmark = pytest.mark.integration

END = date(2026, 5, 31)
# Green degrades over the last 12 days (it is mistaken for green_point), as in the demo's data.
PLAN = SeedPlan(end=END, days=40, per_day=200, seed=42, event_days_before_end=12)
# Ten more days on which green is as good as before (no class degrades).
RECOVERY = SeedPlan(end=END + timedelta(days=10), days=10, per_day=200, seed=43, degraded_class="nothing")


def load(db, settings, plan: SeedPlan) -> None:
    now = datetime.combine(plan.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    insert_missing(db[settings.PREDICTIONS_COLLECTION], generate(plan, settings.classes, settings.tz, now=now))


def performance_and_drift(db) -> list[dict]:
    """Return the incidents and notices (not the day alerts of older releases), by id."""
    query = {"kind": {"$in": ["performance", "drift"]}, "status": {"$exists": True}}
    return list(alerts.alerts(db).find(query, sort=[("_id", 1)]))


def delivered(server: HTTPServer) -> list[dict]:
    bodies = [request.get_json() for request, response in server.log if response.status_code == 200]
    return [body for body in bodies if body["kind"] in ("performance", "drift")]


def test_the_planted_event_opens_one_incident_that_names_the_class_and_its_confusion(db, settings, httpserver):
    load(db, settings, PLAN)
    settings = logger_settings(
        settings,
        ALERT_WEBHOOK_URL=httpserver.url_for("/hook"),
        LOGGER_RETRY_MIN_SECONDS=0.05,
        LOGGER_RETRY_MAX_SECONDS=0.05,
    )
    for _ in range(2):  # the first deliveries fail: they must be retried, not lost nor doubled
        httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data(status=500)
    httpserver.expect_request("/hook", method="POST").respond_with_data()
    with make_client(settings) as client:
        logger = LoggerService(settings, client)
        for _ in range(4):
            logger.tick()  # the later ticks retry what failed and raise nothing new

    found = performance_and_drift(db)
    green = [a for a in found if a["metric"] == "recall" and a["class"] == "green"]
    assert len(green) == 1, [a["text"] for a in found]
    incident = green[0]
    onset = PLAN.event_start
    assert abs((date.fromisoformat(incident["since"]) - onset).days) <= 2
    assert (date.fromisoformat(incident["day"]) - onset).days <= 2  # opened within two days
    assert incident["status"] == "open" and incident["resolved_day"] is None
    assert incident["reference"] > 0.8 and incident["value"] < 0.6
    assert incident["confusion"]["class"] == "green_point"
    assert "green recall" in incident["text"] and "green_point" in incident["text"]
    # Nothing before the change: no incident and no drift notice opened before the onset.
    assert all(a["day"] >= onset.isoformat() for a in found)
    # Each announced incident is delivered once, after the two failures.
    httpserver.check()
    bodies = delivered(httpserver)
    assert sorted(body["key"] for body in bodies) == sorted(a["_id"] for a in found if a["announced"])
    assert all(body["event"] == "opened" and "CLARA" in body["text"] for body in bodies)
    assert all(a["webhook"]["state"] == alerts.SENT for a in found if a["announced"])
    # The monitor reads the reference levels the logger judged with.
    signal = state.state(db).find_one({"_id": "ledger"})["signal"]
    assert signal["reference"]["classes"]["green"]["recall"]["value"] == pytest.approx(incident["reference"])


def test_a_recovery_resolves_the_incident_and_announces_it_once(db, settings, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data()
    settings = logger_settings(settings, ALERT_WEBHOOK_URL=httpserver.url_for("/hook"))
    load(db, settings, PLAN)
    with make_client(settings) as client:
        logger = LoggerService(settings, client)
        logger.tick()
        opened = [a for a in performance_and_drift(db) if a["metric"] == "recall" and a["class"] == "green"]
        assert [a["status"] for a in opened] == ["open"]
        load(db, settings, RECOVERY)
        logger.tick()
        logger.tick()

    incident = alerts.alerts(db).find_one({"_id": opened[0]["_id"]})
    assert incident["status"] == "resolved"
    resolved = date.fromisoformat(incident["resolved_day"])
    assert END < resolved <= END + timedelta(days=6)
    assert incident["resolution_webhook"]["state"] == alerts.SENT
    events = [(body["key"], body["event"]) for body in delivered(httpserver) if body["key"] == incident["_id"]]
    assert events == [(incident["_id"], "opened"), (incident["_id"], "resolved")]


def test_drift_days_keep_the_thresholds_they_were_judged_with(db, settings):
    load(db, settings, PLAN)
    with make_client(settings) as client:
        LoggerService(logger_settings(settings, DRIFT_MIN_PSI=0.25), client).tick()
        judged = {d["_id"]: d["drift"] for d in history.days(history.history(db))}
        LoggerService(logger_settings(settings, DRIFT_MIN_PSI=0.05), client).tick()  # no day changed
    again = {d["_id"]: d["drift"] for d in history.days(history.history(db))}
    assert judged == again
    thresholds = {
        r["psi_threshold"]
        for day in again.values()
        for r in day.values()
        if isinstance(r, dict) and "psi_threshold" in r
    }
    assert thresholds == {0.25}


# Green fails badly enough for the whole model's accuracy to fall under the previous release's 80%.
SEVERE = SeedPlan(end=END, days=40, per_day=200, seed=42, event_days_before_end=12, degraded_accuracy=0.1)


def test_an_upgrade_keeps_the_old_day_alerts_and_announces_nothing_they_announced(db, settings, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data()
    load(db, settings, SEVERE)
    with make_client(settings) as client:
        LoggerService(logger_settings(settings), client).tick()  # no webhook: what the old release had judged
    event_days = [(PLAN.event_start + timedelta(days=i)).isoformat() for i in range(3, 12)]
    old = [
        {
            "_id": f"accuracy:{day}",
            "kind": "accuracy",
            "day": day,
            "value": 0.78,
            "threshold": 0.8,
            "count": 180,
            "text": f":warning: CLARA accuracy on {day} is 78.0% (below 80%, 180 validated predictions)",
            "created_at": datetime.now(UTC),
            "webhook": {"state": "sent", "attempts": 1, "next_attempt_at": datetime.now(UTC)},
        }
        for day in event_days
    ] + [
        {
            "_id": f"drift:{day}",
            "kind": "drift",
            "day": day,
            "features": ["true_class"],
            "count": 180,
            "text": "drift",
            "created_at": datetime.now(UTC),
            "webhook": {"state": "sent", "attempts": 1, "next_attempt_at": datetime.now(UTC)},
        }
        for day in event_days
    ]
    # As the previous release left the database: its day alerts, and no incident nor judgement yet.
    alerts.alerts(db).delete_many({})
    alerts.alerts(db).insert_many(old)
    state.state(db).update_one({"_id": "ledger"}, {"$unset": {"signal": ""}})
    with make_client(settings) as client:
        upgraded = LoggerService(logger_settings(settings, ALERT_WEBHOOK_URL=httpserver.url_for("/hook")), client)
        upgraded.tick()  # the first tick after the upgrade: judges the history as it stands, and must not fail

    kept = list(alerts.alerts(db).find({"status": {"$exists": False}}))
    assert sorted(a["_id"] for a in kept) == sorted(a["_id"] for a in old)  # untouched
    incidents = performance_and_drift(db)
    accuracy = [a for a in incidents if a["metric"] == "accuracy" and a.get("status")]
    assert accuracy and not any(a["announced"] for a in accuracy)  # the old alerts announced it already
    sent_keys = {body["key"] for body in delivered(httpserver)}
    assert not sent_keys & {a["_id"] for a in accuracy}
    assert all(
        a["announced"] == (a["status"] == "open")
        for a in incidents
        if a["metric"] != "accuracy" and a["kind"] == "performance"
    )
    assert not any(
        d["drift"][f]["category"] == DRIFT
        for d in history.days(history.history(db))
        if d["_id"] < PLAN.event_start.isoformat()
        for f in ("true_class", "predicted_class")
    )


def test_the_demos_sample_data_leads_main_to_its_planted_problem(db, settings, logger, client):
    """`make demo` seeds with clara-seed's defaults; after the logger's first tick the verdict names green."""
    from clara_seed import cli as seed_cli

    assert seed_cli.run(seed_cli.parse_args(["--no-progress"]), settings) == 0
    logger.tick()
    verdict = client.get("/api/alerts").get_json()["verdict"]  # the page's default range: the last 7 days
    event_start = SeedPlan(end=date.today()).event_start  # the seed's defaults, ending today
    assert verdict["state"] == "degraded"
    assert verdict["text"].startswith(f"Degraded since {short_day(verdict['since'])}: green recall ")
    assert "(mostly predicted as green_point)" in verdict["text"]
    assert abs((date.fromisoformat(verdict["since"]) - event_start).days) <= 2
