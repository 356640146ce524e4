"""`clarion simulate`: clarion's own routing code under scenarios of failing and slow providers."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from clarion.cli import main
from clarion.simulator import Scenario, ScenarioError, load_scenario, simulate
from clarion.simulator.report import summary

SCENARIOS = Path(__file__).parents[3] / "scenarios"


def run(scenario: dict[str, Any]) -> dict[str, Any]:
    return summary(simulate(Scenario.model_validate(scenario)))


def weights_at(changes: list[tuple[float, Any]], provider: str) -> list[tuple[float, int]]:
    return [(round(minute, 2), change.new) for minute, change in changes if change.provider == provider]


def test_a_failing_provider_is_drained_a_step_a_minute_and_its_texts_fail_over() -> None:
    simulation = simulate(Scenario.model_validate({
        "duration_minutes": 30, "messages_per_minute": 120,
        "providers": {"mmg": [{"from_minute": 5, "to_minute": 30, "error_rate": 1.0}], "firetext": []}}))
    mmg = weights_at(simulation.changes, "mmg")
    assert [weight for _, weight in mmg] == [41, 31, 21, 11, 1, 0]
    assert all(later - earlier >= 1 for (earlier, _), (later, _) in zip(mmg, mmg[1:]))  # the one-minute guard
    assert simulation.outcomes == {"delivered": simulation.accepted}  # every failed send was retried elsewhere
    assert simulation.timeline[-1].weight == {"mmg": 0, "firetext": 100}


def test_a_blip_moves_one_step_and_tend_back_restores_it_after_a_quiet_hour() -> None:
    result = run({"duration_minutes": 80, "messages_per_minute": 600,
                  "providers": {"mmg": [{"from_minute": 10, "to_minute": 10.0167, "error_rate": 1.0}],
                                "firetext": []}})
    assert result["weight_changes"] == {"fault": 2, "tend-back": 2}  # one step off, one step back
    assert result["largest_step"] == 10 and result["lost"] == 0
    assert result["return_minutes"] == pytest.approx(60, abs=5)  # the quiet hour, then the next tend-back


def test_a_provider_slow_to_deliver_loses_traffic_and_gets_it_back() -> None:
    simulation = simulate(Scenario.model_validate({
        "duration_minutes": 180, "messages_per_minute": 120,
        "settings": {"PROVIDER_TEND_BACK_QUIET_SINCE": "move-away"},  # back a step every 5 minutes once quiet
        "providers": {"mmg": [], "firetext": [{"from_minute": 10, "to_minute": 40, "receipt_delay_seconds": 400}]}}))
    reasons = {change.reason for _, change in simulation.changes if change.provider == "firetext"}
    assert "Reduced due to slow delivery" in reasons and "Adjusted back to resting point" in reasons
    assert summary(simulation)["drain_minutes"]["firetext"]["to_weight"] == 0
    assert summary(simulation)["drain_minutes"]["firetext"]["minutes"] < 20
    assert simulation.timeline[-1].weight == {"mmg": 51, "firetext": 49}


def test_nothing_moves_when_every_provider_is_slow() -> None:
    result = run({"duration_minutes": 40, "messages_per_minute": 60,
                  "providers": {"mmg": [{"from_minute": 0, "to_minute": 40, "receipt_delay_seconds": 400}],
                                "firetext": [{"from_minute": 0, "to_minute": 40, "receipt_delay_seconds": 400}]}})
    assert result["weight_changes"] == {}


def test_settings_change_the_policy_by_their_environment_names() -> None:
    # Notify's error threshold: more than 50 faults in a minute. 60 texts a minute, half to mmg: never reached.
    result = run({"duration_minutes": 20, "messages_per_minute": 60, "settings": {"PROVIDER_FAULT_THRESHOLD": 51},
                  "providers": {"mmg": [{"from_minute": 0, "to_minute": 20, "error_rate": 1.0}], "firetext": []}})
    assert result["weight_changes"] == {} and result["final_statuses"] == {"delivered": 1200}


def test_undelivered_texts_time_out_and_retries_that_run_out_fail_so_none_is_lost() -> None:
    result = run({"duration_minutes": 10, "messages_per_minute": 60,
                  "settings": {"DELIVERY_MAX_RETRIES": 1, "SENDING_TIMEOUT_S": 3600},
                  "providers": {"mmg": [{"from_minute": 0, "to_minute": 60, "error_rate": 0.5,
                                         "undelivered_rate": 1.0}],
                                "firetext": [{"from_minute": 0, "to_minute": 60, "error_rate": 1.0}]}})
    statuses = result["final_statuses"]
    assert statuses["temporary-failure"] > 0 and statuses["technical-failure"] > 0
    assert sum(statuses.values()) == result["messages"] == 600 and result["lost"] == 0


def test_by_default_each_tend_back_step_waits_for_its_own_quiet_hour() -> None:
    simulation = simulate(Scenario.model_validate({
        "duration_minutes": 200, "messages_per_minute": 60,
        "providers": {"mmg": [{"from_minute": 0, "to_minute": 3, "error_rate": 1.0}], "firetext": []}}))
    back = [round(minute) for minute, change in simulation.changes
            if change.provider == "mmg" and change.reason == "Adjusted back to resting point"]
    assert len(back) >= 2 and all(later - earlier >= 60 for earlier, later in zip(back, back[1:]))
    assert summary(simulation)["return_minutes"] >= 60 * len(back)  # a quiet hour before every step


def test_weights_that_never_come_back_have_no_return_time() -> None:
    result = run({"duration_minutes": 70, "messages_per_minute": 60,
                  "providers": {"mmg": [{"from_minute": 0, "to_minute": 60, "error_rate": 1.0}], "firetext": []}})
    assert result["return_minutes"] is None


def test_a_message_that_never_reaches_a_final_status_is_counted_as_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    from clarion.simulator import engine

    handlers = {**engine._Run.HANDLERS, engine.RECEIPT: lambda run, message: None}  # receipts that vanish
    monkeypatch.setattr(engine._Run, "HANDLERS", handlers)
    result = run({"duration_minutes": 2, "messages_per_minute": 30,
                  "settings": {"DELIVERY_MAX_RETRIES": 0, "SENDING_TIMEOUT_S": 60}, "providers": {"mmg": []}})
    assert result["messages"] == 60 and result["lost"] == 60  # the run still ends


@pytest.mark.parametrize("name", sorted(path.stem for path in SCENARIOS.glob("*.json")))
def test_every_shipped_scenario_keeps_the_weights_in_bounds_and_loses_nothing(name: str) -> None:
    simulation = simulate(load_scenario(SCENARIOS / f"{name}.json"))
    result = summary(simulation)
    assert result["lost"] == 0 and not simulation.invariant_breaks
    assert all(0 <= change.new <= 100 for _, change in simulation.changes)
    for row in simulation.timeline:
        assert sum(row.weight.values()) == 100
    if name == "blip":
        assert result["weight_changes"]["fault"] == 2  # one step, then nothing more
        assert result["drain_minutes"] == {"mmg": {"minutes": 0.0, "to_weight": 41}}
    if name == "outage-26-january":
        probes = [m for m, c in simulation.changes if c.provider == "mmg" and c.new == 10 and 480 < m < 2220]
        assert len(probes) >= 20  # about one an hour through the outage, each pushed back to 0
        assert simulation.timeline[-1].weight == {"mmg": 51, "firetext": 49}
    if name == "three-providers":
        assert simulation.timeline[200].weight["reach"] == 0
        assert simulation.timeline[-1].weight == {"mmg": 34, "firetext": 33, "reach": 33}


def test_the_command_writes_the_timeline_the_changes_and_the_chart(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"duration_minutes": 15, "messages_per_minute": 60,
                                    "providers": {"mmg": [{"from_minute": 2, "to_minute": 15, "error_rate": 1}],
                                                  "firetext": []}}))
    out, changes, chart = tmp_path / "timeline.csv", tmp_path / "changes.jsonl", tmp_path / "chart.png"
    result = CliRunner().invoke(main, ["simulate", str(scenario), "--out", str(out), "--changes", str(changes),
                                       "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["lost"] == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["minute", "weight_mmg", "sent_mmg", "faults_mmg",
                             "weight_firetext", "sent_firetext", "faults_firetext"]
    assert len(rows) == 15 and int(rows[0]["sent_mmg"]) > 0 and int(rows[-1]["weight_mmg"]) == 0
    first = json.loads(changes.read_text().splitlines()[0])
    assert set(first) == {"minute", "provider", "old", "new", "reason"} and first["minute"] >= 2
    assert chart.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(("scenario", "message"), [
    ({"duration_minutes": 10, "messages_per_minute": 60, "providers": {}}, "at least one provider"),
    ({"duration_minutes": 10, "messages_per_minute": 60, "providers": {"mmg": [{"from_minute": 5, "to_minute": 2}]}},
     "must be after"),
    ({"duration_minutes": 10, "messages_per_minute": 60,
      "providers": {"mmg": [{"from_minute": 0, "to_minute": 2, "error_rate": 1.5}]}}, "less than or equal to 1"),
    ({"duration_minutes": 10, "messages_per_minute": 60, "settings": {"NO_SUCH_SETTING": 1},
      "providers": {"mmg": []}}, "unknown settings"),
    ({"duration_minutes": 10, "messages_per_minute": 60, "settings": {"PROVIDER_STEP_POINTS": 0},
      "providers": {"mmg": []}}, "provider_step_points"),
    ({"duration_minutes": 10, "providers": {"mmg": []}}, "messages_per_minute"),
])
def test_a_bad_scenario_gets_a_clear_error(tmp_path: Path, scenario: dict[str, Any], message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(scenario))
    result = CliRunner().invoke(main, ["simulate", str(path)])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_a_missing_scenario_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nowhere.json")
