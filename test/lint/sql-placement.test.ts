import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Where SQL may be written (docs/architecture.md): the storage backends and their named statements
 * (src/storage), the core's store (src/fhir/store.ts) and the search compiler and its named queries
 * (src/fhir/search). Every other area asks through them, so a change of schema or backend is made in
 * one place. This test reads every source file's string literals and finds the SQL statements in them.
 */
const ALLOWED = [/^src\/storage\//, /^src\/fhir\/store\.ts$/, /^src\/fhir\/search\//];
const STATEMENT =
  /\b(SELECT\s+(\*|[\w.(]+\s*(,|AS\b|FROM\b))|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+(TABLE|INDEX))/;

/** The text of a file's string and template literals (comments and code left out). */
function literals(source: string): string[] {
  const out: string[] = [];
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, source);
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.CloseBraceToken) kind = scanner.reScanTemplateToken(false);
    if (
      kind === ts.SyntaxKind.StringLiteral ||
      kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral ||
      kind === ts.SyntaxKind.TemplateHead ||
      kind === ts.SyntaxKind.TemplateMiddle ||
      kind === ts.SyntaxKind.TemplateTail
    )
      out.push(scanner.getTokenValue());
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mts)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const hasSql = (source: string) => literals(source).some((text) => STATEMENT.test(text));

describe('SQL is written only in storage, the store and search', () => {
  it('finds no SQL statement in any other source file', () => {
    const root = join(import.meta.dirname, '..', '..');
    const misplaced = sourceFiles(join(root, 'src'))
      .map((file) => relative(root, file))
      .filter((file) => !ALLOWED.some((re) => re.test(file)))
      .filter((file) => hasSql(readFileSync(join(root, file), 'utf8')));
    expect(misplaced).toEqual([]);
  });

  it('bites: a query in a string or a template is found, the same words in a comment are not', () => {
    expect(hasSql("await db.all('SELECT id FROM resources WHERE type = ?', [t]);")).toBe(true);
    expect(hasSql('await db.run(`DELETE FROM subscription_events WHERE id = ${id}`);')).toBe(true);
    expect(hasSql('const q = `${head} UPDATE subscription_state SET delivered = ?`;')).toBe(true);
    expect(hasSql('// SELECT id FROM resources is what the store does\nconst a = 1;')).toBe(false);
    expect(hasSql("const label = 'Select a unit from the list';")).toBe(false);
  });
});
