from .client import AccountDetails, LinkedAccountToken, MergeClient
from .errors import (
    AccountGone,
    BackingOff,
    BadRecord,
    MergeError,
    Misconfigured,
    RateLimited,
    RelinkNeeded,
    Transient,
)

__all__ = [
    "AccountDetails",
    "AccountGone",
    "BackingOff",
    "BadRecord",
    "LinkedAccountToken",
    "MergeClient",
    "MergeError",
    "Misconfigured",
    "RateLimited",
    "RelinkNeeded",
    "Transient",
]
