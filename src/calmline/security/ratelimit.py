"""Login throttling in the process: lockout per username, rate limit per client address.

After ``max_failures`` failed logins for one username within ``lockout`` the username is locked for
``lockout`` (every attempt, right or wrong, gets 429 until then); more than ``ip_max_failures`` failures from
one address within ``lockout`` blocks that address the same way. State is in memory: a restart clears it, and
each API worker counts on its own (docs/SECURITY.md says so). Time comes from the caller's clock.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Names and addresses remembered at most (oldest forgotten first), so a flood cannot exhaust memory.
MAX_TRACKED = 10_000


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt is refused now, and for how many whole seconds."""

    reason: str  # "locked" (the username) | "rate_limited" (the address)
    retry_after: int


class _Window:
    """Failure times of one key, and when its lock ends."""

    __slots__ = ("failures", "locked_until")

    def __init__(self) -> None:
        self.failures: deque[datetime] = deque()
        self.locked_until: datetime | None = None


class LoginLimiter:
    """Counts failed logins per username and per address."""

    def __init__(
        self, max_failures: int = 5, lockout: timedelta = timedelta(minutes=15), ip_max_failures: int = 30
    ):
        self.max_failures = max_failures
        self.lockout = lockout
        self.ip_max_failures = ip_max_failures
        self._users: OrderedDict[str, _Window] = OrderedDict()
        self._ips: OrderedDict[str, _Window] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, username: str, ip: str, now: datetime) -> Refusal | None:
        """A refusal when the username is locked or the address is over its limit; None to go ahead."""
        with self._lock:
            user = self._users.get(username.casefold())
            if user is not None and user.locked_until is not None and user.locked_until > now:
                return Refusal("locked", _seconds(user.locked_until - now))
            addr = self._ips.get(ip)
            if addr is not None and addr.locked_until is not None and addr.locked_until > now:
                return Refusal("rate_limited", _seconds(addr.locked_until - now))
        return None

    def failure(self, username: str, ip: str, now: datetime) -> bool:
        """Count a failed attempt; True when it locked the username just now."""
        with self._lock:
            locked = self._count(self._users, username.casefold(), now, self.max_failures)
            self._count(self._ips, ip, now, self.ip_max_failures)
            return locked

    def success(self, username: str) -> None:
        """A right password clears the username's failures (never the address's)."""
        with self._lock:
            self._users.pop(username.casefold(), None)

    def _count(self, table: OrderedDict[str, _Window], key: str, now: datetime, limit: int) -> bool:
        window = table.get(key)
        if window is None:
            window = table[key] = _Window()
            while len(table) > MAX_TRACKED:
                table.popitem(last=False)
        else:
            table.move_to_end(key)
        window.failures.append(now)
        while window.failures and window.failures[0] <= now - self.lockout:
            window.failures.popleft()
        if len(window.failures) >= limit and (window.locked_until is None or window.locked_until <= now):
            window.locked_until = now + self.lockout
            window.failures.clear()
            return True
        return False


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
