"""Weekly re-training: annotations -> splits -> adapter -> report (``training_job``), so new labels reach
the model even when nobody triggers it (the Label Studio sensor also runs it after N new annotations).

The cron comes from ``FOOTBALL_RETRAIN_CRON`` (default Monday 03:00) in ``FOOTBALL_RETRAIN_TZ`` (default
UTC), read when the code location loads. Runs carry run-retry tags: a run whose worker dies (OOM kill, pod
eviction, lost node) is retried up to ``RETRAIN_MAX_RETRIES`` times; a failing asset is not (a bug would
fail the same way again). The instance must enable run retries (dagster.yaml ``run_retries``).
"""

from dagster import DagsterInvalidDefinitionError, DefaultScheduleStatus, ScheduleDefinition

from football_assets.defs.training.jobs import training_job
from resources import environment

DEFAULT_RETRAIN_CRON = "0 3 * * 1"
RETRAIN_MAX_RETRIES = 2

RETRAIN_RUN_TAGS = {
    "dagster/max_retries": str(RETRAIN_MAX_RETRIES),
    "dagster/retry_on_asset_or_op_failure": "false",
    "football/trigger": "weekly-schedule",
}


def retrain_cron() -> str:
    """The re-training cron from the environment; a malformed one is an error naming the variable."""
    cron = environment.retrain_cron() or DEFAULT_RETRAIN_CRON
    try:  # Dagster's own validation of the schedule it will run
        ScheduleDefinition(name="cron_check", cron_schedule=cron, job_name=training_job.name)
    except DagsterInvalidDefinitionError:
        raise ValueError(f"FOOTBALL_RETRAIN_CRON={cron!r} is not a valid 5-field cron string "
                         f"(e.g. {DEFAULT_RETRAIN_CRON!r}: Mondays at 03:00)") from None
    return cron


weekly_retrain_schedule = ScheduleDefinition(
    name="weekly_retrain_schedule",
    job=training_job,
    cron_schedule=retrain_cron(),
    execution_timezone=environment.retrain_tz(),
    tags=RETRAIN_RUN_TAGS,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Re-trains on the latest annotations every week (cron: FOOTBALL_RETRAIN_CRON).",
)
