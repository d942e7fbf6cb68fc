"""What the tests share, one of each: `databases` (the PostgreSQL test database and the one
way to query a server), `project` (a user's project directory, the repository, the five
systems), `runs` (materializing through Dagster and reading what a run reported), `cli`
(the `platform` and `dagster` command lines, `platform plan`), `sensors` (a sensor tick and
its check evaluations), `schemas` (declarations several areas apply) and `timescale` (the
TimescaleDB WebAssembly test server)."""
