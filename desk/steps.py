"""What a person sends for each workflow step: the API's request bodies and the
:mod:`desk.workflow`'s input, defined once. Free texts are bounded so a ticket stays
readable; every field says what it is for in the OpenAPI document."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from desk.clocks import ClockName


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Ack(_Step):
    note: str | None = Field(default=None, max_length=4000)


class Arrive(_Step):
    note: str | None = Field(default=None, max_length=4000)


class Plan(_Step):
    plan: str = Field(min_length=1, max_length=4000, description="the remediation plan")


class Note(_Step):
    text: str = Field(min_length=1, max_length=4000)


class RmaStatus(StrEnum):
    open = "open"
    shipped = "shipped"
    received = "received"
    closed = "closed"


class Part(_Step):
    """A part used or replaced. From stock unless ``from_stock`` is false (customer's own
    spare, vendor advance replacement); a replaced serial updates the device's record."""

    part_number: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=200, description="defaults to the stock name")
    quantity: int = Field(default=1, ge=1, le=1000)
    from_stock: bool = True
    serial_out: str | None = Field(default=None, max_length=200, description="removed part")
    serial_in: str | None = Field(default=None, max_length=200, description="installed part")
    rma_number: str | None = Field(default=None, max_length=100, description="vendor RMA case")


class Resolve(_Step):
    diagnosis: str = Field(min_length=1, max_length=4000)
    cause: str = Field(min_length=1, max_length=4000)
    actions: str = Field(min_length=1, max_length=4000)


class Signoff(_Step):
    name: str = Field(min_length=1, max_length=200, description="the customer's signatory")
    opinion: str | None = Field(default=None, max_length=4000)
    satisfaction: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")


class Close(_Step):
    reason: str | None = Field(
        default=None, max_length=4000, description="required when there is no sign-off"
    )


class Reopen(_Step):
    reason: str = Field(min_length=1, max_length=4000)


class Assign(_Step):
    engineer: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=4000)


class Assist(_Step):
    engineer: str | None = Field(default=None, max_length=200, description="who, if known")
    reason: str = Field(min_length=1, max_length=4000)


class ReferKind(StrEnum):
    senior = "senior"
    vendor = "vendor"


class Refer(_Step):
    """Hand the technical lead to a senior engineer or the vendor (厂商二线)."""

    kind: ReferKind
    to: str = Field(min_length=1, max_length=200, description="person or vendor case")
    reason: str = Field(min_length=1, max_length=4000)


class Pause(_Step):
    reason: str = Field(min_length=1, max_length=200, description="one of the contract's reasons")
    note: str | None = Field(default=None, max_length=4000)


class Resume(_Step):
    note: str | None = Field(default=None, max_length=4000)


class DueClock(StrEnum):
    """The clock a due time is moved on; ``plan`` and ``onsite`` both name the second
    clock (plan at level IV, on site at I to III)."""

    response = "response"
    onsite = "onsite"
    plan = "plan"
    resolve = "resolve"

    @property
    def clock(self) -> ClockName:
        return ClockName(self.value)


class MoveDue(_Step):
    """A due time moved by agreement with the customer; the old one is kept."""

    clock: DueClock
    due: AwareDatetime
    reason: str = Field(min_length=1, max_length=4000)
    agreed_by: str = Field(min_length=1, max_length=200, description="the customer's person")


class Followup(_Step):
    outcome: str = Field(min_length=1, max_length=4000, description="what the customer said")
    satisfaction: int | None = Field(default=None, ge=1, le=5)
