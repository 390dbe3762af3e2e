import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runForlop, startForlop } from '../support/forlop-process.js';
import { freePort } from '../support/net.js';

/**
 * Configuration at start-up (issue 15): an empty variable is unset (its default), a bad one stops
 * the server with a message naming it; a database that cannot be opened is named in the message.
 */
describe('configuration values', () => {
  it('an empty value means unset: the default', () => {
    const empty = loadConfig({
      DATABASE_URL: '',
      PORT: '',
      HOST: '',
      BASE_URL: '',
      LOG_REQUESTS: '',
      REQUEST_TIMEOUT_MS: '',
      VALIDATION_MODE: ' ',
      AUDIT_READS: '',
    });
    expect(empty).toMatchObject({
      databaseUrl: 'sqlite:./data/forlop.db',
      port: 8080,
      host: '127.0.0.1',
      baseUrl: 'http://localhost:8080/fhir',
      logRequests: true,
      requestTimeoutMs: 30_000,
      validationMode: 'strict',
      readAudit: 'each',
    });
    // the embedded default's demo data comes with the default database, empty or absent
    expect(empty.loadExamples).toBe(true);
  });

  it('the HTTP timeouts, header limit and audit queue limit: defaults, values, and refusals', () => {
    expect(loadConfig({})).toMatchObject({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 65_000,
      maxHeaderBytes: 16_384,
      auditQueueLimit: 10_000,
    });
    const set = loadConfig({
      REQUEST_TIMEOUT_MS: '5000',
      KEEP_ALIVE_TIMEOUT_MS: '2000',
      MAX_HEADER_BYTES: '32768',
      AUDIT_QUEUE_LIMIT: '500',
    });
    expect(set).toMatchObject({
      requestTimeoutMs: 5000,
      headersTimeoutMs: 5000,
      keepAliveTimeoutMs: 2000,
      maxHeaderBytes: 32_768,
      auditQueueLimit: 500,
    });
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '6000' })).toThrow(
      /HEADERS_TIMEOUT_MS \(6000\) must not exceed REQUEST_TIMEOUT_MS \(5000\)/,
    );
    expect(() => loadConfig({ KEEP_ALIVE_TIMEOUT_MS: '-1' })).toThrow(
      /^KEEP_ALIVE_TIMEOUT_MS must be a non-negative integer/,
    );
    expect(() => loadConfig({ MAX_HEADER_BYTES: '0' })).toThrow(/^MAX_HEADER_BYTES must be at least 1/);
    expect(() => loadConfig({ AUDIT_QUEUE_LIMIT: 'lots' })).toThrow(/^AUDIT_QUEUE_LIMIT/);
  });

  it.each([
    ['PORT', 'eighty', /^PORT must be a non-negative integer, not 'eighty'/],
    ['PORT', '70000', /^PORT must be a TCP port/],
    ['LOG_REQUESTS', 'yes', /^LOG_REQUESTS must be true or false, not 'yes'/],
    ['AUDIT', '1', /^AUDIT must be true or false/],
    [
      'DATABASE_URL',
      'mysql://db.example/forlop',
      /^DATABASE_URL must be postgres:\/\/.* or sqlite:<file>, not 'mysql:\/\/db.example\/forlop'/,
    ],
    ['DATABASE_URL', 'postgres://', /^DATABASE_URL must be/],
    ['DATABASE_URL', 'sqlite:', /^DATABASE_URL must be/],
    ['BASE_URL', 'http://exa mple/fhir', /^BASE_URL must be an absolute http\(s\) URL/],
    ['BASE_URL', 'fhir.example.no', /^BASE_URL must be/],
    ['DEADLINE_CRON', 'every quarter', /^DEADLINE_CRON must be a cron expression/],
    ['REGISTRY_CRON', '61 * * * *', /^REGISTRY_CRON must be a cron expression/],
  ])('%s=%s is refused with a message naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('a password in a refused DATABASE_URL is not repeated', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://forlop:secret@db/forlop' })).toThrow(
      /mysql:\/\/\*\*\*@db\/forlop/,
    );
    expect(() => loadConfig({ DATABASE_URL: 'mysql://forlop:secret@db/forlop' })).not.toThrow(/secret/);
  });
});

describe('forlop serve at start-up', () => {
  it('a bad value: exit 1 and one line naming the variable', async () => {
    const res = await runForlop(['serve'], { PORT: 'eighty', DATABASE_URL: '' });
    expect(res.code).toBe(1);
    expect(res.output.trim()).toBe("forlop: PORT must be a non-negative integer, not 'eighty'");
  });

  it('a file that is no database: exit 1, the message names the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forlop-config-'));
    try {
      const file = join(dir, 'not-a-database.db');
      writeFileSync(file, 'this is a text file, not SQLite, and it is long enough to have a header page '.repeat(20));
      const res = await runForlop(['serve'], { PORT: String(await freePort()), DATABASE_URL: `sqlite:${file}` });
      expect(res.code).toBe(1);
      expect(res.output).toContain(
        `forlop: Cannot open the SQLite database ${file}: the file is not an SQLite database (SQLITE_NOTADB)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a PostgreSQL nobody answers at: exit 1, the message names the database (without its password)', async () => {
    const port = await freePort();
    const res = await runForlop(['serve'], {
      PORT: String(await freePort()),
      DATABASE_URL: `postgres://forlop:secret@127.0.0.1:${port}/forlop`,
    });
    expect(res.code).toBe(1);
    expect(res.output).toContain(
      `forlop: Cannot open the PostgreSQL database postgres://forlop:***@127.0.0.1:${port}/forlop: ECONNREFUSED`,
    );
    expect(res.output).not.toContain('secret');
  });

  it('DATABASE_URL= (empty) serves the embedded default database and stores a write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forlop-config-'));
    const node = await startForlop(
      {
        DATABASE_URL: '',
        LOAD_EXAMPLES: 'false',
        LOG_REQUESTS: 'false',
        DEADLINE_CRON: '',
        REGISTRY_CRON: '',
        REGISTRY_OUTBOX: '',
      },
      { cwd: dir },
    );
    try {
      const res = await fetch(`${node.url}/fhir/Patient`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Tom' }] }),
      });
      expect(res.status).toBe(201);
      const read = await fetch(`${node.url}/fhir/Patient?family=Tom`);
      expect(((await read.json()) as { total?: number; entry: unknown[] }).entry).toHaveLength(1);
      expect(existsSync(join(dir, 'data', 'forlop.db'))).toBe(true);
    } finally {
      expect(await node.stop()).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
