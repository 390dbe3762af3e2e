/**
 * Days before a due date from which an open milestone is due soon: the server's standings
 * (Task.businessStatus, `$deadlines`) and the web app's worklist use this one value.
 */
export const DUE_SOON_DAYS = 7;
