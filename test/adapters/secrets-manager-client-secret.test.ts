import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { CLIENT_SECRET_PLACEHOLDER } from '../../functions/adapters/client-secret-value';
import { SecretsManagerClientSecret } from '../../functions/adapters/secrets-manager-client-secret';
import { capturingLogger, ManualClock } from '../support/fakes';
import { errorCodeOf } from '../support/rejections';

const secretsManager = mockClient(SecretsManagerClient);

function source(clock = new ManualClock()) {
  const logs = capturingLogger();
  const secret = new SecretsManagerClientSecret(new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }), {
    secretId: 'arn:aws:secretsmanager:us-east-1:1:secret:client',
    cacheTtlMs: 300_000,
    clock,
    log: logs.log,
  });
  return { secret, clock, logs };
}

beforeEach(() => secretsManager.reset());

describe('SecretsManagerClientSecret', () => {
  it('reads the secret once and serves it from cache until the TTL passes', async () => {
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'first' }).resolves({ SecretString: 'rotated' });
    const { secret, clock } = source();
    await expect(secret.clientSecret()).resolves.toBe('first');
    clock.advanceSeconds(299);
    await expect(secret.clientSecret()).resolves.toBe('first');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock.advanceSeconds(1);
    await expect(secret.clientSecret()).resolves.toBe('rotated');
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({
      SecretId: 'arn:aws:secretsmanager:us-east-1:1:secret:client',
    });
  });

  it('shares one read between concurrent callers', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'value' });
    const { secret } = source();
    await Promise.all([secret.clientSecret(), secret.clientSecret(), secret.clientSecret()]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('reads a JSON secret by its clientSecret or client_secret field', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"clientSecret":" abc "}' })
      .resolvesOnce({ SecretString: '{"client_secret":"def"}' });
    const { secret, clock } = source();
    await expect(secret.clientSecret()).resolves.toBe('abc');
    clock.advanceSeconds(301);
    await expect(secret.clientSecret()).resolves.toBe('def');
  });

  it.each([
    ['the placeholder the stack creates', CLIENT_SECRET_PLACEHOLDER],
    ['an empty secret', '   '],
    ['a JSON object without the field', '{"other":"x"}'],
    ['broken JSON', '{"clientSecret":'],
  ])('reports %s as not configured', async (_description, value) => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: value });
    await expect(errorCodeOf(source().secret.clientSecret())).resolves.toBe('NOT_CONFIGURED');
  });

  it('reports a missing secret as not configured and other failures as unavailable', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('missing'), { name: 'ResourceNotFoundException' }))
      .rejectsOnce(Object.assign(new Error('boom'), { name: 'InternalServiceError' }));
    const { secret } = source();
    await expect(errorCodeOf(secret.clientSecret())).resolves.toBe('NOT_CONFIGURED');
    await expect(errorCodeOf(secret.clientSecret())).resolves.toBe('SECRET_UNAVAILABLE');
  });

  it('keeps serving the last value when a refresh fails, and says so without the value', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'still-good' })
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const { secret, clock, logs } = source();
    await secret.clientSecret();
    clock.advanceSeconds(301);
    await expect(secret.clientSecret()).resolves.toBe('still-good');
    expect(logs.entries()).toEqual([
      expect.objectContaining({ level: 'WARN', errorCode: 'SECRET_UNAVAILABLE', awsError: 'ThrottlingException' }),
    ]);
    expect(logs.lines.join('')).not.toContain('still-good');
    // Not asked again on every call while it is down: a minute later.
    clock.advanceSeconds(59);
    await secret.clientSecret();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    clock.advanceSeconds(1);
    await secret.clientSecret();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  describe('the previous version, while a rotation rolls out', () => {
    const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:1:secret:client';
    const HOUR_MS = 3_600_000;
    /** A rotation `hoursAgo` before the clock: the current version was created then. */
    const rotated = (clock: ManualClock, hoursAgo: number) =>
      secretsManager
        .on(GetSecretValueCommand, { SecretId: SECRET_ID })
        .resolves({ SecretString: 'new-secret', CreatedDate: new Date(clock.nowEpochMs() - hoursAgo * HOUR_MS), VersionStages: ['AWSCURRENT'] })
        .on(GetSecretValueCommand, { SecretId: SECRET_ID, VersionStage: 'AWSPREVIOUS' })
        .resolves({ SecretString: 'old-secret', CreatedDate: new Date(clock.nowEpochMs() - 400 * 24 * HOUR_MS), VersionStages: ['AWSPREVIOUS'] });

    it('reads AWSCURRENT and AWSPREVIOUS, both cached', async () => {
      const clock = new ManualClock();
      rotated(clock, 1);
      const { secret } = source(clock);
      await expect(secret.clientSecrets()).resolves.toEqual({ current: 'new-secret', previous: 'old-secret' });
      await expect(secret.clientSecrets()).resolves.toEqual({ current: 'new-secret', previous: 'old-secret' });
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    });

    it('accepts the previous secret only within 48 hours of the rotation (Ecwid retries for about 24)', async () => {
      const clock = new ManualClock();
      rotated(clock, 47);
      const { secret } = source(clock);
      await expect(secret.clientSecrets()).resolves.toEqual({ current: 'new-secret', previous: 'old-secret' });
      // 48 hours after the rotation, from the cache as from a fresh read.
      clock.advanceSeconds(3600);
      await expect(secret.clientSecrets()).resolves.toEqual({ current: 'new-secret' });
      clock.advanceSeconds(300);
      await expect(secret.clientSecrets()).resolves.toEqual({ current: 'new-secret' });
    });

    it('stops accepting the previous client secret once the rotation is long over (30 days after it), and no longer reads it', async () => {
      const clock = new ManualClock();
      rotated(clock, 30 * 24);
      const { secret } = source(clock);
      await expect(secret.clientSecrets()).resolves.toEqual({ current: 'new-secret' });
      expect(secretsManager.commandCalls(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' })).toHaveLength(0);
    });

    it('does not accept the previous secret when the rotation time is unknown (no CreatedDate)', async () => {
      secretsManager
        .on(GetSecretValueCommand, { SecretId: SECRET_ID })
        .resolves({ SecretString: 'new-secret' })
        .on(GetSecretValueCommand, { SecretId: SECRET_ID, VersionStage: 'AWSPREVIOUS' })
        .resolves({ SecretString: 'old-secret' });
      await expect(source().secret.clientSecrets()).resolves.toEqual({ current: 'new-secret' });
    });

    it.each([
      ['there is no previous version', () => Promise.reject(Object.assign(new Error('none'), { name: 'ResourceNotFoundException' }))],
      ['the previous version is the placeholder the stack started with', () => Promise.resolve({ SecretString: CLIENT_SECRET_PLACEHOLDER })],
      ['the previous version cannot be read', () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))],
    ])('accepts only the current secret when %s', async (_name, previous) => {
      const clock = new ManualClock();
      secretsManager
        .on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:us-east-1:1:secret:client' })
        .resolves({ SecretString: 'only-secret', CreatedDate: new Date(clock.nowEpochMs() - HOUR_MS) })
        .on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:us-east-1:1:secret:client', VersionStage: 'AWSPREVIOUS' })
        .callsFake(previous);
      const { secret } = source(clock);
      await expect(secret.clientSecrets()).resolves.toEqual({ current: 'only-secret' });
    });
  });
});
