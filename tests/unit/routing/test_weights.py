"""The arithmetic of weights: whole points moved without creating or losing one, never below 0 or above 100."""

from __future__ import annotations

import random

import pytest

from clarion.routing.weights import apportion, move_towards, resting_points, take_points

BLOG = {"mmg": 51, "firetext": 49}  # the seeded resting points


# apportion


def test_apportion_splits_in_proportion_to_the_shares() -> None:
    assert apportion(100, {"mmg": 51, "firetext": 49}) == {"mmg": 51, "firetext": 49}
    assert apportion(30, {"a": 2, "b": 1}) == {"a": 20, "b": 10}


def test_apportion_gives_the_points_left_over_to_the_largest_remainders() -> None:
    # Exact shares 1.43, 2.86, 5.71: the floors make 8, and the two points left go to b (.86) and c (.71).
    assert apportion(10, {"a": 1, "b": 2, "c": 4}) == {"a": 1, "b": 3, "c": 6}


def test_apportion_breaks_a_tie_between_remainders_by_identifier() -> None:
    assert apportion(100, {"c": 1, "b": 1, "a": 1}) == {"a": 34, "b": 33, "c": 33}


def test_apportion_splits_equally_when_every_share_is_zero() -> None:
    assert apportion(10, {"mmg": 0, "firetext": 0}) == {"mmg": 5, "firetext": 5}
    assert sum(apportion(100, {"a": 0, "b": 0, "c": 0}).values()) == 100


def test_apportion_of_nothing_among_no_one_is_empty() -> None:
    assert apportion(10, {}) == {}
    assert apportion(0, {"a": 3, "b": 1}) == {"a": 0, "b": 0}


def test_apportion_always_sums_to_the_total_and_stays_within_a_point_of_the_exact_share() -> None:
    rng = random.Random(20260105)
    for _ in range(2000):
        total = rng.randint(0, 100)
        shares = {f"p{i}": rng.choice([0, 0, rng.randint(0, 100), rng.random()]) for i in range(rng.randint(1, 5))}
        parts = apportion(total, shares)
        assert sum(parts.values()) == total, (total, shares)
        whole = sum(shares.values())
        for name, part in parts.items():
            exact = total * shares[name] / whole if whole else total / len(shares)
            assert abs(part - exact) < 1, (total, shares, parts)


# take_points


def test_a_loser_gives_up_a_step_to_the_other_provider() -> None:
    assert take_points(BLOG, {"mmg"}, 10) == {"mmg": 41, "firetext": 59}


def test_a_loser_gives_up_no_more_than_it_has() -> None:
    assert take_points({"mmg": 4, "firetext": 96}, {"mmg"}, 10) == {"mmg": 0, "firetext": 100}
    assert take_points({"mmg": 0, "firetext": 100}, {"mmg"}, 10) == {"mmg": 0, "firetext": 100}


def test_the_others_gain_in_proportion_to_their_weights() -> None:
    # b and c share 10 points as 50:20, that is 7.14 and 2.86: c gets the point left over.
    assert take_points({"a": 30, "b": 50, "c": 20}, {"a"}, 10) == {"a": 20, "b": 57, "c": 23}


def test_a_provider_at_zero_stays_at_zero_while_another_gainer_has_points() -> None:
    assert take_points({"a": 50, "b": 50, "c": 0}, {"a"}, 10) == {"a": 40, "b": 60, "c": 0}


def test_a_provider_at_zero_takes_the_points_when_it_is_the_only_one_left_to_take_them() -> None:
    assert take_points({"mmg": 0, "firetext": 100}, {"firetext"}, 10) == {"mmg": 10, "firetext": 90}


def test_nothing_moves_when_every_provider_is_a_loser() -> None:
    assert take_points(BLOG, {"mmg", "firetext"}, 10) == BLOG
    assert take_points({"mmg": 100}, {"mmg"}, 10) == {"mmg": 100}


def test_a_loser_that_is_not_in_the_weights_changes_nothing() -> None:
    assert take_points(BLOG, {"inactive"}, 10) == BLOG


def test_several_losers_each_give_up_a_step() -> None:
    assert take_points({"a": 40, "b": 35, "c": 25}, {"a", "b"}, 10) == {"a": 30, "b": 25, "c": 45}


# move_towards


def test_tending_back_moves_each_provider_a_step_towards_its_resting_point() -> None:
    assert move_towards({"mmg": 11, "firetext": 89}, BLOG, 10) == {"mmg": 21, "firetext": 79}


def test_tending_back_never_goes_past_the_resting_point() -> None:
    assert move_towards({"mmg": 46, "firetext": 54}, BLOG, 10) == BLOG
    assert move_towards({"mmg": 56, "firetext": 44}, BLOG, 10) == BLOG


def test_tending_back_at_rest_moves_nothing() -> None:
    assert move_towards(BLOG, BLOG, 10) == BLOG


def test_two_providers_move_the_same_distance_and_keep_their_total() -> None:
    # Email's priorities do not sum to 100: ses may gain 8, smtp may lose 10, so both move 8.
    assert move_towards({"ses": 2, "smtp": 20}, {"ses": 10, "smtp": 5}, 10) == {"ses": 10, "smtp": 12}


def test_three_providers_share_the_points_the_others_can_give() -> None:
    # a and b may gain 10 each, but c may give only 10: they share it.
    assert move_towards({"a": 10, "b": 20, "c": 70}, {"a": 40, "b": 30, "c": 30}, 10) == {"a": 15, "b": 25, "c": 60}
    # c may gain 10, a may give 10 and b 5: 10 points come from them in proportion (6.67 and 3.33).
    assert move_towards({"a": 60, "b": 35, "c": 5}, {"a": 40, "b": 30, "c": 30}, 10) == {"a": 53, "b": 32, "c": 15}


def test_a_provider_without_a_resting_point_stays_where_it_is() -> None:
    assert move_towards({"ses": 0, "smtp": 15, "other": 7}, {"ses": 10, "smtp": 5}, 10) == {
        "ses": 10, "smtp": 5, "other": 7}


# resting_points


def test_resting_points_of_the_whole_set_are_the_configured_ones() -> None:
    assert resting_points(BLOG, ["mmg", "firetext"]) == BLOG


def test_resting_points_are_rescaled_to_100_over_the_active_providers() -> None:
    assert resting_points(BLOG, ["mmg"]) == {"mmg": 100}
    assert resting_points({"a": 50, "b": 30, "c": 20}, ["a", "b"]) == {"a": 63, "b": 37}


def test_a_provider_named_nowhere_rests_at_zero() -> None:
    assert resting_points(BLOG, ["mmg", "firetext", "newcomer"]) == {"mmg": 51, "firetext": 49, "newcomer": 0}


def test_email_resting_points_are_used_as_configured() -> None:
    email = {"ses": 10, "smtp": 5}
    assert resting_points(email, ["ses", "smtp"], total=None) == email
    assert resting_points(email, ["smtp"], total=None) == {"smtp": 5}
    assert resting_points(email, ["ses", "newcomer"], total=None) == {"ses": 10}


# any weights, any losers, any resting points


def random_weights(rng: random.Random, names: list[str]) -> dict[str, int]:
    """Whole weights summing to 100, often with zeros and extremes."""
    cuts = sorted(rng.choice([0, 100, rng.randint(0, 100)]) for _ in range(len(names) - 1))
    bounds = [0, *cuts, 100]
    return {name: bounds[i + 1] - bounds[i] for i, name in enumerate(names)}


def test_any_change_keeps_weights_between_0_and_100_summing_to_100() -> None:
    rng = random.Random(51_49)
    for _ in range(3000):
        names = [f"p{i}" for i in range(rng.randint(1, 4))]
        weights, resting = random_weights(rng, names), random_weights(rng, names)
        losers = {name for name in names if rng.random() < 0.4}
        step = rng.randint(1, 30)
        case = (weights, losers, resting, step)

        taken = take_points(weights, losers, step)
        assert sum(taken.values()) == 100 and all(0 <= w <= 100 for w in taken.values()), case
        for name in names:
            if name in losers and len(losers) < len(names):
                assert taken[name] == weights[name] - min(step, weights[name]), case
            else:
                assert taken[name] >= weights[name], case

        tended = move_towards(weights, resting, step)
        assert sum(tended.values()) == 100 and all(0 <= w <= 100 for w in tended.values()), case
        for name in names:
            # Towards the resting point, at most a step, never past it.
            assert abs(tended[name] - weights[name]) <= step, case
            assert abs(tended[name] - resting[name]) <= abs(weights[name] - resting[name]), case
            assert (tended[name] - resting[name]) * (weights[name] - resting[name]) >= 0, case


@pytest.mark.parametrize("active", [["mmg"], ["firetext"], ["mmg", "firetext"], ["mmg", "x", "y"], ["x", "y"]])
def test_resting_points_of_any_active_set_sum_to_100(active: list[str]) -> None:
    assert sum(resting_points(BLOG, active).values()) == 100
