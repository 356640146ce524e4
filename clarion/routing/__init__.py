"""Provider selection: which provider gets the next notification of a channel."""

from clarion.routing.select import NoActiveProvider, choose_provider

__all__ = ["NoActiveProvider", "choose_provider"]
