"""A job's run limits (max_runtime, max_retries, retry_period), declared by wrapping the call
that adds it in `alter_job(...)`: created with them, reconciled with alter_job (same job
id) when the live job has others, and refused when alter_job names a job by id."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_assets.model.declarations import JobLimits, RetentionPolicy, UserJob
from platform_assets.model.errors import SchemaError
from tests.support.cli import plan, statements
from tests.support.project import Project
from tests.support.runs import materializations, materialize
from tests.support.timescale import TimescaleServer

LIMITED = """\
CREATE SCHEMA limited;
CREATE TABLE limited.readings (ts timestamptz NOT NULL, v int);
SELECT create_hypertable('limited.readings', by_range('ts'));
SELECT alter_job(add_retention_policy('limited.readings', drop_after => INTERVAL '30 days'),
    max_runtime => INTERVAL '10 minutes', max_retries => 3, retry_period => INTERVAL '15 min');
CREATE PROCEDURE limited.tidy(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$;
SELECT alter_job(add_job('limited.tidy', '1 hour'), max_retries => 2);
"""
LIMITS = (
    "SELECT proc_name, max_runtime::text, max_retries, retry_period::text "
    "FROM timescaledb_information.jobs WHERE job_id >= 1000 ORDER BY job_id"
)


def test_limits_are_declared_created_and_reconciled(server: TimescaleServer, tmp_path: Path):
    project = Project(tmp_path)
    project.write("sql/limited/schema.sql", LIMITED)
    graph = project.graph()
    policy = graph[("limited", "readings", "retention_policy")].declared(RetentionPolicy)
    assert policy.limits == JobLimits("10 MINUTES", 3, "15 MIN")
    assert graph[("limited", "job", "tidy")].declared(UserJob).limits == JobLimits(max_retries=2)

    assert materialize(graph, server.url).success
    created = server.rows(LIMITS)
    assert created == [
        ("policy_retention", "00:10:00", 3, "00:15:00"),
        ("tidy", "00:00:00", 2, "00:05:00"),
    ]
    job_ids = "SELECT job_id FROM timescaledb_information.jobs WHERE job_id >= 1000"
    ids = server.rows(job_ids)
    with server.connect() as conn:
        conn.execute(
            "SELECT alter_job(job_id, max_retries => 9, retry_period => INTERVAL '1 hour') "
            "FROM timescaledb_information.jobs WHERE job_id >= 1000"
        )
    planned = statements(plan(project, server))
    assert len(planned) == 2 and all("alter_job" in line for line in planned), planned
    assert "max_retries => 3, retry_period => '15 MIN'::interval" in planned[0], planned

    run = materialize(graph, server.url)
    recorded = materializations(run)
    assert recorded["limited/readings/retention_policy"]["action"] == "updated"
    assert recorded["limited/job/tidy"]["action"] == "updated"
    assert server.rows(LIMITS) == [
        ("policy_retention", "00:10:00", 3, "00:15:00"),
        ("tidy", "00:00:00", 2, "01:00:00"),  # undeclared limits are left as they are
    ]
    assert server.rows(job_ids) == ids
    assert statements(plan(project, server)) == []


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "SELECT alter_job(1000, max_retries => 3)",
            r"alter_job takes a job id, which differs from one database to the next",
        ),
        (
            "SELECT alter_job(add_job('limited.tidy', '1 hour'), scheduled => false)",
            r"alter_job around an add call declares only max_runtime, max_retries, "
            r"retry_period: scheduled belong in the add call",
        ),
    ],
)
def test_alter_job_that_declares_no_limits_is_refused(tmp_path: Path, statement, message):
    project = Project(tmp_path)
    project.write(
        "sql/limited/schema.sql",
        "CREATE SCHEMA limited;\n"
        "CREATE PROCEDURE limited.tidy(job_id int, config jsonb) LANGUAGE plpgsql "
        "AS $$ BEGIN END $$;\n" + statement + ";\n",
    )
    with pytest.raises(SchemaError, match=message) as raised:
        project.graph()
    assert "schema.sql:3" in str(raised.value)
