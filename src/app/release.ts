import type { Release } from '../fhir/capability.js';

/**
 * This release of the server, as the CapabilityStatement names it (`software.version`, `releaseDate`).
 * The version is package.json's; both change together when a release is cut (CHANGELOG.md's heading).
 */
export const RELEASE: Release = { version: '0.1.0', date: '2026-12-01' };
