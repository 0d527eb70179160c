/**
 * The Lambda bundles exactly as `cdk deploy` would upload them: the standalone stack synthesized as
 * `bin/app.ts` builds it (with cdk.json's context), and each function's asset found through the
 * template. Shared by the test that runs the deployed code and by the benchmark that measures it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { buildStack } from '../../lib/stack-context';

const PROJECT_ROOT = path.join(__dirname, '..', '..');

export interface SynthesizedBundle {
  /** The function's directory under `functions/` (`authorize`), read off the bundle's source map. */
  functionName: string;
  /** The construct that owns the function, below the stack (`EcwidAuth/Authorize/Function/Resource`). */
  constructPath: string;
  logicalId: string;
  /** The module Lambda loads (`index.js`, in the asset directory `cdk.out` holds) and the export it calls. */
  file: string;
  exportName: string;
  /** The function's environment in the template: strings, and deploy-time references left as they are. */
  environment: Record<string, unknown>;
}

/** Synthesizes the standalone stack into `outdir`, bundling every function, and finds each bundle. */
export function synthesizeBundles(outdir: string, extraContext: Record<string, unknown> = {}): SynthesizedBundle[] {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const app = new App({ outdir, context: { ...(cdkJson.context ?? {}), ...extraContext } });
  const stack = buildStack(app);
  const artifact = app.synth().getStackByName(stack.stackName);

  const assetDirectoryByObjectKey = new Map<string, string>();
  for (const manifest of artifact.dependencies.filter(AssetManifestArtifact.isAssetManifestArtifact)) {
    for (const file of Object.values(manifest.contents.files ?? {})) {
      if (file.source.path === undefined) continue;
      for (const destination of Object.values(file.destinations)) {
        assetDirectoryByObjectKey.set(destination.objectKey, path.join(path.dirname(manifest.file), file.source.path));
      }
    }
  }
  const constructPathByLogicalId = new Map(
    stack.node
      .findAll()
      .filter(CfnResource.isCfnResource)
      .map((resource) => [Stack.of(resource).resolve(resource.logicalId) as string, resource.node.path]),
  );

  type LambdaResource = {
    Type: string;
    Properties: { Code?: { S3Key?: unknown }; Handler?: string; Environment?: { Variables?: Record<string, unknown> } };
  };
  const resources = artifact.template.Resources as Record<string, LambdaResource>;
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId, { Properties: properties }]) => {
      const objectKey = properties.Code?.S3Key;
      const assetDirectory = typeof objectKey === 'string' ? assetDirectoryByObjectKey.get(objectKey) : undefined;
      const handler = properties.Handler ?? '';
      const separator = handler.lastIndexOf('.');
      if (assetDirectory === undefined || separator <= 0) {
        throw new Error(`${logicalId}: no bundled asset or handler found in the template`);
      }
      const file = path.join(assetDirectory, `${handler.slice(0, separator)}.js`);
      return {
        functionName: entryOf(`${file}.map`) ?? logicalId,
        constructPath: (constructPathByLogicalId.get(logicalId) ?? logicalId).split('/').slice(1).join('/'),
        logicalId,
        file,
        exportName: handler.slice(separator + 1),
        environment: { ...(properties.Environment?.Variables ?? {}) },
      };
    })
    .sort((a, b) => a.functionName.localeCompare(b.functionName));
}

/** The function a bundle was built from: the `functions/<name>/lambda.ts` its source map lists. */
function entryOf(sourceMapFile: string): string | undefined {
  if (!fs.existsSync(sourceMapFile)) return undefined;
  const { sources } = JSON.parse(fs.readFileSync(sourceMapFile, 'utf8')) as { sources: string[] };
  for (const source of sources) {
    const match = /functions\/([a-z-]+)\/lambda\.ts$/.exec(source);
    if (match !== null) return match[1];
  }
  return undefined;
}
