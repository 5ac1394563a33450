/**
 * The wire layouts, derived — never hand-kept — from core/schema.ts (commands and
 * events) and ./session-schema.ts (session-only templates).
 *
 * Frame: one WebSocket binary message holding one or more messages, back to back.
 * Message: SBE-like, fixed little-endian layout, no padding:
 *
 *   offset 0  u16  length          bytes of this message, header included
 *   offset 2  u8   templateId      which template (per direction, see below)
 *   offset 3  u8   schemaVersion   SCHEMA_VERSION
 *   offset 4  u64  sequence        sequenced templates only: client sequence (client
 *                                  requests) or session sequence (server messages);
 *                                  a safe integer >= 1
 *   then the fields in schema order, widths from their kinds (wire-kinds.ts).
 *
 * Template ids: a core-derived template's id IS its core code (commands client-to-
 * server, events server-to-client); session templates use 128..254. The two
 * directions are separate tables, like two SBE schemas sharing one header.
 *
 * Records: decoding fills a 16-word Float64Array laid out exactly like core records:
 * commands [type, timestamp, origin, fields...], events [type, sequence, timestamp,
 * origin, fields...]. Session templates put their fields after the same header words
 * (3 client-to-server, 4 server-to-client) with word 0 = 0 (no core code).
 *
 * Server-to-client events carry, ahead of their schema fields, two derived fields
 * from the core event header: eventSequence (the global sequence) and timestamp.
 * The origin word is internal routing and never leaves the process.
 */
import {
  COMMAND_HEADER_WORDS, COMMAND_WORDS, CommandName, Commands, EVENT_HEADER_WORDS, EVENT_WORDS, EventHeader, Events,
  MessageSpec,
} from '../../core/schema';
import { FieldRule, FIELD_RULE_OVERRIDES, ruleFor, RuleType } from './field-rules';
import {
  SERVER_SESSION_TEMPLATE_ID_MIN, SESSION_TEMPLATE_ID_MAX, SESSION_TEMPLATE_ID_MIN, SessionTemplateSpec, SessionTemplates,
} from './session-schema';
import { Direction, KIND_BYTES, KindCode, WireKind } from './wire-kinds';

export const SCHEMA_VERSION = 1;

export const MESSAGE_HEADER_BYTES = 4;
/** Byte offsets inside the message header. */
export const MessageHeader = { length: 0, templateId: 2, schemaVersion: 3 } as const;
export const SEQUENCE_OFFSET = MESSAGE_HEADER_BYTES;
export const SEQUENCE_BYTES = 8;
/** The u16 length field bounds a message. */
export const MESSAGE_BYTES_MAX = 0xffff;
/** Record words of a decoded message (= core COMMAND_WORDS = EVENT_WORDS). */
export const RECORD_WORDS = COMMAND_WORDS;

/** Core commands only the supervisor issues (session clock); no client template. */
export const SUPERVISOR_ONLY_COMMANDS: readonly CommandName[] = Object.freeze(['Clock', 'EndOfDay']);

export interface WireField {
  readonly name: string;
  readonly kind: WireKind;
  readonly kindCode: number;
  /** Byte offset from the start of the message (header included). */
  readonly offset: number;
  readonly width: number;
  /** Record word the value is decoded into; -1 for bytes64 (decoded into the decoder's blob). */
  readonly word: number;
  /** Value rule enforced by the decoder (client-to-server only), or null. */
  readonly rule: FieldRule | null;
}

export type TemplateSource = 'command' | 'event' | 'session';

export interface WireTemplate {
  readonly id: number;
  readonly name: string;
  readonly direction: Direction;
  readonly source: TemplateSource;
  /** Core command/event code written into record word 0; 0 for session templates. */
  readonly coreCode: number;
  readonly sequenced: boolean;
  /** Exact length of every message of this template, header included. */
  readonly blockLength: number;
  readonly fields: readonly WireField[];
  /** Record word of each field by name (bytes64 fields are absent). */
  readonly at: Readonly<Record<string, number>>;
}

export interface TemplateTable {
  readonly direction: Direction;
  readonly templates: readonly WireTemplate[];
  /** Indexed by template id, 0..255. */
  readonly byId: readonly (WireTemplate | undefined)[];
  readonly byName: Readonly<Record<string, WireTemplate>>;
  /** Indexed by core code (commands for client-to-server, events for server-to-client). */
  readonly byCoreCode: readonly (WireTemplate | undefined)[];
  /** Largest blockLength in the table. */
  readonly maxBlockLength: number;
}

interface FieldInput {
  readonly name: string;
  readonly kind: WireKind;
  readonly word: number;
}

function buildTemplate(
  id: number, name: string, direction: Direction, source: TemplateSource, coreCode: number, sequenced: boolean,
  inputs: readonly FieldInput[],
): WireTemplate {
  let offset = MESSAGE_HEADER_BYTES + (sequenced ? SEQUENCE_BYTES : 0);
  const fields: WireField[] = [];
  const at: Record<string, number> = {};
  let blobs = 0;
  for (const input of inputs) {
    const width = KIND_BYTES[input.kind];
    const rule = direction === 'client-to-server' ? ruleFor(name, input.name) : null;
    if (rule !== null && rule.type !== RuleType.Min && input.kind !== 'u8' && input.kind !== 'u16') {
      throw new Error(`wire-schema: ${name}.${input.name} is ${input.kind}; enum and bit rules apply to u8/u16 fields only (decoder.ts)`);
    }
    if (rule !== null && input.kind === 'ascii7') throw new Error(`wire-schema: ${name}.${input.name}: ascii7 fields take no rule`);
    fields.push(Object.freeze({ name: input.name, kind: input.kind, kindCode: KindCode[input.kind], offset, width, word: input.word, rule }));
    if (input.kind === 'bytes64') blobs++;
    else {
      if (input.word < 1 || input.word >= RECORD_WORDS) throw new Error(`wire-schema: ${name}.${input.name} lands on record word ${input.word}`);
      at[input.name] = input.word;
    }
    offset += width;
  }
  if (blobs > 1) throw new Error(`wire-schema: ${name} has ${blobs} bytes64 fields; the decoder holds one`);
  if (offset > MESSAGE_BYTES_MAX) throw new Error(`wire-schema: ${name} is ${offset} bytes, above ${MESSAGE_BYTES_MAX}`);
  if (id < 1 || id > SESSION_TEMPLATE_ID_MAX) throw new Error(`wire-schema: ${name} has id ${id}, outside 1..${SESSION_TEMPLATE_ID_MAX}`);
  return Object.freeze({
    id, name, direction, source, coreCode, sequenced, blockLength: offset, fields: Object.freeze(fields), at: Object.freeze(at),
  });
}

function fromCommand(spec: MessageSpec): WireTemplate {
  return buildTemplate(spec.code, spec.name, 'client-to-server', 'command', spec.code, true,
    spec.fields.map((f) => ({ name: f.name, kind: f.kind, word: f.word })));
}

/** Fields of the core event header that travel on the wire, ahead of the event's own fields. */
const EVENT_HEADER_ON_WIRE: readonly FieldInput[] = Object.freeze([
  { name: 'eventSequence', kind: 'i64', word: EventHeader.sequence },
  { name: 'timestamp', kind: 'i64', word: EventHeader.timestamp },
]);

/**
 * Event fields the core gained after this schema version was published, kept off the wire
 * until the next version (a schema-1 decoder refuses a message longer than its template, so
 * appending a field would break every deployed client). Each is reachable another way.
 *   PositionChanged.reservedTotal (engine semantics 2): AccountSummary.reservedCash.
 */
export const EVENT_FIELDS_NOT_ON_WIRE: Readonly<Record<string, readonly string[]>> = { PositionChanged: ['reservedTotal'] };

function fromEvent(spec: MessageSpec): WireTemplate {
  const offWire = EVENT_FIELDS_NOT_ON_WIRE[spec.name] ?? [];
  return buildTemplate(spec.code, spec.name, 'server-to-client', 'event', spec.code, true,
    [...EVENT_HEADER_ON_WIRE, ...spec.fields.filter((f) => !offWire.includes(f.name)).map((f) => ({ name: f.name, kind: f.kind, word: f.word }))]);
}

function fromSession(spec: SessionTemplateSpec, direction: Direction): WireTemplate {
  const headerWords = direction === 'client-to-server' ? COMMAND_HEADER_WORDS : EVENT_HEADER_WORDS;
  const inputs: FieldInput[] = [];
  let word = headerWords;
  for (const [name, kind] of Object.entries(spec.fields)) {
    inputs.push({ name, kind, word: kind === 'bytes64' ? -1 : word });
    if (kind !== 'bytes64') word++;
  }
  return buildTemplate(spec.id, spec.name, direction, 'session', 0, spec.sequenced, inputs);
}

function buildTable(direction: Direction, templates: WireTemplate[]): TemplateTable {
  const byId: (WireTemplate | undefined)[] = new Array(256).fill(undefined);
  const byCoreCode: (WireTemplate | undefined)[] = new Array(256).fill(undefined);
  const byName: Record<string, WireTemplate> = {};
  let maxBlockLength = 0;
  for (const template of templates) {
    if (byId[template.id] !== undefined) throw new Error(`wire-schema: ${direction} id ${template.id} used by ${byId[template.id]!.name} and ${template.name}`);
    if (byName[template.name] !== undefined) throw new Error(`wire-schema: ${direction} name ${template.name} used twice`);
    byId[template.id] = template;
    byName[template.name] = template;
    if (template.coreCode !== 0) byCoreCode[template.coreCode] = template;
    maxBlockLength = Math.max(maxBlockLength, template.blockLength);
  }
  return Object.freeze({
    direction, templates: Object.freeze(templates), byId: Object.freeze(byId), byName: Object.freeze(byName),
    byCoreCode: Object.freeze(byCoreCode), maxBlockLength,
  });
}

function sessionIdsValid(spec: SessionTemplateSpec): void {
  const min = spec.direction === 'server-to-client' ? SERVER_SESSION_TEMPLATE_ID_MIN : SESSION_TEMPLATE_ID_MIN;
  const max = spec.direction === 'client-to-server' ? SERVER_SESSION_TEMPLATE_ID_MIN - 1 : SESSION_TEMPLATE_ID_MAX;
  if (spec.id < min || spec.id > max) throw new Error(`session-schema: ${spec.name} id ${spec.id} outside ${min}..${max} for ${spec.direction}`);
}

function deriveTables(): { client: TemplateTable; server: TemplateTable } {
  for (const name of SUPERVISOR_ONLY_COMMANDS) if (Commands[name] === undefined) throw new Error(`wire-schema: no core command ${name}`);
  const client: WireTemplate[] = [];
  const server: WireTemplate[] = [];
  for (const spec of Object.values(Commands) as MessageSpec[]) {
    if (spec.code >= SESSION_TEMPLATE_ID_MIN) throw new Error(`wire-schema: command ${spec.name} code ${spec.code} enters the session id range`);
    if (!SUPERVISOR_ONLY_COMMANDS.includes(spec.name as CommandName)) client.push(fromCommand(spec));
  }
  for (const spec of Object.values(Events) as MessageSpec[]) {
    if (spec.code >= SESSION_TEMPLATE_ID_MIN) throw new Error(`wire-schema: event ${spec.name} code ${spec.code} enters the session id range`);
    server.push(fromEvent(spec));
  }
  for (const spec of Object.values(SessionTemplates) as SessionTemplateSpec[]) {
    sessionIdsValid(spec);
    if (spec.direction !== 'server-to-client') client.push(fromSession(spec, 'client-to-server'));
    if (spec.direction !== 'client-to-server') server.push(fromSession(spec, 'server-to-client'));
  }
  const tables = { client: buildTable('client-to-server', client), server: buildTable('server-to-client', server) };
  for (const key of Object.keys(FIELD_RULE_OVERRIDES)) {
    const [templateName, fieldName] = key.split('.');
    const template = tables.client.byName[templateName];
    if (template === undefined || !template.fields.some((f) => f.name === fieldName)) {
      throw new Error(`field-rules: override ${key} names no client-to-server field`);
    }
  }
  if (RECORD_WORDS !== EVENT_WORDS) throw new Error('wire-schema assumes command and event records share one size');
  return tables;
}

const TABLES = deriveTables();

/** Templates the server decodes and the client encodes. */
export const ClientTemplates: TemplateTable = TABLES.client;
/** Templates the server encodes and the client decodes. */
export const ServerTemplates: TemplateTable = TABLES.server;

export function tableFor(direction: Direction): TemplateTable {
  return direction === 'client-to-server' ? ClientTemplates : ServerTemplates;
}

/** A template by name; throws for an unknown name (tools, tests, SDK setup — not the hot path). */
export function templateNamed(table: TemplateTable, name: string): WireTemplate {
  const template = table.byName[name];
  if (template === undefined) throw new Error(`no ${table.direction} template named ${name}`);
  return template;
}
