"""Write the scheduler seed CSVs: 100 test users and their message logs.

    python seeds/scheduler/generate.py [--anchor YYYY-MM-01]

Deterministic: a fixed random seed and uuid5 ids, so the same anchor always gives the same
files. The anchor (default: the first day of the current UTC month) is the first month of the
window that holds every scheduled_send_time: the anchor month and the two after it, which
the platform's monthly partitions of scheduler.message_logs always cover when the seeds are
loaded in the anchor month. Messages are sent at 09:00 in the user's own timezone; those
before the generator's "now" (anchor + 20 days) are SENT, FAILED or RETRYING, later ones
SCHEDULED (a couple already QUEUED).
"""

from __future__ import annotations

import argparse
import calendar
import csv
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

OUTPUT_DIR = Path(__file__).resolve().parent
SEED = 20261101
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://schema-platform.example/seeds/scheduler")
USER_COUNT = 100
WINDOW_MONTHS = 3
NOW_OFFSET = timedelta(days=20)
SEND_AT = time(9, 0)

# (IANA zone, city, country): 34 zones, DST and non-DST, whole, half and quarter hour offsets.
PLACES = [
    ("America/New_York", "New York", "United States"),
    ("America/Chicago", "Chicago", "United States"),
    ("America/Denver", "Denver", "United States"),
    ("America/Los_Angeles", "Los Angeles", "United States"),
    ("America/Anchorage", "Anchorage", "United States"),
    ("Pacific/Honolulu", "Honolulu", "United States"),
    ("America/Toronto", "Toronto", "Canada"),
    ("America/St_Johns", "St. John's", "Canada"),
    ("America/Mexico_City", "Mexico City", "Mexico"),
    ("America/Bogota", "Bogota", "Colombia"),
    ("America/Sao_Paulo", "Sao Paulo", "Brazil"),
    ("America/Argentina/Buenos_Aires", "Buenos Aires", "Argentina"),
    ("Atlantic/Reykjavik", "Reykjavik", "Iceland"),
    ("Europe/London", "London", "United Kingdom"),
    ("Europe/Paris", "Paris", "France"),
    ("Europe/Berlin", "Berlin", "Germany"),
    ("Europe/Madrid", "Madrid", "Spain"),
    ("Europe/Istanbul", "Istanbul", "Turkey"),
    ("Europe/Moscow", "Moscow", "Russia"),
    ("Africa/Cairo", "Cairo", "Egypt"),
    ("Africa/Lagos", "Lagos", "Nigeria"),
    ("Africa/Johannesburg", "Johannesburg", "South Africa"),
    ("Asia/Dubai", "Dubai", "United Arab Emirates"),
    ("Asia/Tehran", "Tehran", "Iran"),
    ("Asia/Kolkata", "Mumbai", "India"),
    ("Asia/Kathmandu", "Kathmandu", "Nepal"),
    ("Asia/Bangkok", "Bangkok", "Thailand"),
    ("Asia/Jakarta", "Jakarta", "Indonesia"),
    ("Asia/Singapore", "Singapore", "Singapore"),
    ("Asia/Shanghai", "Shanghai", "China"),
    ("Asia/Tokyo", "Tokyo", "Japan"),
    ("Australia/Adelaide", "Adelaide", "Australia"),
    ("Australia/Sydney", "Sydney", "Australia"),
    ("Pacific/Auckland", "Auckland", "New Zealand"),
]
FIRST_NAMES = [
    "Amelia", "Noah", "Olivia", "Liam", "Sofia", "Mateo", "Aisha", "Kenji", "Priya", "Lucas",
    "Chloe", "Omar", "Hana", "Diego", "Ingrid", "Tariq", "Mei", "Jonas", "Zara", "Emeka",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Garcia", "Müller", "Kim", "Nakamura", "Okafor", "Rossi", "Silva", "Patel",
    "Dubois", "Novak", "Hansen", "Cohen", "Lopez", "Ivanova", "Chen", "Khan", "O'Brien",
    "Andersson", "Tanaka",
]  # fmt: skip
USER_FIELDS = [
    "id", "first_name", "last_name", "email", "timezone", "birthday_date", "anniversary_date",
    "location_city", "location_country", "created_at", "updated_at", "deleted_at",
]  # fmt: skip
MESSAGE_FIELDS = [
    "id", "user_id", "message_type", "message_content", "scheduled_send_time",
    "actual_send_time", "status", "retry_count", "last_retry_at", "api_response_code",
    "api_response_body", "error_message", "idempotency_key", "created_at", "updated_at",
]  # fmt: skip


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def on_day(year: int, month: int, day: int) -> date:
    """`day` of that month, or its last day (29 February in a common year gives the 28th)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def random_date(rng: random.Random, years: tuple[int, int], months: list[int]) -> date:
    return on_day(rng.randint(*years), rng.choice(months), rng.randint(1, 31))


def email_address(first: str, last: str, number: int) -> str:
    local = f"{first}.{last}.{number}".lower().replace("'", "").replace("ü", "ue")
    return f"{local}@example.com"


def make_users(rng: random.Random, anchor: date) -> list[dict]:
    window_months = [add_months(anchor, i).month for i in range(WINDOW_MONTHS)]
    every_month = list(range(1, 13))
    users = []
    for i in range(USER_COUNT):
        first, last = FIRST_NAMES[i % 20], LAST_NAMES[(i * 7 + i // 20) % 20]
        zone, city, country = PLACES[i % len(PLACES)]
        # Most birthdays fall inside the window so that the log has messages to show.
        birthday = random_date(rng, (1950, 2005), window_months if i < 60 else every_month)
        anniversary = None
        if i % 5 in (0, 3):
            anniversary = random_date(rng, (1980, 2022), window_months if i % 2 else every_month)
        created = datetime.combine(anchor, time(0), UTC) - timedelta(
            days=rng.randint(40, 720), seconds=rng.randint(0, 86399)
        )
        users.append(
            {
                "id": uuid.uuid5(NAMESPACE, f"user:{i}"),
                "first_name": first,
                "last_name": last,
                "email": email_address(first, last, i),
                "timezone": zone,
                "birthday_date": birthday,
                "anniversary_date": anniversary,
                "location_city": city,
                "location_country": country,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            }
        )
    # Five soft-deleted users; the last one re-registered with the same email (a live
    # duplicate of a deleted address is allowed).
    for user in users[-6:-1]:
        user["deleted_at"] = user["updated_at"] = user["created_at"] + timedelta(days=30)
    users[-1]["email"] = users[-2]["email"]
    return users


def make_messages(rng: random.Random, users: list[dict], anchor: date) -> list[dict]:
    start = datetime.combine(anchor, time(0), UTC)
    end = datetime.combine(add_months(anchor, WINDOW_MONTHS), time(0), UTC)
    now = start + NOW_OFFSET
    occasions = []
    for user in users:
        if user["deleted_at"] is not None:
            continue  # the scheduler skips soft-deleted users
        zone = ZoneInfo(user["timezone"])
        for message_type, born in (
            ("BIRTHDAY", user["birthday_date"]),
            ("ANNIVERSARY", user["anniversary_date"]),
        ):
            if born is None:
                continue
            for year in (anchor.year, anchor.year + 1):
                local_day = on_day(year, born.month, born.day)
                send = datetime.combine(local_day, SEND_AT, zone).astimezone(UTC)
                if start <= send < end:
                    occasions.append((send, message_type, local_day, user))
    occasions.sort(key=lambda o: (o[0], str(o[3]["id"]), o[1]))

    messages = []
    past = future = 0
    for send, message_type, local_day, user in occasions:
        key = f"{message_type}:{user['id']}:{local_day.isoformat()}"
        name = f"{user['first_name']} {user['last_name']}"
        content = (
            f"Hey, {name} it's your birthday"
            if message_type == "BIRTHDAY"
            else f"Hey, {name}, happy anniversary!"
        )
        row = {
            "id": uuid.uuid5(NAMESPACE, key),
            "user_id": user["id"],
            "message_type": message_type,
            "message_content": content,
            "scheduled_send_time": send,
            "actual_send_time": None,
            "status": "SCHEDULED",
            "retry_count": 0,
            "last_retry_at": None,
            "api_response_code": None,
            "api_response_body": None,
            "error_message": None,
            "idempotency_key": key,
            "created_at": min(send - timedelta(days=1), now - timedelta(hours=1)),
        }
        if send < now:
            outcome = past % 8
            past += 1
            if outcome in (1, 5):
                retries = 3
                row.update(
                    status="FAILED",
                    retry_count=retries,
                    last_retry_at=send + timedelta(minutes=2**retries),
                    api_response_code=503,
                    api_response_body='{"error":"Service Unavailable"}',
                    error_message="email service returned 503 after 3 retries",
                )
            elif outcome == 3:
                row.update(
                    status="RETRYING",
                    retry_count=1,
                    last_retry_at=send + timedelta(minutes=1),
                    api_response_code=429,
                    api_response_body='{"error":"Too Many Requests"}',
                    error_message="rate limited by email service",
                )
            else:
                retried = outcome == 6
                sent = send + timedelta(seconds=rng.randint(1, 90) + (120 if retried else 0))
                row.update(
                    status="SENT",
                    actual_send_time=sent,
                    retry_count=1 if retried else 0,
                    last_retry_at=sent if retried else None,
                    api_response_code=200,
                    api_response_body='{"status":"sent"}',
                )
        else:
            if future < 2:
                row["status"] = "QUEUED"
            future += 1
        row["updated_at"] = row["actual_send_time"] or row["last_retry_at"] or row["created_at"]
        messages.append(row)
    return messages


def write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    def cell(value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        return value

    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(fields)
        writer.writerows([cell(row[field]) for field in fields] for row in rows)


def parse_anchor(text: str) -> date:
    anchor = date.fromisoformat(text)
    if anchor.day != 1:
        raise argparse.ArgumentTypeError(f"the anchor must be the first day of a month: {text}")
    return anchor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--anchor",
        type=parse_anchor,
        default=datetime.now(UTC).date().replace(day=1),
        help="first month of the scheduled_send_time window, YYYY-MM-01 "
        "(default: the current UTC month)",
    )
    args = parser.parse_args()
    rng = random.Random(SEED)
    users = make_users(rng, args.anchor)
    messages = make_messages(rng, users, args.anchor)
    write_csv(OUTPUT_DIR / "users.csv", USER_FIELDS, users)
    write_csv(OUTPUT_DIR / "message_logs.csv", MESSAGE_FIELDS, messages)
    print(f"wrote {len(users)} users and {len(messages)} message logs (anchor {args.anchor})")


if __name__ == "__main__":
    main()
