"""flowhook: communication flows connected to the world through webhooks."""

__version__ = "0.1.0"
