import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

/**
 * The layer rules of eslint.config.js bite: a deliberately wrong import, linted as if it were a file of the
 * core, of storage or of an area, is reported; the same import where the layers allow it is not. The
 * fixtures are text handed to ESLint with a path; no such file exists in the tree.
 */
const eslint = new ESLint({
  overrideConfig: {
    // a virtual file has no TypeScript program: the rules that need types are off for it
    files: ['src/**/__lint_fixture__*.ts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer rules in the lint configuration', () => {
  it('refuse an outer area imported by the core, by storage, or the root imported by an area', async () => {
    const core = await layerErrors(
      'src/fhir/__lint_fixture__core.ts',
      "import { smartAccess } from '../security/authorize.js';\nexport const a = smartAccess;\n",
    );
    expect(core).toHaveLength(1);
    expect(core[0]).toMatch(/src\/fhir is the core/);
    const storage = await layerErrors(
      'src/storage/__lint_fixture__storage.ts',
      "import type { Services } from '../fhir/services.js';\nexport type S = Services;\n",
    );
    expect(storage[0]).toMatch(/src\/storage is below the core/);
    const area = await layerErrors(
      'src/pathways/__lint_fixture__area.ts',
      "import { OPERATIONS } from '../app/operations.js';\nexport const o = OPERATIONS;\n",
    );
    expect(area[0]).toMatch(/an area plugs into the core/);
  });

  // each area added since the first rules, with a module of its own: the same two refusals for each
  it.each([
    ['subscriptions', "import { outboxHook } from '../subscriptions/outbox.js';\nexport const h = outboxHook;\n"],
    ['packages', "import { installPackage } from '../packages/install.js';\nexport const i = installPackage;\n"],
    ['bulk', "import { startExportWorker } from '../bulk/worker.js';\nexport const w = startExportWorker;\n"],
    ['xml', "import { resourceToXml } from '../xml/write.js';\nexport const w = resourceToXml;\n"],
  ])('treat the %s area alike: the core may not import it, nor it the root', async (area, importIt) => {
    const core = await layerErrors('src/fhir/__lint_fixture__core.ts', importIt);
    expect(core[0]).toMatch(/src\/fhir is the core/);
    const inArea = await layerErrors(
      `src/${area}/__lint_fixture__area.ts`,
      "import { OPERATIONS } from '../app/operations.js';\nexport const o = OPERATIONS;\n",
    );
    expect(inArea[0]).toMatch(/an area plugs into the core/);
  });

  it('allow what the layers allow: an area importing the core, the root importing an area', async () => {
    expect(
      await layerErrors(
        'src/pathways/__lint_fixture__ok.ts',
        "import { FhirError } from '../fhir/errors.js';\nexport const e = FhirError;\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors(
        'src/app/__lint_fixture__ok.ts',
        "import { smartAccess } from '../security/authorize.js';\nexport const a = smartAccess;\n",
      ),
    ).toEqual([]);
    // the HTTP adapter speaks XML through the xml area
    expect(
      await layerErrors(
        'src/http/__lint_fixture__ok.ts',
        "import { resourceToXml } from '../xml/write.js';\nexport const w = resourceToXml;\n",
      ),
    ).toEqual([]);
  });
});
