/**
 * The frontend's version: package.json's, which nbrepro/_version.py must equal
 * (tests/test_frontend_contract.py checks it).
 *
 * Required rather than imported: package.json lies outside the TypeScript rootDir. The
 * bundler inlines it; from lib/ and labextension/ alike it is one folder up.
 */
declare const require: (id: string) => { version: string };

export const FRONTEND_VERSION: string = require('../package.json').version;
