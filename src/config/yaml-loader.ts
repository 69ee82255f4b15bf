/**
 * YAML + zod with positions: every problem is reported as file:line:column: key: message,
 * so an admin can jump straight to the offending line.
 */
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type YAMLError } from 'yaml';
import type { z } from 'zod';

export interface ConfigIssue {
  file: string;
  /** 1-based; 0 when the file could not be read at all. */
  line: number;
  /** 1-based; 0 when the file could not be read at all. */
  column: number;
  /** Dotted path such as `clients[0].secret`; empty for the document as a whole. */
  key: string;
  message: string;
}

/** Places an issue found after parsing (e.g. one that needs another file) at its YAML node. */
export type IssueLocator = (path: readonly (string | number)[], message: string) => ConfigIssue;

export type ParseResult<T> = { ok: true; value: T; locate: IssueLocator } | { ok: false; errors: ConfigIssue[] };

type Path = readonly PropertyKey[];

export function parseYamlWithSchema<S extends z.ZodType>(file: string, text: string, schema: S): ParseResult<z.output<S>> {
  const lineCounter = new LineCounter();
  // prettyErrors off: its messages quote the source line, which may hold a secret.
  // uniqueKeys (the default) makes a duplicate key an error rather than last-one-wins.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined, key: string, message: string): ConfigIssue => {
    const pos = offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col, key, message };
  };

  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => {
      const { key, message } = syntaxIssue(doc, e);
      return at(e.pos[0], key, message);
    });
    return { ok: false, errors };
  }

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // e.g. an alias bomb exceeding maxAliasCount.
    return { ok: false, errors: [at(undefined, '', (err as Error).message)] };
  }

  const result = schema.safeParse(data);
  if (result.success) {
    return {
      ok: true,
      value: result.data,
      locate: (path, message) => at(nearestNode(doc, path)?.range?.[0], formatPath(path), message),
    };
  }

  const errors: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // One issue per key, each pointing at the key itself rather than its parent map.
      for (const k of issue.keys) {
        const path = [...issue.path, k];
        errors.push(at(keyNode(doc, issue.path, k)?.range?.[0], formatPath(path), `unknown key "${k}"`));
      }
    } else {
      errors.push(at(nearestNode(doc, issue.path)?.range?.[0], formatPath(issue.path), issue.message));
    }
  }
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: false, errors };
}

export function formatIssue(i: ConfigIssue): string {
  return i.key ? `${i.file}:${i.line}:${i.column}: ${i.key}: ${i.message}` : `${i.file}:${i.line}:${i.column}: ${i.message}`;
}

/** `['clients', 0, 'secret']` => `clients[0].secret` */
export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function syntaxIssue(doc: Document, e: YAMLError): { key: string; message: string } {
  if (e.code !== 'DUPLICATE_KEY') return { key: '', message: e.message };
  // yaml's text does not say which key; name it and its place (keys are never secret).
  let path: PropertyKey[] = [];
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== e.pos[0]) return undefined;
      path = [...pathOf([...ancestors, pair]), String(pair.key.value)];
      return visit.BREAK;
    },
  });
  if (path.length === 0) return { key: '', message: e.message };
  return { key: formatPath(path), message: `duplicate key "${String(path.at(-1))}"` };
}

/** Keys and indexes leading to the last of `ancestors`, as given by yaml's visit(). */
function pathOf(ancestors: readonly unknown[]): PropertyKey[] {
  const path: PropertyKey[] = [];
  ancestors.forEach((node, i) => {
    const child = ancestors[i + 1];
    if (child === undefined) return;
    if (isSeq(node)) path.push(node.items.indexOf(child));
    else if (isPair(node) && isScalar(node.key)) path.push(String(node.key.value));
  });
  return path;
}

/** The node at path, or the closest ancestor that exists (a missing key is reported at its parent). */
function nearestNode(doc: Document, path: Path): Node | undefined {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node)) return node;
  }
  return isNode(doc.contents) ? doc.contents : undefined;
}

/** The key node of `parent.key`, falling back to the parent itself. */
function keyNode(doc: Document, parent: Path, key: string): Node | undefined {
  const map = nearestNode(doc, parent);
  const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
  return isNode(pair?.key) ? pair.key : map;
}
