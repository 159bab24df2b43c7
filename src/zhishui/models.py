"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from zhishui.audit.models import AuditEntry
from zhishui.booking.models import (
    BlackoutDate,
    Booking,
    BookingDeflection,
    BookingQuota,
    BookingRestriction,
    BookingSettings,
    PreReview,
    PreReviewFile,
    Slot,
    SlotTemplate,
)
from zhishui.catalog.models import Matter
from zhishui.center.knowledge.models import CannedReply, KbArticle, KbFeedback, KbRevision
from zhishui.center.models import (
    AgentState,
    ContactIdentity,
    ExpertConsultation,
    PhoneCall,
    RequestMessage,
    ServiceRequest,
    SlaPolicyRow,
)
from zhishui.center.workorders.models import WorkOrder, WorkOrderContact, WorkOrderEvent, WorkOrderNotice
from zhishui.hall.models import (
    HallSettings,
    ModeSwitch,
    QueueMatter,
    ServiceQueue,
    Ticket,
    TicketCounter,
    Visit,
    VisitMatter,
    VisitStep,
    Workstation,
    WorkstationQueue,
)
from zhishui.identity.models import LoginAttempt, OtpCode, RolePermission, Staff, StaffRole, WebSession
from zhishui.insight.outreach.models import CallbackTask, CampaignMember, FollowUpCase, OutreachCampaign
from zhishui.insight.warnings.models import WarningEvent, WarningRow, WarningRule
from zhishui.kit.db import Base
from zhishui.notify.models import OutboxMessage
from zhishui.org.models import OrgUnit, service_point_matter
from zhishui.points.models import Device, DeviceEvent, DevicePlacement
from zhishui.taxpayers.models import Taxpayer, TaxpayerPhone
from zhishui.workdays.models import CalendarDay, CalendarYear

__all__ = [
    "AgentState",
    "AuditEntry",
    "Base",
    "BlackoutDate",
    "Booking",
    "BookingDeflection",
    "BookingQuota",
    "BookingRestriction",
    "BookingSettings",
    "CalendarDay",
    "CalendarYear",
    "CallbackTask",
    "CampaignMember",
    "CannedReply",
    "ContactIdentity",
    "Device",
    "DeviceEvent",
    "DevicePlacement",
    "ExpertConsultation",
    "FollowUpCase",
    "HallSettings",
    "KbArticle",
    "KbFeedback",
    "KbRevision",
    "LoginAttempt",
    "Matter",
    "ModeSwitch",
    "OrgUnit",
    "OtpCode",
    "OutboxMessage",
    "OutreachCampaign",
    "PhoneCall",
    "PreReview",
    "PreReviewFile",
    "QueueMatter",
    "RequestMessage",
    "RolePermission",
    "ServiceQueue",
    "ServiceRequest",
    "SlaPolicyRow",
    "Slot",
    "SlotTemplate",
    "Staff",
    "StaffRole",
    "Taxpayer",
    "TaxpayerPhone",
    "Ticket",
    "TicketCounter",
    "Visit",
    "VisitMatter",
    "VisitStep",
    "WarningEvent",
    "WarningRow",
    "WarningRule",
    "WebSession",
    "WorkOrder",
    "WorkOrderContact",
    "WorkOrderEvent",
    "WorkOrderNotice",
    "Workstation",
    "WorkstationQueue",
    "service_point_matter",
]
