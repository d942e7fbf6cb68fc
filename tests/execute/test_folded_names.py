"""Unquoted mixed-case names are the lower-case names PostgreSQL gives the objects; quoted
ones stay as written: created once, unchanged on the next run, in sync."""

from __future__ import annotations

from tests.support.databases import TestDatabase
from tests.support.project import Project
from tests.support.runs import materializations, materialize

MIXED_CASE = """\
CREATE SCHEMA Sensors;
SET search_path TO Sensors, public;
CREATE TYPE Sensors.Level AS ENUM ('low', 'high');
CREATE SEQUENCE Sensors.Device_Ids;
CREATE TABLE Sensors.Devices (
    Id bigint PRIMARY KEY DEFAULT nextval('Sensors.Device_Ids'),
    Label text NOT NULL UNIQUE,
    Lvl Level
);
CREATE TABLE Sensors.Readings (
    Time timestamptz NOT NULL,
    DeviceId bigint NOT NULL REFERENCES SENSORS.DEVICES (ID),
    Value double precision CHECK (Value >= 0)
);
COMMENT ON COLUMN Sensors.Readings.Value IS 'degrees';
CREATE INDEX Readings_Device_Idx ON Sensors.Readings (DeviceId, Time DESC);
CREATE INDEX ON SENSORS.READINGS (Value);
CREATE VIEW Sensors.Latest AS
    SELECT R.DeviceId, max(R.Time) AS Last FROM SENSORS.READINGS R GROUP BY R.DeviceId;
CREATE FUNCTION Sensors.Reading_Count() RETURNS bigint LANGUAGE sql
    AS $$ SELECT count(*) FROM Sensors.Readings $$;
CREATE FUNCTION Sensors.Touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER Readings_Touch BEFORE INSERT ON Sensors.Readings
    FOR EACH ROW EXECUTE FUNCTION SENSORS.TOUCH();
SELECT create_hypertable('Sensors.Readings', by_range('time', INTERVAL '1 day'));
SELECT add_retention_policy('SENSORS.Readings', drop_after => INTERVAL '30 days');
CREATE TABLE Sensors."Readings" ("Time" timestamptz PRIMARY KEY, "Value" integer);
CREATE INDEX "Readings_Value" ON Sensors."Readings" ("Value");
CREATE INDEX ON Sensors."Readings" ("Value", "Time");
"""


def test_unquoted_names_fold_and_quoted_names_stay(project: Project, database: TestDatabase):
    project.write("sql/sensors.sql", MIXED_CASE)
    graph = project.graph()
    assert {"/".join(obj.key) for obj in graph} == {
        "sensors/schema",
        "sensors/type/level",
        "sensors/sequence/device_ids",
        "sensors/devices",
        "sensors/readings",
        "sensors/readings/readings_device_idx",
        "sensors/readings/readings_value_idx",
        "sensors/latest",
        "sensors/function/reading_count",
        "sensors/function/touch",
        "sensors/readings/readings_touch",
        "sensors/readings/hypertable",
        "sensors/readings/retention_policy",
        "sensors/Readings",
        "sensors/Readings/Readings_Value",
        "sensors/Readings/Readings_Value_Time_idx",
    }
    # References in any case resolve to the one object.
    latest = graph[("sensors", "latest")]
    assert ("sensors", "readings") in latest.depends_on
    assert ("sensors", "Readings") not in latest.depends_on
    assert ("sensors", "function", "reading_count") in graph.objects
    assert ("sensors", "readings") in graph[("sensors", "function", "reading_count")].depends_on
    assert ("sensors", "function", "touch") in graph[
        ("sensors", "readings", "readings_touch")
    ].depends_on
    assert ("sensors", "sequence", "device_ids") in graph[("sensors", "devices")].depends_on

    first = materialize(graph, database.url)
    assert first.success
    relations = set(
        database.rows(
            "SELECT c.relname::text, c.relkind::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'sensors' "
            "AND NOT c.relispartition"
        )
    )
    assert relations == {
        ("device_ids", "S"),
        ("devices", "r"),
        ("devices_pkey", "i"),
        ("devices_label_key", "i"),
        ("readings", "p"),  # the hypertable's plain-PostgreSQL form
        ("readings_device_idx", "I"),
        ("readings_value_idx", "I"),
        ("latest", "v"),
        ("Readings", "r"),
        ("Readings_pkey", "i"),
        ("Readings_Value", "i"),
        ("Readings_Value_Time_idx", "i"),
    }
    columns = database.rows(
        "SELECT attname::text FROM pg_attribute WHERE attrelid = 'sensors.readings'::regclass "
        "AND attnum > 0 ORDER BY attnum"
    )
    assert columns == [("time",), ("deviceid",), ("value",)]
    assert database.value("SELECT col_description('sensors.readings'::regclass, 3)") == "degrees"

    second = materialize(graph, database.url)
    assert second.success
    executed = {
        key: meta["statements_executed"]
        for key, meta in materializations(second).items()
        if meta.get("statements_executed")
    }
    assert executed == {}
    checks = [c for c in second.get_asset_check_evaluations() if c.check_name == "in_sync"]
    assert len(checks) == len(graph)
    assert [c.asset_key.to_user_string() for c in checks if not c.passed] == []
