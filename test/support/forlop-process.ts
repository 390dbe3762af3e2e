import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './net.js';

/**
 * A Forløp server started with the CLI (`forlop serve`) in a process of its own, watched: whether it
 * is still the same process, how it exited, and every line it logged (JSON lines and anything else).
 */
export interface ForlopProcess {
  /** http://127.0.0.1:port (the FHIR base is `${url}/fhir`). */
  url: string;
  pid: number;
  /** The exit code or signal, once the process has ended; undefined while it runs. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** The JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** The CLI, for a process that is expected to refuse to start. */
export const FORLOP_BIN = join(import.meta.dirname, '../../bin/forlop.js');

export async function startForlop(
  env: Record<string, string>,
  options: { startupMs?: number; cwd?: string } = {},
): Promise<ForlopProcess> {
  const startupMs = options.startupMs ?? 90_000;
  const port = await freePort();
  const child = spawn(process.execPath, [FORLOP_BIN, 'serve'], {
    env: { ...process.env, BASE_URL: `http://127.0.0.1:${port}/fhir`, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  let output = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startupMs;
  for (;;) {
    if (exit) throw new Error(`forlop exited at start-up (${exit.code ?? exit.signal}): ${output}`);
    if (await healthy(url)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`forlop did not start within ${startupMs} ms: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid as number,
    exit: () => exit,
    output: () => output,
    logs: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    async stop() {
      if (!exit) child.kill('SIGTERM');
      return exited;
    },
  };
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).ok;
  } catch {
    return false; // not listening yet
  }
}

/** Runs the CLI to its end (a server expected to refuse to start): its exit code and everything it wrote. */
export async function runForlop(
  args: string[],
  env: Record<string, string>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string }> {
  // vitest sets BASE_URL=/ (Vite's): empty is unset, so the server's default applies
  const child = spawn(process.execPath, [FORLOP_BIN, ...args], {
    env: { ...process.env, BASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}
