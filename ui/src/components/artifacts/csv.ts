//! A small CSV/TSV reader (RFC 4180 quoting: quoted fields may hold delimiters, doubled quotes and
//! line breaks) that keeps the first rows and counts the rest.

export interface Table {
  header: string[];
  rows: string[][];
  /** Data rows in the text, including those past the limit. */
  total: number;
}

/** The header and up to `limit` data rows of `text`; `delimiter` is ',' or '\t'. */
export function parseDelimited(text: string, delimiter: string, limit: number): Table {
  const rows: string[][] = [];
  let total = -1; // the header is not a data row
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  const endRow = () => {
    row.push(field);
    field = '';
    // Blank lines are not rows.
    if (!(row.length === 1 && row[0] === '')) {
      total += 1;
      if (rows.length <= limit) rows.push(row);
    }
    row = [];
  };
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      endRow();
    } else field += c;
    i += 1;
  }
  if (field !== '' || row.length > 0) endRow();
  const [header = [], ...data] = rows;
  return { header, rows: data, total: Math.max(total, 0) };
}
