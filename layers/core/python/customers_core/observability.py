"""The one place the Logger is created (log lines never carry personal data), and what every
function does after a SnapStart restore."""

from __future__ import annotations

import random

from aws_lambda_powertools import Logger

logger = Logger(service="customers-api")


def after_restore() -> None:
    """Environments restored from one snapshot share its memory. Ids and secrets come from
    os.urandom per request (safe after restore); `random` only jitters retries, but restored copies
    would all jitter alike, so it is reseeded. Nothing else is made at import."""
    random.seed()
    from customers_core import ids  # noqa: PLC0415

    ids.reset_monotonic_state()


try:  # the module exists in Lambda's Python runtime only (used with SnapStart)
    from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
except ImportError:
    pass
else:
    register_after_restore(after_restore)
