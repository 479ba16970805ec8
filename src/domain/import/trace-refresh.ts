import type { TraceStore } from '../../store/trace-store.ts';
import type { TraceInfoInput } from '../tracing/trace-service.ts';
import { SYSTEM_TRACE_TAGS } from '../tracing/validation.ts';

/**
 * Brings a trace Trove already holds (an earlier import) up to what the source says of it now:
 * tags added or changed at the source since, and assessments logged since (by id) or updated since
 * (a later update time). Nothing is deleted: a tag or assessment removed at the source stays.
 * @returns whether anything was written
 */
export async function refreshImportedTrace(store: TraceStore, info: TraceInfoInput): Promise<boolean> {
  return store.transaction(async (tx) => {
    await tx.lockTraces([info.traceId]);
    const [held] = await tx.getTraces([info.traceId]);
    if (!held) return false;
    let wrote = false;
    const tags: Record<string, string> = {};
    for (const [key, value] of Object.entries(info.tags)) if (!SYSTEM_TRACE_TAGS.has(key) && held.tags[key] !== value) tags[key] = value;
    if (Object.keys(tags).length > 0) {
      await tx.setTags(info.traceId, tags);
      wrote = true;
    }
    const byId = new Map(held.assessments.map((a) => [a.assessmentId, a]));
    for (const assessment of info.assessments) {
      if (!assessment.assessmentId) continue;
      const body = assessment.body;
      const createTime = assessment.createTime ?? info.requestTime;
      const record = {
        assessmentId: assessment.assessmentId,
        traceId: info.traceId,
        name: typeof body.assessment_name === 'string' ? body.assessment_name : '',
        createTime,
        lastUpdateTime: assessment.lastUpdateTime ?? createTime,
        body,
      };
      const there = byId.get(assessment.assessmentId);
      if (!there) {
        await tx.insertAssessment(record);
        wrote = true;
      } else if (record.lastUpdateTime > there.lastUpdateTime) {
        await tx.updateAssessment(record);
        wrote = true;
      }
    }
    return wrote;
  });
}
