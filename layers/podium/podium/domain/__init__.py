"""The pure domain: program rules, periods, scoring, rollup and ranking. No AWS, no I/O, no environment."""
