import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

/** src/subscriptions is an area: the core may not import it, and it may not reach the root. */
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

describe('the subscriptions area in the layer rules', () => {
  it('is refused to the core, and the root is refused to it', async () => {
    const core = await layerErrors(
      'src/fhir/__lint_fixture__core.ts',
      "import { outboxHook } from '../subscriptions/outbox.js';\nexport const h = outboxHook;\n",
    );
    expect(core[0]).toMatch(/src\/fhir is the core/);
    const area = await layerErrors(
      'src/subscriptions/__lint_fixture__area.ts',
      "import { OPERATIONS } from '../app/operations.js';\nexport const o = OPERATIONS;\n",
    );
    expect(area[0]).toMatch(/an area plugs into the core/);
  });
});
