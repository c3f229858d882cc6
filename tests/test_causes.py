import pytest

from skillibrium.integrations.causes import EXPLANATIONS, classify
from skillibrium.integrations.choices import Cause


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("Invalid login credentials", Cause.PASSWORD_RESET),
        ("Expired API credentials", Cause.EXPIRED_CREDENTIALS),
        ("Missing permission", Cause.MISSING_PERMISSIONS),
        ("Missing Permissions", Cause.MISSING_PERMISSIONS),
        ("Expired multi-factor authentication", Cause.EXPIRED_MFA),
        ("Third party offline", Cause.PROVIDER_OUTAGE),
        ("Something nobody has seen before", Cause.OTHER),
    ],
)
def test_merge_issue_text_names_the_cause(text: str, cause: Cause) -> None:
    assert classify(text) == cause


def test_every_cause_but_none_is_explained() -> None:
    assert set(EXPLANATIONS) == set(Cause) - {Cause.NONE}
