"""The collector's pause around bulk record building: what it leaves behind."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from autograd_cli import gcpause
from autograd_cli.gcpause import BULK, freeze_once, paused_gc


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    """The move applies where no object is frozen; a command run in this process before
    (`freeze_once`) froze torch's objects, and then whether the records reach the oldest
    generation depended on what earlier tests left: frozen again afterwards."""
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    yield
    if frozen:
        gc.freeze()


@pytest.mark.usefixtures("collector_on", "nothing_frozen")
def test_what_the_pause_made_ends_in_the_oldest_generation() -> None:
    with paused_gc():
        assert not gc.isenabled()
        made = [[index] for index in range(BULK)]  # lists: tracked by the collector
    assert gc.isenabled()
    oldest = {id(found) for found in gc.get_objects(generation=2)}
    assert all(id(record) in oldest for record in made)
    youngest = {id(found) for found in gc.get_objects(generation=0)}
    assert not any(id(record) in youngest for record in made)


@pytest.mark.usefixtures("collector_on")
def test_a_small_pause_leaves_its_objects_young_and_counts_no_frozen_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def counted() -> int:
        raise AssertionError("a walk over every frozen object, for a few records")

    gc.collect()  # the youngest generation starts empty
    monkeypatch.setattr(gc, "get_freeze_count", counted)
    with paused_gc():
        made = [[index] for index in range(100)]
    assert gc.isenabled()
    youngest = {id(found) for found in gc.get_objects(generation=0)}
    assert all(id(record) in youngest for record in made)


@pytest.mark.usefixtures("collector_on")
def test_objects_the_process_froze_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused_gc():
            made = [[index] for index in range(BULK)]
        assert gc.get_freeze_count() == frozen and gc.isenabled()
        assert made  # the records themselves took the usual way, still alive
    finally:
        gc.unfreeze()


def test_a_collector_switched_off_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_freeze_once_freezes_on_the_first_call_only_and_walks_no_frozen_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every job of a batch reaches `freeze_once`: the later calls must cost nothing (no
    `gc.get_freeze_count`, a walk over every frozen object) and freeze no job's garbage."""
    freezes: list[None] = []

    def counted() -> int:
        raise AssertionError("a walk over every frozen object, in every job")

    monkeypatch.setattr(gcpause, "_frozen", False)
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(None))
    monkeypatch.setattr(gc, "get_freeze_count", counted)
    for _ in range(3):
        freeze_once()
    assert len(freezes) == 1
