/**
 * C0 control characters other than tab, line feed and carriage return: no FHIR text holds them (and PostgreSQL text
 * cannot hold U+0000).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
export const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
