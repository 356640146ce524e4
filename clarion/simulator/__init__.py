"""`clarion simulate`: clarion's routing code under a scenario of failing and slow providers, on a virtual clock."""

from clarion.simulator.engine import Simulation, simulate
from clarion.simulator.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "Simulation", "load_scenario", "simulate"]
