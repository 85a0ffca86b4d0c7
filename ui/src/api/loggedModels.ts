//! Logged model calls (MLflow 3): search an experiment's models, one model, and its registered versions.
import { equals } from '../lib/filterLiteral';
import { api, v2 } from './client';
import type { KeyValue, LoggedModel } from './types';

export interface LoggedModelSearch {
  experimentIds: string[];
  /** e.g. `source_run_id = '<run>'`. */
  filter?: string;
  maxResults?: number;
  pageToken?: string;
}

export interface LoggedModelPage {
  models: LoggedModel[];
  next_page_token?: string;
}

export async function searchLoggedModels(search: LoggedModelSearch, signal?: AbortSignal): Promise<LoggedModelPage> {
  const body = await api.post<LoggedModelPage>(
    v2('logged-models/search'),
    {
      experiment_ids: search.experimentIds,
      filter: search.filter || undefined,
      max_results: search.maxResults ?? 100,
      order_by: [{ field_name: 'creation_timestamp', ascending: false }],
      page_token: search.pageToken,
    },
    signal,
  );
  return { models: body.models ?? [], next_page_token: body.next_page_token };
}

/** The logged models a run produced (its artifacts' `~models/` folders, the overview's list). */
export async function loggedModelsOfRun(experimentId: string, runId: string, signal?: AbortSignal): Promise<LoggedModel[]> {
  const filter = equals('source_run_id', runId);
  return (await searchLoggedModels({ experimentIds: [experimentId], filter }, signal)).models;
}

export async function getLoggedModel(modelId: string, signal?: AbortSignal): Promise<LoggedModel> {
  const body = await api.get<{ model: LoggedModel }>(v2(`logged-models/${encodeURIComponent(modelId)}`), undefined, signal);
  return body.model;
}

/** "LOGGED_MODEL_READY" → "ready". */
export const modelStatus = (status: string | undefined) =>
  (status ?? 'unknown').replace(/^LOGGED_MODEL_/, '').replace(/_/g, ' ').toLowerCase();

/** A model tag's value. */
export const modelTag = (model: LoggedModel, key: string) => model.info.tags?.find((t) => t.key === key)?.value;

/** The tags a user set (the `mlflow.*` ones are the client's bookkeeping). */
export const userTags = (tags: KeyValue[] | undefined) => (tags ?? []).filter((t) => !t.key.startsWith('mlflow.'));

/**
 * The registry versions made from this model, from the `mlflow.modelVersions` tag the client keeps
 * (`[{"name": "m", "version": 1}, ...]`; versions may repeat as numbers and strings).
 */
export function registeredVersions(model: LoggedModel): { name: string; version: string }[] {
  const raw = modelTag(model, 'mlflow.modelVersions');
  if (!raw) return [];
  try {
    const list = JSON.parse(raw) as unknown;
    if (!Array.isArray(list)) return [];
    const seen = new Map<string, { name: string; version: string }>();
    for (const item of list as { name?: unknown; version?: unknown }[]) {
      if (typeof item?.name !== 'string' || item.version === undefined || item.version === null) continue;
      const entry = { name: item.name, version: String(item.version) };
      seen.set(`${entry.name}\u0000${entry.version}`, entry);
    }
    return [...seen.values()];
  } catch {
    return [];
  }
}
