"""Time zone."""

from declos.config import Option, types

options = {
    "time.timeZone": Option(
        types.null_or(types.str_matching(r"^[A-Za-z0-9_+./-]+$")),
        None,
        "The time zone used when displaying times and dates (an entry of the tz database, "
        "for example `Europe/Amsterdam`). null leaves the host's zone unchanged.",
        example="America/New_York",
    ),
}
