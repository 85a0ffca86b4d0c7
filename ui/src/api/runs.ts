//! Run calls: one run, run search (the runs table, compare) and run edits.
import { api, v2 } from './client';
import type { Run } from './types';

export async function getRun(runId: string, signal?: AbortSignal): Promise<Run> {
  const body = await api.get<{ run: Run }>(v2('runs/get'), { run_id: runId }, signal);
  return body.run;
}

export interface RunSearch {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  /** 'ACTIVE_ONLY' (default), 'DELETED_ONLY' or 'ALL'. */
  viewType?: string;
}

export interface RunPage {
  runs: Run[];
  next_page_token?: string;
}

export async function searchRuns(search: RunSearch, signal?: AbortSignal): Promise<RunPage> {
  const body = await api.post<RunPage>(
    v2('runs/search'),
    {
      experiment_ids: search.experimentIds,
      filter: search.filter ?? '',
      order_by: search.orderBy ?? [],
      max_results: search.maxResults ?? 1000,
      page_token: search.pageToken,
      run_view_type: search.viewType ?? 'ACTIVE_ONLY',
    },
    signal,
  );
  return { runs: body.runs ?? [], next_page_token: body.next_page_token };
}

/** A run tag's value (e.g. `mlflow.parentRunId`). */
export const runTag = (run: Run, key: string) => run.data.tags?.find((t) => t.key === key)?.value;

/** The run's display name: its name, else its ID. */
export const runName = (run: Run) => run.info.run_name || runTag(run, 'mlflow.runName') || run.info.run_id;
