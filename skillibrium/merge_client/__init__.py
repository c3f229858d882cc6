from .client import AccountDetails, LinkedAccountToken, MergeClient, when_api_key_refused, when_merge_answers
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
    "when_api_key_refused",
    "when_merge_answers",
]
