"""Access rights per association, object lists, and the Data-Access-/Action-Results of the simulated meter."""

from __future__ import annotations

import pytest
from tests.simulator.simclient import Client, client_settings, connect

from dlmskit.apdu.common import SelectiveAccessDescriptor
from dlmskit.apdu.results import ActionResult, DataAccessResult
from dlmskit.codec import axdr
from dlmskit.codec.obis import Obis
from dlmskit.cosem.values import AttributeAccessMode, MethodAccessMode, decode_object_list
from dlmskit.security.hls import Mechanism
from dlmskit.session.errors import AssociationRejected
from dlmskit.session.events import Associated
from dlmskit.simulator import SimulatedMeter

DENIED = DataAccessResult.READ_WRITE_DENIED


def test_public_client_reads_identity_and_clock_only(meter: SimulatedMeter) -> None:
    public = connect(meter, 16)
    assert public.value("0.0.42.0.0.255") == b"MMM0000012345678"
    assert public.value("0.0.96.1.0.255") == b"12345678"
    assert len(public.value("0.0.1.0.0.255")) == 12
    assert public.get("1.0.1.8.0.255").error == DENIED
    assert public.get("1.0.99.1.0.255", 7).error == DENIED
    assert public.set("0.0.1.0.0.255", 3, axdr.Long(0)) == DENIED
    assert public.action("0.0.96.3.10.255", 1, axdr.Integer(0)).result == ActionResult.READ_WRITE_DENIED


def test_reader_reads_everything_but_may_not_switch_the_relay_or_enter_tokens(meter: SimulatedMeter) -> None:
    reader = connect(meter, 32)
    assert reader.value("1.0.1.8.0.255") > 0
    assert reader.value("0.0.43.1.1.255") == 0  # client 1 has sent nothing yet
    assert reader.action("0.0.96.3.10.255", 1, axdr.Integer(0)).result == ActionResult.READ_WRITE_DENIED
    assert reader.action("0.0.96.3.10.255", 2, axdr.Integer(0)).result == ActionResult.READ_WRITE_DENIED
    token = axdr.OctetString(b"11112222333344445555")
    assert reader.action("0.0.19.40.0.255", 1, token).result == ActionResult.READ_WRITE_DENIED
    assert reader.set("0.0.96.3.10.255", 4, axdr.Enum(1)) == DENIED
    assert meter.relay is not None and meter.relay.control_state == 1


def test_management_may_do_everything(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    assert management.set("0.0.96.3.10.255", 4, axdr.Enum(1)) == DataAccessResult.SUCCESS
    assert management.action("0.0.96.3.10.255", 1, axdr.Integer(0)).result == ActionResult.SUCCESS
    assert management.value("0.0.96.3.10.255", 3) == 0


def test_wrong_password_and_unknown_client_are_rejected(meter: SimulatedMeter) -> None:
    with pytest.raises(AssociationRejected):
        Client(meter, 32, client_settings(32, secret=b"wrong"))
    with pytest.raises(AssociationRejected):
        Client(meter, 99)


def test_result_codes(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    assert management.get("1.0.1.8.0.254", class_id=3).error == DataAccessResult.OBJECT_UNDEFINED
    assert management.get("1.0.1.8.0.255", class_id=4).error == DataAccessResult.OBJECT_CLASS_INCONSISTENT
    assert management.get("1.0.1.8.0.255", 9).error == DataAccessResult.OBJECT_UNDEFINED
    entry = SelectiveAccessDescriptor.entry_descriptor(1, 2)
    assert management.get("1.0.1.8.0.255", access=entry).error == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
    assert management.get("0.0.40.0.1.255", 7).error == DENIED  # secrets are write-only
    assert management.set("1.0.1.8.0.255", 2, axdr.DoubleLongUnsigned(0)) == DENIED  # energy never writable
    assert management.set("0.0.1.0.0.255", 3, axdr.DoubleLong(0)) == DataAccessResult.TYPE_UNMATCHED
    assert (
        management.set("1.0.0.2.0.255", 2, "text") == DataAccessResult.TYPE_UNMATCHED
    )  # holds an octet-string
    assert management.set("1.0.0.2.0.255", 2, axdr.OctetString(b"v2")) == DataAccessResult.SUCCESS
    assert management.set("0.0.96.3.10.255", 4, axdr.Enum(7)) == DataAccessResult.OTHER_REASON
    assert management.action("0.0.96.3.10.255", 1, axdr.Unsigned(0)).result == ActionResult.TYPE_UNMATCHED
    assert management.action("0.0.96.3.10.255", 1).result == ActionResult.TYPE_UNMATCHED  # no parameter
    assert management.action("0.0.96.3.10.255", 3, axdr.Integer(0)).result == ActionResult.OBJECT_UNDEFINED
    assert management.action("1.0.99.1.0.255", 2, axdr.Integer(0)).result == ActionResult.OBJECT_UNAVAILABLE


def test_object_lists_differ_per_association_and_carry_rights(meter: SimulatedMeter) -> None:
    lists = {}
    for sap in (16, 32, 1):
        client = connect(meter, sap)
        lists[sap] = {e.logical_name: e for e in decode_object_list(client.value("0.0.40.0.0.255"))}
    assert set(lists[16]) == {
        Obis.parse(n)
        for n in ("0.0.42.0.0.255", "0.0.96.1.0.255", "0.0.1.0.0.255", "0.0.40.0.0.255", "0.0.43.1.1.255")
    }
    assert set(lists[32]) == set(lists[1]) == set(meter.objects)
    relay = Obis.parse("0.0.96.3.10.255")
    assert lists[32][relay].method_access[1].access_mode == MethodAccessMode.NO_ACCESS
    assert lists[1][relay].method_access[1].access_mode == MethodAccessMode.ACCESS
    assert lists[32][relay].attribute_access[4].access_mode == AttributeAccessMode.READ_ONLY
    assert lists[1][relay].attribute_access[4].access_mode == AttributeAccessMode.READ_AND_WRITE
    assert lists[1][relay].attribute_access[3].access_mode == AttributeAccessMode.READ_ONLY
    profile = lists[1][Obis.parse("1.0.99.1.0.255")]
    assert profile.attribute_access[2].access_selectors == (1, 2)
    association = lists[1][Obis.parse("0.0.40.0.1.255")]
    assert association.attribute_access[7].access_mode == AttributeAccessMode.WRITE_ONLY


def test_association_objects_describe_each_client(meter: SimulatedMeter) -> None:
    reader = connect(meter, 32)
    public_list = decode_object_list(reader.value("0.0.40.0.16.255"))
    assert len(public_list) == 5  # identity, serial, clock, current association, frame counter
    assert reader.value("0.0.40.0.32.255", 3) == (32, 1)
    assert reader.value("0.0.40.0.1.255", 6)[-1] == Mechanism.HIGH_GMAC
    assert reader.value("0.0.40.0.0.255", 8) == 2 and reader.value("0.0.40.0.1.255", 8) == 0
    assert reader.value("0.0.40.0.1.255", 9) == bytes(Obis.parse("0.0.43.0.0.255"))
    assert reader.value("0.0.41.0.0.255") == [(1, b"MMM0000012345678")]


def test_management_changes_the_lls_password_for_new_associations(meter: SimulatedMeter) -> None:
    management = connect(meter, 1)
    assert management.set("0.0.40.0.32.255", 7, axdr.OctetString(b"secret99")) == DataAccessResult.SUCCESS
    assert isinstance(Client(meter, 32, client_settings(32, secret=b"secret99")).associated, Associated)
    with pytest.raises(AssociationRejected):
        Client(meter, 32)
    assert management.set("0.0.40.0.1.255", 7, axdr.OctetString(b"x")) == DataAccessResult.OTHER_REASON
