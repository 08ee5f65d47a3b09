"""The API's rate limit per token: a counter per window in Redis.

DRF's SimpleRateThrottle keeps the timestamp of every request of the last window in one
cached list, which each request reads and writes back whole: 1,200 pickled floats at the
default rate, more the higher the rate, and two workers that read the list at once each
write back their own copy, losing the other's request. Here each token has one counter per
window of ``duration`` seconds (a minute at the default rate, aligned on the clock): a
request adds one to it in one round trip and is allowed while the count is within the rate.
INCR is atomic, so concurrent workers never lose a count; a refused request is taken back
out, so hammering a closed door does not keep it closed; Retry-After is the rest of the
window. As with any fixed window, a client may spend one window's rate at its end and the
next one's at the start of the next.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from kam.models import ApiToken
from kam.redisconn import redis_client


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per token (or per session user), counted in Redis; 429 with Retry-After."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window, elapsed = divmod(now, self.duration)
        # The cache's key prefix keeps deployments (and test runs) sharing a Redis apart.
        counter = cache.make_key(f"{key}:{int(window)}")
        pipeline = redis_client().pipeline(transaction=False)
        pipeline.incr(counter)
        pipeline.expire(counter, self.duration + 1)
        count, _expiry = pipeline.execute()
        if count <= self.num_requests:
            return True
        redis_client().decr(counter)
        self.wait_seconds = self.duration - elapsed
        return False

    def wait(self) -> float | None:
        return max(math.ceil(getattr(self, "wait_seconds", self.duration)), 1)
