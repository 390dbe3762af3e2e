import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** One thing to validate: a resource read from a file (a line of it, for NDJSON), or why it could not be read. */
export interface InputItem {
  file: string;
  /** 1-based line, for NDJSON. */
  line?: number;
  resource?: { resourceType?: unknown };
  /** JSON that did not parse, or a value that is not a resource. */
  unreadable?: string;
  /** Bytes of input this item used up (for progress). */
  bytes: number;
}

const EXTENSIONS = new Set(['.json', '.ndjson']);

/** The files named, with folders searched recursively for .json and .ndjson files, in a stable order. */
export function inputFiles(paths: string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const visit = (p: string, named: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      missing.push(p);
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) visit(join(p, name), false);
    } else if (named || EXTENSIONS.has(extname(p).toLowerCase())) {
      files.push(p);
    }
  };
  for (const p of paths) visit(p, true);
  return { files, missing };
}

function asResource(value: unknown): { resource?: InputItem['resource']; unreadable?: string } {
  if (
    !value ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    typeof (value as { resourceType?: unknown }).resourceType !== 'string'
  ) {
    return { unreadable: 'not a FHIR resource: a JSON object with a resourceType is expected' };
  }
  return { resource: value as InputItem['resource'] };
}

/**
 * The resources of the files, one at a time: a .json file is one resource (a Bundle stays one
 * resource, validated with its entries); an .ndjson file is one resource per non-empty line, read as
 * a stream so files larger than memory work.
 */
export async function* readInputs(files: string[]): AsyncGenerator<InputItem> {
  for (const file of files) {
    if (extname(file).toLowerCase() === '.ndjson') {
      const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      let line = 0;
      for await (const text of lines) {
        line++;
        const bytes = Buffer.byteLength(text) + 1;
        if (!text.trim()) {
          yield { file, line, bytes }; // a blank line: nothing to validate
          continue;
        }
        yield { file, line, bytes, ...parse(text) };
      }
    } else {
      const text = readFileSync(file, 'utf8');
      yield { file, bytes: Buffer.byteLength(text), ...parse(text.replace(/^\uFEFF/, '')) };
    }
  }
}

function parse(text: string): Pick<InputItem, 'resource' | 'unreadable'> {
  try {
    return asResource(JSON.parse(text));
  } catch (err) {
    return { unreadable: `invalid JSON: ${(err as Error).message}` };
  }
}
