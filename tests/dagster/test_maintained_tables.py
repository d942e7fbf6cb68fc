"""Which tables the partition maintenance job keeps (README "Partition upkeep"): hypertables
rendered natively and tables declared `PARTITION BY RANGE` with a partition interval;
no database."""

from __future__ import annotations

from platform_assets.dagster.maintenance import maintained_tables

SCHEMA = """\
CREATE SCHEMA s;
CREATE TABLE s.plain (id int PRIMARY KEY);
CREATE TABLE s.readings (ts timestamptz NOT NULL, value float8);
SELECT create_hypertable('s.readings', by_range('ts', INTERVAL '1 day'));
-- platform: partition_interval="1 month" premake=2
CREATE TABLE s.kept (id int NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE s.unmanaged (id int NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
"""


def test_hypertables_and_annotated_range_partitioned_tables_are_maintained(project):
    project.write("sql/s.sql", SCHEMA)
    names = [table.qualified_name for table in maintained_tables(project.graph())]
    assert sorted(names) == ["s.kept", "s.readings"]
