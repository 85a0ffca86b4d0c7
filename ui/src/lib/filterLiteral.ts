//! Writing user and data text into MLflow search-grammar filters and order_by keys, which have no escapes.
//
// What the server reads (crates/keel-filter/src/lexer.rs and parser.rs, following MLflow's
// sqlparse-based reference):
// - A value is `'text'` or `"text"`, and its value is the text between the quotes exactly as
//   written: there is no escape. A doubled quote does not end the string but stays doubled
//   (`'it''s'` is `it''s`), and `\'` does not end it either but stays `\'`. So text holding one
//   kind of quote is written between the other kind, and text holding both has no exact literal.
// - While scanning, a backslash skips the character after it, so text that ends in an odd run of
//   backslashes swallows its own closing quote (the lexer only falls back to plain backslashes
//   when nothing later closes the string). Such text has no literal that is safe everywhere.
// - The items of an `IN (...)` list are single-quoted and, unlike plain values, unescaped the way
//   Python reads a literal (`\\`, `\'`, `\"`, `\n`, `\t`, `\r`), so a list writes any text exactly.
//   Only some keys take lists: runs' `run_id`, registry `name` / `run_id`, logged-model attributes.
// - `LIKE` / `ILIKE` patterns: `%` and `_` are wildcards and the server has no escape character
//   (`ESCAPE ''`), so a typed `%` or `_` matches loosely; callers re-check rows with `containsText`.
// - A key segment is bare, `` `name` `` or `"name"`, again with no escape (`` `a``b` `` names
//   `a``b`), so a name with a backtick is double-quoted and one with both has no encoding.

/** Whether `text` ends in an odd number of backslashes (which would escape a closing quote). */
function endsInOddBackslashes(text: string): boolean {
  let n = 0;
  for (let i = text.length - 1; i >= 0 && text[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

/**
 * A value literal that the server reads back as exactly `text`: `'text'`, else `"text"` when the
 * text holds a `'`; `undefined` when no literal exists (both quote kinds, or a trailing odd run of
 * backslashes). Use `equals` for a comparison that is exact anyway, or `likeLiteral` for a pattern.
 */
export function literal(text: string): string | undefined {
  if (endsInOddBackslashes(text)) return undefined;
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return undefined;
}

/**
 * A `LIKE` / `ILIKE` pattern literal. Exact when `literal` can write the pattern; otherwise every
 * quote character (and a trailing backslash) becomes `_`, the one-character wildcard, so the
 * pattern still matches what was meant, plus rows that differ only there: re-check the rows.
 */
export function likeLiteral(pattern: string): string {
  const exact = literal(pattern);
  if (exact !== undefined) return exact;
  let text = pattern.replace(/['"]/g, '_');
  if (endsInOddBackslashes(text)) text = `${text.slice(0, -1)}_`;
  return literal(text) ?? `'${text}'`;
}

/**
 * `'%text%'`: the pattern literal for a "name contains" search. The server treats `%` and `_` in
 * the text as wildcards (there is no escape), so filter its answer with `containsText` as well.
 */
export const likeContains = (text: string) => likeLiteral(`%${text}%`);

/** Whether `value` contains `typed`, ignoring case: what a name search box promises. */
export function containsText(value: string | undefined, typed: string): boolean {
  const needle = typed.trim().toLowerCase();
  return needle === '' || (value ?? '').toLowerCase().includes(needle);
}

/** One item of an `IN (...)` list: single-quoted with Python escapes, exact for any text. */
export const listItem = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** `('a', 'b')`: an `IN` list of exact items. */
export const inList = (texts: string[]) => `(${texts.map(listItem).join(', ')})`;

/**
 * `key = 'text'`, exact for any text: when no plain literal exists it becomes `key IN ('text')`
 * with an escaped item, so pass only keys that take lists (see the notes at the top).
 */
export function equals(key: string, text: string): string {
  const value = literal(text);
  return value !== undefined ? `${key} = ${value}` : `${key} IN ${inList([text])}`;
}

/**
 * A quoted key segment (a metric, param or tag name): `` `name` ``, or `"name"` when the name holds a
 * backtick. A name with both a backtick and a `"` has no encoding; it is double-quoted anyway, and
 * the server answers with a syntax error rather than a search on some other key. (A double-quoted
 * name ending in a backslash reads right only as the last quoted token, e.g. in an order_by clause.)
 */
export function quotedKey(name: string): string {
  return name.includes('`') ? `"${name}"` : `\`${name}\``;
}
