/**
 * Where results go (stdout, or --out FILE) and in which shape: CSV (header line, RFC 4180
 * quoting), JSON (an array of row objects, or an object), or aligned text for a terminal.
 * CSV and JSON rows stream out as they are produced (writes are synchronous and buffered),
 * so a report over a large journal never holds its rows in memory; text buffers to align.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { usageError } from './errors';

export type Format = 'text' | 'json' | 'csv';
export type Cell = string | number | boolean | null | undefined;
export type Row = Record<string, Cell>;

export function parseFormat(text: string, allowed: readonly Format[]): Format {
  if (!(allowed as readonly string[]).includes(text)) throw usageError(`--format must be one of ${allowed.join(', ')}, got "${text}"`);
  return text as Format;
}

const FLUSH_BYTES = 64 * 1024;

/** A synchronous, buffered text sink: stdout or a file. */
export class Output {
  private buffer: string[] = [];
  private bytes = 0;
  private readonly fd: number | undefined;

  constructor(readonly path?: string) {
    this.fd = path === undefined ? undefined : openSync(path, 'w');
  }

  write(text: string): void {
    this.buffer.push(text);
    this.bytes += text.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.bytes = 0;
    if (this.fd === undefined) process.stdout.write(text);
    else writeSync(this.fd, text);
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

export function csvCell(value: Cell): string {
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows with a fixed, documented column list, in one format. */
export class TableWriter {
  private rows = 0;
  private readonly buffered: Row[] = [];

  constructor(
    private readonly out: Output,
    readonly columns: readonly string[],
    readonly format: Format,
    /** JSON only: the rows array sits under this key of an object (then call end with the other keys). */
    private readonly jsonKey?: string,
  ) {
    if (format === 'csv') out.write(`${columns.join(',')}\n`);
    if (format === 'json') out.write(jsonKey === undefined ? '[' : `{${JSON.stringify(jsonKey)}:[`);
  }

  get count(): number {
    return this.rows;
  }

  row(row: Row): void {
    if (this.format === 'csv') {
      const columns = this.columns;
      let line = csvCell(row[columns[0]!]);
      for (let i = 1; i < columns.length; i++) line += `,${csvCell(row[columns[i]!])}`;
      this.out.write(`${line}\n`);
    } else if (this.format === 'json') {
      const ordered: Row = {};
      for (const column of this.columns) ordered[column] = row[column] ?? null;
      this.out.write(`${this.rows === 0 ? '\n' : ',\n'}${JSON.stringify(ordered)}`);
    } else {
      this.buffered.push(row);
    }
    this.rows++;
  }

  /** Closes the table; `extra` adds keys to the JSON object (jsonKey mode) or lines after a text table. */
  end(extra?: Record<string, unknown>): void {
    if (this.format === 'json') {
      this.out.write(this.rows === 0 ? ']' : '\n]');
      if (this.jsonKey !== undefined) {
        for (const [key, value] of Object.entries(extra ?? {})) this.out.write(`,${JSON.stringify(key)}:${JSON.stringify(value)}`);
        this.out.write('}');
      }
      this.out.write('\n');
    } else if (this.format === 'text') {
      this.out.write(renderText(this.columns, this.buffered));
      if (extra !== undefined) this.out.write(renderObject(extra));
    }
  }
}

export function renderText(columns: readonly string[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => (row[column] === null || row[column] === undefined ? '' : String(row[column]))));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: readonly string[]) => values.map((value, i) => value.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n') + '\n';
}

/** Key: value lines (nested objects indented), for the text format. */
export function renderObject(object: Record<string, unknown>, indent = ''): string {
  let text = '';
  for (const [key, value] of Object.entries(object)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      text += `${indent}${key}:\n${renderObject(value as Record<string, unknown>, `${indent}  `)}`;
    } else if (Array.isArray(value)) {
      text += `${indent}${key}: ${value.length === 0 ? '(none)' : ''}\n`;
      if (value.length > 0 && typeof value[0] === 'object') {
        const columns = Object.keys(value[0] as object);
        text += renderText(columns, value as Row[]).split('\n').filter((l) => l !== '').map((l) => `${indent}  ${l}`).join('\n') + '\n';
      } else if (value.length > 0) {
        text += `${indent}  ${value.join(', ')}\n`;
      }
    } else {
      text += `${indent}${key}: ${value === null || value === undefined ? '' : String(value)}\n`;
    }
  }
  return text;
}

/** Writes one object (a query result) in the format: JSON, or key/value text. */
export function writeObject(out: Output, format: Format, object: Record<string, unknown>): void {
  out.write(format === 'json' ? `${JSON.stringify(object, null, 2)}\n` : renderObject(object));
}
