"""The inventory's ``reports:`` section: who writes the reports, how they look, how long
the raw data behind them is kept, and when they are sent.

Every key has a default, so an inventory without the section still gets reports (with
the company named "weibao" on the cover). This module imports nothing from
:mod:`weibao.inventory.model`, so the model can import it; its duration type is the one
:mod:`weibao.inventory.notify` defines (also free of the model).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from weibao.inventory.notify import Duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompanySettings(_Strict):
    """The service company, printed on every report's cover."""

    name: str = Field(default="weibao", min_length=1)
    address: str | None = None
    phone: str | None = None
    logo: str | None = Field(
        default=None, description="path of an SVG or PNG logo (relative to the inventory file)"
    )


class Delivery(_Strict):
    """Reports sent by e-mail through the desk's outbox (so a failed send is retried)."""

    channel: str | None = Field(
        default=None, description="an email channel of notifications:; none = not sent"
    )
    monthly_cron: str = Field(
        default="0 8 1 * *", description="inspection reports of the month before, site time"
    )
    quarterly_cron: str = Field(
        default="0 8 1 1,4,7,10 *", description="quarterly statistics of the quarter before"
    )
    format: Literal["pdf", "html", "xlsx"] = "pdf"
    language: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"


class ReportSettings(_Strict):
    company: CompanySettings = Field(default_factory=CompanySettings)
    confidentiality: str = Field(
        default="内部资料，仅限客户与服务方使用", description="the cover's confidentiality level"
    )
    prepared_by: str | None = Field(
        default=None, description="default: the first engineer of the customer's first site"
    )
    checked_by: str | None = Field(default=None, description="default: the service manager")
    approved_by: str | None = None
    raw_retention: Duration = Field(
        default=timedelta(days=30), description="raw observations kept; rollups stay"
    )
    hourly_retention: Duration = Field(
        default=timedelta(days=400), description="hourly rollups kept; daily rollups stay"
    )
    delivery: Delivery = Field(default_factory=Delivery)
