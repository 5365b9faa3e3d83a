"""The only reader of the clock and of the business timezone."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Europe/Paris")


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Lyon: the date printed on documents."""
    return now().astimezone(BUSINESS_TZ).date()


def to_local(moment: datetime) -> datetime:
    """An aware instant shown in Lyon's time."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store and pass aware UTC datetimes")
    return moment.astimezone(BUSINESS_TZ)
