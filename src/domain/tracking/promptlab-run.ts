import { Readable } from 'node:stream';
import { MlflowError } from '../errors.ts';
import type { KeyValue, RunRecord } from '../../store/tracking-store.ts';
import type { TrackingService } from './tracking-service.ts';
import type { ArtifactService } from '../artifacts/artifact-service.ts';
import { joinArtifactPath, proxyPathFromArtifactUri } from '../artifacts/artifact-path.ts';
import { checkProxyPath } from '../artifacts/artifact-scope.ts';

/**
 * The MLflow UI's prompt engineering ("promptlab") run, `POST runs/create-promptlab-run`: one
 * finished run that records a prompt, the gateway route it was sent to and the answer, in the
 * layout MLflow gives it, so the UI's evaluation view and `mlflow.pyfunc.load_model` read it:
 *
 * - params: the model parameters, `model_route` and `prompt_template`;
 * - tags: `mlflow.runSourceType=PROMPT_ENGINEERING` and `mlflow.loggedArtifacts` naming the
 *   evaluation table;
 * - artifacts: `eval_results_table.json` (columns: the prompt parameters, `prompt`, `output`,
 *   then the output parameters; one row) and a `model/` folder (a pyfunc model whose loader is
 *   `mlflow.prompt.promptlab_model`, with `parameters.yaml`);
 * - the model in the run's `mlflow.log-model.history`.
 *
 * A failure after the run exists leaves it FAILED rather than half-written and RUNNING.
 */
export interface PromptlabRunRequest {
  experimentId: string;
  runName?: string;
  tags: KeyValue[];
  promptTemplate: string;
  promptParameters: KeyValue[];
  modelRoute: string;
  modelParameters: KeyValue[];
  modelInput: string;
  modelOutput?: string;
  modelOutputParameters: KeyValue[];
  mlflowVersion: string;
  userId: string;
  startTime: number;
}

/** Written as Python's json.dumps writes it, byte for byte: clients compare the tag's text. */
const LOGGED_ARTIFACTS_TAG_VALUE = '[{"path": "eval_results_table.json", "type": "table"}]';

const REQUIRED_IN_ORDER = ['experiment_id', 'prompt_template', 'prompt_parameters', 'model_route', 'model_input', 'mlflow_version'] as const;

/**
 * Reads the request body with upstream's rules: the required fields are checked in upstream's
 * order, and empty values ("", [], 0) count as missing.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE "CreatePromptlabRun request must specify <field>."
 */
export function parsePromptlabRunRequest(body: Record<string, unknown>, now: number): PromptlabRunRequest {
  for (const field of REQUIRED_IN_ORDER) {
    const value = body[field];
    const empty = value === undefined || value === null || value === '' || value === 0 || value === false || (Array.isArray(value) && value.length === 0);
    if (empty) throw MlflowError.invalidParameter(`CreatePromptlabRun request must specify ${field}.`);
  }
  const startTime = body.start_time === undefined || body.start_time === null ? now : Number(body.start_time);
  if (!Number.isSafeInteger(startTime)) throw MlflowError.invalidParameter(`Invalid value for start_time: ${JSON.stringify(body.start_time)}.`);
  const runName = optionalText(body.run_name, 'run_name');
  const modelOutput = optionalText(body.model_output, 'model_output');
  return {
    experimentId: String(body.experiment_id),
    ...(runName !== undefined ? { runName } : {}),
    tags: keyValues(body.tags, 'tags'),
    promptTemplate: text(body.prompt_template, 'prompt_template'),
    promptParameters: keyValues(body.prompt_parameters, 'prompt_parameters'),
    modelRoute: text(body.model_route, 'model_route'),
    modelParameters: keyValues(body.model_parameters, 'model_parameters'),
    modelInput: text(body.model_input, 'model_input'),
    ...(modelOutput !== undefined ? { modelOutput } : {}),
    modelOutputParameters: keyValues(body.model_output_parameters, 'model_output_parameters'),
    mlflowVersion: text(body.mlflow_version, 'mlflow_version'),
    userId: optionalText(body.user_id, 'user_id') ?? 'unknown',
    startTime,
  };
}

function text(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw MlflowError.invalidParameter(`Invalid value for ${field}: expected a string.`);
}

function optionalText(value: unknown, field: string): string | undefined {
  return value === undefined || value === null ? undefined : text(value, field);
}

/** `[{key, value}, ...]`; values are kept as text, as upstream `str()`s them. */
function keyValues(value: unknown, field: string): KeyValue[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw MlflowError.invalidParameter(`Invalid value for ${field}: expected a list of {"key", "value"} objects.`);
  return value.map((item, index) => {
    if (item === null || typeof item !== 'object') throw MlflowError.invalidParameter(`Invalid value for ${field}[${index}]: expected an object.`);
    const entry = item as Record<string, unknown>;
    return { key: text(entry.key, `${field}[${index}].key`), value: entry.value === undefined || entry.value === null ? '' : text(entry.value, `${field}[${index}].value`) };
  });
}

export class PromptlabRuns {
  private readonly tracking: TrackingService;
  private readonly artifacts: ArtifactService;
  private readonly clock: () => number;

  constructor(services: { tracking: TrackingService; artifacts: ArtifactService }, clock: () => number = Date.now) {
    this.tracking = services.tracking;
    this.artifacts = services.artifacts;
    this.clock = clock;
  }

  /** Creates the run as described above and returns it as GetRun would. */
  async create(request: PromptlabRunRequest): Promise<RunRecord> {
    const run = await this.tracking.createRun({
      experimentId: request.experimentId,
      userId: request.userId,
      startTime: request.startTime,
      tags: request.tags,
      ...(request.runName !== undefined ? { runName: request.runName } : {}),
    });
    const runId = run.info.runId;
    let status: 'FINISHED' | 'FAILED' = 'FINISHED';
    try {
      await this.tracking.logBatch({
        runId,
        metrics: [],
        params: [...request.modelParameters, { key: 'model_route', value: request.modelRoute }, { key: 'prompt_template', value: request.promptTemplate }],
        tags: [
          { key: 'mlflow.loggedArtifacts', value: LOGGED_ARTIFACTS_TAG_VALUE },
          { key: 'mlflow.runSourceType', value: 'PROMPT_ENGINEERING' },
        ],
      });
      const model = modelDescription(runId, request, new Date(this.clock()));
      await this.tracking.logModelHistory(runId, JSON.stringify(model));
      await this.writeArtifacts(run.info.artifactUri, request, model);
    } catch (error) {
      status = 'FAILED';
      await this.tracking.updateRun({ runId, status, endTime: this.clock() });
      throw error;
    }
    await this.tracking.updateRun({ runId, status, endTime: this.clock() });
    return this.tracking.getRun(runId);
  }

  private async writeArtifacts(artifactUri: string, request: PromptlabRunRequest, model: Record<string, unknown>): Promise<void> {
    const root = proxyPathFromArtifactUri(artifactUri);
    // The run's artifacts live in the client's own storage: nothing this server can write.
    if (root === undefined) return;
    const files: Array<[string, string]> = [
      ['eval_results_table.json', JSON.stringify(evalResultsTable(request))],
      ['model/MLmodel', mlmodelYaml(model)],
      ['model/parameters.yaml', parametersYaml(request)],
      ['model/input_example.json', JSON.stringify({ inputs: request.promptParameters.map((p) => p.value) })],
      ['model/requirements.txt', `mlflow[gateway]==${request.mlflowVersion}`],
    ];
    for (const [name, content] of files) {
      const path = joinArtifactPath(root, name);
      checkProxyPath(path, 'write');
      const bytes = Buffer.from(content, 'utf8');
      await this.artifacts.upload(path, Readable.from([bytes]), bytes.length);
    }
  }
}

/** The evaluation table the UI shows for the run. */
export function evalResultsTable(request: PromptlabRunRequest): { columns: string[]; data: string[][] } {
  return {
    columns: [...request.promptParameters.map((p) => p.key), 'prompt', 'output', ...request.modelOutputParameters.map((p) => p.key)],
    data: [[...request.promptParameters.map((p) => p.value), request.modelInput, request.modelOutput ?? '', ...request.modelOutputParameters.map((p) => p.value)]],
  };
}

function modelDescription(runId: string, request: PromptlabRunRequest, created: Date): Record<string, unknown> {
  const columns = (names: string[]) => JSON.stringify(names.map((name) => ({ type: 'string', name, required: true })));
  return {
    artifact_path: 'model',
    run_id: runId,
    // MLflow's format: "YYYY-MM-DD HH:MM:SS.ffffff" in UTC.
    utc_time_created: `${created.toISOString().replace('T', ' ').replace('Z', '')}000`,
    mlflow_version: request.mlflowVersion,
    flavors: {
      python_function: {
        loader_module: 'mlflow.prompt.promptlab_model',
        parameters_path: 'parameters.yaml',
        env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
      },
    },
    signature: { inputs: columns(request.promptParameters.map((p) => p.key)), outputs: columns(['output']) },
    saved_input_example_info: { artifact_path: 'input_example.json', type: 'json_object' },
  };
}

/**
 * YAML written with JSON-quoted scalars (YAML accepts JSON's double-quoted strings), so any
 * prompt text round-trips without a YAML library.
 */
function yamlBlock(value: unknown, indent: string): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return ` ${JSON.stringify(value)}\n`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return ' {}\n';
  return `\n${entries.map(([key, inner]) => `${indent}${JSON.stringify(key)}:${yamlBlock(inner, `${indent}  `)}`).join('')}`;
}

function mlmodelYaml(model: Record<string, unknown>): string {
  return Object.entries(model)
    .map(([key, value]) => `${key}:${yamlBlock(value, '  ')}`)
    .join('');
}

function parametersYaml(request: PromptlabRunRequest): string {
  const asMap = (items: KeyValue[]) => Object.fromEntries(items.map((p) => [p.key, p.value]));
  return mlmodelYaml({
    prompt_template: request.promptTemplate,
    prompt_parameters: asMap(request.promptParameters),
    model_parameters: asMap(request.modelParameters),
    model_route: request.modelRoute,
  });
}
