import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { KmsTokenVault } from '../../functions/adapters/kms-token-vault';
import { TOKEN_KEY_CONDITIONS } from '../../functions/adapters/token-vault-context';
import { EncryptionError } from '../../functions/core/errors';
import { KmsStub, meetsEncryptionContextConditions } from '../../local/kms-stub';
import { rejectionOf } from '../support/rejections';

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/0b5c3d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('KmsTokenVault: the encryption context', () => {
  const kms = mockClient(KMSClient);
  afterEach(() => kms.reset());
  afterAll(() => kms.restore());

  it('names the app and the store, exactly, when it asks for a data key and when it opens one', async () => {
    kms.on(GenerateDataKeyCommand).resolves({ CiphertextBlob: Buffer.from('wrapped'), Plaintext: Buffer.alloc(32, 1) });
    kms.on(DecryptCommand).resolves({ Plaintext: Buffer.alloc(32, 1) });
    const vault = new KmsTokenVault(new KMSClient({ region: 'us-east-1', credentials }), KEY_ARN);
    const sealer = await vault.sealerFor(1003);
    await vault.sealerOf({ storeId: 1003, tokenKey: sealer.tokenKey });

    const expected = { app: 'ecwid-app-auth', storeId: '1003' };
    const generate = kms.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input;
    const decrypt = kms.commandCalls(DecryptCommand)[0]!.args[0].input;
    expect(generate).toMatchObject({ KeyId: KEY_ARN, KeySpec: 'AES_256', EncryptionContext: expected });
    expect(decrypt).toMatchObject({ KeyId: KEY_ARN, EncryptionContext: expected });
    // The context the vault sends is one the stack's key policy and IAM conditions allow.
    expect(meetsEncryptionContextConditions(generate.EncryptionContext, TOKEN_KEY_CONDITIONS)).toBe(true);
    expect(meetsEncryptionContextConditions(decrypt.EncryptionContext, TOKEN_KEY_CONDITIONS)).toBe(true);
  });
});

describe('the local KMS stub enforces what the deployed key policy enforces', () => {
  let stub: KmsStub;
  let client: KMSClient;

  beforeAll(async () => {
    stub = new KmsStub();
    client = new KMSClient({ region: 'local', credentials, endpoint: await stub.listen() });
  });
  afterAll(async () => {
    client.destroy();
    await stub.close();
  });

  it.each([
    ['no store id', { app: 'ecwid-app-auth' }],
    ['a renamed store key', { app: 'ecwid-app-auth', store: '1003' }],
    ['another app', { app: 'other-app', storeId: '1003' }],
    ['no context at all', undefined],
  ])('refuses a data key asked for with %s, as the key policy would', async (_description, context) => {
    const error = await rejectionOf(
      client.send(new GenerateDataKeyCommand({ KeyId: stub.keyArn, KeySpec: 'AES_256', EncryptionContext: context })),
      Error,
    );
    expect(error.name).toBe('AccessDeniedException');
  });

  it('turns such a refusal into an unavailable key for the vault, never a readable token', async () => {
    const drifted = new KmsStub({ StringEquals: { 'kms:EncryptionContext:app': 'some-other-app' } });
    const endpoint = await drifted.listen();
    const vault = new KmsTokenVault(new KMSClient({ region: 'local', credentials, endpoint }), drifted.keyArn);
    const error = await rejectionOf(vault.sealerFor(1003), EncryptionError);
    expect(error.code).toBe('ENCRYPTION_UNAVAILABLE');
    await drifted.close();
  });

  it('opens a data key only with the context it was made with', async () => {
    const vault = new KmsTokenVault(client, stub.keyArn);
    const sealer = await vault.sealerFor(7);
    await expect(vault.sealerOf({ storeId: 7, tokenKey: sealer.tokenKey })).resolves.toBeDefined();
    const moved = await rejectionOf(vault.sealerOf({ storeId: 8, tokenKey: sealer.tokenKey }), EncryptionError);
    expect(moved.code).toBe('TOKEN_UNREADABLE');
  });
});
