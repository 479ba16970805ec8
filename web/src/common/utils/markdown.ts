/**
 * A small, safe Markdown subset for descriptions (headings, paragraphs, lists, code blocks,
 * **bold**, *italic*, `code`, [links](https://…)). It produces tokens, never HTML, so user text
 * cannot inject markup; links are limited to http(s), mailto and relative URLs.
 */

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'strong'; children: Inline[] }
  | { kind: 'em'; children: Inline[] }
  | { kind: 'code'; text: string }
  | { kind: 'link'; href: string; children: Inline[] };

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3 | 4; children: Inline[] }
  | { kind: 'paragraph'; children: Inline[] }
  | { kind: 'list'; ordered: boolean; items: Inline[][] }
  | { kind: 'code'; text: string }
  | { kind: 'quote'; children: Inline[] };

export function isSafeHref(href: string): boolean {
  return /^(https?:|mailto:)/i.test(href) || /^(\/|#|\.\/)/.test(href) || !/^[a-z][a-z0-9+.-]*:/i.test(href);
}

export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let buffer = '';
  const flush = () => {
    if (buffer) out.push({ kind: 'text', text: buffer });
    buffer = '';
  };
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    let match: RegExpExecArray | null;
    if ((match = /^`([^`]+)`/.exec(rest))) {
      flush();
      out.push({ kind: 'code', text: match[1] ?? '' });
    } else if ((match = /^\*\*(.+?)\*\*/.exec(rest)) || (match = /^__(.+?)__/.exec(rest))) {
      flush();
      out.push({ kind: 'strong', children: parseInline(match[1] ?? '') });
    } else if ((match = /^\*([^*\s][^*]*?)\*/.exec(rest)) || (match = /^_([^_\s][^_]*?)_(?![A-Za-z0-9])/.exec(rest))) {
      flush();
      out.push({ kind: 'em', children: parseInline(match[1] ?? '') });
    } else if ((match = /^\[([^\]]+)\]\(([^)\s]+)\)/.exec(rest))) {
      flush();
      const href = match[2] ?? '';
      const children = parseInline(match[1] ?? '');
      if (isSafeHref(href)) out.push({ kind: 'link', href, children });
      else out.push(...children);
    } else {
      buffer += text[i];
      i++;
      continue;
    }
    i += match[0].length;
  }
  flush();
  return out;
}

export function parseMarkdown(source: string): Block[] {
  const lines = source.replaceAll('\r\n', '\n').split('\n');
  const blocks: Block[] = [];
  let paragraph: string[] = [];
  const flushParagraph = () => {
    if (paragraph.length > 0) blocks.push({ kind: 'paragraph', children: parseInline(paragraph.join(' ')) });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^```/.test(line)) {
      flushParagraph();
      const code: string[] = [];
      i++;
      while (i < lines.length && !/^```/.test(lines[i] ?? '')) code.push(lines[i++] ?? '');
      blocks.push({ kind: 'code', text: code.join('\n') });
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) {
      flushParagraph();
      blocks.push({ kind: 'heading', level: (heading[1] ?? '#').length as 1 | 2 | 3 | 4, children: parseInline(heading[2] ?? '') });
      continue;
    }
    const listItem = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (listItem) {
      flushParagraph();
      const ordered = /\d/.test(listItem[1] ?? '');
      const items: Inline[][] = [];
      while (i < lines.length) {
        const item = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(lines[i] ?? '');
        if (!item || /\d/.test(item[1] ?? '') !== ordered) break;
        items.push(parseInline(item[2] ?? ''));
        i++;
      }
      i--;
      blocks.push({ kind: 'list', ordered, items });
      continue;
    }
    const quote = /^>\s?(.*)$/.exec(line);
    if (quote) {
      flushParagraph();
      blocks.push({ kind: 'quote', children: parseInline(quote[1] ?? '') });
      continue;
    }
    if (line.trim() === '') flushParagraph();
    else paragraph.push(line.trim());
  }
  flushParagraph();
  return blocks;
}
