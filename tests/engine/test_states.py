"""Job states and charges are one set of values for Python and SQL alike."""

from __future__ import annotations

import re

from engine.models import Charge, JobState, Part, PartKind, Role, Stage
from engine.storage.migrations import MIGRATIONS
from engine.storage.sql import sql

QUOTED = re.compile(r"(state|charge)\s*(?:=|IN)\s*(\([^)]*\)|'[^']*')")


def literals(text: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"state": set(), "charge": set()}
    for column, values in QUOTED.findall(text):
        found[column] |= set(re.findall(r"'([^']*)'", values))
    return found


def test_every_state_and_charge_the_schema_names_is_an_enum_value() -> None:
    schema = "\n".join(statement for _, statements in MIGRATIONS for statement in statements)
    named = literals(schema)
    assert named["state"] and named["charge"]
    assert named["state"] <= {state.value for state in JobState}
    assert named["charge"] <= {charge.value for charge in Charge}


def test_statements_get_the_literals_the_partial_index_is_written_with() -> None:
    index = next(s for _, steps in MIGRATIONS for s in steps if "jobs_unfinished" in s)
    written = re.search(r"WHERE (state IN \([^)]*\))", index)
    assert written is not None
    assert sql("WHERE state IN {unfinished}") == f"WHERE {written[1]}"
    assert sql("charge IN {counted} AND charge = {reserved}") == (
        "charge IN ('reserved', 'committed') AND charge = 'reserved'"
    )


def test_parts_round_trip_through_their_stored_names_and_know_their_role() -> None:
    for kind in PartKind:
        for scene in (None, 0, 7, 12):
            part = Part(kind, scene)
            assert Part.parse(part.name) == part
    assert Part.parse("clip_02") == Part(PartKind.CLIP, 2)
    assert Part(PartKind.NARRATION, 1).role is Role.VOICE
    assert Part(PartKind.SCENE, 1).role is None
    assert Part.parse("sketch_01") is None and Part.parse("clip_x") is None
    assert {role.stage for role in Role} == set(Stage) - {Stage.SCENES, Stage.MERGE, Stage.DELIVERY}
