"""dlmskit.cosem: the COSEM interface-class model (IEC 62056-6-2, the DLMS UA Blue Book).

- :mod:`~dlmskit.cosem.model`: attribute and method definitions, type specifications and the conversion of
  Python values into the typed A-XDR values a meter expects (:func:`encode_attribute_value`,
  :func:`encode_method_parameter`);
- :mod:`~dlmskit.cosem.classes`: the classes themselves (:func:`get_class`, :func:`class_for`);
- :mod:`~dlmskit.cosem.short_names`: short-name referencing: base names, the Association SN object list
  and :class:`ShortNameMap` between logical names and variable names;
- :mod:`~dlmskit.cosem.units`: units, scalers and quantities;
- :mod:`~dlmskit.cosem.values`: object list entries, capture objects, token status and STS tokens.
"""

from __future__ import annotations

from dlmskit.cosem.classes import all_classes, class_for, class_name, get_class
from dlmskit.cosem.classes.association import AssociationStatus
from dlmskit.cosem.classes.disconnect import ControlMode, ControlState, Trigger, next_control_state
from dlmskit.cosem.classes.image_transfer import ImageTransferStatus
from dlmskit.cosem.classes.security import KeyId, SecurityPolicy, SecuritySuite
from dlmskit.cosem.classes.time import ClockBase
from dlmskit.cosem.model import (
    ANY,
    ArraySpec,
    AttributeDef,
    Choice,
    InterfaceClass,
    MethodDef,
    OctetForm,
    OctetStringSpec,
    StructureSpec,
    TypeSpec,
    encode_attribute_value,
    encode_method_parameter,
    generic_class,
    type_name,
)
from dlmskit.cosem.short_names import (
    ShortNameAccess,
    ShortNameEntry,
    ShortNameMap,
    ShortNameTarget,
    decode_sn_object_list,
)
from dlmskit.cosem.units import Quantity, ScalerUnit, Unit, scaled, unit_symbol
from dlmskit.cosem.values import (
    AccessRights,
    AttributeAccess,
    AttributeAccessMode,
    CaptureObject,
    MethodAccess,
    MethodAccessMode,
    ObjectListEntry,
    TokenDeliveryMethod,
    TokenStatus,
    TokenStatusCode,
    decode_capture_objects,
    decode_object_list,
    token_from_octets,
    token_to_octets,
)

__all__ = [
    "ANY",
    "AccessRights",
    "ArraySpec",
    "AssociationStatus",
    "AttributeAccess",
    "AttributeAccessMode",
    "AttributeDef",
    "CaptureObject",
    "Choice",
    "ClockBase",
    "ControlMode",
    "ControlState",
    "ImageTransferStatus",
    "InterfaceClass",
    "KeyId",
    "MethodAccess",
    "MethodAccessMode",
    "MethodDef",
    "ObjectListEntry",
    "OctetForm",
    "OctetStringSpec",
    "Quantity",
    "ScalerUnit",
    "SecurityPolicy",
    "SecuritySuite",
    "ShortNameAccess",
    "ShortNameEntry",
    "ShortNameMap",
    "ShortNameTarget",
    "StructureSpec",
    "TokenDeliveryMethod",
    "TokenStatus",
    "TokenStatusCode",
    "Trigger",
    "TypeSpec",
    "Unit",
    "all_classes",
    "class_for",
    "class_name",
    "decode_capture_objects",
    "decode_object_list",
    "decode_sn_object_list",
    "encode_attribute_value",
    "encode_method_parameter",
    "generic_class",
    "get_class",
    "next_control_state",
    "scaled",
    "token_from_octets",
    "token_to_octets",
    "type_name",
    "unit_symbol",
]
