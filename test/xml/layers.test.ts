import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

/**
 * The XML converter (src/xml) is an area: the core may not import it, and it may not reach the adapters
 * or the root; the HTTP adapter may use it. Fixtures are text linted under a path, as in test/lint.
 */
const eslint = new ESLint({
  overrideConfig: {
    files: ['src/**/__lint_fixture__*.ts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer rules for src/xml', () => {
  it('refuse src/xml in the core, and the adapter in src/xml', async () => {
    const core = await layerErrors(
      'src/fhir/__lint_fixture__core.ts',
      "import { resourceToXml } from '../xml/write.js';\nexport const w = resourceToXml;\n",
    );
    expect(core[0]).toMatch(/src\/fhir is the core/);
    const area = await layerErrors(
      'src/xml/__lint_fixture__area.ts',
      "import { send } from '../http/format.js';\nexport const s = send;\n",
    );
    expect(area[0]).toMatch(/an area plugs into the core/);
  });

  it('allow the adapter to use src/xml, and src/xml to use the core', async () => {
    const adapter = await layerErrors(
      'src/http/__lint_fixture__ok.ts',
      "import { resourceToXml } from '../xml/write.js';\nexport const w = resourceToXml;\n",
    );
    expect(adapter).toEqual([]);
    const core = await layerErrors(
      'src/xml/__lint_fixture__ok.ts',
      "import { FhirError } from '../fhir/errors.js';\nexport const e = FhirError;\n",
    );
    expect(core).toEqual([]);
  });
});
