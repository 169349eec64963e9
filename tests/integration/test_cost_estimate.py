"""The estimated cloud cost follows Tesla's rule: every answer below 500, by its category."""

from __future__ import annotations

import pytest

from custom_components.tesla_resilient.billing import request_cost
from custom_components.tesla_resilient.cloud_errors import OutcomeReport, Request
from custom_components.tesla_resilient.health import Outcome

VIN = "5YJ3E7EB0NF000001"


@pytest.mark.parametrize(
    ("request_kind", "outcome", "sent", "usd"),
    [
        (Request.VEHICLE_DATA, Outcome.SUCCESS, True, 1 / 500),
        (Request.VEHICLE_DATA, Outcome.ASLEEP, True, 1 / 500),
        (Request.VEHICLE_DATA, Outcome.RATE_LIMITED, True, 1 / 500),
        (Request.VEHICLE_DATA, Outcome.AUTH_FAILED, True, 1 / 500),
        (Request.COMMAND, Outcome.BAD_REQUEST, True, 1 / 1000),
        (Request.WAKE_UP, Outcome.SUCCESS, True, 1 / 50),
        (Request.SIGNED_COMMAND, Outcome.SUCCESS, True, 1 / 1000),
        (Request.SIGNED_COMMAND, Outcome.BAD_REQUEST, True, 1 / 1000),
        (Request.SIGNED_COMMAND, Outcome.VEHICLE_UNAVAILABLE, True, 0.0),
        (Request.VEHICLE_DATA, Outcome.SERVER_ERROR, True, 0.0),
        (Request.VEHICLE_DATA, Outcome.TRANSPORT, True, 0.0),
        (Request.COMMAND, Outcome.AUTH_FAILED, False, 0.0),
        (Request.VEHICLE_STATE, Outcome.SUCCESS, True, 0.0),
        (Request.STATUS, Outcome.SUCCESS, True, 0.0),
    ],
)
def test_every_answer_below_500_is_counted_by_its_category(
    request_kind: Request, outcome: Outcome, sent: bool, usd: float
) -> None:
    report = OutcomeReport(request_kind, outcome, 0.0, VIN, sent=sent)
    assert request_cost(report) == pytest.approx(usd)
