import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';

const run = promisify(execFile);

/**
 * A throw-away PostgreSQL cluster of a test's own (initdb + pg_ctl on a free port in a temp folder),
 * so a test may stop and restart it without touching the shared one. As root the binaries run as
 * the `postgres` user (PostgreSQL refuses to run as root), in a folder that user owns.
 */
export interface PgCluster {
  /** postgres://postgres@127.0.0.1:port/postgres */
  url: string;
  port: number;
  /** `fast`: clients are told (FATAL 57P01); `immediate`: the server quits at once, sockets reset. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts the cluster and returns once it accepts connections. */
  start(): Promise<void>;
  /** Stops the cluster (if running) and removes its folder. */
  destroy(): Promise<void>;
}

/** The newest installed PostgreSQL's bin folder (Debian layout: /usr/lib/postgresql/<major>/bin). */
export function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = readdirSync(root)
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  if (!majors.length) throw new Error(`no PostgreSQL under ${root}`);
  return join(root, majors[0], 'bin');
}

function asPostgres(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const binary = join(pgBinDir(), bin);
  if (userInfo().uid === 0) return run('runuser', ['-u', 'postgres', '--', binary, ...args], { cwd: '/tmp' });
  return run(binary, args);
}

export async function createPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'forlop-pg-'));
  if (userInfo().uid === 0) {
    const ids = await Promise.all(
      ['-u', '-g'].map(async (flag) => Number((await run('id', [flag, 'postgres'])).stdout.trim())),
    );
    chownSync(dir, ids[0], ids[1]);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  // fsync off: the tests stop PostgreSQL, never the machine, so the page cache keeps every commit
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  let running = false;
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      await asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
      running = false;
    },
    async destroy() {
      if (running) await cluster.stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
