import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import type { FunctionName } from '../functions/runtime/variables';
import { bundleFunction } from './bundling';

/** The directory next to the compiled `lib/` where `npm run build` puts each function's bundle: `dist/bundles/<name>/`. */
export const BUNDLES_DIRECTORY_NAME = 'bundles';

/**
 * The code of function `name`, as a Lambda asset whose `index.js` exports `handler`.
 *
 * - From the installed package: the bundle `npm run build` shipped in it, deployed as it is. A
 *   host app needs neither esbuild nor Docker.
 * - From the TypeScript sources (this repository's `cdk synth`, tests, benchmark), where no bundle
 *   sits next to `lib/`: bundled from `functions/<name>/lambda.ts` during synth by the local esbuild,
 *   through the CDK's asset bundling. Like `NodejsFunction`, it is skipped for stacks that need no
 *   bundling (`cdk synth --exclusively`, context `aws:cdk:bundling-stacks`), and a build that fails
 *   fails the synth: the Docker fallback is never reached.
 */
export function functionCode(name: FunctionName): Code {
  const prebuilt = path.join(__dirname, '..', BUNDLES_DIRECTORY_NAME, name);
  if (fs.existsSync(path.join(prebuilt, 'index.js'))) return Code.fromAsset(prebuilt);
  if (path.extname(__filename) !== '.ts') {
    // Compiled, as in the installed package, yet without its bundle: the package is incomplete.
    throw new Error(
      `ecwid-app-auth: the bundle of the ${name} function is missing (${prebuilt}); ` +
        'install the package again, or build it with `npm run build`',
    );
  }

  return Code.fromAsset(path.join(__dirname, '..', 'functions', name), {
    // The bundle's own hash: a change anywhere in what it includes deploys it, nothing else does.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the CDK, never run: local bundling below either succeeds or throws.
      image: DockerImage.fromRegistry('unused-local-bundling-only'),
      local: {
        tryBundle(outputDir: string): boolean {
          bundleFunction(name, outputDir);
          return true;
        },
      },
    },
  });
}
