"""The input contract (``shared/extracts.md``) as data.

Every stage reads extracts through these specs, so a column's canonical name, its type and
whether it is required are decided in exactly one place. Canonical frames carry the columns
below plus three bookkeeping columns that say where each row came from:

* ``_file``: the file's path relative to the landing folder (``crm/2026-11-02/contacts.csv``)
* ``_line``: the 1-based physical line on which the row starts (the header is line 1)
* ``_drop_date``: the drop's date (``datetime.date``)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Kind(str, Enum):
    """How a file relates to earlier drops of the same file."""

    SNAPSHOT = "snapshot"  # replaces the previous snapshot; absent records were deleted
    INCREMENT = "increment"  # adds rows; rows repeat across drops and are de-duplicated by key


class Type(str, Enum):
    STRING = "string"
    TIMESTAMP = "timestamp"  # tz-aware UTC
    DATE = "date"  # datetime64 at midnight, no time zone
    BOOLEAN = "boolean"  # pandas nullable boolean: blank is <NA>, never False
    INTEGER = "integer"  # pandas nullable Int64
    DECIMAL = "decimal"  # float64


@dataclass(frozen=True)
class Column:
    header: str  # as upstream writes it; matched case-insensitively, spaces trimmed
    name: str  # canonical snake_case name
    type: Type = Type.STRING
    required: bool = True  # a file without this column is rejected


@dataclass(frozen=True)
class Extract:
    name: str  # asset-friendly name, e.g. ``crm_contacts``
    source: str  # landing sub-folder: webinar, crm, store, privacy
    pattern: str  # file-name glob inside a drop folder
    kind: Kind
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    fmt: str = "csv"  # csv or jsonl
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def data_columns(self) -> list[str]:
        """The accumulated table's columns but the bookkeeping ones: the extract's own, then a
        natural-key column derived when reading (a webinar registration's ``email_key``)."""
        return self.column_names + [key for key in self.natural_key if key not in self.column_names]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


S, TS, D, B, I, F = Type.STRING, Type.TIMESTAMP, Type.DATE, Type.BOOLEAN, Type.INTEGER, Type.DECIMAL

WEBINAR_ATTENDEES = Extract(
    name="webinar_attendees",
    source="webinar",
    pattern="attendees*.csv",
    kind=Kind.INCREMENT,
    description="Webinar platform attendee reports: one row per registration.",
    natural_key=("webinar_id", "email_key"),
    columns=(
        Column("Webinar ID", "webinar_id"),
        Column("Webinar Topic", "webinar_topic", required=False),
        Column("Webinar Start", "webinar_start", TS),
        Column("Attended", "attended", B),
        Column("First Name", "first_name"),
        Column("Last Name", "last_name"),
        Column("Email", "email"),
        Column("Organization", "organization", required=False),
        Column("Job Title", "job_title", required=False),
        Column("Country/Region", "country", required=False),
        Column("Registration Time", "registration_time", TS, required=False),
        Column("Join Time", "join_time", TS, required=False),
        Column("Leave Time", "leave_time", TS, required=False),
        Column("Time in Session (minutes)", "time_in_session_minutes", I, required=False),
        Column("Marketing Consent", "marketing_consent", B, required=False),
    ),
    # email_key = email lower-cased and trimmed, nothing else changed (warehouse contract)
)

CRM_CONTACTS = Extract(
    name="crm_contacts",
    source="crm",
    pattern="contacts.csv",
    kind=Kind.SNAPSHOT,
    description="CRM contacts: full snapshot, one row per contact record.",
    natural_key=("record_id",),
    columns=(
        Column("Record ID", "record_id"),
        Column("First Name", "first_name"),
        Column("Last Name", "last_name"),
        Column("Email", "email"),
        Column("Additional Emails", "additional_emails", required=False),
        Column("Phone Number", "phone", required=False),
        Column("Company Name", "company_name", required=False),
        Column("Job Title", "job_title", required=False),
        Column("Street Address", "street_address", required=False),
        Column("City", "city", required=False),
        Column("Postal Code", "postal_code", required=False),
        Column("Country", "country", required=False),
        Column("Date of Birth", "date_of_birth", D, required=False),
        Column("Time Zone", "time_zone", required=False),
        Column("Preferred Channel", "preferred_channel", required=False),
        Column("Marketing Email Opt-In", "marketing_email_opt_in", B, required=False),
        Column("Opt-In Updated At", "opt_in_updated_at", TS, required=False),
        Column("Create Date", "create_date", TS, required=False),
        Column("Last Modified Date", "last_modified_date", TS, required=False),
    ),
)

CRM_EMAIL_EVENTS = Extract(
    name="crm_email_events",
    source="crm",
    pattern="email_events.csv",
    kind=Kind.INCREMENT,
    description="Marketing email activity: sends, deliveries, opens, clicks, bounces, opt-outs.",
    natural_key=("event_id",),
    columns=(
        Column("Event ID", "event_id"),
        Column("Campaign ID", "campaign_id"),
        Column("Campaign Name", "campaign_name", required=False),
        Column("Recipient", "recipient"),
        Column("Record ID", "record_id", required=False),
        Column("Event Type", "event_type"),
        Column("Event Time", "event_time", TS),
        Column("User Agent", "user_agent", required=False),
        Column("Link URL", "link_url", required=False),
    ),
)

EMAIL_EVENT_TYPES = (
    "SENT",
    "DELIVERED",
    "OPEN",
    "CLICK",
    "BOUNCE_HARD",
    "BOUNCE_SOFT",
    "UNSUBSCRIBE",
    "SPAM_REPORT",
)

STORE_CUSTOMERS = Extract(
    name="store_customers",
    source="store",
    pattern="customers.csv",
    kind=Kind.SNAPSHOT,
    description="Store accounts: full snapshot, one row per customer account.",
    natural_key=("customer_id",),
    columns=(
        Column("Customer ID", "customer_id"),
        Column("First Name", "first_name"),
        Column("Last Name", "last_name"),
        Column("Email", "email"),
        Column("Phone", "phone", required=False),
        Column("Accepts Email Marketing", "accepts_email_marketing", B, required=False),
        Column(
            "Email Marketing Consent Updated At",
            "email_marketing_consent_updated_at",
            TS,
            required=False,
        ),
        Column("Default Address Address1", "address1", required=False),
        Column("Default Address City", "city", required=False),
        Column("Default Address Zip", "zip", required=False),
        Column("Default Address Country Code", "country_code", required=False),
        Column("Created At", "created_at", TS, required=False),
        Column("Updated At", "updated_at", TS, required=False),
        Column("Tags", "tags", required=False),
    ),
)

STORE_ORDERS = Extract(
    name="store_orders",
    source="store",
    pattern="orders.csv",
    kind=Kind.INCREMENT,
    description="Store orders: one row per order line.",
    natural_key=("order_id", "lineitem_sku"),
    columns=(
        Column("Order ID", "order_id"),
        Column("Customer ID", "customer_id", required=False),
        Column("Email", "email"),
        Column("Created At", "created_at", TS),
        Column("Financial Status", "financial_status"),
        Column("Currency", "currency", required=False),
        Column("Total", "total", F),
        Column("Lineitem SKU", "lineitem_sku"),
        Column("Lineitem Name", "lineitem_name", required=False),
        Column("Lineitem Category", "lineitem_category", required=False),
        Column("Lineitem Quantity", "lineitem_quantity", I),
        Column("Lineitem Price", "lineitem_price", F),
        Column("Billing Name", "billing_name", required=False),
        Column("Billing Street", "billing_street", required=False),
        Column("Billing City", "billing_city", required=False),
        Column("Billing Zip", "billing_zip", required=False),
        Column("Billing Country", "billing_country", required=False),
    ),
)

FINANCIAL_STATUSES = ("paid", "pending", "refunded", "partially_refunded", "voided")

# JSON lines: "header" is the JSON path (dots into nested objects), matched case-sensitively.
STORE_WEB_EVENTS = Extract(
    name="store_web_events",
    source="store",
    pattern="web_events.jsonl",
    kind=Kind.INCREMENT,
    fmt="jsonl",
    description="Storefront behaviour (Segment-spec-like): tracks, identifies and page views.",
    natural_key=("message_id",),
    columns=(
        Column("messageId", "message_id"),
        Column("type", "type"),
        Column("anonymousId", "anonymous_id", required=False),
        Column("userId", "user_id", required=False),
        Column("timestamp", "timestamp", TS),
        Column("event", "event", required=False),
        Column("properties.category", "category", required=False),
        Column("properties.sku", "sku", required=False),
        Column("properties.price", "price", F, required=False),
        Column("properties.order_id", "order_id", required=False),
        Column("properties.form", "form", required=False),
        Column("properties.email", "form_email", required=False),
        Column("traits.email", "email", required=False),
        Column("traits.first_name", "first_name", required=False),
        Column("traits.last_name", "last_name", required=False),
    ),
)

WEB_EVENT_TYPES = ("track", "identify", "page")
WEB_TRACK_EVENTS = (
    "Product Viewed",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
    "Form Submitted",
)

ERASURE_REQUESTS = Extract(
    name="erasure_requests",
    source="privacy",
    pattern="erasure_requests.csv",
    kind=Kind.INCREMENT,
    description="Right-to-erasure requests.",
    natural_key=("request_id",),
    columns=(
        Column("Request ID", "request_id"),
        Column("Email", "email"),
        Column("Requested At", "requested_at", TS),
    ),
)

ALL_EXTRACTS: tuple[Extract, ...] = (
    WEBINAR_ATTENDEES,
    CRM_CONTACTS,
    CRM_EMAIL_EVENTS,
    STORE_CUSTOMERS,
    STORE_ORDERS,
    STORE_WEB_EVENTS,
    ERASURE_REQUESTS,
)
EXTRACTS_BY_NAME = {e.name: e for e in ALL_EXTRACTS}

BOOKKEEPING_COLUMNS = ("_file", "_line", "_drop_date")
