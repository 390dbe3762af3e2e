// The SQLite checkpointer's thread (sqlite-checkpointer.ts). Plain JavaScript on purpose: it starts in
// milliseconds without the TypeScript loader, and it is a few lines over better-sqlite3.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs });
// a checkpoint syncs the WAL before copying it and the database after: durability is SQLite's as ever
db.pragma('synchronous = FULL');

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    // PASSIVE: copies what no reader still needs, never waits for (or blocks) the writer
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, frames: result.log, copied: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err) });
  }
});
