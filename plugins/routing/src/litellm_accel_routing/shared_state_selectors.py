"""litellm's selector classes whose state is shared (imported by the exchange thread, never at import)."""

from __future__ import annotations

from litellm.router_strategy.least_busy import LeastBusyLoggingHandler
from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler
from litellm.router_strategy.lowest_tpm_rpm_v2 import LowestTPMLoggingHandler_v2

SELECTOR_TYPES = (LeastBusyLoggingHandler, LowestLatencyLoggingHandler, LowestTPMLoggingHandler_v2)
