import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsServiceError } from '../../local/aws-json-service';
import { startDynalite, type LocalDynamoDb } from '../../local/dynalite-server';
import type { TokenEndpointFault } from '../../local/fake-ecwid';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { decideOnConsentPage, TestBrowser } from '../support/browser';
import { capturingLogger } from '../support/fakes';

/**
 * Faults of every dependency, with the local stack: each gives the merchant a clear page, leaves no
 * half-written installation, and the install succeeds once the fault is gone.
 */
describe('faults', () => {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'ecwid-faults-'));
  let stack: LocalStack;
  let restartedDatabase: LocalDynamoDb | undefined;
  let nextStoreId = 8000;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      clientId: 'faults-app',
      clientSecret: 'faults-client-secret-value',
      scopes: ['read_store_profile'],
      tokenRequestTimeoutMs: 1_000,
      // Persisted, so the database can be stopped and started again with its data.
      dataDirectory,
      log: capturingLogger().log,
    });
  });

  afterAll(async () => {
    await stack?.close();
    await restartedDatabase?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  const fake = () => stack.fakeEcwid!;

  /** `/authorize` and the consent page, approved: the callback URL Ecwid sends the browser to. */
  async function approvedCallback(browser: TestBrowser): Promise<{ callbackUrl: string; storeId: number; code: string }> {
    const storeId = (nextStoreId += 1);
    const authorize = await browser.get(`${stack.url}/authorize`);
    const callbackUrl = await decideOnConsentPage(browser, authorize.location!, 'approve', storeId);
    return { callbackUrl, storeId, code: new URL(callbackUrl).searchParams.get('code')! };
  }

  /** A clear page: the status, a title a merchant understands, a way to start again, and no stack trace. */
  function expectClearPage(page: { status: number; body: string; headers: Headers }, status: number, text: string) {
    expect(page.status).toBe(status);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.body).toContain(text);
    expect(page.body).toContain('Start the installation again');
    expect(page.body).not.toMatch(/Error:|at .+\.(ts|js):\d+|Exception/);
  }

  it('Secrets Manager failing: 503, nothing spent, and the same callback installs once it is back', async () => {
    // First in the file: the client secret has never been read, so no cached value hides the fault.
    const browser = new TestBrowser();
    const { callbackUrl, storeId, code } = await approvedCallback(browser);
    stack.secretsManager.failure = new AwsServiceError('InternalServiceError', 'stub failure', 500);
    expectClearPage(await browser.get(callbackUrl), 503, 'temporarily unavailable');
    expect(fake().exchangesOf(code)).toHaveLength(0);
    expect(await stack.store.getInstallation(storeId)).toBeUndefined();

    stack.secretsManager.failure = undefined;
    expect((await browser.get(callbackUrl)).status).toBe(200);
    expect(fake().exchangesOf(code)).toHaveLength(1);
  });

  it('KMS failing: 503 before the code is spent, and the same callback installs once it is back', async () => {
    const browser = new TestBrowser();
    const { callbackUrl, storeId, code } = await approvedCallback(browser);
    stack.kms.failure = new AwsServiceError('KMSInternalException', 'stub failure', 500);
    expectClearPage(await browser.get(callbackUrl), 503, 'temporarily unavailable');
    expect(fake().exchangesOf(code)).toHaveLength(0);
    expect(await stack.store.getInstallation(storeId)).toBeUndefined();

    stack.kms.failure = undefined;
    expect((await browser.get(callbackUrl)).status).toBe(200);
    expect(fake().exchangesOf(code)).toHaveLength(1);
    expect((await stack.store.getInstallation(storeId))!.version).toBe(1);
  });

  it('the database stopped mid-flow: 503, and the same callback installs once it is back', async () => {
    const browser = new TestBrowser();
    const { callbackUrl, storeId, code } = await approvedCallback(browser);
    await stack.dynamoDb.close();
    try {
      expectClearPage(await browser.get(callbackUrl), 503, 'temporarily unavailable');
      expect(fake().exchangesOf(code)).toHaveLength(0);
    } finally {
      restartedDatabase = await startDynalite({ port: stack.dynamoDb.port, dataDirectory });
    }
    expect(await stack.store.getInstallation(storeId)).toBeUndefined();
    expect((await browser.get(callbackUrl)).status).toBe(200);
    expect(fake().exchangesOf(code)).toHaveLength(1);
    expect((await stack.store.getInstallation(storeId))!.version).toBe(1);
  });

  it('the database lost after the code was spent: no half-written installation, and starting again installs', async () => {
    const browser = new TestBrowser();
    const { callbackUrl, storeId } = await approvedCallback(browser);
    // The exchange takes 300 ms; the database goes away meanwhile.
    fake().latencyMs = 300;
    const answer = browser.get(callbackUrl);
    while (fake().requestsWaiting === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await restartedDatabase!.close();
    fake().latencyMs = 0;
    try {
      expectClearPage(await answer, 503, 'temporarily unavailable');
    } finally {
      restartedDatabase = await startDynalite({ port: stack.dynamoDb.port, dataDirectory });
    }
    expect(await stack.store.getInstallation(storeId)).toBeUndefined();

    // The code is spent and never sent again: a reload says so; starting again works.
    const reload = await browser.get(callbackUrl);
    expect([409, 502]).toContain(reload.status);
    const again = await approvedCallback(browser);
    expect((await browser.get(again.callbackUrl)).status).toBe(200);
    expect(await stack.store.getInstallation(again.storeId)).toMatchObject({ status: 'active', version: 1 });
  });

  it.each<[TokenEndpointFault, number]>([
    ['timeout', 504],
    ['server_error', 502],
    ['html', 502],
    ['connection_reset', 502],
  ])('the token endpoint failing with %s: %i, nothing stored, and starting again installs', async (fault, status) => {
    const browser = new TestBrowser();
    const { callbackUrl, storeId } = await approvedCallback(browser);
    fake().tokenEndpointFault = fault;
    try {
      expectClearPage(await browser.get(callbackUrl), status, 'did not complete');
    } finally {
      fake().tokenEndpointFault = undefined;
      fake().releaseHeldRequests();
    }
    expect(await stack.store.getInstallation(storeId)).toBeUndefined();

    const again = await approvedCallback(browser);
    expect((await browser.get(again.callbackUrl)).status).toBe(200);
    expect(await stack.store.getInstallation(again.storeId)).toMatchObject({ status: 'active' });
  });
});
