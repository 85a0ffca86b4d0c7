//! Experiment calls.
import { containsText, likeContains } from '../lib/filterLiteral';
import { api, v2 } from './client';
import type { Experiment } from './types';

export interface ExperimentPage {
  experiments: Experiment[];
  next_page_token?: string;
}

/**
 * Experiments whose name contains the text, ignoring case, most recently updated first. The
 * server's pattern treats a typed `%` or `_` as a wildcard, so each page is narrowed here to the
 * names that really contain the text; a page may come back shorter than 100.
 */
export async function searchExperiments(nameContains: string, pageToken?: string, signal?: AbortSignal): Promise<ExperimentPage> {
  const text = nameContains.trim();
  const body = await api.get<ExperimentPage>(
    v2('experiments/search'),
    {
      max_results: 100,
      order_by: 'last_update_time DESC',
      filter: text ? `name ILIKE ${likeContains(text)}` : undefined,
      page_token: pageToken,
    },
    signal,
  );
  const experiments = (body.experiments ?? []).filter((e) => containsText(e.name, text));
  return { experiments, next_page_token: body.next_page_token };
}

export async function getExperiment(experimentId: string, signal?: AbortSignal): Promise<Experiment> {
  const body = await api.get<{ experiment: Experiment }>(v2('experiments/get'), { experiment_id: experimentId }, signal);
  return body.experiment;
}

export const createExperiment = (name: string) =>
  api.post<{ experiment_id: string }>(v2('experiments/create'), { name });

export const renameExperiment = (experimentId: string, newName: string) =>
  api.post(v2('experiments/update'), { experiment_id: experimentId, new_name: newName });

export const deleteExperiment = (experimentId: string) =>
  api.post(v2('experiments/delete'), { experiment_id: experimentId });

/** An experiment tag's value, e.g. `mlflow.note.content`. */
export const tagValue = (experiment: Experiment | undefined, key: string) =>
  experiment?.tags?.find((t) => t.key === key)?.value;
