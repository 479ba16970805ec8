import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { AssessmentInput } from '../../domain/tracing/assessments.ts';
import { assessmentInputFrom } from '../../http/trace-presenters.ts';

/**
 * The assessments (feedback and expectations) of a trace in an MLflow 3 file store:
 * `<trace>/assessments/<assessment id>.yaml`, each MLflow's assessment in its proto field names
 * (`assessment_name`, `source`, `feedback`/`expectation` with nested values, `rationale`,
 * `metadata`, `overrides`, `valid`, RFC 3339 `create_time`/`last_update_time`) written by PyYAML,
 * so nested maps, lists and quoted multi-line text need a real YAML parser.
 */
export async function readTraceAssessments(traceDir: string): Promise<AssessmentInput[]> {
  const dir = path.join(traceDir, 'assessments');
  let names: string[];
  try {
    names = (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.yaml')).sort();
  } catch {
    return [];
  }
  const out: AssessmentInput[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let value: unknown;
    try {
      value = parse(await fs.promises.readFile(file, 'utf8'));
    } catch (error) {
      throw new Error(`${file} is not valid YAML: ${(error as Error).message}`, { cause: error });
    }
    const { traceId: _traceId, ...assessment } = assessmentInputFrom(value, file);
    out.push({ ...assessment, assessmentId: assessment.assessmentId ?? name.slice(0, -'.yaml'.length) });
  }
  return out;
}
