import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { dynamoDbStores } from '../support/dynamodb-stores';
import { StorageError } from '../../functions/core/errors';
import type { SealedToken } from '../../functions/core/model';
import { rejectionOf } from '../support/rejections';

// The adapter wraps its client in a document client: mock that class, whatever instance it is.
const dynamo = mockClient(DynamoDBDocumentClient);
const store = () => dynamoDbStores(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }), 'table');

function awsError(name: string): Error {
  return Object.assign(new Error(`${name}: request for key STORE#1 failed`), { name, $metadata: {} });
}

beforeEach(() => dynamo.reset());

describe('DynamoDB store adapters: error translation', () => {
  it.each(['ProvisionedThroughputExceededException', 'InternalServerError', 'ResourceNotFoundException', 'TimeoutError'])(
    'turns %s into STORAGE_UNAVAILABLE naming the operation, not the AWS message',
    async (name) => {
      dynamo.on(GetCommand).rejects(awsError(name));
      const error = await rejectionOf(store().getInstallation(1), StorageError);
      expect(error.code).toBe('STORAGE_UNAVAILABLE');
      expect(error.detail).toEqual({ operation: 'GetItem', awsError: name });
      expect(error.message).toBe('DynamoDB GetItem failed');
    },
  );

  it('reports a failed write when saving an installation', async () => {
    dynamo.on(UpdateCommand).rejects(awsError('ThrottlingException'));
    const error = await rejectionOf(
      store().saveInstallation({
        storeId: 1,
        tokenKey: 'wrapped',
        accessToken: 'secret_abc' as SealedToken,
        scope: 'read_store_profile',
        installedAtEpochSeconds: 1,
        grantCodeHash: 'h',
        grantObtainedAtEpochMs: 1,
        nextCheckAtEpochSeconds: 2,
      }),
      StorageError,
    );
    expect(error.detail).toEqual({ operation: 'UpdateItem', awsError: 'ThrottlingException' });
    expect(JSON.stringify(error.detail)).not.toContain('secret_abc');
  });

  it('reads a refused state once to say why, and treats a failure of that read as unavailable storage', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    dynamo.on(GetCommand).rejects(awsError('InternalServerError'));
    const error = await rejectionOf(
      store().consumeState({ stateHash: 'a', browserBindingHash: 'b', codeHash: 'c', nowEpochSeconds: 1 }),
      StorageError,
    );
    expect(error.detail).toMatchObject({ operation: 'GetItem' });
    expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({ ConsistentRead: true });
  });

  it('refuses to overwrite a state with the same hash', async () => {
    dynamo.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    const error = await rejectionOf(
      store().saveState({ stateHash: 'a', browserBindingHash: 'b', createdAtEpochSeconds: 1, expiresAtEpochSeconds: 2 }),
      StorageError,
    );
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
  });

  it('writes the code claim by its hash only, with its attempt and a TTL', async () => {
    dynamo.on(PutCommand).resolves({});
    await store().claimCode({ codeHash: 'hash-of-code', attemptId: 'a1', storeId: 9, claimedAtEpochSeconds: 10, expiresAtEpochSeconds: 20 });
    const input = dynamo.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toEqual({
      pk: 'CODE#hash-of-code',
      kind: 'code_claim',
      status: 'pending',
      attemptId: 'a1',
      storeId: 9,
      claimedAtEpochSeconds: 10,
      ttlEpochSeconds: 20,
    });
  });

  it('conditions the release of a claim on the attempt that holds it', async () => {
    dynamo.on(DeleteCommand).resolves({});
    await store().releaseCodeClaim('hash-of-code', 'a1');
    const input = dynamo.commandCalls(DeleteCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toContain('attemptId = :attempt');
    expect(input.ExpressionAttributeValues).toMatchObject({ ':attempt': 'a1', ':pending': 'pending' });
  });
});
