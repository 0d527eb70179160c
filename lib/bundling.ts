/**
 * How a Lambda function is bundled: one set of esbuild options, used by the package build
 * (`scripts/build.ts`), by synth from the TypeScript sources (`function-code.ts`) and by the
 * benchmark's references. esbuild is a devDependency, loaded only when a bundle is built: the
 * published package ships its bundles and never loads it.
 */
import * as path from 'node:path';
import type { BuildOptions } from 'esbuild';
import { FUNCTION_VARIABLES, type FunctionName } from '../functions/runtime/variables';

const PROJECT_ROOT = path.join(__dirname, '..');

/** Every Lambda function of the app: the directories under `functions/` with a `lambda.ts` entry. */
export const FUNCTION_NAMES = Object.keys(FUNCTION_VARIABLES) as readonly FunctionName[];

/**
 * The esbuild options of every function bundle; each build adds its entry point and output file.
 * The AWS SDK is bundled, so its version is the one package-lock.json pins, not the runtime's.
 */
export const LAMBDA_BUNDLE_OPTIONS: Readonly<BuildOptions> = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minify: true,
  // Stack traces point into the sources (NODE_OPTIONS=--enable-source-maps), which the map does not carry.
  sourcemap: true,
  sourcesContent: false,
  // Prefer the ES module builds of dependencies: esbuild tree-shakes them far better.
  mainFields: ['module', 'main'],
  // Everything is bundled but the SDK's event-stream codec, which it loads only on demand with a
  // dynamic import, for streaming operations DynamoDB, KMS and Secrets Manager do not have (~15 KB).
  // Were it ever loaded, the runtime's own copy of the SDK would provide it.
  external: ['@smithy/core/event-streams'],
  // Environment-only credentials: all a Lambda function needs (see the module's own comment).
  alias: { '@aws-sdk/credential-provider-node': path.join(PROJECT_ROOT, 'functions/runtime/lambda-credentials.ts') },
  absWorkingDir: PROJECT_ROOT,
};

/**
 * Bundles function `name` (`functions/<name>/lambda.ts`, exporting `handler`) into
 * `<outdir>/index.js`, with its source map next to it.
 *
 * @throws Error (esbuild's) when the function does not bundle, or esbuild is not installed.
 */
export function bundleFunction(name: FunctionName, outdir: string): void {
  esbuild().buildSync({
    logLevel: 'warning',
    ...LAMBDA_BUNDLE_OPTIONS,
    entryPoints: [path.join(PROJECT_ROOT, 'functions', name, 'lambda.ts')],
    outfile: path.join(outdir, 'index.js'),
  });
}

/** Bundles every function into `<outdir>/<name>/index.js`. */
export function bundleFunctions(outdir: string): void {
  for (const name of FUNCTION_NAMES) bundleFunction(name, path.join(outdir, name));
}

/** Loaded on first use only, so that requiring this module never needs esbuild. */
function esbuild(): typeof import('esbuild') {
  return require('esbuild') as typeof import('esbuild');
}
