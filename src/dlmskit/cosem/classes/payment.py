"""Payment metering classes: Account (111), Credit (112), Charge (113) and Token gateway (115).

An Account holds the money or credit balance; Credit objects hold the different credits (token, emergency,
time based...), Charge objects collect money (per kWh, per day, per payment); the Token gateway accepts
tokens (STS: 20 digits) typed on the keypad or sent remotely with method ``enter``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from dlmskit.cosem.classes.common import VALUE_DEFINITION, T, dummy_method
from dlmskit.cosem.model import (
    DATE_TIME_STRING,
    LOGICAL_NAME_ATTRIBUTE,
    LOGICAL_NAME_STRING,
    TOKEN_STRING,
    AttributeDef,
    InterfaceClass,
    MethodDef,
    array_of,
    names_of,
    structure,
)
from dlmskit.cosem.values import TokenDeliveryMethod

__all__ = [
    "ACCOUNT",
    "CHARGE",
    "CLASSES",
    "CREDIT",
    "TOKEN_GATEWAY",
    "AccountStatus",
    "ChargeType",
    "CreditStatus",
    "CreditType",
    "PaymentMode",
]


class PaymentMode(IntEnum):
    """Account account_mode_and_status, first element."""

    CREDIT_MODE = 1
    PREPAYMENT_MODE = 2


class AccountStatus(IntEnum):
    """Account account_mode_and_status, second element."""

    NEW_INACTIVE_ACCOUNT = 1
    ACCOUNT_ACTIVE = 2
    ACCOUNT_CLOSED = 3


class CreditType(IntEnum):
    """Credit credit_type."""

    TOKEN_CREDIT = 0
    RESERVED_CREDIT = 1
    EMERGENCY_CREDIT = 2
    TIME_BASED_CREDIT = 3
    CONSUMPTION_BASED_CREDIT = 4


class CreditStatus(IntEnum):
    """Credit credit_status."""

    ENABLED = 0
    SELECTABLE = 1
    SELECTED_INVOKED = 2
    IN_USE = 3
    EXHAUSTED = 4


class ChargeType(IntEnum):
    """Charge charge_type."""

    CONSUMPTION_BASED_COLLECTION = 0
    TIME_BASED_COLLECTION = 1
    PAYMENT_EVENT_BASED_COLLECTION = 2


ACCOUNT: Final = InterfaceClass(
    111,
    0,
    "Account",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(
            2,
            "account_mode_and_status",
            structure(account_mode=T.ENUM, account_status=T.ENUM),
            static=False,
            description="Mode (1 credit, 2 prepayment) and status (1 new, 2 active, 3 closed).",
        ),
        AttributeDef(
            3,
            "current_credit_in_use",
            T.UNSIGNED,
            static=False,
            description="Which entry of credit_reference_list is in use.",
        ),
        AttributeDef(
            4,
            "current_credit_status",
            T.BIT_STRING,
            static=False,
            description="Credit status flags.",
            bit_names={
                0: "in_credit",
                1: "low_credit",
                2: "next_credit_enabled",
                3: "next_credit_selectable",
                4: "credit_reference_list",
                5: "selectable_credit_in_use",
                6: "out_of_credit",
                7: "reserved",
            },
        ),
        AttributeDef(
            5, "available_credit", T.DOUBLE_LONG, static=False, description="Sum of usable credits."
        ),
        AttributeDef(6, "amount_to_clear", T.DOUBLE_LONG, static=False, description="Debt to clear."),
        AttributeDef(
            7,
            "clearance_threshold",
            T.DOUBLE_LONG,
            static=True,
            description="amount_to_clear at which the account can be cleared.",
        ),
        AttributeDef(8, "aggregated_debt", T.DOUBLE_LONG, static=False, description="Sum of all debts."),
        AttributeDef(
            9,
            "credit_reference_list",
            array_of(LOGICAL_NAME_STRING),
            static=True,
            description="The Credit objects of the account.",
        ),
        AttributeDef(
            10,
            "charge_reference_list",
            array_of(LOGICAL_NAME_STRING),
            static=True,
            description="The Charge objects of the account.",
        ),
        AttributeDef(
            11,
            "credit_charge_configuration",
            array_of(
                structure(
                    credit_reference=LOGICAL_NAME_STRING,
                    charge_reference=LOGICAL_NAME_STRING,
                    collection_configuration=T.BIT_STRING,
                )
            ),
            static=True,
            description="Which charge is collected from which credit, and how.",
        ),
        AttributeDef(
            12,
            "token_gateway_configuration",
            array_of(structure(credit_reference=LOGICAL_NAME_STRING, token_proportion=T.UNSIGNED)),
            static=True,
            description="Which credit receives which percentage of a token's value.",
        ),
        AttributeDef(
            13,
            "account_activation_time",
            DATE_TIME_STRING,
            static=True,
            description="When the account opens.",
        ),
        AttributeDef(
            14, "account_closure_time", DATE_TIME_STRING, static=True, description="When the account closed."
        ),
        AttributeDef(
            15,
            "currency",
            structure(currency_name=T.UTF8_STRING, currency_scale=T.INTEGER, currency_unit=T.ENUM),
            static=True,
            description="Currency name, scale (power of ten) and unit (0 time, 1 consumption, 2 monetary).",
        ),
        AttributeDef(
            16,
            "low_credit_threshold",
            T.DOUBLE_LONG,
            static=True,
            description="Credit below which it is low.",
        ),
        AttributeDef(
            17,
            "next_credit_available_threshold",
            T.DOUBLE_LONG,
            static=True,
            description="Credit below which the next credit becomes available.",
        ),
        AttributeDef(
            18, "max_provision", T.LONG_UNSIGNED, static=True, description="Most credit accepted in a period."
        ),
        AttributeDef(
            19,
            "max_provision_period",
            T.DOUBLE_LONG_UNSIGNED,
            static=True,
            description="The period of max_provision, in seconds.",
        ),
    ),
    (
        dummy_method(1, "activate_account", "Activates the account."),
        dummy_method(2, "close_account", "Closes the account."),
        dummy_method(3, "reset_account", "Resets the account to its initial state."),
    ),
)

CREDIT: Final = InterfaceClass(
    112,
    0,
    "Credit",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "current_credit_amount", T.DOUBLE_LONG, static=False, description="The credit left."),
        AttributeDef(
            3,
            "credit_type",
            T.ENUM,
            static=True,
            description="Kind of credit.",
            enum_names=names_of(CreditType),
        ),
        AttributeDef(4, "priority", T.UNSIGNED, static=True, description="Order of use (1 first)."),
        AttributeDef(
            5, "warning_threshold", T.DOUBLE_LONG, static=True, description="Amount that raises a warning."
        ),
        AttributeDef(
            6, "limit", T.DOUBLE_LONG, static=True, description="Amount at which the credit is used up."
        ),
        AttributeDef(
            7,
            "credit_configuration",
            T.BIT_STRING,
            static=True,
            description="Credit configuration flags.",
            bit_names={
                0: "requires_visual_indication",
                1: "requires_confirmation",
                2: "requires_paid_back",
                3: "resettable",
                4: "able_to_receive_tokens",
            },
        ),
        AttributeDef(
            8,
            "credit_status",
            T.ENUM,
            static=False,
            description="Where the credit stands.",
            enum_names=names_of(CreditStatus),
        ),
        AttributeDef(
            9, "preset_credit_amount", T.DOUBLE_LONG, static=True, description="Amount set by a reset."
        ),
        AttributeDef(
            10,
            "credit_available_threshold",
            T.DOUBLE_LONG,
            static=True,
            description="Amount the credit must reach to become selectable.",
        ),
        AttributeDef(
            11, "period", DATE_TIME_STRING, static=True, description="When time based credit renews."
        ),
    ),
    (
        MethodDef(1, "update_amount", T.DOUBLE_LONG, description="Adds this amount to the credit."),
        MethodDef(2, "set_amount_to_value", T.DOUBLE_LONG, description="Sets the credit to this amount."),
        dummy_method(3, "invoke_credit", "Selects the credit (credit_status selected/invoked)."),
    ),
)

_UNIT_CHARGE = structure(
    charge_per_unit_scaling=structure(commodity_scale=T.INTEGER, price_scale=T.INTEGER),
    commodity=VALUE_DEFINITION,
    charge_table=array_of(structure(index=T.OCTET_STRING, charge_per_unit=T.LONG)),
)

CHARGE: Final = InterfaceClass(
    113,
    0,
    "Charge",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "total_amount_paid", T.DOUBLE_LONG, static=False, description="Amount collected."),
        AttributeDef(
            3,
            "charge_type",
            T.ENUM,
            static=True,
            description="What the charge is collected on.",
            enum_names=names_of(ChargeType),
        ),
        AttributeDef(4, "priority", T.UNSIGNED, static=True, description="Order of collection."),
        AttributeDef(
            5,
            "unit_charge_active",
            _UNIT_CHARGE,
            static=False,
            description="The price in force: scaling, the commodity measured, the price table.",
        ),
        AttributeDef(6, "unit_charge_passive", _UNIT_CHARGE, static=True, description="The next price."),
        AttributeDef(
            7,
            "unit_charge_activation_time",
            DATE_TIME_STRING,
            static=True,
            description="When the passive price becomes active.",
        ),
        AttributeDef(
            8, "period", T.DOUBLE_LONG_UNSIGNED, static=True, description="Collection period in seconds."
        ),
        AttributeDef(
            9,
            "charge_configuration",
            T.BIT_STRING,
            static=True,
            description="Charge configuration flags.",
            bit_names={0: "percentage_based_collection", 1: "continuous_collection"},
        ),
        AttributeDef(
            10, "last_collection_time", DATE_TIME_STRING, static=False, description="When it last collected."
        ),
        AttributeDef(
            11, "last_collection_amount", T.DOUBLE_LONG, static=False, description="What it last collected."
        ),
        AttributeDef(
            12, "total_amount_remaining", T.DOUBLE_LONG, static=False, description="Amount left to collect."
        ),
        AttributeDef(
            13, "proportion", T.LONG_UNSIGNED, static=True, description="Share of a payment collected."
        ),
    ),
    (
        MethodDef(1, "update_unit_charge", _UNIT_CHARGE, description="Sets unit_charge_passive."),
        dummy_method(2, "activate_passive_unit_charge", "Makes the passive unit charge the active one now."),
        dummy_method(3, "collect", "Collects the charge now."),
        MethodDef(
            4, "update_total_amount_remaining", T.DOUBLE_LONG, description="Adds to total_amount_remaining."
        ),
        MethodDef(5, "set_total_amount_remaining", T.DOUBLE_LONG, description="Sets total_amount_remaining."),
    ),
)

TOKEN_GATEWAY: Final = InterfaceClass(
    115,
    0,
    "Token gateway",
    (
        LOGICAL_NAME_ATTRIBUTE,
        AttributeDef(2, "token", TOKEN_STRING, static=False, description="The last token received."),
        AttributeDef(3, "token_time", DATE_TIME_STRING, static=False, description="When it was received."),
        AttributeDef(
            4,
            "token_description",
            array_of(T.OCTET_STRING),
            static=False,
            description="What the token did, as the meter describes it.",
        ),
        AttributeDef(
            5,
            "token_delivery_method",
            T.ENUM,
            static=False,
            description="How the token arrived.",
            enum_names=names_of(TokenDeliveryMethod),
        ),
        AttributeDef(
            6,
            "token_status",
            structure(status_code=T.ENUM, data_value=T.BIT_STRING),
            static=False,
            description="How far the token got (0 format ok ... 3 executed; 4-7 failures) and details.",
        ),
    ),
    (
        MethodDef(
            1,
            "enter",
            TOKEN_STRING,
            description="Enters a token. STS tokens are 20 digits: most meters take them as 20 ASCII digit "
            "bytes, some as 10 packed BCD bytes (see token_to_octets); a visible-string is refused.",
        ),
    ),
)

CLASSES: Final = (ACCOUNT, CREDIT, CHARGE, TOKEN_GATEWAY)
