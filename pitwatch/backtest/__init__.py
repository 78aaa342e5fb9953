"""Backtesting: every alert scored against ground truth.

A run's metrics are recorded as Prometheus would have scraped them (``record``, from an
accelerated simulation; ``history``, from an operator's own Prometheus), loaded into TSDB
blocks and evaluated with the production rules by Prometheus itself (``engine``); the
firings are scored against the incidents that really happened (``score``) and reported
(``report``). docs/backtest.md says how, and holds the published table.
"""
