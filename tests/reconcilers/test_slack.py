"""The Slack summary, posted through slack-sdk's WebClient to a local fake of the Web API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from reconcilers.report import write_csv
from reconcilers.slack import SlackPostError, escape_mrkdwn, post_summary, summary_blocks
from tests.reconcilers.fake_slack import TOKEN, FakeSlack, running_fake_slack
from tests.reconcilers.report_helpers import breaks_frame, ledger_break, sample_breaks, summary

CHANNEL = "#finance-recon"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with running_fake_slack() as server:
        yield server


def client(fake: FakeSlack, token: str = TOKEN) -> WebClient:
    return WebClient(token=token, base_url=fake.url + "/api/", timeout=5)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text of the blocks, in order (section text, fields, context elements)."""
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(f["text"] for f in block.get("fields", []))
        out.extend(e["text"] for e in block.get("elements", []))
    return out


# -- blocks ---------------------------------------------------------------------------------


def test_blocks_have_a_header_with_the_period_and_open_breaks() -> None:
    blocks = summary_blocks(summary(), sample_breaks(), report_url=None)

    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Reconciliation 2026-11-02 (UTC day): 4 open breaks",
            "emoji": True,
        },
    }


def test_blocks_have_fields_for_period_outcome_new_resolved_and_open() -> None:
    fields = [
        f["text"] for f in summary_blocks(summary(), sample_breaks(), report_url=None)[1]["fields"]
    ]

    assert fields[:5] == [
        "*Period*\n2026-11-02 (UTC day)",
        "*Outcome*\n✅ success",
        "*New breaks*\n3",
        "*Resolved*\n1",
        "*Open breaks*\n4",
    ]


def test_blocks_show_the_amount_at_risk_per_currency_in_major_units() -> None:
    blocks = summary_blocks(summary(), sample_breaks(), report_url=None)
    risk = next(b for b in blocks if b.get("text", {}).get("text") == "*Amount at risk*")

    assert [f["text"] for f in risk["fields"]] == [
        "*At risk EUR*\nEUR 1,234.66",
        "*At risk JPY*\nJPY 1,500",
        "*At risk KWD*\nKWD 1.250",
    ]


def test_blocks_list_the_top_break_types_with_their_psps() -> None:
    frame = breaks_frame(
        *(ledger_break(f"p{i}", psp="paybridge") for i in range(3)),
        *(ledger_break(f"s{i}", psp="swiftpay") for i in range(2)),
        ledger_break("x", type="orphan_callback"),
    )
    run = summary(open_by_type={"missing_at_psp": 5, "orphan_callback": 1})
    text = next(t for t in texts(summary_blocks(run, frame, report_url=None)) if "Top" in t)

    assert text == (
        "*Top break types*\n• *Missing at PSP*: 5 (paybridge 3, swiftpay 2)\n"
        "• *Orphan callback*: 1 (paybridge 1)"
    )


def test_blocks_end_with_a_context_naming_the_run() -> None:
    context = summary_blocks(summary(), sample_breaks(), report_url=None)[-1]

    assert context["type"] == "context"
    assert context["elements"][0]["text"].startswith(
        "Run 42 | rows read: Wallet (contract views) 1,234"
    )


def test_blocks_link_the_report_when_there_is_one() -> None:
    url = "https://reports.example/r?day=2026-11-02&run=42"
    blocks = summary_blocks(summary(), sample_breaks(), report_url=url)

    assert "<https://reports.example/r?day=2026-11-02&amp;run=42|Open the full report>" in texts(
        blocks
    )


def test_blocks_of_a_failed_run_say_it_failed_and_why() -> None:
    run = summary(outcome="failed", error="paybridge-settlement-2026-11-02.csv: wrong header <x>")
    blocks = summary_blocks(run, breaks_frame(), report_url=None)

    assert blocks[0]["text"]["text"] == "🔴 Reconciliation 2026-11-02 (UTC day) FAILED"
    assert "*Outcome*\n❌ failed" in texts(blocks)
    assert any(
        t.startswith(
            "*The run failed:* `paybridge-settlement-2026-11-02.csv: wrong header &lt;x&gt;`"
        )
        for t in texts(blocks)
    )


def test_blocks_respect_slack_limits_with_many_currencies() -> None:
    run = summary(
        amount_at_risk_minor={
            c: 100
            for c in ("EUR", "GBP", "USD", "SEK", "NOK", "DKK", "CHF", "PLN", "BRL", "CAD", "INR")
        }
    )
    blocks = summary_blocks(run, sample_breaks(), report_url=None)
    risk = next(b for b in blocks if b.get("text", {}).get("text") == "*Amount at risk*")

    assert len(risk["fields"]) == 10
    assert risk["fields"][-1]["text"] == "*…*\n2 more currencies in the report"
    assert len(blocks) <= 50


def test_mrkdwn_escaping_neutralises_links_and_mentions() -> None:
    assert escape_mrkdwn("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"


# -- posting --------------------------------------------------------------------------------


def test_post_summary_posts_the_blocks_with_a_plain_text_fallback(
    fake: FakeSlack, tmp_path: Path
) -> None:
    post_summary(client(fake), CHANNEL, summary(), sample_breaks(), None)

    (call,) = fake.called("chat.postMessage")
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.args["channel"] == CHANNEL
    assert (
        call.args["blocks"][0]["text"]["text"]
        == "Reconciliation 2026-11-02 (UTC day): 4 open breaks"
    )
    assert call.args["text"] == (
        "Reconciliation 2026-11-02 (UTC day): 3 new, 1 resolved, 4 open breaks; "
        "at risk EUR 1,234.66, JPY 1,500, KWD 1.250"
    )
    assert fake.called("files.getUploadURLExternal") == []


def test_post_summary_uploads_the_csv_into_the_message_thread(
    fake: FakeSlack, tmp_path: Path
) -> None:
    csv_path = write_csv(sample_breaks(), tmp_path / "reconciliation-2026-11-02.csv")

    post_summary(client(fake), CHANNEL, summary(), sample_breaks(), csv_path)

    (message,) = fake.messages
    (ask,) = fake.called("files.getUploadURLExternal")
    assert ask.args["filename"] == "reconciliation-2026-11-02.csv"
    assert int(ask.args["length"]) == csv_path.stat().st_size
    (file_id,) = fake.uploads
    assert fake.uploads[file_id] == csv_path.read_bytes()
    (complete,) = fake.called("files.completeUploadExternal")
    assert complete.args["channel_id"] == "C0FINANCE"
    assert complete.args["thread_ts"] == message["ts"]
    assert json.loads(complete.args["files"]) == [
        {"id": file_id, "title": "Reconciliation breaks 2026-11-02 (UTC day)"}
    ]


def test_post_summary_with_a_bad_token_raises_a_clear_error(
    fake: FakeSlack, tmp_path: Path
) -> None:
    csv_path = write_csv(sample_breaks(), tmp_path / "r.csv")

    with pytest.raises(
        SlackPostError, match=r"chat\.postMessage to #finance-recon failed: invalid_auth"
    ):
        post_summary(
            client(fake, token="xoxb-wrong"), CHANNEL, summary(), sample_breaks(), csv_path
        )
    assert fake.messages == [] and fake.uploads == {}


def test_post_summary_reports_a_failed_upload_after_the_message(
    fake: FakeSlack, tmp_path: Path
) -> None:
    csv_path = write_csv(sample_breaks(), tmp_path / "reconciliation-2026-11-02.csv")
    fake.fail_next("files.completeUploadExternal", "not_in_channel")

    with pytest.raises(
        SlackPostError, match=r"upload of reconciliation-2026-11-02\.csv .* not_in_channel"
    ):
        post_summary(client(fake), CHANNEL, summary(), sample_breaks(), csv_path)
    assert len(fake.messages) == 1


def test_post_summary_to_an_unknown_channel_raises(fake: FakeSlack) -> None:
    with pytest.raises(SlackPostError, match="channel_not_found"):
        post_summary(client(fake), "#nowhere", summary(), sample_breaks(), None)


def test_post_summary_when_slack_is_unreachable_raises(tmp_path: Path) -> None:
    with running_fake_slack() as gone:
        url = gone.url
    unreachable = WebClient(token=TOKEN, base_url=url + "/api/", timeout=2, retry_handlers=[])

    with pytest.raises(SlackPostError, match=r"chat\.postMessage to #finance-recon failed"):
        post_summary(unreachable, CHANNEL, summary(), sample_breaks(), None)
