"""Large imports in the background, so that no request waits for them (a 50,000-row file
takes longer than a web worker may: gunicorn's timeout is 30 s).

A file of more than settings.IMPORT_JOB_ROWS lines is not imported in the request: the
request stores it in an ImportJob and answers at once; the job then runs the one import
(portfolios.imports.import_transactions, which writes through services.record_transactions)
as a Celery task when there is a worker (REDIS_URL), else in a thread of the web process
(the embedded default, where Celery runs tasks eagerly in the caller, which is the wait
this avoids). Both read the job from the database, so any process can answer its poll.

All or nothing, as a small import: the rows are recorded in the import's one database
transaction, so a job that fails, or whose worker dies, leaves nothing saved (the database
rolls the transaction back with the connection). A job that stops without saying so (a
killed worker or web process) is marked failed once it has been silent for
settings.IMPORT_JOB_TIMEOUT seconds (reap_stale, run by every poll and every job's start).

Progress is written to the job's row as the import reports it. While the rows are being
recorded the import holds its transaction open; on PostgreSQL the progress is written
through a connection of its own so that pollers see it at once, while on SQLite (one
writer at a time) the job shows the saving step until it is done.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portfolios.imports import CHECK, PARSE, SAVE, ImportResult, import_transactions
from portfolios.models import ImportJob, Portfolio

logger = logging.getLogger(__name__)

# How many of the first row errors a job keeps for its report.
MAX_ERRORS = 50


def needs_job(data: bytes) -> bool:
    """The file has more lines than an import in the request may take."""
    return data.count(b"\n") > settings.IMPORT_JOB_ROWS


def submit(
    *,
    portfolio: Portfolio,
    data: bytes,
    format: str,
    dry_run: bool,
    file_name: str = "",
    symbol_overrides: dict[str, str] | None = None,
) -> ImportJob:
    """Store the import as a queued job and start it once the job is committed."""
    reap_stale()
    job = ImportJob.objects.create(
        user_id=portfolio.user_id,
        portfolio=portfolio,
        file_name=(file_name or "")[:255],
        format=format,
        dry_run=dry_run,
        symbol_overrides=symbol_overrides or {},
        data=data,
        language=translation.get_language() or "",
    )
    transaction.on_commit(lambda: start(job.pk))
    return job


def start(job_id: int) -> threading.Thread | None:
    """Run the job where this setup runs background work (settings.IMPORT_JOB_RUNNER):
    a Celery task, or a thread of this process (returned, so that a test can wait for it)."""
    if settings.IMPORT_JOB_RUNNER == "celery":
        from portfolios.tasks import run_import_job  # the task module imports this one

        run_import_job.delay(job_id)
        return None
    thread = threading.Thread(
        target=_run_in_thread, args=(job_id,), name=f"import-job-{job_id}", daemon=True
    )
    thread.start()
    return thread


def _run_in_thread(job_id: int) -> None:
    try:
        run(job_id)
    finally:
        # The thread's own connection: not left open once the thread is gone.
        connections.close_all()


def run(job_id: int) -> None:
    """Run a queued job (once: a second worker given the same job finds it taken)."""
    reap_stale()
    now = timezone.now()
    taken = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, phase=PARSE, updated_at=now
    )
    if not taken:
        return
    job = ImportJob.objects.select_related("portfolio").get(pk=job_id)
    with translation.override(job.language or settings.LANGUAGE_CODE):
        _run(job)


def _run(job: ImportJob) -> None:
    job_id = job.pk
    progress = _Progress(job_id)
    try:
        result = import_transactions(
            portfolio=job.portfolio,
            data=bytes(job.data or b""),
            format=job.format,
            dry_run=job.dry_run,
            file_name=job.file_name,
            symbol_overrides=job.symbol_overrides,
            progress=progress,
        )
    except Exception as exc:
        logger.exception("import job %s failed", job_id)
        _finish(
            job_id,
            status=ImportJob.Status.FAILED,
            error=_(
                "The import stopped on an unexpected error (%(error)s). Nothing was saved: "
                "try again, or import the file in parts."
            )
            % {"error": type(exc).__name__},
        )
        return
    finally:
        progress.close()
    _finish(
        job_id,
        status=ImportJob.Status.DONE,
        result=summary(result),
        batch_id=result.batch_id,
        rows_done=progress.total,
        rows_total=progress.total,
    )


def _finish(job_id: int, **fields) -> None:
    # The file is not kept once the job has run: it was only waiting for it.
    ImportJob.objects.filter(pk=job_id).update(data=None, updated_at=timezone.now(), **fields)


def summary(result: ImportResult) -> dict:
    """What a job keeps of its import's report: the counts and the first row errors (the
    full per-row report of a 50,000-row file is the synchronous import's answer, not a
    poll's)."""
    counts = result.counts
    if not result.committed:
        counts = {("will_create" if name == "created" else name): n for name, n in counts.items()}
    errors = [
        {"line": error.line, "field": error.field, "message": error.message}
        for error in result.errors[:MAX_ERRORS]
    ]
    instruments = [
        {
            "key": plan.key,
            "name": plan.name,
            "isin": plan.isin,
            "symbol": plan.symbol,
            "source": plan.source,
            "ticker": plan.ticker,
            "problem": plan.problem,
            "rows": plan.rows,
            # Decimals as text (JSON), exactly.
            "before": None if plan.before is None else str(plan.before),
            "after": None if plan.after is None else str(plan.after),
        }
        for plan in result.instruments
    ]
    return {
        "instruments": instruments,
        "format": result.format,
        "detection": result.detection,
        "dry_run": result.dry_run,
        "committed": result.committed,
        "ok": result.ok,
        "counts": counts,
        "rows": len(result.rows),
        "errors": errors,
        "error_count": len(result.errors),
        "batch": result.batch_id,
    }


def reap_stale() -> int:
    """Mark failed the jobs that have been silent for longer than IMPORT_JOB_TIMEOUT: their
    worker died (a job that is alive reports progress, and its transaction ends within the
    database's statement timeout). Nothing of theirs was saved."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.IMPORT_JOB_TIMEOUT)
    stale = ImportJob.objects.filter(
        updated_at__lt=cutoff, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    )
    # Read first: a poll must not wait for the write lock that a running import holds on
    # SQLite (readers never wait there).
    if not stale.exists():
        return 0
    reaped = 0
    # Each job's message in the language of the request that started it.
    for language in stale.order_by().values_list("language", flat=True).distinct():
        jobs = stale.filter(language=language)
        with translation.override(language or settings.LANGUAGE_CODE):
            reaped += jobs.filter(status=ImportJob.Status.RUNNING).update(
                status=ImportJob.Status.FAILED,
                data=None,
                updated_at=now,
                error=_(
                    "The import stopped without finishing (its worker stopped). Nothing was "
                    "saved: import the file again."
                ),
            )
            reaped += jobs.filter(status=ImportJob.Status.QUEUED).update(
                status=ImportJob.Status.FAILED,
                data=None,
                updated_at=now,
                error=_(
                    "The import never started (no worker took it). Nothing was saved: import "
                    "the file again."
                ),
            )
    return reaped


class _Progress:
    """The import's progress callback: writes (step, rows done, rows) to the job's row,
    at most about 50 times a step."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.step = ""
        self.total = 0
        self.written = -1
        self._side = None
        # The transactions open when the job starts (a test's): writes within them are the
        # job's own, unlike those within the import's transaction.
        self.depth = len(connection.atomic_blocks)

    def __call__(self, step: str, done: int, total: int) -> None:
        if step == CHECK:
            self.total = total  # every row of the file but those the parser skipped
        if step == self.step and done < total and done - self.written < max(1, total // 50):
            return
        self.step, self.written = step, done
        rows_total = self.total if step == SAVE and not total else total
        fields = {"phase": step, "rows_done": done, "rows_total": rows_total or self.total}
        if len(connection.atomic_blocks) <= self.depth:
            ImportJob.objects.filter(pk=self.job_id).update(updated_at=timezone.now(), **fields)
        elif connection.vendor != "sqlite":
            # Inside the import's transaction, a write on its connection would show only
            # at the end: another connection makes it visible now.
            self._write_aside(fields)

    def _write_aside(self, fields: dict) -> None:
        if self._side is None:
            self._side = connections.create_connection("default")
        table = self._side.ops.quote_name(ImportJob._meta.db_table)
        columns = ", ".join(f"{self._side.ops.quote_name(name)} = %s" for name in fields)
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {columns}, updated_at = %s WHERE id = %s",  # noqa: S608 - names are ours
                [*fields.values(), timezone.now(), self.job_id],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None
