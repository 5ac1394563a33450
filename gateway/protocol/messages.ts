/**
 * Plain objects <-> records for wire templates, derived from the template's fields.
 * For the client SDK, tests, tools and logs; the gateway's hot path works on records.
 */
import { RECORD_WORDS, TemplateTable, WireTemplate, templateNamed } from './wire-schema';

export type WireValues = Readonly<Record<string, number>>;

/** Writes `values` into `record` at the template's words (missing fields 0); word 0 = core code. */
export function toRecord(template: WireTemplate, values: WireValues, record: Float64Array = new Float64Array(RECORD_WORDS)): Float64Array {
  record.fill(0);
  record[0] = template.coreCode;
  for (const key of Object.keys(values)) {
    const word = template.at[key];
    if (word === undefined) throw new Error(`${template.name} has no field "${key}"`);
    record[word] = values[key];
  }
  return record;
}

/** The template's field values from `record` (bytes64 fields omitted: they live in the blob). */
export function fromRecord(template: WireTemplate, record: Float64Array): Record<string, number> {
  const values: Record<string, number> = {};
  for (const field of template.fields) if (field.word >= 0) values[field.name] = record[field.word];
  return values;
}

/** toRecord by template name. */
export function recordOf(table: TemplateTable, name: string, values: WireValues): Float64Array {
  return toRecord(templateNamed(table, name), values);
}
