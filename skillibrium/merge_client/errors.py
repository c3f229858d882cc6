"""Every failure talking to Merge becomes one of these; the type decides what the caller does."""


class MergeError(Exception):
    """Base class: str(error) is safe to show to an admin (it never holds a token)."""


class RelinkNeeded(MergeError):
    """Merge can no longer reach the provider with the stored credentials: an admin must relink."""


class AccountGone(MergeError):
    """The linked account was deleted or its token is no longer valid: connect again."""


class RateLimited(MergeError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transient(MergeError):
    """Merge is down, slow or answered garbage: retry later, change nothing meanwhile."""


class BackingOff(MergeError):
    """Not sent: the fleet had too many failed requests to Merge just now (see budget.py); try in a while."""


class Misconfigured(MergeError):
    """Our own API key or request is wrong: retrying will not help."""


class BadRecord(MergeError):
    """One record cannot be used; skip it and report it."""
