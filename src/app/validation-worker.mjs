// The validation worker thread's entry: loads the TypeScript worker through tsx (as bin/forlop.js
// does for the command), so it runs from a clone without a build step, under the server, the
// command and the tests alike.
import { register } from 'tsx/esm/api';

register();
await import('./validation-worker.ts');
