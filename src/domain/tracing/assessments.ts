import { randomUUID } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import type { AssessmentRecord, TraceRecord, TraceStore } from '../../store/trace-store.ts';

/**
 * Assessments (MLflow 3 feedback and expectations) on a trace. The body keeps MLflow's fields
 * (`assessment_name`, `source`, `feedback` or `expectation`, `rationale`, `metadata`, `span_id`,
 * `overrides`, `valid`, `error`): values are arbitrary JSON, so they are kept as given. An
 * assessment that overrides another marks the old one invalid; deleting it makes the old one
 * valid again, as MLflow does.
 */
export interface AssessmentInput {
  assessmentId?: string | undefined;
  createTime?: number | undefined;
  lastUpdateTime?: number | undefined;
  /** MLflow's assessment fields other than the ids and times. */
  body: Record<string, unknown>;
}

/** Fields an update may change, by their snake_case names (the mask may be camelCase). */
const UPDATABLE = ['assessment_name', 'feedback', 'expectation', 'rationale', 'metadata', 'valid', 'error', 'span_id', 'source'] as const;

function assessmentNotFound(assessmentId: string): MlflowError {
  return MlflowError.notFound(`Assessment with ID '${assessmentId}' not found.`);
}

function validateBody(body: Record<string, unknown>): string {
  const name = body.assessment_name;
  if (typeof name !== 'string' || name === '') {
    throw MlflowError.invalidParameter("Missing value for required parameter 'assessment.assessment_name'. See the API docs for more information about request parameters.");
  }
  const hasFeedback = body.feedback !== undefined && body.feedback !== null;
  const hasExpectation = body.expectation !== undefined && body.expectation !== null;
  if (hasFeedback && hasExpectation) throw MlflowError.invalidParameter('An assessment must be either a feedback or an expectation, not both.');
  if (!hasFeedback && !hasExpectation && body.issue === undefined) {
    throw MlflowError.invalidParameter('An assessment must have either a feedback or an expectation value.');
  }
  return name;
}

function snakeCase(path: string): string {
  return path.trim().replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export class AssessmentRules {
  constructor(
    private readonly store: TraceStore,
    private readonly traceInProject: (traceId: string) => Promise<TraceRecord>,
    private readonly clock: { now(): number },
  ) {}

  async create(traceId: string, input: AssessmentInput): Promise<AssessmentRecord> {
    const trace = await this.traceInProject(traceId);
    return this.store.transaction(async (tx) => {
      const record = this.newRecord(trace.traceId, input);
      await this.applyOverride(tx, record);
      await tx.insertAssessment(record);
      return record;
    });
  }

  /**
   * Assessments the client logged during a trace arrive with StartTraceV3, with ids the client
   * made; a retried request updates them instead of adding copies.
   */
  async upsertDuringStart(tx: TraceStore, traceId: string, input: AssessmentInput): Promise<void> {
    const record = this.newRecord(traceId, input);
    const existing = await tx.getAssessment(record.assessmentId);
    if (existing && existing.traceId !== traceId) throw MlflowError.invalidParameter(`Assessment with ID '${record.assessmentId}' belongs to another trace.`);
    if (existing) await tx.updateAssessment({ ...record, createTime: existing.createTime });
    else {
      await this.applyOverride(tx, record);
      await tx.insertAssessment(record);
    }
  }

  private newRecord(traceId: string, input: AssessmentInput): AssessmentRecord {
    const name = validateBody(input.body);
    const now = this.clock.now();
    const createTime = input.createTime ?? now;
    const body = { ...input.body };
    if (body.valid === undefined || body.valid === null) body.valid = true;
    return {
      assessmentId: input.assessmentId || `a-${randomUUID().replace(/-/g, '')}`,
      traceId,
      name,
      createTime,
      lastUpdateTime: input.lastUpdateTime ?? createTime,
      body,
    };
  }

  private async applyOverride(tx: TraceStore, record: AssessmentRecord): Promise<void> {
    const overrides = record.body.overrides;
    if (typeof overrides !== 'string' || overrides === '') return;
    const old = await tx.getAssessment(overrides);
    if (!old || old.traceId !== record.traceId) throw MlflowError.notFound(`Assessment with ID '${overrides}' to override not found.`);
    await tx.updateAssessment({ ...old, body: { ...old.body, valid: false } });
  }

  async get(traceId: string, assessmentId: string): Promise<AssessmentRecord> {
    const trace = await this.traceInProject(traceId);
    const found = await this.store.getAssessment(assessmentId);
    if (!found || found.traceId !== trace.traceId) throw assessmentNotFound(assessmentId);
    return found;
  }

  async update(traceId: string, assessmentId: string, changes: Record<string, unknown>, updateMask: string | undefined): Promise<AssessmentRecord> {
    const current = await this.get(traceId, assessmentId);
    const paths = updateMask ? updateMask.split(',').map(snakeCase).filter((p) => p !== '') : Object.keys(changes).filter((k) => (UPDATABLE as readonly string[]).includes(k));
    const body = { ...current.body };
    for (const path of paths) {
      if (!(UPDATABLE as readonly string[]).includes(path)) throw MlflowError.invalidParameter(`Invalid update mask path '${path}' for an assessment.`);
      const value = changes[path];
      if (value === undefined || value === null) delete body[path];
      else body[path] = value;
      // A feedback replaces an expectation and the other way round.
      if (path === 'feedback' && value !== undefined) delete body.expectation;
      if (path === 'expectation' && value !== undefined) delete body.feedback;
    }
    const name = validateBody(body);
    const updated: AssessmentRecord = { ...current, name, body, lastUpdateTime: this.clock.now() };
    await this.store.updateAssessment(updated);
    return updated;
  }

  async delete(traceId: string, assessmentId: string): Promise<void> {
    const current = await this.get(traceId, assessmentId);
    await this.store.transaction(async (tx) => {
      const overrides = current.body.overrides;
      if (typeof overrides === 'string' && overrides !== '') {
        const old = await tx.getAssessment(overrides);
        if (old) await tx.updateAssessment({ ...old, body: { ...old.body, valid: true } });
      }
      await tx.deleteAssessment(assessmentId);
    });
  }
}
