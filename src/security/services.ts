import type { AuditLog } from './audit.js';
import type { Principal } from './principal.js';

// What security keeps in the services (the core does not know it: src/fhir/services.ts)
declare module '../fhir/services.js' {
  interface Services {
    /** Who is asking, in the services of one request (none: authentication is off, or the server's own work). */
    principal?: Principal;
    /** The audit trail's buffer for reads and searches (when auditing is on); flushed at shutdown. */
    auditLog?: AuditLog;
  }
}

export {};
