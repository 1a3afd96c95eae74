import * as fs from 'fs';
import * as path from 'path';

import { FRONTEND_VERSION } from '../version';

const ROOT = path.resolve(__dirname, '..', '..');

it('the frontend reports the version of package.json', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8'));
  expect(FRONTEND_VERSION).toBe(pkg.version);
});

it('package.json and nbrepro/_version.py carry the same version', () => {
  const py = fs.readFileSync(path.join(ROOT, 'nbrepro', '_version.py'), 'utf-8');
  const match = /__version__\s*=\s*["']([^"']+)["']/.exec(py);
  expect(match?.[1]).toBe(FRONTEND_VERSION);
});
