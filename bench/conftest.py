"""Fixtures for running scenarios inside Home Assistant's test harness."""

from __future__ import annotations

import pytest
from _pytest.terminal import TerminalReporter

import custom_components  # noqa: F401  (the project's package, before Home Assistant's test one)
from bench.days import day_figures, render_days
from bench.figures import evaluate, render_table
from bench.session import SESSION_KEY, BenchSession


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/tesla_resilient."""


@pytest.fixture
def bench_session(request: pytest.FixtureRequest) -> BenchSession:
    """The run's collector: the one `python -m bench` passes in, or one with default settings."""
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None:
        session = BenchSession()
        request.config.stash[SESSION_KEY] = session
    return session


def pytest_terminal_summary(terminalreporter: TerminalReporter, config: pytest.Config) -> None:
    """Print the figures when the scenarios run under plain pytest rather than `python -m bench`."""
    session = config.stash.get(SESSION_KEY, None)
    if session is None or config.pluginmanager.is_registered(session):
        return
    terminalreporter.write_sep("-", "figures")
    if session.days:
        terminalreporter.write_line(render_days(session.days))
    figures = [*session.figures, *day_figures(session.days)]
    terminalreporter.write_line(render_table(evaluate(figures, session.failures)))
