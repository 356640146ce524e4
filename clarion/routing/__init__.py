"""Provider selection and weights: the load-balancing policy of the blog post (design.md §5).

`select` chooses the provider of each attempt from cached weights; `policy` moves weights on
faults, slow delivery and tend-back; `manual` is the operator's change; `changes` makes every
change one locked, audited step; `weights` is the arithmetic; `rules` the numbers.
"""

from clarion.routing.policy import Balancer
from clarion.routing.rules import RoutingRules
from clarion.routing.select import NoActiveProvider, ProviderCache, Router

__all__ = ["Balancer", "NoActiveProvider", "ProviderCache", "Router", "RoutingRules"]
