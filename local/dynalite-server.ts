import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localTableDefinition } from '../functions/adapters/dynamodb/schema';

// dynalite ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

/** Static credentials for local servers, which do not check them (and must never make the SDK look for real ones). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'local';

export interface LocalDynamoDb {
  endpoint: string;
  port: number;
  /** Requests the server received, per operation (`GetItem`, ...): calls counted where they arrive. */
  readonly requests: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

/**
 * Starts dynalite, an embedded DynamoDB-compatible server, on loopback. In memory unless
 * `dataDirectory` is given, in which case the data survives restarts.
 */
export async function startDynalite(options: { port?: number; dataDirectory?: string } = {}): Promise<LocalDynamoDb> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDirectory === undefined ? {} : { path: options.dataDirectory }),
  });
  const requests: Record<string, number> = {};
  server.on('request', (request: IncomingMessage) => {
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
    requests[operation] = (requests[operation] ?? 0) + 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Creates the project's table on a local server unless it exists. */
export async function ensureLocalTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
      return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await client.send(new CreateTableCommand(localTableDefinition(tableName)));
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const description = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (description.Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`table ${tableName} did not become active`);
  } finally {
    client.destroy();
  }
}
