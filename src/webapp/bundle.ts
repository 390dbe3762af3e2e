import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The browser's script: the TypeScript under client/ (or, from dist/, its compiled JavaScript), one file. */
export interface ClientBundle {
  js: string;
  /** A short content hash, for the cache-busting query of the shell's script tag. */
  hash: string;
}

/** Where the client's entry is: main.ts when run from the sources (tsx), main.js when run from dist/. */
export function clientEntry(): string {
  for (const name of ['main.ts', 'main.js']) {
    const path = fileURLToPath(new URL(`./client/${name}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('the web app client (src/webapp/client/main.ts) is missing');
}

/** Bundles and minifies the client in memory with esbuild (tens of milliseconds; done once per process). */
export async function bundleClient(): Promise<ClientBundle> {
  const out = await build({
    entryPoints: [clientEntry()],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = out.outputFiles[0];
  return { js: file.text, hash: file.hash.replace(/[^A-Za-z0-9]/g, '').slice(0, 12) };
}
