"""Domain events -> metric updates, one module per domain. Each ``subscribe`` creates its
domain's series at zero and subscribes its handlers to the bus; the bus calls them after
the commit, and business code never touches a metric."""
