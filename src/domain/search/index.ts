/**
 * Search filter / order_by parsing for every MLflow search endpoint. Pure domain code: it
 * validates with MLflow's error messages and returns typed clauses; the store builds SQL from them.
 */
export type {
  ClauseEntity,
  Comparator,
  FilterClause,
  LoggedModelOrderByInput,
  OrderByClause,
} from './types.ts';
export { parseRunFilter, parseRunOrderBy } from './run-search.ts';
export { parseExperimentFilter, parseExperimentOrderBy } from './experiment-search.ts';
export {
  parseModelVersionFilter,
  parseModelVersionOrderBy,
  parseRegisteredModelFilter,
  parseRegisteredModelOrderBy,
} from './registry-search.ts';
export { parseLoggedModelFilter, parseLoggedModelOrderBy } from './logged-model-search.ts';
