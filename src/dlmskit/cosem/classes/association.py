"""Association classes: Association SN (12), Association LN (15) and SAP assignment (17).

The object list of Association LN (attribute 2) tells what the meter offers to the current client: every
object's class, version, logical name and access rights. :mod:`dlmskit.cosem.values` decodes its elements
(:class:`~dlmskit.cosem.values.ObjectListEntry`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from dlmskit.cosem.classes.common import VALUE_DEFINITION, T
from dlmskit.cosem.model import (
    ANY,
    LOGICAL_NAME_ATTRIBUTE,
    LOGICAL_NAME_STRING,
    AttributeDef,
    InterfaceClass,
    MethodDef,
    TypeSpec,
    array_of,
    choice,
    names_of,
    structure,
)

__all__ = [
    "ASSOCIATION_LN",
    "ASSOCIATION_SN",
    "CLASSES",
    "SAP_ASSIGNMENT",
    "AssociationStatus",
    "object_list_element",
]


class AssociationStatus(IntEnum):
    """Association LN association_status."""

    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


_ACCESS_SELECTORS = choice(T.NULL_DATA, array_of(T.INTEGER))
_ATTRIBUTE_ACCESS = array_of(
    structure(attribute_id=T.INTEGER, access_mode=T.ENUM, access_selectors=_ACCESS_SELECTORS)
)


def object_list_element(version: int) -> TypeSpec:
    """The type of one object_list element of Association LN ``version`` (method access_mode is a boolean
    in version 0, an enum from version 1)."""
    method_mode = T.BOOLEAN if version == 0 else T.ENUM
    return structure(
        class_id=T.LONG_UNSIGNED,
        version=T.UNSIGNED,
        logical_name=LOGICAL_NAME_STRING,
        access_rights=structure(
            attribute_access=_ATTRIBUTE_ACCESS,
            method_access=array_of(structure(method_id=T.INTEGER, access_mode=method_mode)),
        ),
    )


def _oid_structure(last: str) -> TypeSpec:
    """The object identifier written as a structure of its arcs (2.16.756.5.8.x.y), or BER in an octet-string."""
    return choice(
        T.OCTET_STRING,
        structure(
            joint_iso_ctt_element=T.UNSIGNED,
            country_element=T.UNSIGNED,
            country_name_element=T.LONG_UNSIGNED,
            identified_organization_element=T.UNSIGNED,
            DLMS_UA_element=T.UNSIGNED,
            **{f"{last}_element": T.UNSIGNED},
            context_id_element=T.UNSIGNED,
        ),
    )


_USER = structure(user_id=T.UNSIGNED, user_name=T.VISIBLE_STRING)


def _association_ln(version: int) -> InterfaceClass:
    element = object_list_element(version)
    full = InterfaceClass(
        15,
        3,
        "Association LN",
        (
            LOGICAL_NAME_ATTRIBUTE,
            AttributeDef(
                2,
                "object_list",
                array_of(element),
                static=True,
                description="Every object this association can see, with its access rights.",
            ),
            AttributeDef(
                3,
                "associated_partners_id",
                structure(client_SAP=T.INTEGER, server_SAP=T.LONG_UNSIGNED),
                static=True,
                description="The client address and the logical device address of this association.",
            ),
            AttributeDef(
                4,
                "application_context_name",
                _oid_structure("application_context"),
                static=True,
                description="LN or SN referencing, with or without ciphering.",
            ),
            AttributeDef(
                5,
                "xDLMS_context_info",
                structure(
                    conformance=T.BIT_STRING,
                    max_receive_pdu_size=T.LONG_UNSIGNED,
                    max_send_pdu_size=T.LONG_UNSIGNED,
                    dlms_version_number=T.UNSIGNED,
                    quality_of_service=T.INTEGER,
                    cyphering_info=T.OCTET_STRING,
                ),
                static=True,
                description="The negotiated services (conformance block), PDU sizes and DLMS version.",
            ),
            AttributeDef(
                6,
                "authentication_mechanism_name",
                _oid_structure("mechanism_id"),
                static=True,
                description="The authentication mechanism (0 none, 1 LLS, 2-7 HLS).",
            ),
            AttributeDef(
                7,
                "secret",
                T.OCTET_STRING,
                static=True,
                description="The LLS password or HLS secret (write only).",
            ),
            AttributeDef(
                8,
                "association_status",
                T.ENUM,
                static=False,
                description="Whether the association is established.",
                enum_names=names_of(AssociationStatus),
            ),
            AttributeDef(
                9,
                "security_setup_reference",
                LOGICAL_NAME_STRING,
                static=True,
                description="The Security setup object used by this association.",
                min_version=1,
            ),
            AttributeDef(
                10, "user_list", array_of(_USER), static=True, description="Known users.", min_version=2
            ),
            AttributeDef(
                11,
                "current_user",
                _USER,
                static=False,
                description="The user of this association.",
                min_version=2,
            ),
        ),
        (
            MethodDef(
                1,
                "reply_to_HLS_authentication",
                T.OCTET_STRING,
                returns=T.OCTET_STRING,
                description="HLS pass 3: the client's f(StoC); the answer is the server's f(CtoS) (pass 4).",
            ),
            MethodDef(2, "change_HLS_secret", T.OCTET_STRING, description="Sets a new HLS secret."),
            MethodDef(3, "add_object", element, description="Adds an object to the object list."),
            MethodDef(4, "remove_object", element, description="Removes an object from the object list."),
            MethodDef(5, "add_user", _USER, description="Adds a user to user_list.", min_version=2),
            MethodDef(6, "remove_user", _USER, description="Removes a user from user_list.", min_version=2),
        ),
    )
    return full.for_version(version)


ASSOCIATION_LN: Final = _association_ln(3)

_SN_OBJECT_LIST_ELEMENT = structure(
    base_name=T.LONG, class_id=T.LONG_UNSIGNED, version=T.UNSIGNED, logical_name=LOGICAL_NAME_STRING
)

ASSOCIATION_SN: Final = InterfaceClass(
    12,
    3,
    "Association SN",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "object_list",
            array_of(_SN_OBJECT_LIST_ELEMENT),
            static=True,
            description="Every object this association can see, with its base name (short name).",
        ),
        AttributeDef(
            3,
            "access_rights_list",
            array_of(
                structure(
                    base_name=T.LONG,
                    attribute_access=_ATTRIBUTE_ACCESS,
                    method_access=array_of(structure(method_id=T.INTEGER, access_mode=T.ENUM)),
                )
            ),
            static=True,
            description="The access rights of every object, by base name.",
        ),
        AttributeDef(
            4,
            "security_setup_reference",
            LOGICAL_NAME_STRING,
            static=True,
            description="The Security setup object used by this association.",
        ),
        AttributeDef(5, "user_list", array_of(_USER), static=True, description="Known users.", min_version=3),
        AttributeDef(
            6, "current_user", _USER, static=False, description="The user of this association.", min_version=3
        ),
    ),
    (
        MethodDef(
            3,
            "read_by_logicalname",
            array_of(VALUE_DEFINITION),
            returns=array_of(ANY),
            description="Reads attributes named by class id, logical name and attribute index.",
        ),
        MethodDef(
            4,
            "get_attributes_and_methods",
            array_of(structure(class_id=T.LONG_UNSIGNED, logical_name=LOGICAL_NAME_STRING)),
            returns=array_of(ANY),
            description="The attribute and method descriptions of objects.",
        ),
        MethodDef(5, "change_LLS_secret", T.OCTET_STRING, description="Sets a new LLS password."),
        MethodDef(6, "change_HLS_secret", T.OCTET_STRING, description="Sets a new HLS secret."),
        MethodDef(
            8,
            "reply_to_HLS_authentication",
            T.OCTET_STRING,
            returns=T.OCTET_STRING,
            description="HLS pass 3: the client's f(StoC); the answer is the server's f(CtoS) (pass 4).",
        ),
        MethodDef(9, "add_user", _USER, description="Adds a user to user_list.", min_version=3),
        MethodDef(10, "remove_user", _USER, description="Removes a user from user_list.", min_version=3),
    ),
)

_ASSIGNMENT = structure(SAP=T.LONG_UNSIGNED, logical_device_name=T.OCTET_STRING)

SAP_ASSIGNMENT: Final = InterfaceClass(
    17,
    0,
    "SAP assignment",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "SAP_assignment_list",
            array_of(_ASSIGNMENT),
            static=True,
            description="The logical devices of the meter and their addresses (SAPs).",
        ),
    ),
    (
        MethodDef(
            1,
            "connect_logical_device",
            _ASSIGNMENT,
            description="Assigns an address to a logical device (SAP 0 removes it).",
        ),
    ),
)

CLASSES: Final = (
    ASSOCIATION_SN.for_version(2),
    ASSOCIATION_SN,
    *(_association_ln(version) for version in range(3)),
    ASSOCIATION_LN,
    SAP_ASSIGNMENT,
)
