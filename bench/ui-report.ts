/**
 * The web UI timings' section of docs/benchmarks.md. `npm run bench:ui` writes it (rows it did
 * not measure this time are kept from the last run); `npm run bench` rewrites the rest of the
 * page and carries the section over. Pure functions.
 */

export const UI_SECTION_START = '<!-- bench:ui start -->';
export const UI_SECTION_END = '<!-- bench:ui end -->';

export interface UiRow {
  label: string;
  goal: string;
  median: string;
  loads: string;
}

function sectionOf(doc: string): string | undefined {
  const start = doc.indexOf(UI_SECTION_START);
  const end = doc.indexOf(UI_SECTION_END);
  return start >= 0 && end > start ? doc.slice(start, end + UI_SECTION_END.length) : undefined;
}

function rowsOf(section: string | undefined): UiRow[] {
  if (!section) return [];
  const rows: UiRow[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length !== 6 || cells[1] === 'measurement' || cells[1]?.startsWith('---')) continue;
    rows.push({ label: cells[1]!, goal: cells[2]!, median: cells[3]!, loads: cells[4]! });
  }
  return rows;
}

/** The section for `rows` (in their order), keeping earlier rows this run did not measure. */
export function renderUiSection(previousDoc: string | undefined, rows: UiRow[], heading: string): string {
  const measured = new Set(rows.map((r) => r.label));
  const kept = rowsOf(previousDoc === undefined ? undefined : sectionOf(previousDoc)).filter((r) => !measured.has(r.label));
  const all = [...rows, ...kept];
  return [
    UI_SECTION_START,
    '## Web UI (`npm run bench:ui`)',
    '',
    heading,
    '',
    '| measurement | goal | median | loads |',
    '| --- | --- | --- | --- |',
    ...all.map((r) => `| ${r.label} | ${r.goal} | ${r.median} | ${r.loads} |`),
    UI_SECTION_END,
  ].join('\n');
}

/** `doc` with its UI section replaced by `section` (appended when it has none). */
export function withUiSection(doc: string, section: string): string {
  const existing = sectionOf(doc);
  if (existing) return doc.replace(existing, section);
  return `${doc.replace(/\s*$/, '')}\n\n${section}\n`;
}

/** A freshly rendered page keeps the UI section of the page it replaces. */
export function carryUiSection(previousDoc: string | undefined, freshDoc: string): string {
  const section = previousDoc === undefined ? undefined : sectionOf(previousDoc);
  return section ? withUiSection(freshDoc, section) : freshDoc;
}
