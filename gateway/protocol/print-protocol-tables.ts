/**
 * Prints the generated part of docs/protocol.md from the schema itself: template
 * index, every template's byte layout, error codes and close codes.
 *
 *   npx tsc -p tsconfig.json && node dist/gateway/protocol/print-protocol-tables.js
 *
 * Paste the output between the GENERATED markers of docs/protocol.md;
 * test/protocol-codec.test.ts fails when the doc and the schema drift apart.
 */
import { describeAccess } from '../session/permissions';
import { throttleClassOf, ThrottleClass } from '../session/throttle';
import { CloseCode } from './close-codes';
import { ErrorSpec, PROTOCOL_ERRORS } from './errors';
import {
  ClientTemplates, MESSAGE_HEADER_BYTES, SCHEMA_VERSION, SEQUENCE_BYTES, ServerTemplates, TemplateTable, WireTemplate,
} from './wire-schema';

export const GENERATED_BEGIN = '<!-- BEGIN GENERATED: node dist/gateway/protocol/print-protocol-tables.js -->';
export const GENERATED_END = '<!-- END GENERATED -->';

const THROTTLE_NAMES: Record<number, string> = { [ThrottleClass.None]: '—', [ThrottleClass.Order]: 'order', [ThrottleClass.Cancel]: 'cancel' };

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}

function indexTable(templates: TemplateTable): string[] {
  const client = templates.direction === 'client-to-server';
  const header = client
    ? ['id', 'template', 'source', 'sequenced', 'bytes', 'permission', 'throttle']
    : ['id', 'template', 'source', 'sequenced', 'bytes'];
  const rows = templates.templates.map((t) => {
    const base = [t.id, `\`${t.name}\``, t.source, t.sequenced ? 'yes' : 'no', t.blockLength];
    return client ? [...base, describeAccess(t), THROTTLE_NAMES[throttleClassOf(t)]] : base;
  });
  return table(header, rows);
}

function layoutTable(template: WireTemplate): string[] {
  const arrow = template.direction === 'client-to-server' ? 'client → server' : 'server → client';
  const lines = [
    `#### ${template.name} (id ${template.id}, ${arrow}, ${template.sequenced ? 'sequenced' : 'unsequenced'}, ${template.blockLength} bytes)`,
    '',
  ];
  if (template.fields.length === 0) return [...lines, 'No fields after the header.', ''];
  const rows = template.fields.map((f) => [f.offset, f.width, f.kind, `\`${f.name}\``, f.word < 0 ? 'blob' : f.word, f.rule?.text ?? '']);
  return [...lines, ...table(['offset', 'width', 'kind', 'field', 'word', 'rule'], rows), ''];
}

function errorTable(): string[] {
  const rows = (Object.entries(PROTOCOL_ERRORS) as [string, ErrorSpec][]).map(([code, spec]) => [
    `\`${code}\``, spec.reason, spec.disposition, spec.closeCode === 0 ? '—' : spec.closeCode, spec.summary,
  ]);
  return table(['code', 'reason', 'disposition', 'close code', 'meaning'], rows);
}

function closeTable(): string[] {
  return table(['close code', 'name'], Object.entries(CloseCode).map(([name, code]) => [code, `\`${name}\``]));
}

/** The generated markdown, markers included. */
export function protocolTables(): string {
  const lines: string[] = [
    GENERATED_BEGIN,
    '',
    `Schema version ${SCHEMA_VERSION}. Message header ${MESSAGE_HEADER_BYTES} bytes; sequenced templates add the ${SEQUENCE_BYTES}-byte sequence, so their fields start at offset ${MESSAGE_HEADER_BYTES + SEQUENCE_BYTES}, unsequenced ones at ${MESSAGE_HEADER_BYTES}. Offsets count from the start of the message. "word" is the record word the decoder writes the field into (blob: the decoder's 64-byte blob). "rule" is the value rule the server enforces (client → server only).`,
    '',
    '### Client → server templates',
    '',
    ...indexTable(ClientTemplates),
    '',
    '### Server → client templates',
    '',
    ...indexTable(ServerTemplates),
    '',
    '### Layouts, client → server',
    '',
    ...ClientTemplates.templates.flatMap(layoutTable),
    '### Layouts, server → client',
    '',
    ...ServerTemplates.templates.flatMap(layoutTable),
    '### Error codes',
    '',
    ...errorTable(),
    '',
    '### Close codes',
    '',
    ...closeTable(),
    '',
    GENERATED_END,
  ];
  return lines.join('\n');
}

if (require.main === module) process.stdout.write(`${protocolTables()}\n`);
