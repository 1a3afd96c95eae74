#!/usr/bin/env node
/*
 * Generates the frontend's TypeScript types from the JSON Schemas the Python side
 * validates against, so each shape has one definition:
 *
 *   nbrepro/schema/api-1.schema.json    -> labextension/api-types.ts     (REST API bodies)
 *   nbrepro/schema/repro-1.schema.json  -> labextension/record-types.ts  (the run record)
 *
 *   node scripts/gen-api-types.js           write the files   (jlpm gen:types)
 *   node scripts/gen-api-types.js --check   exit 1 when a committed file is stale
 *
 * The Jest test labextension/__tests__/api-types.spec.ts runs the check.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { compile } = require('json-schema-to-typescript');

const ROOT = path.resolve(__dirname, '..');

const TARGETS = [
  {
    schema: 'nbrepro/schema/api-1.schema.json',
    output: 'labextension/api-types.ts',
    // The root only holds $defs: generate each of them, and drop the empty root type.
    rootName: 'NbreproApi',
    dropRoot: true
  },
  {
    schema: 'nbrepro/schema/repro-1.schema.json',
    output: 'labextension/record-types.ts',
    rootName: 'RunRecord',
    dropRoot: false
  }
];

function banner(schema) {
  return `/* eslint-disable */
/**
 * GENERATED from ${schema} by \`jlpm gen:types\`: do not edit.
 * Change the schema, then regenerate; a test fails when this file is stale.
 */`;
}

async function generate(target) {
  const file = path.join(ROOT, target.schema);
  const schema = JSON.parse(fs.readFileSync(file, 'utf-8'));
  const text = await compile({ ...schema, title: target.rootName }, target.rootName, {
    bannerComment: banner(target.schema),
    cwd: path.dirname(file),
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    style: { singleQuote: true, printWidth: 100 }
  });
  if (!target.dropRoot) {
    return text;
  }
  const root = new RegExp(
    `\\n\\/\\*\\*(?:(?!\\*\\/)[\\s\\S])*\\*\\/\\nexport interface ${target.rootName} \\{[^}]*\\}\\n`
  );
  return text.replace(root, '\n');
}

async function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const target of TARGETS) {
    const text = await generate(target);
    const output = path.join(ROOT, target.output);
    if (check) {
      const current = fs.existsSync(output) ? fs.readFileSync(output, 'utf-8') : '';
      if (current !== text) {
        console.error(`${target.output} is stale: run \`jlpm gen:types\` and commit the result`);
        stale += 1;
      }
    } else {
      fs.writeFileSync(output, text);
      console.log(`wrote ${target.output}`);
    }
  }
  if (stale) {
    process.exit(1);
  }
  if (check) {
    console.log('generated types are up to date');
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
