/**
 * Where the ops CLI reads installations from: the deployed stack's table (found through the stack's
 * CloudFormation outputs, with the caller's AWS credentials), or the running local stack (over HTTP).
 * Both read bounded pages; neither ever shows a token.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbInstallationDirectory } from '../../functions/adapters/dynamodb/installation-directory';
import { DynamoTable } from '../../functions/adapters/dynamodb/table';
import type { InstallationStatus } from '../../functions/core/model';
import { describeInstallation, type InstallationReport } from '../../functions/runtime/installation-report';
import { systemClock } from '../../functions/runtime/system';

export interface StoreSource {
  /** Up to `limit` installations, and where the next page starts. */
  listStores(request: { limit: number; cursor?: string; status?: InstallationStatus }): Promise<{ stores: InstallationReport[]; cursor?: string }>;
  describeStore(storeId: number): Promise<InstallationReport | undefined>;
  /** Where the source reads, for the header line. */
  readonly description: string;
  close(): void;
}

/** The output of the standalone stack that names its table. */
const TABLE_NAME_OUTPUT = 'TableName';

/**
 * The deployed stack's installations. The table's name comes from the stack's `TableName` output;
 * the clients use the caller's credentials and region (or `region`).
 *
 * @throws Error naming the stack when it does not exist or has no `TableName` output.
 */
export async function deployedSource(options: {
  stackName: string;
  region?: string;
  /** For tests: clients to use instead of new ones. */
  cloudFormation?: CloudFormationClient;
  dynamoDb?: DynamoDBClient;
}): Promise<StoreSource> {
  const config = options.region === undefined ? {} : { region: options.region };
  const cloudFormation = options.cloudFormation ?? new CloudFormationClient(config);
  let tableName: string | undefined;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: options.stackName }));
    tableName = Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === TABLE_NAME_OUTPUT)?.OutputValue;
  } catch (error) {
    throw new Error(`could not read stack ${options.stackName}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (options.cloudFormation === undefined) cloudFormation.destroy();
  }
  if (tableName === undefined) throw new Error(`stack ${options.stackName} has no ${TABLE_NAME_OUTPUT} output: is it this app's stack?`);
  const client = options.dynamoDb ?? new DynamoDBClient(config);
  const directory = new DynamoDbInstallationDirectory(new DynamoTable(client, tableName), systemClock);
  return {
    description: `stack ${options.stackName}, table ${tableName}`,
    listStores: async (request) => {
      const page = await directory.listStores(request);
      return { stores: page.stores.map(describeInstallation), ...(page.cursor === undefined ? {} : { cursor: page.cursor }) };
    },
    describeStore: async (storeId) => {
      const view = await directory.describeStore(storeId);
      return view === undefined ? undefined : describeInstallation(view);
    },
    close: () => {
      if (options.dynamoDb === undefined) client.destroy();
    },
  };
}

/** The running local stack (`npm start`), through its `/__local/installations` routes. */
export function localSource(baseUrl: string): StoreSource {
  const origin = baseUrl.replace(/\/+$/, '');
  const get = async (path: string) => {
    let response: Response;
    try {
      response = await fetch(`${origin}${path}`, { signal: AbortSignal.timeout(10_000) });
    } catch {
      throw new Error(`the local stack does not answer at ${origin}: is \`npm start\` running?`);
    }
    return response;
  };
  return {
    description: `local stack at ${origin}`,
    listStores: async (request) => {
      const response = await get(`/__local/installations${request.status === undefined ? '' : `?status=${request.status}`}`);
      if (!response.ok) throw new Error(`the local stack answered ${response.status}`);
      const all = (await response.json()) as InstallationReport[];
      // The local table is small: one read, cut into the pages the deployed source would give.
      const start = request.cursor === undefined ? 0 : Number(request.cursor);
      const stores = all.slice(start, start + request.limit);
      return start + request.limit < all.length ? { stores, cursor: String(start + request.limit) } : { stores };
    },
    describeStore: async (storeId) => {
      const response = await get(`/__local/installations/${storeId}`);
      if (response.status === 404) return undefined;
      if (!response.ok) throw new Error(`the local stack answered ${response.status}`);
      return (await response.json()) as InstallationReport;
    },
    close: () => undefined,
  };
}
