/**
 * The project as another team installs it: packed (`npm pack`, which builds it), installed into a
 * fresh TypeScript CDK app with nothing but aws-cdk-lib and constructs, embedded in a stack of that
 * app next to one of its own functions, compiled with this repository's TypeScript and synthesized
 * with plain `node`. No network but the npm registry (and none once npm's cache holds aws-cdk-lib and
 * constructs, as it does after `npm ci`), no credentials, no Docker.
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
    new CfnOutput(this, 'RedirectUri', { value: auth.redirectUri });
  }
}
`;

const HOST_APP = `import { App } from 'aws-cdk-lib';
import { HostStack } from '../lib/host-stack';

const app = new App();
new HostStack(app, 'HostStack');
app.synth();
`;

/** As \`cdk init app --language typescript\` writes it, but checking libraries' declarations too (ours among them). */
const HOST_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022', 'esnext.disposable'],
    strict: true,
    skipLibCheck: false,
    types: [],
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
        ...['authorize', 'callback', 'refresh', 'webhooks'].map((name) => `package/dist/bundles/${name}/index.js`),
      ]),
    );
  });

  it('depends at runtime on nothing but its peers, aws-cdk-lib and constructs', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(workspace.host, 'node_modules', 'ecwid-app-auth', 'package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  });

  it('type-checks in a host with the older module resolution too (node10, CommonJS)', () => {
    run(workspace, process.execPath, [TSC, '-p', '.', '--noEmit', '--module', 'commonjs', '--moduleResolution', 'node10'], workspace.host);
  }, 60_000);

  it("synthesizes the host's function next to the four of the construct, each from a bundle shipped in the package", () => {
    const functions = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function');
    const [ownFunctions, ourFunctions] = [
      functions.filter(([id]) => id.startsWith('InstallationReader')),
      functions.filter(([id]) => id.startsWith('EcwidAuth')),
    ];
    expect(ownFunctions).toHaveLength(1);
    expect(ownFunctions[0]![1].Properties.Code.ZipFile).toContain('exports.handler');
    expect(ourFunctions).toHaveLength(4);
    expect(functions).toHaveLength(5);
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

  it('needs no esbuild in the host, and never calls Docker', () => {
    const resolved = spawnSync(process.execPath, ['-e', "require.resolve('esbuild')"], { cwd: workspace.host, env: workspace.environment });
    expect(resolved.status).not.toBe(0);
    expect(fs.existsSync(workspace.dockerCalls)).toBe(false);
  });

  it('offers the client entry to the host', () => {
    const script = "import('ecwid-app-auth/client').then((client) => console.log(JSON.stringify({ codes: client.ErrorCodes, error: typeof client.EcwidAppAuthError })))";
    const exported = JSON.parse(run(workspace, process.execPath, ['-e', script], workspace.host));
    expect(exported).toEqual({ codes: expect.arrayContaining(['NOT_CONFIGURED', 'INTERNAL']), error: 'function' });
  });
});
