/** The committed labextension/api-types.ts is what the schema generates now. */
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

// In a child process: prettier, which formats the generated file, loads ES modules
// dynamically, which Jest's module sandbox refuses.
it('api-types.ts is generated from the current nbrepro/schema/api-1.schema.json', () => {
  const check = spawnSync(process.execPath, ['scripts/gen-api-types.js', '--check'], {
    cwd: ROOT,
    encoding: 'utf-8'
  });
  expect(check.stderr).toBe('');
  expect(check.status).toBe(0);
}, 30000);
