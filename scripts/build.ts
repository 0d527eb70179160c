/**
 * `npm run build`, also run by `npm pack` (`prepack`): the installable package, in `dist/`.
 *
 * - `dist/lib/`, `dist/client/` (and the `functions/` modules they import): the `./cdk` and `./client`
 *   entries compiled to JavaScript with type declarations (`tsconfig.build.json`);
 * - `dist/bundles/<name>/index.js` and its source map: every Lambda function, bundled. The construct
 *   deploys these as they are, so a host app needs neither esbuild nor Docker (`lib/function-code.ts`).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleFunctions } from '../lib/bundling';
import { BUNDLES_DIRECTORY_NAME } from '../lib/function-code';

const PROJECT_ROOT = path.join(__dirname, '..');
const DIST = path.join(PROJECT_ROOT, 'dist');

fs.rmSync(DIST, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(PROJECT_ROOT, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const bundlesDirectory = path.join(DIST, BUNDLES_DIRECTORY_NAME);
bundleFunctions(bundlesDirectory);
console.log(`Built ${path.relative(PROJECT_ROOT, DIST)}/: the cdk and client entries, and the functions in ${path.relative(PROJECT_ROOT, bundlesDirectory)}/`);
