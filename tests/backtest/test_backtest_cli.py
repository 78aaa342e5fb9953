"""``pitwatch backtest``'s bad input: one line on stderr and exit code 2, nothing else."""

from __future__ import annotations

import socket

import pytest

from pitwatch.cli import main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


HISTORY = ["--from", "2026-11-02T00:00:00Z", "--to", "2026-11-02T01:00:00Z"]


def test_an_unreachable_prometheus_is_one_line_and_exit_2(capsys):
    url = f"http://127.0.0.1:{_closed_port()}"
    assert main(["backtest", "--prometheus", url, *HISTORY]) == 2
    line = _one_line(capsys)
    assert line.startswith("pitwatch: cannot reach Prometheus at") and url in line


def test_an_incidents_file_with_a_bad_line_is_named_with_its_line(tmp_path, capsys):
    incidents = tmp_path / "incidents.jsonl"
    good = (
        '{"type": "kyc_vendor_down", "scope": {}, "start": "2026-11-02T00:10:00+00:00", '
        '"end": "2026-11-02T00:20:00+00:00", "parameters": {}}'
    )
    incidents.write_text(good + "\n{not json\n", encoding="utf-8")
    url = f"http://127.0.0.1:{_closed_port()}"
    code = main(["backtest", "--prometheus", url, *HISTORY, "--incidents", str(incidents)])
    assert code == 2
    line = _one_line(capsys)
    assert str(incidents) in line and ":2" in line


@pytest.mark.parametrize(
    "argv, words",
    [
        (["backtest"], "give --scenario"),
        (["backtest", "--prometheus", "http://127.0.0.1:9"], "needs --from and --to"),
        (["backtest", "--scenario", "no-such-scenario"], "no-such-scenario"),
        (["backtest", "--recorded", "/nonexistent/run"], "not a recorded run"),
        (["backtest", "--scenario", "baseline", "--rules", "/nonexistent/rules"], "no such rules"),
        (["backtest", "--prometheus", "ftp://x", *HISTORY], "http(s) URL"),
        (["backtest", "--prometheus", "http://x", "--from", "yesterday"], "not a time"),
        (["backtest", "--scenario", "baseline", "--compare", "x"], "--compare goes with"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(argv, words, capsys):
    assert main(argv) == 2
    assert words in _one_line(capsys)
