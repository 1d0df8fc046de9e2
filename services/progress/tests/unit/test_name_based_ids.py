"""Derived ids are the version-5 UUIDs the standard library gives: stored milestone, alert and
publication ids stay what they were."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from waypoint_progress.domain.ids import name_based
from waypoint_progress.domain.timeline import entry_id


@given(name=st.text(), namespace=st.uuids())
def test_a_name_based_id_is_the_standard_librarys_version_5_uuid(
    namespace: uuid.UUID, name: str
) -> None:
    assert name_based(namespace, name) == str(uuid.uuid5(namespace, name))


def test_a_milestone_id_is_the_one_derived_before() -> None:
    rule, tenant, client = "first_session", "tenant-a", "0b6c1f7e-8c0a-4a55-9e8e-7f0c2a1e2b3c"
    assert entry_id(rule, tenant, client, "first") == "63ccf8f2-f7d4-5697-95f6-f24a809a4668"
