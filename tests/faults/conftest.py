"""The fault matrix's `cell` fixture: each cell records its checks, then fails if any failed."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.faults.harness import RESULTS, Cell

_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the body of a cell's test raised, so the cell is not counted survived."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_CALL_FAILED] = True
    return report


@pytest.fixture
def cell(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[Cell]:
    """The cell of the running test; after the test its logs are checked and it is recorded."""
    result = Cell(request.node.name)
    yield result
    result.logs([*caplog.get_records("setup"), *caplog.get_records("call")])
    if request.node.stash.get(_CALL_FAILED, False):
        result.failures.append("the test body raised")
    RESULTS.append(result)
    if result.failures:
        pytest.fail("; ".join(result.failures), pytrace=False)
