"""A one-line progress bar on stderr, for long runs."""

from __future__ import annotations

import sys


def progress_bar(start, end, warmup=False):
    """A one-line progress bar on stderr: simulated time, share done, actions so far; with
    ``warmup``, before ``start`` (the existing players joining) the warm-up's share."""
    import time as _time

    from igaming.traffic.model import warmup_share

    began = _time.monotonic()
    total = (end - start).total_seconds() or 1.0

    def show(now, tally) -> None:
        rate = tally.actions / max(_time.monotonic() - began, 1e-9)
        if now < start:  # the warm-up: the existing players join before the start
            share = f"{warmup_share(now, start):6.1%}" if warmup else ""
            print(
                f"\r[{'warm-up: existing players':<30}] {share:6} {now:%a %d %b %H:%M} UTC  "
                f"{tally.actions:>9,} actions  {rate:,.0f}/s",
                end="",
                file=sys.stderr,
                flush=True,
            )
            return
        done = min(1.0, max(0.0, (now - start).total_seconds() / total))
        bar = "#" * int(done * 30)
        print(
            f"\r[{bar:<30}] {done:6.1%} {now:%a %d %b %H:%M} UTC  "
            f"{tally.actions:>9,} actions  {rate:,.0f}/s",
            end="\n" if done >= 1.0 else "",
            file=sys.stderr,
            flush=True,
        )

    return show
