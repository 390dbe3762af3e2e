import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/forlop.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `forlop validate …` in a process of its own, as a trust's pipeline runs it. */
export function forlop(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'validate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The summary table's two lines, asserted to be its head, and its row of numbers. */
export function summaryRow(run: Run): string[] {
  const [head, row] = run.stdout.trim().split('\n').slice(-2);
  expect(head.trim().split(/\s+/), run.stdout + run.stderr).toEqual([
    'Files',
    'Resources',
    'Valid',
    'Errors',
    'Warnings',
  ]);
  return row.trim().split(/\s+/);
}
