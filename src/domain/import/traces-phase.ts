import { randomUUID } from 'node:crypto';
import type { SpanRow, TraceStore } from '../../store/trace-store.ts';
import { base64ToHex, type SpanDict } from '../tracing/spans.ts';
import type { TraceInfoInput } from '../tracing/trace-service.ts';
import { SPANS_IN_TRACKING_STORE, SYSTEM_TRACE_TAGS, TRACE_TAG } from '../tracing/validation.ts';
import type { ImportPlan } from './import-plan.ts';
import { ImportPhase } from './import-phase.ts';
import type { ImportReport } from './report.ts';
import type { MigrationSource } from './source.ts';

/** Traces (MLflow 3). */
export class TracesPhase extends ImportPhase {
  /**
   * Traces (MLflow 3) of the imported experiments, with their ids, times, state, tags, request
   * metadata, spans and assessments. A trace already in Trove is left as it is (traces are
   * written once, when they end), so a second import adds only new traces.
   */
  async importTraces(source: MigrationSource, experimentIds: Map<string, string>, plan: ImportPlan, report: ImportReport): Promise<void> {
    const store = this.targets.traces;
    if (!source.traces || experimentIds.size === 0) return;
    if (!store) {
      report.warn('Traces were not imported: this import path does not carry them yet (import straight into the store instead).');
      return;
    }
    // The number of traces is known only once read: the phase counts experiments.
    this.progress.phase('traces (experiments)', { items: experimentIds.size });
    for (const [sourceExperimentId, experimentId] of experimentIds) {
      const experiment = await this.targets.tracking.getExperiment(experimentId);
      if (!experiment) {
        this.progress.item();
        continue;
      }
      const present = async (ids: string[]): Promise<Set<string>> => new Set((await store.getTraces(ids)).map((t) => t.traceId));
      try {
        for await (const trace of source.traces(sourceExperimentId, present)) {
          try {
            const created = await this.writeTrace(store, trace.info, trace.spans, experiment, plan);
            report.count('traces', created ? 'created' : 'unchanged');
          } catch (error) {
            report.fail('traces', trace.info.traceId, error);
            this.progress.note(`trace ${trace.info.traceId} failed: ${(error as Error).message}`);
          }
        }
      } catch (error) {
        report.warn(`Traces of experiment ${sourceExperimentId} could not be read: ${(error as Error).message}`);
      }
      this.progress.item();
    }
    this.progress.endPhase();
  }

  private async writeTrace(
    store: TraceStore,
    info: TraceInfoInput,
    spans: SpanDict[],
    experiment: { experimentId: string; projectId: number; artifactLocation: string },
    plan: ImportPlan,
  ): Promise<boolean> {
    const { experimentId, artifactLocation } = experiment;
    return store.transaction(async (tx) => {
      await tx.lockTraces([info.traceId]);
      const [existing] = await tx.getTraces([info.traceId]);
      if (existing) {
        if (existing.experimentId !== experimentId) throw new Error(`trace ${info.traceId} already exists in experiment ${existing.experimentId}`);
        return false;
      }
      await tx.insertTrace({
        traceId: info.traceId,
        projectId: experiment.projectId,
        experimentId,
        requestTime: info.requestTime,
        executionDuration: info.executionDuration,
        state: info.state,
        clientRequestId: info.clientRequestId,
        requestPreview: info.requestPreview,
        responsePreview: info.responsePreview,
      });
      const tags: Record<string, string> = {};
      for (const [key, value] of Object.entries(info.tags)) if (!SYSTEM_TRACE_TAGS.has(key)) tags[key] = value;
      tags[TRACE_TAG.artifactLocation] = `${artifactLocation.replace(/\/+$/, '')}/traces/${info.traceId}/artifacts`;
      if (spans.length > 0) tags[TRACE_TAG.spansLocation] = SPANS_IN_TRACKING_STORE;
      await tx.setTags(info.traceId, tags);
      const metadata = { ...info.metadata };
      const sourceRun = metadata['mlflow.sourceRun'];
      if (sourceRun !== undefined && plan.runIdMap.has(sourceRun)) metadata['mlflow.sourceRun'] = plan.runIdMap.get(sourceRun)!;
      await tx.setMetadata(info.traceId, metadata);
      const rows: SpanRow[] = spans.map((span) => ({
        traceId: info.traceId,
        spanId: base64ToHex(span.span_id),
        parentSpanId: span.parent_span_id ? base64ToHex(span.parent_span_id) : null,
        name: span.name,
        startTimeNs: span.start_time_unix_nano,
        content: JSON.stringify(span),
      }));
      if (rows.length > 0) await tx.upsertSpans(rows);
      for (const assessment of info.assessments) {
        const body = assessment.body;
        const name = typeof body.assessment_name === 'string' ? body.assessment_name : '';
        const createTime = assessment.createTime ?? info.requestTime;
        await tx.insertAssessment({
          assessmentId: assessment.assessmentId ?? `a-${randomUUID().replaceAll('-', '')}`,
          traceId: info.traceId,
          name,
          createTime,
          lastUpdateTime: assessment.lastUpdateTime ?? createTime,
          body,
        });
      }
      return true;
    });
  }
}
