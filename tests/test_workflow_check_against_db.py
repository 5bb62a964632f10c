"""`workflow check --against-db` and the start of the worker and the web servers refuse a workflow file that lacks a
state, trigger or clock the database still uses, naming each."""
from __future__ import annotations

import pytest
import requests
import yaml

from test_workflow_renames import definition, install, rename_state, rename_trigger, world_app
from test_workflow_renames import waiting  # noqa: F401  (the fixture)
from live import procs  # noqa: F401  (the fixture: the app's real processes)


def test_a_file_without_a_state_complaints_are_in_is_refused(waiting, runner, tmp_path):
    """`workflow check --against-db` names the state and how many complaints are in it."""
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(rename_state(definition(), "awaiting_info", "menunggu"), sort_keys=False),
                      encoding="utf-8")
    assert runner.invoke(args=["workflow", "check", str(edited)]).exit_code == 0
    result = runner.invoke(args=["workflow", "check", "--against-db", str(edited)])
    assert result.exit_code == 1
    assert f"error: {edited}: states: 'awaiting_info' is missing, but 1 complaint(s) are in it" \
        in result.output
    assert "sla" not in result.output  # its clock rules are all still there


def test_a_file_without_a_trigger_the_history_records_is_refused(waiting, runner, tmp_path):
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(rename_trigger(definition(), "request_info", "minta_info"), sort_keys=False),
                      encoding="utf-8")
    result = runner.invoke(args=["workflow", "check", "--against-db", str(edited)])
    assert result.exit_code == 1
    assert "transitions: trigger 'request_info' is missing, but 1 timeline event(s) record it" \
        in result.output
    assert runner.invoke(args=["workflow", "check", "--against-db"]).exit_code == 0


def test_the_worker_does_not_start_on_a_file_lacking_a_state_in_use(waiting, runner, monkeypatch):
    monkeypatch.setattr("pengaduan.jobs.scheduler.run_worker",
                        lambda app: pytest.fail("the worker started on a mismatched file"))
    install(world_app(), rename_state(definition(), "awaiting_info", "menunggu"))
    worker = runner.invoke(args=["sla", "worker"])
    assert worker.exit_code == 1
    assert "states: 'awaiting_info' is missing, but 1 complaint(s) are in it" in worker.output


def test_gunicorn_does_not_start_on_a_file_lacking_a_state_in_use(waiting, procs, tmp_path):
    """The README's production web command refuses before forking a worker (gunicorn.conf.py),
    naming what is missing; with the file in force it serves."""
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(rename_state(definition(), "awaiting_info", "menunggu"),
                                     sort_keys=False), encoding="utf-8")
    refused = procs.gunicorn("gunicorn-refused", workers=1, healthy=None, PENGADUAN_WORKFLOW=edited)
    refused.popen.wait(timeout=60)
    assert refused.popen.returncode == 1
    assert "refusing to start, the workflow file lacks what the database uses:\n" \
           f"{edited}: states: 'awaiting_info' is missing, but 1 complaint(s) are in it" in refused.log()
    assert "Booting worker" not in refused.log()
    procs.gunicorn(workers=1)  # the shipped file fits: /healthz answers 200


def test_run_py_does_not_start_on_a_file_lacking_a_trigger_in_use(waiting, procs, tmp_path):
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(rename_trigger(definition(), "request_info", "minta_info"),
                                     sort_keys=False), encoding="utf-8")
    refused = procs.run_py("run-refused", healthy=None, PENGADUAN_WORKFLOW=edited)
    refused.popen.wait(timeout=60)
    assert refused.popen.returncode == 1
    assert "transitions: trigger 'request_info' is missing, but 1 timeline event(s) record it" \
        in refused.log()


def test_gunicorn_starts_without_its_database_and_answers_503_until_it_is_back(waiting, procs):
    """A web tier restarted together with its database must come up with it: the workflow
    check only warns when the database cannot be reached, and /healthz says 503 meanwhile."""
    server = procs.gunicorn("gunicorn-no-database", workers=1, healthy=False,
                            DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/absent")
    assert requests.get(server.url("/healthz"), timeout=10).status_code == 503
    assert "starting without checking the workflow file against the database" in server.log()
    assert "Booting worker" in server.log()
