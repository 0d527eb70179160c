import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { runOps, UsageError, type OpsIo } from '../../scripts/ops';
import { deployedSource, localSource } from '../../scripts/ops/sources';
import { LOCAL_TABLE_NAME, startLocalStack, type LocalStack } from '../../local/stack';
import { TestBrowser } from '../support/browser';
import { localClient } from '../support/dynamodb-servers';
import { capturingLogger } from '../support/fakes';

/** `npm run ops`: against the running local stack, and against a "deployed" stack (CloudFormation mocked, the table on dynalite). */
describe('the ops CLI', () => {
  let stack: LocalStack;
  const cloudFormation = mockClient(CloudFormationClient);

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, clientId: 'ops-app', clientSecret: 'ops-client-secret', scopes: ['read_store_profile'], log: capturingLogger().log });
    const fake = stack.fakeEcwid!;
    for (const storeId of [601, 602, 603]) await new TestBrowser().get(fake.appMarketRedirect(storeId));
    await fake.changeSubscription(602, 'ACTIVE');
    await fake.uninstallApp(603);
  });

  afterAll(async () => {
    await stack?.close();
  });

  function io(source: OpsIo['source']) {
    const lines: string[] = [];
    return { lines, io: { out: (line: string) => lines.push(line), source } satisfies OpsIo };
  }

  const local = () => io(async () => localSource(stack.url));
  const deployed = (stackName = 'EcwidAppAuth') => {
    cloudFormation.reset();
    cloudFormation.on(DescribeStacksCommand, { StackName: stackName }).resolves({
      Stacks: [{ StackName: stackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'TableName', OutputValue: LOCAL_TABLE_NAME }] }],
    });
    return io(async (options) => deployedSource({ ...options, cloudFormation: new CloudFormationClient({ region: 'us-east-1' }), dynamoDb: localClient(stack.dynamoDb.endpoint) }));
  };

  /** Runs `commands` with a raw item in the table: a tombstone whose TTL has passed, which DynamoDB has not deleted yet. */
  async function withExpiredTombstone(storeId: number, commands: () => Promise<void>): Promise<void> {
    const client = localClient(stack.dynamoDb.endpoint);
    const past = Math.floor(Date.now() / 1000) - 60;
    await client.send(
      new PutItemCommand({
        TableName: LOCAL_TABLE_NAME,
        Item: {
          pk: { S: `STORE#${storeId}` },
          kind: { S: 'installation' },
          storeId: { N: String(storeId) },
          status: { S: 'uninstalled' },
          statusReason: { S: 'INVALID_API_TOKEN' },
          uninstalledAtEpochSeconds: { N: String(past - 30 * 86_400) },
          ttlEpochSeconds: { N: String(past) },
        },
      }),
    );
    try {
      await commands();
    } finally {
      await client.send(new DeleteItemCommand({ TableName: LOCAL_TABLE_NAME, Key: { pk: { S: `STORE#${storeId}` } } }));
      client.destroy();
    }
  }

  it.each([
    ['the local stack', local],
    ['the deployed stack', deployed],
  ])('lists the installations of %s, tombstones and subscriptions included, never a token', async (_name, make) => {
    const { lines, io: ops } = make();
    await expect(runOps(['stores', '--json'], ops)).resolves.toBe(0);
    const stores = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // The deployed table is read in scan order: no order is promised.
    expect(stores.map((store) => [store.storeId, store.status, store.subscriptionStatus]).sort()).toEqual([
      [601, 'active', null],
      [602, 'active', 'ACTIVE'],
      [603, 'uninstalled', null],
    ]);
    expect(lines.join('\n')).not.toMatch(/secret_|tokenKey|accessToken/);
  });

  it.each([
    ['the local stack', local],
    ['the deployed stack', deployed],
  ])('filters by status, and pages with a cursor, on %s', async (_name, make) => {
    const { lines, io: ops } = make();
    await runOps(['stores', '--status', 'uninstalled', '--json'], ops);
    expect(lines.map((line) => JSON.parse(line).storeId)).toEqual([603]);
    lines.length = 0;
    await runOps(['stores', '--limit', '2', '--json'], ops);
    const cursor = (JSON.parse(lines[lines.length - 1]!) as { nextCursor: string }).nextCursor;
    expect(lines).toHaveLength(3);
    const firstPage = lines.slice(0, 2).map((line) => JSON.parse(line).storeId as number);
    lines.length = 0;
    await runOps(['stores', '--limit', '2', '--cursor', cursor, '--json'], ops);
    const secondPage = lines.map((line) => JSON.parse(line).storeId as number);
    expect([...firstPage, ...secondPage].sort()).toEqual([601, 602, 603]);
  });

  it('describes one store: status, reason, timestamps, subscription', async () => {
    const { lines, io: ops } = local();
    await expect(runOps(['store', '603', '--local', stack.url], ops)).resolves.toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/status\s+uninstalled/);
    expect(text).toMatch(/statusReason\s+INVALID_API_TOKEN/);
    expect(text).toMatch(/uninstalledAt\s+\d{4}-/);
    expect(text).toMatch(/deleteAfter\s+\d{4}-/);
  });

  it('prints a table by default, and says so when a store has no installation', async () => {
    const { lines, io: ops } = deployed();
    await runOps(['stores'], ops);
    expect(lines[0]).toBe('3 installation(s) from stack EcwidAppAuth, table ecwid-app-auth-local');
    expect(lines[1]).toMatch(/^store\s+status\s+reason\s+subscription\s+missing scopes/);
    expect(lines.find((line) => line.startsWith('603'))).toMatch(/^603\s+uninstalled\s+INVALID_API_TOKEN/);
    lines.length = 0;
    await expect(runOps(['store', '999'], ops)).resolves.toBe(1);
    expect(lines).toEqual(['No installation for store 999 in stack EcwidAppAuth, table ecwid-app-auth-local']);
  });

  it.each([
    ['the local stack', local],
    ['the deployed stack', () => deployed()],
  ])('treats an item whose TTL has passed as absent on %s, though DynamoDB has not deleted it yet', async (_name, make) => {
    await withExpiredTombstone(699, async () => {
      const { lines, io: ops } = make();
      await runOps(['stores', '--json'], ops);
      expect(lines.map((line) => JSON.parse(line).storeId).sort()).toEqual([601, 602, 603]);
      lines.length = 0;
      await expect(runOps(['store', '699', '--json'], ops)).resolves.toBe(1);
      expect(lines).toEqual([JSON.stringify({ storeId: 699, found: false })]);
    });
  });

  it('hints the next page with the flags it was given: the deployed stack, its region, the page size, the status', async () => {
    const { lines, io: ops } = deployed('Ops-Stack');
    await runOps(['stores', '--stack-name', 'Ops-Stack', '--region', 'eu-west-1', '--limit', '1', '--status', 'active'], ops);
    const hint = lines.find((line) => line.startsWith('More: '))!;
    expect(hint).toMatch(/^More: npm run ops -- stores --cursor \S+ --status active --limit 1 --stack-name Ops-Stack --region eu-west-1$/);
    // The hint, run as printed, gives the next page.
    const argv = hint.replace('More: npm run ops -- ', '').split(' ');
    lines.length = 0;
    await runOps(argv, ops);
    expect(lines[0]).toBe('1 installation(s) from stack Ops-Stack, table ecwid-app-auth-local, status active');
  });

  it('hints the next page of the local stack with --local and its URL', async () => {
    const { lines, io: ops } = local();
    await runOps(['stores', '--local', stack.url, '--limit', '2'], ops);
    expect(lines.find((line) => line.startsWith('More: '))).toMatch(new RegExp(`^More: npm run ops -- stores --cursor \\S+ --limit 2 --local ${stack.url}$`));
  });

  it.each([[[]], [['launch']], [['store']], [['store', 'abc']], [['stores', '--status', 'gone']], [['stores', '--limit', '0']]])(
    'refuses %j with the usage',
    async (argv) => {
      const { io: ops } = local();
      await expect(runOps(argv as string[], ops)).rejects.toBeInstanceOf(UsageError);
    },
  );

  it('names the stack when it is not this app', async () => {
    cloudFormation.reset();
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'Other', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [] }] });
    await expect(deployedSource({ stackName: 'Other', cloudFormation: new CloudFormationClient({ region: 'us-east-1' }) })).rejects.toThrow(
      'stack Other has no TableName output',
    );
  });
});
