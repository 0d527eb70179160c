/**
 * The project as another team installs it: packed (`npm pack`, which builds it), installed into a
 * fresh TypeScript CDK app with nothing but aws-cdk-lib, constructs and @types/node, embedded in a
 * stack of that app next to its own functions (one of them a Lambda handler using the client),
 * compiled with this repository's TypeScript and synthesized with plain `node`. No network but the
 * npm registry (and none once npm's cache holds what it installs, as it does after `npm ci`), no
 * credentials, no Docker.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const PROJECT_ROOT = path.join(__dirname, '..', '..');
const TSC = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const SETUP_TIMEOUT_MS = 240_000;

/** The same versions this repository builds and tests with. */
const { devDependencies } = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

const HOST_STACK = `import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { EcwidAppAuth, type EcwidAppAuthProps } from 'ecwid-app-auth/cdk';
import type { ErrorCode, InstallationStatus } from 'ecwid-app-auth/client';

export class HostStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const settings: EcwidAppAuthProps = { ecwidClientId: 'host-app-1' };
    const auth = new EcwidAppAuth(this, 'EcwidAuth', settings);
    const active: InstallationStatus = 'active';
    const notConfigured: ErrorCode = 'NOT_CONFIGURED';
    const reader = new LambdaFunction(this, 'InstallationReader', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({ ok: true });'),
      environment: { TABLE_NAME: auth.table.tableName, ACTIVE: active, NOT_CONFIGURED: notConfigured },
    });
    auth.grantInstallationsRead(reader);
    const catalogue = new LambdaFunction(this, 'ListProducts', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({ ok: true });'),
      environment: {
        ECWID_AUTH_TABLE: auth.table.tableName,
        ECWID_AUTH_TOKEN_KEY: auth.tokenKey.keyArn,
        ECWID_AUTH_CREDENTIALS_API: auth.credentialsApiUrl,
      },
    });
    auth.grantCredentialsRead(catalogue);
    new CfnOutput(this, 'RedirectUri', { value: auth.redirectUri });
    new CfnOutput(this, 'CredentialsUrl', { value: auth.credentialsUrl });
  }
}
`;

/** A Lambda handler of the host app, as the README shows one: it type-checks against the client's declarations. */
const HOST_FUNCTION = `import {
  createCredentialsReader,
  createEcwidApi,
  InstallationUnusableError,
  NotInstalledError,
  TokenRejectedError,
  type StoreCredentials,
} from 'ecwid-app-auth/client';

const credentials = createCredentialsReader({
  tableName: process.env.ECWID_AUTH_TABLE ?? '',
  tokenKeyArn: process.env.ECWID_AUTH_TOKEN_KEY ?? '',
  credentialsApi: process.env.ECWID_AUTH_CREDENTIALS_API,
});
const ecwid = createEcwidApi({ credentials });

export async function handler(event: { storeId: number }): Promise<{ skus: string[] } | { error: string }> {
  try {
    const page = await ecwid.request<{ items: Array<{ sku: string }> }>(event.storeId, 'GET', 'products', { query: { limit: 100 } });
    return { skus: page.items.map((item) => item.sku) };
  } catch (error) {
    if (error instanceof NotInstalledError) return { error: 'not installed' };
    if (error instanceof InstallationUnusableError) return { error: error.status };
    if (error instanceof TokenRejectedError) return { error: error.verdict?.status ?? 'unreported' };
    throw error;
  }
}

export function expiresAt(value: StoreCredentials): string | null {
  return value.expiresAt;
}
`;

const HOST_APP = `import { App } from 'aws-cdk-lib';
import { HostStack } from '../lib/host-stack';

const app = new App();
new HostStack(app, 'HostStack');
app.synth();
`;

/**
 * As \`cdk init app --language typescript\` writes it (with Node's types, which its app gets as
 * \`@types/node\`), but checking libraries' declarations too (ours, and the AWS SDK's the client's refer to).
 */
const HOST_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022', 'esnext.disposable'],
    strict: true,
    skipLibCheck: false,
    types: ['node'],
    rootDir: '.',
    outDir: 'build',
  },
  include: ['bin', 'lib'],
};

type Resource = { Type: string; Properties: Record<string, any> };

interface Workspace {
  root: string;
  host: string;
  tarball: string;
  dockerCalls: string;
  environment: NodeJS.ProcessEnv;
}

/** Runs a command; on failure, the error carries its whole output. */
function run(workspace: Workspace, command: string, args: string[], cwd: string, extraEnvironment: NodeJS.ProcessEnv = {}): string {
  const env = { ...workspace.environment, ...extraEnvironment };
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * A temporary folder with a `docker` that only records that it was called (also as `CDK_DOCKER`),
 * and the environment of every command: this run's npm variables left out, so that the host's npm
 * works on the host.
 */
function createWorkspace(): Workspace {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ecwid-app-auth-package-'));
  const fakeBin = path.join(root, 'fake-bin');
  const dockerCalls = path.join(root, 'docker-calls.log');
  fs.mkdirSync(fakeBin);
  fs.writeFileSync(path.join(fakeBin, 'docker'), `#!/bin/sh\necho "$@" >> '${dockerCalls}'\nexit 1\n`, { mode: 0o755 });
  const environment: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_(package_|lifecycle_|config_local_prefix$|command$)/i.test(name)) environment[name] = value;
  }
  environment.PATH = `${fakeBin}${path.delimiter}${process.env.PATH ?? ''}`;
  environment.CDK_DOCKER = path.join(fakeBin, 'docker');
  return { root, host: path.join(root, 'host'), tarball: '', dockerCalls, environment };
}

function pack(workspace: Workspace): string {
  const destination = path.join(workspace.root, 'pack');
  fs.mkdirSync(destination);
  // The output mixes the build's with npm's: the tarball is found in the folder instead.
  run(workspace, 'npm', ['pack', '--pack-destination', destination, '--no-update-notifier'], PROJECT_ROOT);
  const [tarball, ...others] = fs.readdirSync(destination).filter((name) => name.endsWith('.tgz'));
  if (tarball === undefined || others.length > 0) throw new Error(`expected one tarball in ${destination}`);
  return path.join(destination, tarball);
}

function createHostApp(workspace: Workspace): void {
  const { host } = workspace;
  fs.mkdirSync(path.join(host, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(host, 'lib'));
  fs.writeFileSync(path.join(host, 'package.json'), JSON.stringify({ name: 'host-app', version: '0.0.0', private: true }, null, 2));
  fs.writeFileSync(path.join(host, 'tsconfig.json'), JSON.stringify(HOST_TSCONFIG, null, 2));
  fs.writeFileSync(path.join(host, 'bin', 'app.ts'), HOST_APP);
  fs.writeFileSync(path.join(host, 'lib', 'host-stack.ts'), HOST_STACK);
  fs.writeFileSync(path.join(host, 'lib', 'list-products.ts'), HOST_FUNCTION);
  run(
    workspace,
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--no-update-notifier',
      workspace.tarball,
      `aws-cdk-lib@${devDependencies['aws-cdk-lib']}`,
      `constructs@${devDependencies.constructs}`,
      `@types/node@${devDependencies['@types/node']}`,
    ],
    host,
  );
}

describe('the package, installed into a host CDK app', () => {
  let workspace: Workspace;
  let template: { Resources: Record<string, Resource>; Outputs?: Record<string, unknown> };
  let assetDirectories: Map<string, string>;

  beforeAll(() => {
    workspace = createWorkspace();
    workspace.tarball = pack(workspace);
    createHostApp(workspace);
    run(workspace, process.execPath, [TSC, '-p', '.'], workspace.host);
    const outdir = path.join(workspace.host, 'cdk.out');
    // What `cdk synth` would run, without the CLI: the app writes the cloud assembly to CDK_OUTDIR.
    run(workspace, process.execPath, [path.join('build', 'bin', 'app.js')], workspace.host, { CDK_OUTDIR: outdir });

    template = JSON.parse(fs.readFileSync(path.join(outdir, 'HostStack.template.json'), 'utf8'));
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, 'HostStack.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
    };
    assetDirectories = new Map(
      Object.values(assets.files).flatMap((file) =>
        Object.values(file.destinations).map((destination) => [destination.objectKey, path.join(outdir, file.source.path)] as const),
      ),
    );
  }, SETUP_TIMEOUT_MS);

  afterAll(() => {
    if (workspace !== undefined) fs.rmSync(workspace.root, { recursive: true, force: true });
  });

  it('holds only the built package: dist, the README and package.json', () => {
    const entries = execFileSync('tar', ['-tzf', workspace.tarball], { encoding: 'utf8' }).trim().split('\n');
    expect(entries.filter((entry) => !entry.startsWith('package/dist/')).sort()).toEqual(['package/README.md', 'package/package.json']);
    expect(entries).toEqual(
      expect.arrayContaining([
        'package/dist/lib/index.js',
        'package/dist/lib/index.d.ts',
        'package/dist/client/index.js',
        'package/dist/client/index.d.ts',
        ...['authorize', 'callback', 'refresh', 'webhooks', 'credentials', 'app', 'jwks'].map((name) => `package/dist/bundles/${name}/index.js`),
      ]),
    );
  });

  it('depends at runtime on exactly what its client imports, pinned, and on its peers aws-cdk-lib and constructs', () => {
    const installed = path.join(workspace.host, 'node_modules', 'ecwid-app-auth');
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    const clientDependencies = ['@aws-sdk/client-dynamodb', '@aws-sdk/client-kms', '@aws-sdk/credential-provider-node', '@aws-sdk/lib-dynamodb', '@smithy/signature-v4', 'jose'];
    expect(Object.keys(manifest.dependencies).sort()).toEqual(clientDependencies);
    for (const version of Object.values(manifest.dependencies)) expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);

    // What the compiled client and the modules it loads require, read off the files themselves.
    const required = new Set<string>();
    const visit = (directory: string) => {
      for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
        const file = path.join(directory, entry.name);
        if (entry.isDirectory()) visit(file);
        else if (entry.name.endsWith('.js')) {
          for (const match of fs.readFileSync(file, 'utf8').matchAll(/require\(["']([^"'.][^"']*)["']\)/g)) required.add(match[1]!.replace(/^((?:@[^/]+\/)?[^/]+).*$/, '$1'));
        }
      }
    };
    visit(path.join(installed, 'dist', 'client'));
    visit(path.join(installed, 'dist', 'functions'));
    expect([...required].filter((name) => !name.startsWith('node:')).sort()).toEqual(clientDependencies);
  });

  it('type-checks in a host with the older module resolution too (node10, CommonJS)', () => {
    run(workspace, process.execPath, [TSC, '-p', '.', '--noEmit', '--module', 'commonjs', '--moduleResolution', 'node10'], workspace.host);
  }, 60_000);

  it("synthesizes the host's functions next to the seven of the construct, each from a bundle shipped in the package", () => {
    const functions = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function');
    const [ownFunctions, ourFunctions] = [
      functions.filter(([id]) => id.startsWith('InstallationReader') || id.startsWith('ListProducts')),
      functions.filter(([id]) => id.startsWith('EcwidAuth')),
    ];
    expect(ownFunctions).toHaveLength(2);
    expect(ownFunctions[0]![1].Properties.Code.ZipFile).toContain('exports.handler');
    expect(ourFunctions).toHaveLength(7);
    expect(functions).toHaveLength(9);
    for (const [id, { Properties: properties }] of ourFunctions) {
      expect(properties.Handler).toBe('index.handler');
      const directory = assetDirectories.get(properties.Code.S3Key);
      expect({ id, directory }).toEqual({ id, directory: expect.any(String) });
      expect(fs.readdirSync(directory!).sort()).toEqual(['index.js', 'index.js.map']);
      const sourceMap = JSON.parse(fs.readFileSync(path.join(directory!, 'index.js.map'), 'utf8'));
      expect(sourceMap.sourcesContent).toBeUndefined();
    }
  });

  it("grants the host's function the read of installations, and gives it the redirect URI", () => {
    const [, reader] = Object.entries(template.Resources).find(
      ([id, resource]) => id.startsWith('InstallationReader') && resource.Type === 'AWS::Lambda::Function',
    )!;
    const roleId = reader.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .filter((policy) => policy.Properties.Roles.some((role: { Ref?: string }) => role.Ref === roleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STORE#*'] } },
      }),
    ]);
    expect(template.Outputs).toHaveProperty('RedirectUri');
  });

  it("grants the host's other function the direct read of credentials with one call, and gives it the credentials URL", () => {
    const [, lister] = Object.entries(template.Resources).find(([id, resource]) => id.startsWith('ListProducts') && resource.Type === 'AWS::Lambda::Function')!;
    const roleId = lister.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .filter((policy) => policy.Properties.Roles.some((role: { Ref?: string }) => role.Ref === roleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      expect.objectContaining({ Action: 'dynamodb:GetItem', Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STORE#*'] } } }),
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Condition: { StringEquals: { 'kms:EncryptionContext:app': 'ecwid-app-auth' }, Null: { 'kms:EncryptionContext:storeId': 'false' } },
      }),
      expect.objectContaining({ Action: 'execute-api:Invoke' }),
    ]);
    expect(template.Outputs).toHaveProperty('CredentialsUrl');
  });

  it('needs no esbuild in the host, and never calls Docker', () => {
    const resolved = spawnSync(process.execPath, ['-e', "require.resolve('esbuild')"], { cwd: workspace.host, env: workspace.environment });
    expect(resolved.status).not.toBe(0);
    expect(fs.existsSync(workspace.dockerCalls)).toBe(false);
  });

  it('offers the client entry to the host', () => {
    const script = "import('ecwid-app-auth/client').then((client) => console.log(JSON.stringify({ codes: client.ErrorCodes, error: typeof client.EcwidAppAuthError })))";
    const exported = JSON.parse(run(workspace, process.execPath, ['-e', script], workspace.host));
    expect(exported).toEqual({ codes: expect.arrayContaining(['NOT_CONFIGURED', 'INTERNAL', 'NOT_INSTALLED']), error: 'function' });
  });

  it('lets the host construct a reader, a credentials API client and an Ecwid API client from its own node_modules', () => {
    const script = [
      "const client = require('ecwid-app-auth/client');",
      "const reader = client.createCredentialsReader({ tableName: 'table', tokenKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1', region: 'eu-west-1', credentialsApi: 'https://abc123.execute-api.eu-west-1.amazonaws.com' });",
      "const api = client.createCredentialsApiClient({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com' });",
      'const ecwid = client.createEcwidApi({ credentials: reader });',
      "reader.getCredentials(0).catch((error) => console.log(JSON.stringify({ reader: typeof reader.getCredentials, api: typeof api.reportRejected, ecwid: typeof ecwid.request, invalid: error instanceof client.InvalidStoreIdError, code: error.code })));",
    ].join('\n');
    const answer = JSON.parse(run(workspace, process.execPath, ['-e', script], workspace.host));
    expect(answer).toEqual({ reader: 'function', api: 'function', ecwid: 'function', invalid: true, code: 'INVALID_STORE_ID' });
  });

  it('verifies sessions in the host with jose, loaded from CommonJS', () => {
    const script = [
      "const client = require('ecwid-app-auth/client');",
      "client.verifySession('not-a-token', { issuer: 'https://auth.example.com', audience: 'app-1' }).catch((error) => console.log(JSON.stringify({ invalid: error instanceof client.SessionInvalidError, code: error.code, reason: error.reason })));",
    ].join('\n');
    const answer = JSON.parse(run(workspace, process.execPath, ['-e', script], workspace.host));
    expect(answer).toEqual({ invalid: true, code: 'SESSION_INVALID', reason: 'malformed' });
  });
});
