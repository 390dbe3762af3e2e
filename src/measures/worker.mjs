// The evaluation worker thread's entry: loads the TypeScript worker through tsx (as the validation
// worker does), so it runs from a clone without a build step, under the server and the tests alike.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
