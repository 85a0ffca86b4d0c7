//! Just enough YAML to summarise an MLmodel file: nested mappings by indentation, plain and quoted
//! scalars (folded over several lines, as PyYAML writes long ones) and `- item` lists of scalars.
//! Anything fancier is skipped; the file itself is always shown as text as well.

export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };
export type YamlMap = { [key: string]: YamlValue };

interface Frame {
  /** The indentation of the frame's entries (its first line's). */
  indent: number;
  node: YamlMap | YamlValue[];
}

const PAIR = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s'"#-][^:]*?|-[^\s:][^:]*?):(?:\s+(.*))?$/;

/** The mapping at the top of `text` (best effort, never throws). */
export function readYaml(text: string): YamlMap {
  const root: YamlMap = {};
  const stack: Frame[] = [{ indent: 0, node: root }];
  // A `key:` without a value: a mapping or a list follows, depending on the next line.
  let open: { parent: YamlMap; key: string; indent: number } | undefined;
  // The scalar last written, which more-indented lines continue.
  let scalarAt: { node: YamlMap | YamlValue[]; key: string | number; indent: number } | undefined;

  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line === '---') continue;
    const indent = raw.length - raw.trimStart().length;
    const item = line === '-' || line.startsWith('- ');

    if (scalarAt && indent > scalarAt.indent && !item) {
      const current = read(scalarAt.node, scalarAt.key);
      if (typeof current === 'string' && (quoteOpen(current) || !PAIR.test(line))) {
        write(scalarAt.node, scalarAt.key, `${current} ${line}`);
        continue;
      }
    }
    scalarAt = undefined;

    if (open) {
      const { parent, key } = open;
      if (item && indent >= open.indent) {
        const list: YamlValue[] = [];
        parent[key] = list;
        stack.push({ indent, node: list });
      } else if (indent > open.indent) {
        const map: YamlMap = {};
        parent[key] = map;
        stack.push({ indent, node: map });
      }
      open = undefined;
    }
    while (stack.length > 1) {
      const top = stack[stack.length - 1];
      if (indent < top.indent || (Array.isArray(top.node) && indent === top.indent && !item)) stack.pop();
      else break;
    }
    const node = stack[stack.length - 1].node;

    if (item) {
      if (Array.isArray(node)) {
        node.push(line.slice(1).trim());
        scalarAt = { node, key: node.length - 1, indent };
      }
      continue;
    }
    const pair = PAIR.exec(line);
    if (!pair || Array.isArray(node)) continue;
    const key = unquote(pair[1].trim());
    const value = pair[2]?.trim();
    if (!value) {
      node[key] = null;
      open = { parent: node, key, indent };
    } else {
      node[key] = value;
      scalarAt = { node, key, indent };
    }
  }
  return finish(root) as YamlMap;
}

function read(node: YamlMap | YamlValue[], key: string | number): YamlValue {
  return Array.isArray(node) ? node[key as number] : node[key as string];
}

function write(node: YamlMap | YamlValue[], key: string | number, value: string): void {
  if (Array.isArray(node)) node[key as number] = value;
  else node[key as string] = value;
}

/** Scalars turned into values (quotes removed, `null` to null) once folding is done. */
function finish(value: YamlValue): YamlValue {
  if (typeof value === 'string') return scalar(value);
  if (Array.isArray(value)) return value.map(finish);
  if (value) for (const [key, child] of Object.entries(value)) value[key] = finish(child);
  return value;
}

/** Whether a quoted scalar has not been closed yet (it continues on the next line). */
function quoteOpen(text: string): boolean {
  const q = text[0];
  if (q !== "'" && q !== '"') return false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (q === '"' && c === '\\') i += 1;
    else if (c === q) {
      if (q === "'" && text[i + 1] === "'") i += 1;
      else return false;
    }
  }
  return true;
}

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1).replace(/''/g, "'");
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      return text.slice(1, -1);
    }
  }
  return text;
}

function scalar(text: string): string | null {
  if (text === '' || text === 'null' || text === '~') return null;
  if (text === '{}' || text === '[]') return null;
  return unquote(text);
}

/** A nested value by keys: `yamlGet(doc, 'flavors', 'python_function', 'loader_module')`. */
export function yamlGet(doc: YamlValue | undefined, ...path: string[]): YamlValue | undefined {
  let node: YamlValue | undefined = doc;
  for (const key of path) {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** A value as display text (scalars only). */
export const yamlText = (value: YamlValue | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;
