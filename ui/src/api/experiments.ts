//! Experiment calls.
import { api, v2 } from './client';
import type { Experiment } from './types';

export interface ExperimentPage {
  experiments: Experiment[];
  next_page_token?: string;
}

export function searchExperiments(nameContains: string, pageToken?: string, signal?: AbortSignal) {
  const text = nameContains.trim().replace(/'/g, "''");
  return api.get<ExperimentPage>(
    v2('experiments/search'),
    {
      max_results: 100,
      order_by: 'last_update_time DESC',
      filter: text ? `name ILIKE '%${text}%'` : undefined,
      page_token: pageToken,
    },
    signal,
  );
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
