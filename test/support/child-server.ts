import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './net.js';

/** A second Forløp server in its own process, started with the CLI, on a given database. */
export interface ChildServer {
  baseUrl: string;
  stop(): Promise<number | null>;
  /** Kills the process at once (SIGKILL: no shutdown, as a crash); resolves when it has exited. */
  kill(): Promise<void>;
}

export async function startChildServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, '../../bin/forlop.js'), 'serve'], {
    env: {
      ...process.env,
      BASE_URL: `http://127.0.0.1:${port}/fhir`,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      LOG_REQUESTS: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let ending = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // a child that dies on its own says why in the test's output (its log is otherwise not shown)
  void exited.then((code) => {
    if (!ending) process.stderr.write(`child server on port ${port} exited (${code}) unasked:\n${output}\n`);
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`child server exited: ${output}`);
    try {
      // its own log line first: a free port can be taken by another test's server before the child
      // binds it, and then /healthz would answer from that server, not this one
      if (output.includes('server listening') && (await fetch(`${baseUrl}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`child server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseUrl,
    async stop() {
      ending = true;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      ending = true;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
