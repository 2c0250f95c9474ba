"""The channel layer: voice, SMS and e-mail, each behind one small interface
(:mod:`flowhook.channels.adapter`), with adapters registered by name
(:mod:`flowhook.channels.registry`) and chosen per account (:mod:`flowhook.channels.config`).
:class:`~flowhook.channels.service.Channels` is what widgets and use cases talk to."""

from flowhook.channels.config import ChannelSettings
from flowhook.channels.service import Channels

__all__ = ["ChannelSettings", "Channels"]
