from .client import AccountDetails, LinkedAccountToken, MergeClient
from .errors import AccountGone, BadRecord, MergeError, Misconfigured, RateLimited, RelinkNeeded, Transient

__all__ = [
    "AccountDetails",
    "AccountGone",
    "BadRecord",
    "LinkedAccountToken",
    "MergeClient",
    "MergeError",
    "Misconfigured",
    "RateLimited",
    "RelinkNeeded",
    "Transient",
]
