"""The Slack summary of a reconciliation run: Block Kit message, the breaks CSV in its thread."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from reconcilers.report.aggregate import open_breaks, risk_by_currency
from reconcilers.report.formatting import duration_text, format_amount, period_text
from reconcilers.report.labels import PAIR_LABELS, SOURCE_LABELS, TYPE_LABELS
from reconcilers.summary import RunSummary

TOP_TYPES = 5
# Block Kit limits: 10 fields per section, 3000 characters per text, 150 per header.
_MAX_FIELDS = 10
_MAX_TEXT = 3000
_MAX_HEADER = 150


class SlackPostError(RuntimeError):
    """Posting the summary to Slack failed; the reconciliation itself did not."""


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; anything else in mrkdwn is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(text, _MAX_HEADER), "emoji": True}


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _clip(text, _MAX_TEXT)}


def _failed(summary: RunSummary) -> bool:
    return summary.outcome != "success"


def _risk(summary: RunSummary, frame: pd.DataFrame) -> Mapping[str, int]:
    return summary.amount_at_risk_minor or risk_by_currency(frame)


def _top_types(summary: RunSummary, frame: pd.DataFrame) -> list[str]:
    """'• *Missing at PSP*: 5 (paybridge 3, swiftpay 2)', the most frequent types first."""
    by_type = dict(summary.open_by_type) or frame["type"].value_counts().to_dict()
    ranked = sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = []
    for break_type, count in ranked[:TOP_TYPES]:
        if count <= 0:
            continue
        psps = frame.loc[(frame["type"] == break_type) & (frame["psp"] != "none"), "psp"]
        split = ", ".join(
            f"{escape_mrkdwn(str(p))} {n}" for p, n in psps.value_counts()[:3].items()
        )
        label = escape_mrkdwn(TYPE_LABELS.get(break_type, break_type))
        lines.append(f"• *{label}*: {count:,}" + (f" ({split})" if split else ""))
    if len(ranked) > TOP_TYPES:
        lines.append(f"… and {len(ranked) - TOP_TYPES} more types")
    return lines


def fallback_text(summary: RunSummary, breaks: pd.DataFrame) -> str:
    """The notification and screen-reader text of the message."""
    period = period_text(summary)
    if _failed(summary):
        return f"Reconciliation {period} FAILED: {summary.error or 'no error recorded'}"
    risk = ", ".join(format_amount(a, c) for c, a in _risk(summary, _open(summary, breaks)).items())
    return (
        f"Reconciliation {period}: {summary.new_breaks:,} new, "
        f"{summary.resolved_breaks:,} resolved, {summary.open_breaks:,} open breaks"
        + (f"; at risk {risk}" if risk else "")
    )


def _open(summary: RunSummary, breaks: pd.DataFrame) -> pd.DataFrame:
    return open_breaks(breaks, summary.finished_at)


def summary_blocks(
    summary: RunSummary, breaks: pd.DataFrame, *, report_url: str | None
) -> list[dict[str, Any]]:
    """The Block Kit message: outcome, figures, amount at risk, top break types, run context."""
    frame = _open(summary, breaks)
    failed = _failed(summary)
    period = period_text(summary)
    header = (
        f"🔴 Reconciliation {period} FAILED"
        if failed
        else f"Reconciliation {period}: {summary.open_breaks:,} open breaks"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(header)},
        {
            "type": "section",
            "fields": [
                _md(f"*Period*\n{escape_mrkdwn(period)}"),
                _md(f"*Outcome*\n{'❌ failed' if failed else '✅ success'}"),
                _md(f"*New breaks*\n{summary.new_breaks:,}"),
                _md(f"*Resolved*\n{summary.resolved_breaks:,}"),
                _md(f"*Open breaks*\n{summary.open_breaks:,}"),
                _md(f"*Duration*\n{duration_text(summary.duration_seconds)}"),
            ],
        },
    ]
    if failed:
        error = escape_mrkdwn(summary.error or "no error recorded")
        blocks.append(
            {
                "type": "section",
                "text": _md(
                    f"*The run failed:* `{error}`\nThe figures are incomplete; "
                    "no break was resolved by this run."
                ),
            }
        )
    risk = _risk(summary, frame)
    if risk:
        fields = [_md(f"*At risk {c}*\n{format_amount(a, c)}") for c, a in risk.items()]
        if len(fields) > _MAX_FIELDS:
            rest = len(fields) - (_MAX_FIELDS - 1)
            fields = [*fields[: _MAX_FIELDS - 1], _md(f"*…*\n{rest} more currencies in the report")]
        blocks.append({"type": "section", "text": _md("*Amount at risk*"), "fields": fields})
    top = _top_types(summary, frame)
    if top:
        blocks.append({"type": "section", "text": _md("*Top break types*\n" + "\n".join(top))})
    if report_url:
        blocks.append(
            {"type": "section", "text": _md(f"<{escape_mrkdwn(report_url)}|Open the full report>")}
        )
    rows = " · ".join(
        f"{escape_mrkdwn(SOURCE_LABELS.get(s, s))} {n:,}" for s, n in summary.rows.items()
    )
    in_flight = " · ".join(
        f"{escape_mrkdwn(PAIR_LABELS.get(p, p))} {n:,}" for p, n in summary.in_flight.items() if n
    )
    context = [f"Run {summary.run_id}"]
    if rows:
        context.append(f"rows read: {rows}")
    if in_flight:
        context.append(f"in flight: {in_flight}")
    blocks.append({"type": "context", "elements": [_md(" | ".join(context))]})
    return blocks


def post_summary(
    client: WebClient,
    channel: str,
    summary: RunSummary,
    breaks: pd.DataFrame,
    csv_path: Path | None,
    *,
    report_url: str | None = None,
) -> None:
    """Post the summary to ``channel`` and attach the CSV in the message's thread.

    Raises SlackPostError on any Slack failure; the caller logs it and the run stays as it was.
    """
    try:
        posted = client.chat_postMessage(
            channel=channel,
            text=fallback_text(summary, breaks),
            blocks=summary_blocks(summary, breaks, report_url=report_url),
            unfurl_links=False,
            unfurl_media=False,
        )
    except (SlackClientError, OSError) as exc:
        raise SlackPostError(f"Slack chat.postMessage to {channel} failed: {_reason(exc)}") from exc
    if csv_path is None:
        return
    try:
        # files.completeUploadExternal wants the channel id: chat.postMessage resolved it.
        client.files_upload_v2(
            channel=posted["channel"],
            file=str(csv_path),
            filename=csv_path.name,
            title=f"Reconciliation breaks {period_text(summary)}",
            thread_ts=posted["ts"],
        )
    except (SlackClientError, OSError) as exc:
        raise SlackPostError(
            f"Slack upload of {csv_path.name} to {channel} failed "
            f"(the summary message was posted): {_reason(exc)}"
        ) from exc


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", exc.response.status_code))
    return str(exc) or type(exc).__name__
