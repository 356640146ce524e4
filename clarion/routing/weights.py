"""The arithmetic of provider weights: whole points, moved without ever creating or losing one.

Every function takes a channel's weights ({identifier: points}) and returns new ones with the same
total, each between 0 and 100. For text messages the active weights sum to 100 (a share of traffic);
email's priorities are an order, and keep whatever total the operator gave them. Nothing here reads
the database or a clock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

__all__ = ["apportion", "move_towards", "resting_points", "take_points"]

Weights = Mapping[str, int]


def apportion(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Split `total` whole points in proportion to `shares` (equally when every share is 0).

    Largest remainder: each gets the floor of its exact share, and the points left over go to the
    largest remainders (ties to the identifier first in order), so the parts always sum to `total`.
    """
    if not shares:
        return {}
    names = sorted(shares)
    whole = sum(shares.values())
    exact = {name: total * shares[name] / whole if whole > 0 else total / len(names) for name in names}
    parts = {name: int(exact[name]) for name in names}
    left = total - sum(parts.values())
    for name in sorted(names, key=lambda n: (parts[n] - exact[n], n))[:left]:
        parts[name] += 1
    return parts


def take_points(weights: Weights, losers: Collection[str], step: int) -> dict[str, int]:
    """Each loser gives up to `step` points; the others share them in proportion to their weights.

    A provider at 0 stays at 0 while another has points: it was drained for a reason. With no one
    to give the points to (every provider is a loser), nothing moves.
    """
    gainers = {name: weight for name, weight in weights.items() if name not in losers}
    if not gainers:
        return dict(weights)
    new = dict(weights)
    taken = 0
    for name in losers:
        if name in new:
            lost = min(step, new[name])
            new[name] -= lost
            taken += lost
    for name, gained in apportion(taken, gainers).items():
        new[name] += gained
    return _capped(new, weights)


def move_towards(weights: Weights, resting: Weights, step: int) -> dict[str, int]:
    """Move every provider up to `step` points toward its resting point, never past it.

    Points come only from providers above their resting point and go only to those below, so the
    total is kept: as many points move as both sides can take (for two providers, both move the
    same distance). Providers with no resting point stay where they are.
    """
    gains = {n: min(step, resting[n] - w) for n, w in weights.items() if n in resting and w < resting[n]}
    losses = {n: min(step, w - resting[n]) for n, w in weights.items() if n in resting and w > resting[n]}
    moved = min(sum(gains.values()), sum(losses.values()))
    if moved == 0:
        return dict(weights)
    new = dict(weights)
    for name, points in apportion(moved, gains).items():
        new[name] += points
    for name, points in apportion(moved, losses).items():
        new[name] -= points
    return new


def resting_points(configured: Mapping[str, int], active: Collection[str], *, total: int | None = 100) -> dict[str, int]:
    """The resting points of the active providers.

    With a `total` (text messages) they are rescaled to it: a provider named nowhere rests at 0, and
    a resting provider that is inactive leaves its share to the others. Without one (email), the
    configured points are used as they are, for the providers that have one.
    """
    named = {name: configured.get(name, 0) for name in active}
    if total is None:
        return {name: points for name, points in named.items() if name in configured}
    return apportion(total, named)


def _capped(new: dict[str, int], old: Weights) -> dict[str, int]:
    # Shares above 100 cannot happen when the total is 100; with email's free totals they could.
    if all(0 <= weight <= 100 for weight in new.values()):
        return new
    return dict(old)
