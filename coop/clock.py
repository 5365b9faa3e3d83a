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


def from_local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A Lyon wall-clock time as an aware UTC instant (DST handled by the tz database)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BUSINESS_TZ).astimezone(UTC)


def parse_local(text: str) -> datetime:
    """`2026-12-07 18:00` or `07/12/2026 18:00`, Lyon time, as an aware UTC instant."""
    cleaned = " ".join(text.replace("T", " ").split())
    for pattern in ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            naive = datetime.strptime(cleaned, pattern)  # noqa: DTZ007 (made aware just below)
        except ValueError:
            continue
        return from_local(naive.date(), naive.hour, naive.minute)
    raise ValueError(f"date et heure invalides {text!r} (attendu AAAA-MM-JJ HH:MM)")
