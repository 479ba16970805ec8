/** How to preview an artifact, and parsers for the previews. Pure functions. */
import { parse as parseYaml } from 'yaml';

export type PreviewKind = 'image' | 'json' | 'yaml' | 'csv' | 'text' | 'mlmodel' | 'none';

/** Files larger than this are offered for download only. */
export const MAX_PREVIEW_BYTES = 5 * 1024 * 1024;

const TEXT_EXTENSIONS = new Set([
  'txt', 'log', 'md', 'py', 'r', 'sh', 'ini', 'cfg', 'conf', 'toml', 'html', 'xml', 'sql', 'js', 'ts', 'java', 'scala', 'go', 'rs', 'c', 'h', 'cpp',
  'ipynb', 'requirements', 'lock', 'env', 'tsv',
]);
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp']);

export function previewKind(fileName: string, size: number | undefined): PreviewKind {
  const base = fileName.split('/').pop() ?? fileName;
  if (base === 'MLmodel') return 'mlmodel';
  if (size !== undefined && size > MAX_PREVIEW_BYTES) return 'none';
  const dot = base.lastIndexOf('.');
  const ext = dot >= 0 ? base.slice(dot + 1).toLowerCase() : '';
  if (IMAGE_EXTENSIONS.has(ext)) return 'image';
  if (ext === 'json') return 'json';
  if (ext === 'yaml' || ext === 'yml') return 'yaml';
  if (ext === 'csv') return 'csv';
  if (TEXT_EXTENSIONS.has(ext) || ['requirements.txt', 'Dockerfile', 'LICENSE', 'README', 'Makefile'].includes(base)) return 'text';
  if (ext === '') return 'text';
  return 'none';
}

/**
 * RFC 4180 CSV parsing (quoted fields, doubled quotes, CRLF), up to `maxRows` data rows after
 * the header. Returns the header, the rows, and whether rows were cut.
 */
export function parseCsv(text: string, maxRows = 500): { header: string[]; rows: string[][]; truncated: boolean } {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let truncated = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      if (records.length > maxRows) {
        truncated = i < text.length - 1;
        break;
      }
    } else field += ch;
  }
  if (!truncated && (field !== '' || record.length > 0)) {
    record.push(field);
    records.push(record);
  }
  const [header = [], ...rows] = records;
  return { header, rows: rows.slice(0, maxRows), truncated: truncated || rows.length > maxRows };
}

export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export interface SignatureColumn {
  name: string;
  type: string;
  required: boolean;
  shape?: string;
}

export interface MlmodelInfo {
  artifactPath?: string;
  flavors: Array<{ name: string; details: string }>;
  modelUuid?: string;
  modelId?: string;
  runId?: string;
  created?: string;
  sizeBytes?: number;
  inputs: SignatureColumn[];
  outputs: SignatureColumn[];
  params: SignatureColumn[];
  /** Path (relative to the model folder) of the saved input example, if any. */
  inputExamplePath?: string;
}

function parseSignatureColumns(text: unknown): SignatureColumn[] {
  if (typeof text !== 'string' || text.trim() === '') return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.map((entry, i) => {
      const col = (entry ?? {}) as Record<string, unknown>;
      const tensor = col['tensor-spec'] as Record<string, unknown> | undefined;
      const type = tensor ? `tensor<${String(tensor.dtype)}>` : typeof col.type === 'string' ? col.type : JSON.stringify(col.type ?? 'any');
      const shape = tensor?.shape ?? col.shape;
      return {
        name: typeof col.name === 'string' ? col.name : `#${i}`,
        type,
        required: col.required !== false,
        ...(shape !== undefined ? { shape: JSON.stringify(shape) } : {}),
      };
    });
  } catch {
    return [];
  }
}

/** Reads an MLmodel file (YAML): flavors, signature columns, the input example's location. */
export function parseMlmodel(text: string): MlmodelInfo {
  const doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  const flavors = Object.entries((doc.flavors ?? {}) as Record<string, Record<string, unknown> | null>).map(([name, conf]) => {
    const details = Object.entries(conf ?? {})
      .filter(([, v]) => typeof v !== 'object' || v === null)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join(', ');
    return { name, details };
  });
  const signature = (doc.signature ?? {}) as Record<string, unknown>;
  const example = doc.saved_input_example_info as Record<string, unknown> | undefined;
  const info: MlmodelInfo = {
    flavors,
    inputs: parseSignatureColumns(signature.inputs),
    outputs: parseSignatureColumns(signature.outputs),
    params: parseSignatureColumns(signature.params),
  };
  if (typeof doc.artifact_path === 'string') info.artifactPath = doc.artifact_path;
  if (typeof doc.model_uuid === 'string') info.modelUuid = doc.model_uuid;
  if (typeof doc.model_id === 'string') info.modelId = doc.model_id;
  if (typeof doc.run_id === 'string') info.runId = doc.run_id;
  if (typeof doc.utc_time_created === 'string') info.created = doc.utc_time_created;
  if (typeof doc.model_size_bytes === 'number') info.sizeBytes = doc.model_size_bytes;
  if (example && typeof example.artifact_path === 'string') info.inputExamplePath = example.artifact_path;
  return info;
}
