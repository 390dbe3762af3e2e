/** Structured logs: one JSON object per line. */
export type LogFn = (entry: Record<string, unknown>) => void;

export const jsonLog: LogFn = (entry) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};

export const silentLog: LogFn = () => undefined;
