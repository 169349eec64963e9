"""Tests for the merged vehicle state."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.tesla_resilient.state import Field, FieldValue, Source, VehicleState


def test_update_reports_new_fields_and_stores_source_and_time() -> None:
    state = VehicleState()

    changed = state.update({Field.LOCKED: True, Field.BATTERY_LEVEL: 80}, Source.CLOUD, 10.0)

    assert changed == {Field.LOCKED, Field.BATTERY_LEVEL}
    assert state.get(Field.LOCKED) == FieldValue(True, Source.CLOUD, 10.0)
    assert state.value(Field.BATTERY_LEVEL) == 80


def test_same_value_from_same_source_is_not_a_change_but_refreshes_age() -> None:
    state = VehicleState()
    state.update({Field.LOCKED: True}, Source.BLUETOOTH, 1.0)

    assert state.update({Field.LOCKED: True}, Source.BLUETOOTH, 5.0) == set()
    assert state.get(Field.LOCKED) == FieldValue(True, Source.BLUETOOTH, 5.0)


def test_new_value_or_new_source_is_a_change() -> None:
    state = VehicleState()
    state.update({Field.LOCKED: True, Field.SPEED: 0}, Source.CLOUD, 1.0)

    changed = state.update({Field.LOCKED: False, Field.SPEED: 0}, Source.BLUETOOTH, 2.0)

    assert changed == {Field.LOCKED, Field.SPEED}
    assert state.sources([Field.LOCKED, Field.SPEED]) == {
        "locked": "bluetooth",
        "speed": "bluetooth",
    }


def test_older_news_never_replaces_newer() -> None:
    state = VehicleState()
    state.update({Field.LOCKED: False}, Source.BLUETOOTH, 20.0)

    changed = state.update({Field.LOCKED: True, Field.ODOMETER: 100.0}, Source.CLOUD, 10.0)

    assert changed == {Field.ODOMETER}
    assert state.get(Field.LOCKED) == FieldValue(False, Source.BLUETOOTH, 20.0)


def test_equal_time_takes_the_latest_report() -> None:
    state = VehicleState()
    state.update({Field.LOCKED: False}, Source.BLUETOOTH, 20.0)

    assert state.update({Field.LOCKED: True}, Source.CLOUD, 20.0) == {Field.LOCKED}
    assert state.value(Field.LOCKED) is True


def test_unknown_field_reads_as_none() -> None:
    state = VehicleState()

    assert state.get(Field.SPEED) is None
    assert state.value(Field.SPEED) is None
    assert state.sources([Field.SPEED]) == {}


def test_expire_drops_only_fields_older_than_their_limit() -> None:
    state = VehicleState()
    state.update({Field.SPEED: 30, Field.ODOMETER: 1000.0}, Source.CLOUD, 0.0)
    state.update({Field.LOCKED: True}, Source.BLUETOOTH, 50.0)
    limits = {Field.SPEED: 60.0, Field.LOCKED: 60.0}

    dropped = state.expire(limits.get, 100.0)

    assert dropped == {Field.SPEED}
    assert state.value(Field.SPEED) is None
    assert state.value(Field.LOCKED) is True
    assert state.value(Field.ODOMETER) == 1000.0


def test_expire_keeps_a_field_exactly_at_its_limit() -> None:
    state = VehicleState()
    state.update({Field.SPEED: 30}, Source.CLOUD, 0.0)

    assert state.expire(lambda _: 60.0, 60.0) == set()
    assert state.expire(lambda _: 60.0, 60.5) == {Field.SPEED}


def test_field_value_is_immutable() -> None:
    found = FieldValue(1, Source.CLOUD, 0.0)

    with pytest.raises(dataclasses.FrozenInstanceError):
        found.value = 2  # type: ignore[misc]


def test_keys_are_the_strings_links_report() -> None:
    assert Field("battery_level") is Field.BATTERY_LEVEL
    assert Source("bluetooth") is Source.BLUETOOTH


_reports = st.lists(
    st.tuples(
        st.sampled_from([Field.LOCKED, Field.SPEED, Field.INSIDE_TEMP]),
        st.integers(0, 3),
        st.sampled_from(list(Source)),
        st.integers(0, 20).map(float),
    ),
    max_size=30,
)


@given(_reports)
def test_each_field_holds_its_latest_report(
    reports: list[tuple[Field, int, Source, float]],
) -> None:
    state = VehicleState()
    expected: dict[Field, FieldValue] = {}
    for key, value, source, at in reports:
        before = state.get(key)
        changed = state.update({key: value}, source, at)
        if key not in expected or expected[key].at <= at:
            expected[key] = FieldValue(value, source, at)
        after = state.get(key)
        assert (key in changed) == (
            after is not None
            and (before is None or (before.value, before.source) != (after.value, after.source))
        )

    assert state.fields == expected


def test_expire_from_drops_only_what_that_link_reported_last() -> None:
    state = VehicleState()
    state.update({Field.LOCKED: True, Field.BATTERY_LEVEL: 80}, Source.BLUETOOTH, 0.0)
    state.update({Field.BATTERY_LEVEL: 79}, Source.CLOUD, 10.0)

    assert state.expire_from(Source.BLUETOOTH, 60.0, 60.0) == set()
    assert state.expire_from(Source.BLUETOOTH, 60.0, 60.5) == {Field.LOCKED}
    assert state.value(Field.BATTERY_LEVEL) == 79
    assert state.expire_from(Source.CLOUD, 60.0, 70.5) == {Field.BATTERY_LEVEL}
    assert state.fields == {}
