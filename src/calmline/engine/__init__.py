"""The pure call engine."""

from calmline.engine.core import CallEngine
from calmline.engine.policy import AlertPolicy, load_alert_policy
from calmline.engine.state import AlertView, CallState

__all__ = ["AlertPolicy", "AlertView", "CallEngine", "CallState", "load_alert_policy"]
