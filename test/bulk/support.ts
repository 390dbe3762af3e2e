import request from 'supertest';
import { expect } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { startExportWorker, type ExportWorker, type ExportWorkerOptions } from '../../src/bulk/worker.js';
import { BASE, type TestServer } from '../support/server.js';
import { waitFor as poll } from '../support/wait-for.js';

/** A manifest as the status URL answers it when the job is done. */
export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: { type: string; url: string; count: number }[];
  deleted: { type: string; url: string; count: number }[];
}

/** The shared poll, with a longer wait: a job runs in the background worker. */
export const waitFor = <T>(what: string, check: () => Promise<T> | T, ms = 15_000) => poll(what, check, ms);

/** A path below the test server from one of its absolute URLs. */
export const local = (url: string) => url.replace(BASE, '/fhir');

type Agent = () => request.Agent;
const withToken = (r: request.Test, token?: string) => (token ? r.set('Authorization', `Bearer ${token}`) : r);

/** A kick-off (GET with a query, or POST with a Parameters body); the status path, or fails. */
export async function kickOff(http: Agent, path: string, token?: string): Promise<string> {
  // the headers the IG has a client send at kick-off
  const res = await withToken(
    http().get(path).set('Prefer', 'respond-async').set('Accept', 'application/fhir+json'),
    token,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const location = res.headers['content-location'] as string;
  expect(location).toMatch(/\/\$export-poll-status\?_jobId=/);
  return local(location);
}

/** Polls the status path until the job is done; the manifest. */
export async function manifestOf(http: Agent, status: string, token?: string): Promise<Manifest> {
  const res = await waitFor(`the export at ${status}`, async () => {
    const r = await withToken(http().get(status).set('Accept', 'application/json'), token);
    if (r.status === 202) return undefined;
    return r;
  });
  expect(res.status, res.text).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Date.parse(res.headers.expires as string)).toBeGreaterThan(0);
  return JSON.parse(res.text) as Manifest;
}

/** One NDJSON file, each line parsed (the answer's media type checked). */
export async function download(http: Agent, url: string, token?: string): Promise<Resource[]> {
  const res = await withToken(
    http()
      .get(local(url))
      .set('Accept', 'application/fhir+ndjson')
      .buffer(true)
      .parse((r, done) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => done(null, text));
      }),
    token,
  );
  expect(res.status, String(res.body)).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+ndjson/);
  const text = res.body as string;
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Resource);
}

/** Every resource of the manifest's output files, by type. */
export async function exported(http: Agent, m: Manifest, token?: string): Promise<Map<string, Resource[]>> {
  const out = new Map<string, Resource[]>();
  for (const f of m.output) {
    const lines = await download(http, f.url, token);
    expect(lines).toHaveLength(f.count);
    for (const r of lines) expect(r.resourceType).toBe(f.type);
    out.set(f.type, [...(out.get(f.type) ?? []), ...lines]);
  }
  return out;
}

/** The ids of one type in an export, sorted. */
export const idsOf = (m: Map<string, Resource[]>, type: string) => (m.get(type) ?? []).map((r) => r.id!).sort();

/**
 * A gate the worker waits at after saving files: closed, a job stops there (a slow or stuck node)
 * until it is opened; `reached` resolves when a job first waits at it.
 */
export class Gate {
  private open = true;
  private release: () => void = () => undefined;
  private waiting: Promise<void> = Promise.resolve();
  private arrived: () => void = () => undefined;
  reached: Promise<void> = Promise.resolve();
  close(): void {
    this.open = false;
    this.waiting = new Promise((r) => (this.release = r));
    this.reached = new Promise((r) => (this.arrived = r));
  }
  opened(): void {
    this.open = true;
    this.release();
  }
  readonly hook = async (_job: string, _cursor: object): Promise<void> => {
    if (this.open) return;
    this.arrived();
    await this.waiting;
  };
}

/** The export worker of the test server, started and stopped by the caller. */
export function worker(t: TestServer, options: ExportWorkerOptions = {}): ExportWorker {
  return startExportWorker(t.services, { pollMs: 50, ...options });
}
