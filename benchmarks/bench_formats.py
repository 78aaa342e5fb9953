"""Read throughput of PSP settlement files in the PSPs' own formats (the mapped reader,
reconcilers.sources.mapped) against pitwatch's own format (the strict DuckDB reader).

    .venv/bin/python benchmarks/bench_formats.py               # 1M rows a file (make bench-formats)
    .venv/bin/python benchmarks/bench_formats.py --rows 100000

One settlement day of ``--rows`` rows (settled payments, refunds, payouts, a batch fee) is
written (not timed) by the PSP simulator's writers in our format and in each mapped one
(Adyen, PayPal STL, Trustly), then each file is read with ``read_psp_reports`` as a
reconciliation reads it; the table shows rows a second (median of ``--repeats``) and the
peak RSS. A measurement: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from ground.file_formats import get_format  # noqa: E402
from igaming.sim.psp.formats import file_name, render_mapped  # noqa: E402
from igaming.sim.psp.reports import SettlementRow, render_csv, report_filename  # noqa: E402
from reconcilers.sources.psp_reports import read_psp_reports  # noqa: E402

DAY = date(2026, 11, 2)
FORMATS = ("pitwatch", "adyen", "paypal_stl", "trustly")


def rows(n: int, seed: int) -> list[SettlementRow]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    end = datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC)
    out = []
    for i in range(n - 1):
        kind = rng.choices(("Settled", "Refunded", "Payout"), (0.85, 0.05, 0.10))[0]
        amount = rng.randrange(500, 100_000)
        sign = 1 if kind == "Settled" else -1
        fee = -(amount * 150 // 10_000) if kind == "Settled" else 0
        out.append(
            SettlementRow(
                psp="nordpay",
                psp_reference=f"nordpay_pay_{i:020x}",
                merchant_reference=f"{'wd' if kind == 'Payout' else 'dep'}-{i:012d}",
                type=kind,
                created_at=start + timedelta(seconds=i * 86_000 // n),
                settled_at=end,
                gross_currency="EUR",
                gross_minor=sign * amount,
                net_currency="EUR",
                net_minor=sign * amount + fee,
                fee_minor=fee,
                exchange_rate="1",
                batch_number=1037,
            )
        )
    out.append(
        SettlementRow(
            "nordpay",
            "nordpay_batch_1037",
            "",
            "Fee",
            end,
            end,
            "EUR",
            0,
            "EUR",
            -500,
            -500,
            "1",
            1037,
        )
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows a file (1000000)")
    parser.add_argument("--repeats", type=int, default=3, help="reads a format (median; 3)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    data = rows(args.rows, args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmp:
        for name in FORMATS:
            folder = Path(tmp) / name
            print(f"writing {args.rows:,} rows as {name} ...", file=sys.stderr, flush=True)
            if name == "pitwatch":
                folder.mkdir()
                (folder / report_filename("nordpay", DAY)).write_text(render_csv(data))
                formats: dict[str, str] = {}
            else:
                fmt = get_format(name)
                path = folder / "nordpay" / file_name(fmt, DAY, 1037)
                path.parent.mkdir(parents=True)
                path.write_bytes(render_mapped(data, fmt))
                formats = {"nordpay": name}
            seconds = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                found, rejects, _ = read_psp_reports(
                    folder, DAY, ["nordpay"], neighbours=False, formats=formats
                )
                seconds.append(time.perf_counter() - t0)
                assert rejects.empty and len(found) >= args.rows, (name, len(found))
            median = statistics.median(seconds)
            results.append((name, len(found), median))
            print(f"  read in {median:.2f} s", file=sys.stderr, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{'format':<12} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'vs ours':>8}")
    ours = results[0][1] / results[0][2]
    for name, n, s in results:
        print(f"{name:<12} {n:>10,} {s:>8.2f} {n / s:>10,.0f} {n / s / ours:>7.2f}x")
    print(f"peak RSS {peak:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
