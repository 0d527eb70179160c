import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigurationError,
  createCredentialsReader,
  EncryptionError,
  InstallationUnusableError,
  NotInstalledError,
  TokenRenewalPendingError,
  type CredentialsReaderOptions,
} from '../../client';
import { DynamoDbCredentialsStore } from '../../functions/adapters/dynamodb/credentials-store';
import { DynamoDbInstallationStore } from '../../functions/adapters/dynamodb/installation-store';
import { localTableDefinition } from '../../functions/adapters/dynamodb/schema';
import { DynamoTable } from '../../functions/adapters/dynamodb/table';
import { KmsTokenVault } from '../../functions/adapters/kms-token-vault';
import type { Installation } from '../../functions/core/model';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynalite-server';
import { KmsStub } from '../../local/kms-stub';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy';
import { startDynamoDbLocalServer, type DynamoDbServer } from '../support/dynamodb-servers';

const TABLE = 'reader-test';

/**
 * The direct reader against Amazon's DynamoDB Local and the KMS stub (the real wire protocols), with
 * every DynamoDB and KMS request counted on the wire by a proxy, not by the client.
 */
describe('the credentials reader, against DynamoDB Local and the KMS stub', () => {
  let server: DynamoDbServer;
  let kms: KmsStub;
  let dynamoProxy: CountingProxy;
  let kmsProxy: CountingProxy;
  let dynamoDb: DynamoDBClient;
  let kmsClient: KMSClient;
  let vault: KmsTokenVault;
  let installations: DynamoDbInstallationStore;
  let credentialsStore: DynamoDbCredentialsStore;
  let nowEpochMs = Date.UTC(2026, 10, 26, 12, 0, 0);
  let nextStoreId = 5000;
  let obtainedAt = 1;

  beforeAll(async () => {
    server = await startDynamoDbLocalServer();
    await server.client.send(new CreateTableCommand(localTableDefinition(TABLE)));
    kms = new KmsStub();
    const kmsEndpoint = await kms.listen();
    dynamoProxy = await startCountingProxy(server.endpoint);
    kmsProxy = await startCountingProxy(kmsEndpoint);
    dynamoDb = new DynamoDBClient({ endpoint: dynamoProxy.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    kmsClient = new KMSClient({ endpoint: kmsProxy.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const table = new DynamoTable(new DynamoDBClient({ endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), TABLE);
    installations = new DynamoDbInstallationStore(table);
    credentialsStore = new DynamoDbCredentialsStore(table);
    vault = new KmsTokenVault(new KMSClient({ endpoint: kmsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), kms.keyArn);
  }, 90_000);

  afterAll(async () => {
    dynamoDb?.destroy();
    kmsClient?.destroy();
    await dynamoProxy?.close();
    await kmsProxy?.close();
    await kms?.close();
    await server?.close();
  });

  beforeEach(() => {
    dynamoProxy.reset();
    kmsProxy.reset();
  });

  const nowSeconds = () => Math.floor(nowEpochMs / 1000);
  const reader = (options: Partial<CredentialsReaderOptions> = {}) =>
    createCredentialsReader({ tableName: TABLE, tokenKeyArn: kms.keyArn, dynamoDb, kms: kmsClient, now: () => nowEpochMs, ...options });
  const calls = () => ({ dynamoDb: { ...dynamoProxy.counts }, kms: { ...kmsProxy.counts } });

  /** Installs a store as the callback does: a new data key from KMS, tokens sealed with it. */
  async function install(options: { publicToken?: string; expiresInSeconds?: number } = {}): Promise<Installation> {
    nextStoreId += 1;
    const storeId = nextStoreId;
    const sealer = await vault.sealerFor(storeId);
    const saved = await installations.saveInstallation({
      storeId,
      tokenKey: sealer.tokenKey,
      accessToken: sealer.seal(`secret_token_of_${storeId}`, 'access_token'),
      ...(options.publicToken === undefined ? {} : { publicToken: sealer.seal(options.publicToken, 'public_token') }),
      ...(options.expiresInSeconds === undefined
        ? {}
        : { expiresAtEpochSeconds: nowSeconds() + options.expiresInSeconds, refreshToken: sealer.seal('refresh_x', 'refresh_token') }),
      scope: 'read_store_profile read_catalog',
      // An expiring token is one of an hour's lifetime, `expiresInSeconds` before its end.
      installedAtEpochSeconds: options.expiresInSeconds === undefined ? nowSeconds() : nowSeconds() + options.expiresInSeconds - 3600,
      grantCodeHash: `code-${storeId}`,
      grantObtainedAtEpochMs: (obtainedAt += 1),
      nextCheckAtEpochSeconds: nowSeconds() + 86_400,
    });
    return saved!;
  }

  it('reads cold with exactly one GetItem and one Decrypt, and warm with none', async () => {
    const { storeId } = await install({ publicToken: 'public_storefront_token' });
    const credentialsReader = reader();
    await expect(credentialsReader.getCredentials(storeId)).resolves.toEqual({
      storeId,
      accessToken: `secret_token_of_${storeId}`,
      tokenType: 'Bearer',
      scope: 'read_store_profile read_catalog',
      publicToken: 'public_storefront_token',
      expiresAt: null,
      status: 'active',
      missingScopes: [],
    });
    expect(calls()).toEqual({ dynamoDb: { GetItem: 1 }, kms: { Decrypt: 1 } });
    for (let read = 0; read < 5; read += 1) await credentialsReader.getCredentials(storeId);
    expect(calls()).toEqual({ dynamoDb: { GetItem: 1 }, kms: { Decrypt: 1 } });
  });

  it('reads again once the cache time is over', async () => {
    const { storeId } = await install();
    const credentialsReader = reader({ cacheTtlMs: 30_000 });
    await credentialsReader.getCredentials(storeId);
    nowEpochMs += 29_000;
    await credentialsReader.getCredentials(storeId);
    expect(calls()).toEqual({ dynamoDb: { GetItem: 1 }, kms: { Decrypt: 1 } });
    nowEpochMs += 1_000;
    await credentialsReader.getCredentials(storeId);
    expect(calls()).toEqual({ dynamoDb: { GetItem: 2 }, kms: { Decrypt: 2 } });
  });

  it('shares one cold read among concurrent callers', async () => {
    const { storeId } = await install();
    const credentialsReader = reader();
    const answers = await Promise.all(Array.from({ length: 8 }, () => credentialsReader.getCredentials(storeId)));
    expect(new Set(answers.map((answer) => answer.accessToken)).size).toBe(1);
    expect(calls()).toEqual({ dynamoDb: { GetItem: 1 }, kms: { Decrypt: 1 } });
  });

  it('does not let a read that started before a forget (a reported rejection) put the old token back in the cache', async () => {
    const { storeId } = await install();
    const credentialsReader = reader();
    const started = credentialsReader.getCredentials(storeId);
    credentialsReader.forget(storeId);
    await started;
    await credentialsReader.getCredentials(storeId);
    expect(calls()).toEqual({ dynamoDb: { GetItem: 2 }, kms: { Decrypt: 2 } });
  });

  it('never caches with the cache turned off', async () => {
    const { storeId } = await install();
    const credentialsReader = reader({ cacheTtlMs: 0 });
    await credentialsReader.getCredentials(storeId);
    await credentialsReader.getCredentials(storeId);
    expect(calls()).toEqual({ dynamoDb: { GetItem: 2 }, kms: { Decrypt: 2 } });
  });

  it('keeps at most cacheMaxEntries stores, dropping the least recently used', async () => {
    const stores = [await install(), await install(), await install()];
    const credentialsReader = reader({ cacheMaxEntries: 2 });
    for (const { storeId } of stores) await credentialsReader.getCredentials(storeId);
    await credentialsReader.getCredentials(stores[2]!.storeId);
    expect(calls().dynamoDb.GetItem).toBe(3);
    await credentialsReader.getCredentials(stores[0]!.storeId);
    expect(calls().dynamoDb.GetItem).toBe(4);
  });

  it('says a store is not installed, opening nothing and caching nothing', async () => {
    const credentialsReader = reader();
    await expect(credentialsReader.getCredentials(999_999)).rejects.toBeInstanceOf(NotInstalledError);
    await expect(credentialsReader.getCredentials(999_999)).rejects.toBeInstanceOf(NotInstalledError);
    expect(calls()).toEqual({ dynamoDb: { GetItem: 2 }, kms: {} });
  });

  it('refuses a store whose token is known not to work, with its status and reason, without opening it', async () => {
    const installation = await install();
    await credentialsStore.recordRevocation({ storeId: installation.storeId, version: installation.version, nowEpochSeconds: nowSeconds(), statusReason: 'INVALID_API_TOKEN' });
    const failure = await reader().getCredentials(installation.storeId).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InstallationUnusableError);
    expect(failure).toMatchObject({ code: 'INSTALLATION_UNUSABLE', status: 'needs_reinstall', reason: 'INVALID_API_TOKEN' });
    expect(calls().kms).toEqual({});
  });

  it('does not open a data key moved from another store: the encryption context names the store', async () => {
    const victim = await install();
    const attacker = await install();
    const table = new DynamoTable(new DynamoDBClient({ endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), TABLE);
    await table.documents.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: `STORE#${attacker.storeId}` },
        UpdateExpression: 'SET tokenKey = :key, accessToken = :token',
        ExpressionAttributeValues: { ':key': victim.tokenKey, ':token': victim.accessToken },
      }),
    );
    const failure = await reader().getCredentials(attacker.storeId).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EncryptionError);
    expect(failure).toMatchObject({ code: 'TOKEN_UNREADABLE' });
  });

  describe('an expiring token', () => {
    it('hands out a token far from its end, and caches it no later than a minute before it expires', async () => {
      const { storeId } = await install({ expiresInSeconds: 330 });
      const credentialsReader = reader({ cacheTtlMs: 300_000 });
      await expect(credentialsReader.getCredentials(storeId)).resolves.toMatchObject({ expiresAt: new Date((nowSeconds() + 330) * 1000).toISOString() });
      nowEpochMs += 269_000;
      await credentialsReader.getCredentials(storeId);
      expect(calls().dynamoDb.GetItem).toBe(1);
      nowEpochMs += 2_000;
      await expect(credentialsReader.getCredentials(storeId)).rejects.toBeInstanceOf(TokenRenewalPendingError);
      expect(calls().dynamoDb.GetItem).toBe(2);
    });

    it('without the API: hands out one with between one and five minutes left, never one with less', async () => {
      const lasting = await install({ expiresInSeconds: 120 });
      const credentialsReader = reader({ cacheTtlMs: 300_000 });
      await expect(credentialsReader.getCredentials(lasting.storeId)).resolves.toMatchObject({ accessToken: `secret_token_of_${lasting.storeId}` });
      nowEpochMs += 61_000;
      const failure = await credentialsReader.getCredentials(lasting.storeId).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TokenRenewalPendingError);
      expect(calls().dynamoDb.GetItem).toBe(2);
    });

    it('with the API: has the API renew a token close to its end, and reports rejections there', async () => {
      const { storeId } = await install({ expiresInSeconds: 200 });
      const requests: string[] = [];
      const api: Server = createServer((request, response) => {
        requests.push(`${request.method} ${request.url}`);
        const body =
          request.method === 'GET'
            ? { storeId, accessToken: 'secret_renewed_by_api', tokenType: 'Bearer', scope: 'read_store_profile', publicToken: null, expiresAt: new Date(nowEpochMs + 3_600_000).toISOString(), status: 'active' }
            : { status: 'needs_reinstall' };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
      await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
      try {
        const credentialsApi = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
        const credentialsReader = reader({ credentialsApi: { url: credentialsApi, auth: 'none' } });
        await expect(credentialsReader.getCredentials(storeId)).resolves.toMatchObject({ accessToken: 'secret_renewed_by_api' });
        await credentialsReader.getCredentials(storeId);
        expect(calls()).toEqual({ dynamoDb: { GetItem: 1 }, kms: {} });
        await expect(credentialsReader.reportRejected(storeId)).resolves.toEqual({ status: 'needs_reinstall' });
        expect(requests).toEqual([`GET /stores/${storeId}/credentials`, `POST /stores/${storeId}/credentials/rejected`]);
        // The report dropped the cached token: the next read goes to the table again.
        await credentialsReader.getCredentials(storeId);
        expect(calls().dynamoDb.GetItem).toBe(2);
      } finally {
        api.closeAllConnections();
        await new Promise<void>((resolve) => api.close(() => resolve()));
      }
    });
  });

  it('cannot report a rejection without the API, and says so; the cached token is dropped all the same', async () => {
    const { storeId } = await install();
    const credentialsReader = reader();
    await credentialsReader.getCredentials(storeId);
    await expect(credentialsReader.reportRejected(storeId)).rejects.toBeInstanceOf(ConfigurationError);
    await credentialsReader.getCredentials(storeId);
    expect(calls().dynamoDb.GetItem).toBe(2);
  });

  it.each([{ cacheTtlMs: 300_001 }, { cacheTtlMs: -1 }, { cacheMaxEntries: 0 }, { tableName: '' }])('refuses the setting %j', (options) => {
    expect(() => reader(options)).toThrow(ConfigurationError);
  });
});
