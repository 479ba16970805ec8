/** Assessments (feedback and expectations) as the UI shows them. Pure functions. */
import type { Assessment } from '../api/types.ts';

/** The name MLflow's UI logs thumbs feedback under. */
export const DEFAULT_FEEDBACK_NAME = 'user_feedback';

export function assessmentValue(assessment: Assessment): unknown {
  if (assessment.feedback) return assessment.feedback.value;
  if (assessment.expectation) {
    const serialized = assessment.expectation.serialized_value;
    if (assessment.expectation.value === undefined && serialized?.value !== undefined) {
      try {
        return JSON.parse(serialized.value) as unknown;
      } catch {
        return serialized.value;
      }
    }
    return assessment.expectation.value;
  }
  return undefined;
}

export function assessmentKind(assessment: Assessment): 'feedback' | 'expectation' {
  return assessment.expectation ? 'expectation' : 'feedback';
}

/** Thumbs up/down of a boolean (or "yes"/"no") feedback; undefined for other values. */
export function thumbOf(assessment: Assessment): 'up' | 'down' | undefined {
  if (!assessment.feedback) return undefined;
  const value = assessment.feedback.value;
  if (value === true || value === 'yes' || value === 'true') return 'up';
  if (value === false || value === 'no' || value === 'false') return 'down';
  return undefined;
}

/** Newest first; superseded ones (valid: false, overridden by a newer assessment) last. */
export function sortAssessments(list: Assessment[]): Assessment[] {
  const time = (a: Assessment) => Date.parse(a.last_update_time ?? a.create_time ?? '') || 0;
  return [...list].sort((a, b) => Number(a.valid === false) - Number(b.valid === false) || time(b) - time(a));
}

export interface AssessmentSummary {
  up: number;
  down: number;
  other: number;
}

export function summarise(list: Assessment[] | undefined): AssessmentSummary {
  const summary: AssessmentSummary = { up: 0, down: 0, other: 0 };
  for (const a of list ?? []) {
    if (a.valid === false) continue;
    const thumb = thumbOf(a);
    if (thumb === 'up') summary.up++;
    else if (thumb === 'down') summary.down++;
    else summary.other++;
  }
  return summary;
}

/** The body of POST traces/{id}/assessments for thumbs feedback from a person. */
export function humanFeedback(input: { traceId: string; name: string; up: boolean; rationale: string; author: string; now: number; spanId?: string | undefined }): Assessment {
  const time = new Date(input.now).toISOString();
  return {
    assessment_name: input.name.trim() || DEFAULT_FEEDBACK_NAME,
    trace_id: input.traceId,
    ...(input.spanId ? { span_id: input.spanId } : {}),
    source: { source_type: 'HUMAN', source_id: input.author },
    create_time: time,
    last_update_time: time,
    feedback: { value: input.up },
    ...(input.rationale.trim() ? { rationale: input.rationale.trim() } : {}),
  };
}
