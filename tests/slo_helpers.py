"""Synthetic span traffic for SLO tests, inserted with SQL so days of minutes stay fast."""

from __future__ import annotations

from datetime import datetime

from inferledger.analytics.warehouse import Warehouse, utcnow


def insert_traffic(wh: Warehouse, start: datetime, minutes: int, per_minute: int, *, error_every: int = 0,
                   error_minutes: tuple[int, int] | None = None, duration_s: float = 0.5,
                   slow_every: int = 0, slow_duration_s: float = 5.0, model: str = "gpt-4o",
                   service: str = "chat-api", ttft_s: float | None = None, tag: str = "t") -> int:
    """`per_minute` spans in each of `minutes` minutes from `start`.

    Span k (counting from 0 across the whole run) is an error when error_every divides k+1,
    and slow when slow_every divides k+1; every span of the minutes in `error_minutes`
    [a, b) is an error (an outage).
    """
    n = minutes * per_minute
    lo, hi = error_minutes if error_minutes else (-1, -1)
    wh.con.execute(
        """
        INSERT INTO spans (tenant, trace_id, span_id, start_time, end_time, duration_s, service_name,
                           is_error, request_model, response_model, operation, team, feature, vocabulary,
                           time_to_first_token_s, ingested_at)
        SELECT 'default', ? || lpad(CAST(k AS VARCHAR), 24, '0'), lpad(CAST(k AS VARCHAR), 16, '0'),
               ts, ts + INTERVAL 1 SECOND, dur, ?, err, ?, ?, 'chat', 'search', 'answers', 'otel_genai', ?, ?
        FROM (
            SELECT k,
                   ?::TIMESTAMP + to_microseconds(CAST((k // ?) * 60000000 + (k % ?) * (60000000 // ?) AS BIGINT)) AS ts,
                   (? > 0 AND (k + 1) % greatest(?, 1) = 0) OR ((k // ?) >= ? AND (k // ?) < ?) AS err,
                   CASE WHEN ? > 0 AND (k + 1) % greatest(?, 1) = 0 THEN ? ELSE ? END AS dur
            FROM range(?) t(k)
        )
        """,
        [tag.ljust(8, "0")[:8], service, model, model, ttft_s, utcnow(),
         start, per_minute, per_minute, per_minute,
         error_every, error_every, per_minute, lo, per_minute, hi,
         slow_every, slow_every, slow_duration_s, duration_s, n],
    )
    return n
