"""Row ids, record references, dotted paths and retry delays: small facts many modules share."""

from __future__ import annotations

import os
import random
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentdesk.base.backoff import Backoff
from agentdesk.base.dotted import dig
from agentdesk.base.ids import new_row_id, record_ref, ref_source


def test_row_ids_are_unique_version_4_uuids() -> None:
    ids = [new_row_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == ids[0]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_child_does_not_repeat_its_parents_row_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next id and leave at once
        os.write(write, new_row_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_id and child_id != new_row_id()


@given(st.text(alphabet=st.characters(blacklist_characters=":"), min_size=1), st.text())
def test_a_reference_names_its_source_even_when_the_id_has_colons(source: str, record_id: str) -> None:
    assert ref_source(record_ref(source, record_id)) == source
    assert record_ref(source, record_id).split(":", 1)[1] == record_id


def test_dig_follows_keys_and_list_indexes() -> None:
    payload = {"contact": {"name": {"first": "Ana"}}, "phones": [{"number": "617"}], "1": "key"}
    assert dig(payload, "contact.name.first") == "Ana"
    assert dig(payload, "phones.0.number") == "617"
    assert dig(payload, "") is payload
    assert dig(payload, "1") == "key"


@pytest.mark.parametrize("path", ["phones.1.number", "phones.x", "contact.name.first.more", "nothing", "phones.-1"])
def test_dig_gives_the_missing_value_where_a_path_leads_nowhere(path: str) -> None:
    payload = {"contact": {"name": {"first": "Ana"}}, "phones": [{"number": "617"}]}
    assert dig(payload, path, missing="∅") == "∅"


@given(st.integers(min_value=0, max_value=10_000), st.integers())
def test_backoff_waits_between_half_and_all_of_a_capped_doubling(failures: int, seed: int) -> None:
    backoff = Backoff(base=1.0, cap=300.0)
    ceiling = 300.0 if failures > 10 else min(300.0, 2.0 ** max(failures - 1, 0))  # 2**9 = 512 is past the cap
    assert ceiling / 2 <= backoff.delay(failures, random.Random(seed)) <= ceiling


def test_backoff_spreads_desks_that_failed_together() -> None:
    delays = {round(Backoff().delay(6, random.Random(seed)), 3) for seed in range(50)}
    assert len(delays) > 40  # not one instant for the whole floor
