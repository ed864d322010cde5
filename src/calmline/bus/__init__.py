"""How input events reach the engine: in-process (default) or Redis Streams (``bus.redis_streams``)."""

from calmline.bus.base import Backpressure, Bus, BusUnavailable, InProcessBus, partition_of

__all__ = ["Backpressure", "Bus", "BusUnavailable", "InProcessBus", "partition_of"]
