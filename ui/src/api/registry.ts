//! Model registry calls: registered models, model versions, aliases, stages and tags, and prompts
//! (registered models tagged `mlflow.prompt.is_prompt`).
import { containsText, equals, likeContains } from '../lib/filterLiteral';
import { api, v2 } from './client';
import type { KeyValue, ModelVersion, RegisteredModel } from './types';

export interface ModelPage {
  registered_models: RegisteredModel[];
  next_page_token?: string;
}

/** The tag that marks a registered model (and its versions) as a prompt. */
export const PROMPT_TAG = 'mlflow.prompt.is_prompt';
/** A prompt version's template: text, or a JSON list of chat messages. */
export const PROMPT_TEXT_TAG = 'mlflow.prompt.text';
export const PROMPT_TYPE_TAG = '_mlflow_prompt_type';

/** The stages MLflow's (deprecated) stage workflow knows. */
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;

function nameFilter(nameContains: string): string | undefined {
  const text = nameContains.trim();
  return text ? `name ILIKE ${likeContains(text)}` : undefined;
}

/**
 * Registered models whose name contains the text, ignoring case (prompts are left out by the
 * server). The server's pattern treats a typed `%` or `_` as a wildcard, so each page is narrowed
 * here to the names that really contain the text; a page may come back shorter than 100.
 */
export function searchModels(nameContains: string, pageToken?: string, signal?: AbortSignal) {
  return searchRegistered(nameContains, nameFilter(nameContains), pageToken, signal);
}

/** Prompts whose name contains the text, ignoring case (narrowed here as `searchModels` is). */
export function searchPrompts(nameContains: string, pageToken?: string, signal?: AbortSignal) {
  const filters = [`tags.\`${PROMPT_TAG}\` = 'true'`, nameFilter(nameContains)].filter(Boolean);
  return searchRegistered(nameContains, filters.join(' AND '), pageToken, signal);
}

async function searchRegistered(
  nameContains: string,
  filter: string | undefined,
  pageToken?: string,
  signal?: AbortSignal,
): Promise<ModelPage> {
  const body = await api.get<ModelPage>(
    v2('registered-models/search'),
    { filter, max_results: 100, order_by: 'name ASC', page_token: pageToken },
    signal,
  );
  const models = (body.registered_models ?? []).filter((m) => containsText(m.name, nameContains));
  return { registered_models: models, next_page_token: body.next_page_token };
}

export async function getModel(name: string, signal?: AbortSignal): Promise<RegisteredModel> {
  const body = await api.get<{ registered_model: RegisteredModel }>(v2('registered-models/get'), { name }, signal);
  return body.registered_model;
}

/** Every version of a model (or, with `promptsOnly`, of a prompt), newest first. */
export async function listVersions(name: string, signal?: AbortSignal, promptsOnly = false): Promise<ModelVersion[]> {
  const byName = equals('name', name);
  const filter = promptsOnly ? `${byName} AND tag.\`${PROMPT_TAG}\` = 'true'` : byName;
  const versions: ModelVersion[] = [];
  let token: string | undefined;
  do {
    const body = await api.get<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
      v2('model-versions/search'),
      { filter, max_results: 1000, page_token: token },
      signal,
    );
    versions.push(...(body.model_versions ?? []));
    token = body.next_page_token || undefined;
  } while (token && versions.length < 10_000);
  return versions.sort((x, y) => Number(y.version) - Number(x.version));
}

export async function getVersion(name: string, version: string, signal?: AbortSignal): Promise<ModelVersion> {
  const body = await api.get<{ model_version: ModelVersion }>(v2('model-versions/get'), { name, version }, signal);
  return body.model_version;
}

export const setAlias = (name: string, alias: string, version: string) =>
  api.post(v2('registered-models/alias'), { name, alias, version });

export const deleteAlias = (name: string, alias: string) => api.del(v2('registered-models/alias'), { name, alias });

export const transitionStage = (name: string, version: string, stage: string, archiveExisting: boolean) =>
  api.post(v2('model-versions/transition-stage'), {
    name,
    version,
    stage,
    archive_existing_versions: archiveExisting,
  });

export const setModelTag = (name: string, key: string, value: string) =>
  api.post(v2('registered-models/set-tag'), { name, key, value });

export const deleteModelTag = (name: string, key: string) => api.del(v2('registered-models/delete-tag'), { name, key });

export const setVersionTag = (name: string, version: string, key: string, value: string) =>
  api.post(v2('model-versions/set-tag'), { name, version, key, value });

export const deleteVersionTag = (name: string, version: string, key: string) =>
  api.del(v2('model-versions/delete-tag'), { name, version, key });

export const updateModelDescription = (name: string, description: string) =>
  api.patch(v2('registered-models/update'), { name, description });

export const updateVersionDescription = (name: string, version: string, description: string) =>
  api.patch(v2('model-versions/update'), { name, version, description });

/** A tag's value from a proto tag list. */
export const tagOf = (tags: KeyValue[] | undefined, key: string) => tags?.find((t) => t.key === key)?.value;

/** The model's aliases pointing at one version. */
export const aliasesOf = (model: RegisteredModel | undefined, version: string) =>
  (model?.aliases ?? []).filter((a) => a.version === version).map((a) => a.alias);

/** The highest version number among a model's latest versions (one per stage). */
export function latestVersion(model: RegisteredModel): string | undefined {
  let best: string | undefined;
  for (const v of model.latest_versions ?? []) if (best === undefined || Number(v.version) > Number(best)) best = v.version;
  return best;
}

/**
 * The logged model (MLflow 3) a version was registered from: its `model_id`, else a source of
 * the form `models:/m-<hex>` (a logged model's URI, not `models:/<name>/<version>`).
 */
export function loggedModelId(version: ModelVersion): string | undefined {
  if (version.model_id) return version.model_id;
  const match = /^models:\/(m-[0-9a-f]{8,})\/?$/.exec(version.source ?? '');
  return match?.[1];
}

/** Tags the registry sets for its own bookkeeping, hidden from the tag editors. */
export const isSystemTag = (key: string) => key.startsWith('mlflow.prompt.') || key.startsWith('_mlflow_');
