/**
 * Rerun jobs: started, found again after a page reload, polled to a terminal state,
 * cancelled. One entry per run: the newest job this page knows of.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import type { Job, JobsList, JobState, RerunRequest } from './api-types';
import { Problem, problemFrom } from './errors';
import { endpoint, Query, requestAPI } from './request';

export interface JobEntry {
  job: Job | null;
  /** Starting or cancelling. */
  busy: boolean;
  problem: Problem | null;
}

const TERMINAL: ReadonlySet<JobState> = new Set<JobState>(['succeeded', 'failed', 'cancelled']);
/** Polls of a job that may fail in a row (a busy server) before giving up on it. */
const MAX_POLL_FAILURES = 5;

export function isTerminal(job: Job): boolean {
  return TERMINAL.has(job.state);
}

export class RerunJobs implements IDisposable {
  /**
   * @param pollInterval - milliseconds between two polls of a job in flight
   * @param query - adds the arguments every request carries (the tracking URI)
   */
  constructor(
    private readonly _pollInterval: number,
    private readonly _query: (args?: Query) => Query
  ) {}

  /** Emitted with the run id whose job entry changed. */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  /** Emitted once when a job reaches a terminal state. */
  get finished(): ISignal<this, Job> {
    return this._finished;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get(runId: string): JobEntry | null {
    return this._entries.get(runId) ?? null;
  }

  /** Find jobs of one run, or of all runs; follow the newest of each while in flight. */
  async find(runId?: string): Promise<void> {
    try {
      const { jobs } = await requestAPI<JobsList>('reruns', {}, this._query({ run_id: runId }));
      const seen = new Set<string>();
      for (const job of jobs) {
        if (seen.has(job.run_id)) {
          continue; // newest first: an older job of the same run
        }
        seen.add(job.run_id);
        const known = this._entries.get(job.run_id)?.job;
        if (known && known.job_id !== job.job_id && known.created_at > job.created_at) {
          continue; // this page started a newer one meanwhile
        }
        if (known?.job_id === job.job_id && isTerminal(known) && !isTerminal(job)) {
          continue; // an answer older than the poll that saw the job end
        }
        // The same job seen again (the live list looks every few seconds): a start or
        // cancel still pending, and what went wrong with one, stay.
        const same = known?.job_id === job.job_id ? this._entries.get(job.run_id) : undefined;
        this._set(job.run_id, {
          job,
          busy: same?.busy ?? false,
          problem: same?.problem ?? null
        });
        if (!isTerminal(job)) {
          this._follow(job);
        }
      }
    } catch (error) {
      if (runId) {
        this._set(runId, {
          job: this.get(runId)?.job ?? null,
          busy: false,
          problem: problemFrom(error)
        });
      } else {
        // Nothing to attach it to: each run's own lookup (on selection) reports it.
        console.warn('nbrepro: could not list the rerun jobs', error);
      }
    }
  }

  /** POST reruns, then follow the job to its end. */
  async start(request: RerunRequest): Promise<Job | null> {
    const runId = request.run_id;
    const previous = this.get(runId)?.job ?? null;
    this._set(runId, { job: previous, busy: true, problem: null });
    try {
      const job = await requestAPI<Job>('reruns', {
        method: 'POST',
        body: JSON.stringify(request)
      });
      this._set(runId, { job, busy: false, problem: null });
      if (isTerminal(job)) {
        this._finished.emit(job);
      } else {
        this._follow(job);
      }
      return job;
    } catch (error) {
      this._set(runId, { job: previous, busy: false, problem: problemFrom(error) });
      return null;
    }
  }

  /** DELETE the run's job in flight. */
  async cancel(runId: string): Promise<void> {
    const entry = this.get(runId);
    if (!entry?.job || isTerminal(entry.job)) {
      return;
    }
    const jobId = entry.job.job_id;
    this._set(runId, { ...entry, busy: true, problem: null });
    try {
      const job = await requestAPI<Job>(
        endpoint('reruns', jobId),
        { method: 'DELETE' },
        this._query()
      );
      const current = this.get(runId)?.job;
      if (current?.job_id === jobId && isTerminal(current)) {
        // A poll saw the job end before the DELETE answered, and said so already.
        this._set(runId, { job: current, busy: false, problem: null });
        return;
      }
      this._stop(jobId);
      this._set(runId, { job, busy: false, problem: null });
      this._finished.emit(job);
    } catch (error) {
      this._set(runId, {
        job: this.get(runId)?.job ?? null,
        busy: false,
        problem: problemFrom(error)
      });
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const timer of this._timers.values()) {
      clearTimeout(timer);
    }
    this._timers.clear();
    Signal.clearData(this);
  }

  private _set(runId: string, entry: JobEntry): void {
    this._entries.set(runId, entry);
    this._changed.emit(runId);
  }

  private _follow(job: Job): void {
    if (this._timers.has(job.job_id) || this._isDisposed) {
      return;
    }
    let failures = 0;
    const tick = async () => {
      let next: Job;
      try {
        next = await requestAPI<Job>(endpoint('reruns', job.job_id), {}, this._query());
      } catch (error) {
        if (!this._timers.has(job.job_id)) {
          return; // cancelled meanwhile: the DELETE's answer wins
        }
        const problem = problemFrom(error);
        failures += 1;
        if (problem.kind === 'not-found' || failures >= MAX_POLL_FAILURES) {
          this._stop(job.job_id);
          this._set(job.run_id, { job: this.get(job.run_id)?.job ?? job, busy: false, problem });
        } else {
          this._schedule(job.job_id, tick);
        }
        return;
      }
      failures = 0;
      if (!this._timers.has(job.job_id)) {
        return; // cancelled meanwhile: the DELETE's answer wins
      }
      const busy = this.get(job.run_id)?.busy ?? false;
      this._set(job.run_id, { job: next, busy, problem: null });
      if (isTerminal(next)) {
        this._stop(job.job_id);
        this._finished.emit(next);
      } else {
        this._schedule(job.job_id, tick);
      }
    };
    this._schedule(job.job_id, tick);
  }

  private _schedule(jobId: string, tick: () => Promise<void>): void {
    if (!this._isDisposed) {
      this._timers.set(
        jobId,
        setTimeout(() => void tick(), this._pollInterval)
      );
    }
  }

  private _stop(jobId: string): void {
    clearTimeout(this._timers.get(jobId));
    this._timers.delete(jobId);
  }

  private _isDisposed = false;
  private _entries = new Map<string, JobEntry>();
  private _timers = new Map<string, ReturnType<typeof setTimeout>>();
  private _changed = new Signal<this, string>(this);
  private _finished = new Signal<this, Job>(this);
}
