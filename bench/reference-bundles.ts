/**
 * The references `npm run bench` measures the app's functions against: the Lambda function a user of
 * the `grant` package would deploy for Ecwid's install flow instead of this project (`bench/reference/`),
 * bundled exactly as the stack bundles its own functions.
 */
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { LAMBDA_BUNDLE_OPTIONS } from '../lib/bundling';

/**
 * The esbuild options every function of the stack is bundled with (`lib/bundling.ts`); the entry point
 * and the output file are each bundle's own.
 */
export { LAMBDA_BUNDLE_OPTIONS };

/** The names the references go by in the bench's report. */
export const REFERENCE_NAMES = { grantAlone: 'grant alone', grantWithStorage: 'grant with storage' } as const;

/** A reference bundled and ready to load, described as the bench describes the stack's functions. */
export interface ReferenceBundle {
  name: (typeof REFERENCE_NAMES)[keyof typeof REFERENCE_NAMES];
  /** The bundle Lambda would load (`…/index.js`) and the export it would call. */
  file: string;
  exportName: 'handler';
  /** The environment the function would run with, placeholders for every deployment value. */
  environment: Record<string, string>;
  /** What esbuild warned about while bundling, one line each (`file:line: text`). */
  warnings: string[];
}

/** Every function of the stack runs with source maps enabled (`lib/app-function.ts`): so do the references. */
/** As our functions run: no NODE_OPTIONS (source-mapped stacks cost every cold start; see the bench). */
const LAMBDA_RUNTIME_ENVIRONMENT = { AWS_REGION: 'us-east-1' };

/** What the grant handler reads, with placeholders: the same names the app uses where there is one. */
const GRANT_ENVIRONMENT = {
  PUBLIC_URL: 'https://auth.example.com',
  ECWID_CLIENT_ID: 'bench-app',
  ECWID_SCOPES: 'read_store_profile',
  GRANT_SESSION_SECRET: 'bench-session-secret',
};

const REFERENCES = [
  {
    name: REFERENCE_NAMES.grantAlone,
    entry: 'grant-alone.ts',
    environment: { ...LAMBDA_RUNTIME_ENVIRONMENT, ...GRANT_ENVIRONMENT, ECWID_CLIENT_SECRET: 'bench-client-secret' },
  },
  {
    name: REFERENCE_NAMES.grantWithStorage,
    entry: 'grant-with-storage.ts',
    environment: {
      ...LAMBDA_RUNTIME_ENVIRONMENT,
      ...GRANT_ENVIRONMENT,
      TABLE_NAME: 'ecwid-app-auth-bench',
      CLIENT_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ecwid-app-auth/client-secret-AbC123',
    },
  },
] as const;

/**
 * Bundles every reference into a directory of its own under `outdir` (`<outdir>/grant-alone/index.js`,
 * with its source map), with `baseOptions` plus the entry point and the output file.
 * @throws Error (esbuild's) when a reference does not bundle.
 */
export async function buildReferenceBundles(
  outdir: string,
  baseOptions: Readonly<esbuild.BuildOptions> = LAMBDA_BUNDLE_OPTIONS,
): Promise<ReferenceBundle[]> {
  return Promise.all(
    REFERENCES.map(async (reference) => {
      const file = path.join(outdir, path.basename(reference.entry, '.ts'), 'index.js');
      const result = await esbuild.build({
        logLevel: 'silent',
        ...baseOptions,
        entryPoints: [path.join(__dirname, 'reference', reference.entry)],
        outfile: file,
        write: true,
      });
      return {
        name: reference.name,
        file,
        exportName: 'handler' as const,
        environment: { ...reference.environment },
        warnings: result.warnings.map(
          ({ text, location }) => `${location === null ? '' : `${location.file}:${location.line}: `}${text}`,
        ),
      };
    }),
  );
}
