import { RegistryModelExperiments } from './registry-model-experiments.ts';

export {
  MODEL_EXPERIMENT_TAG,
  VERSION_LABEL_TAG,
  modelExperimentName,
  type CandidateRuns,
  type CreateModelVersionInput,
  type PromoteRunInput,
} from './registry-base.ts';

/**
 * MLflow's model registry rules: registered models with tags and aliases, versions with stages
 * and tags, searches, and the sources versions are registered from. Versions are created READY
 * with their files frozen: a source served by our artifact proxy is copied into a registry-owned
 * folder first, so deleting or re-logging the run's artifacts never changes a registered version.
 *
 * Also GitLab's model–experiment link: every registered model (prompts aside) has an experiment
 * `[model]<name>` whose runs are the model's candidates, and `promoteRun` turns a run into the
 * next version. Every committed change is published to the RegistryEventSink.
 *
 * The rules live one entity per file (registry-sources.ts, registry-models.ts,
 * registry-aliases.ts, registry-versions.ts, registry-stages.ts, registry-model-experiments.ts,
 * on top of registry-base.ts); this class is their sum.
 */
export class RegistryService extends RegistryModelExperiments {}
