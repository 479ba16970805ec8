import { randomUUID } from 'node:crypto';
import type { SpanRow, TraceStore } from '../../store/trace-store.ts';
import { base64ToHex, type SpanDict } from '../tracing/spans.ts';
import type { TraceInfoInput } from '../tracing/trace-service.ts';
import { SPANS_IN_TRACKING_STORE, SYSTEM_TRACE_TAGS, TRACE_TAG } from '../tracing/validation.ts';
import type { ImportPlan } from './import-plan.ts';
import { ImportPhase, type ImportOptions } from './import-phase.ts';
import { forEachConcurrent } from './pool.ts';
import { refreshImportedTrace } from './trace-refresh.ts';
import type { ImportReport } from './report.ts';
import type { MigrationSource } from './source.ts';

/** Traces (MLflow 3). */
export class TracesPhase extends ImportPhase {
  /**
   * Traces (MLflow 3) of the imported experiments, with their ids, times, state, tags, request
   * metadata, spans and assessments. Page by page (up to `concurrency` at a time), the traces Trove
   * does not hold yet are fetched whole; for one it holds, the tags and assessments added at the
   * source since are brought over (its spans and times are not read again: a trace is written
   * once, when it ends).
   */
  async importTraces(source: MigrationSource, experimentIds: Map<string, string>, plan: ImportPlan, options: ImportOptions, report: ImportReport): Promise<void> {
    const store = this.targets.traces;
    if (!source.traceIds || !source.trace || experimentIds.size === 0) return;
    const fetchTrace = source.trace.bind(source);
    // The number of traces is known only once read: the phase counts experiments.
    this.progress.phase('traces (experiments)', { items: experimentIds.size });
    for (const [sourceExperimentId, experimentId] of experimentIds) {
      const experiment = await this.targets.tracking.getExperiment(experimentId);
      if (!experiment) {
        this.progress.item();
        continue;
      }
      let pageToken: string | undefined;
      try {
        do {
          const page = await source.traceIds(sourceExperimentId, pageToken);
          // A trace id held by another experiment is not skipped: writing it fails and says so.
          const held = page.traceIds.length > 0 ? await store.getTraces(page.traceIds) : [];
          const present = new Set(held.filter((t) => t.experimentId === experimentId).map((t) => t.traceId));
          const infos = new Map((page.infos ?? []).map((info) => [info.traceId, info]));
          await forEachConcurrent([...new Set(page.traceIds)], options.concurrency, async (traceId) => {
            try {
              if (present.has(traceId)) {
                // Held already: tags and assessments added at the source since are brought over,
                // from the page's info when the source gives one, else from the trace read again.
                const info = infos.get(traceId) ?? (await fetchTrace(traceId)).info;
                if (info.traceId !== traceId) throw new Error(`the source answered with trace ${info.traceId}`);
                report.count('traces', (await refreshImportedTrace(store, info)) ? 'updated' : 'unchanged');
                return;
              }
              const trace = await fetchTrace(traceId);
              if (trace.info.traceId !== traceId) throw new Error(`the source answered with trace ${trace.info.traceId}`);
              const created = await this.writeTrace(store, trace.info, trace.spans, experiment, plan);
              report.count('traces', created ? 'created' : 'unchanged');
            } catch (error) {
              report.fail('traces', traceId, error);
              this.progress.note(`trace ${traceId} failed: ${(error as Error).message}`);
            }
          });
          pageToken = page.nextPageToken;
        } while (pageToken);
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
        // Said without naming where: over `--to` the importer may not see the other experiment.
        if (existing.experimentId !== experimentId) throw new Error(`trace ${info.traceId} already exists in Trove in another experiment`);
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
