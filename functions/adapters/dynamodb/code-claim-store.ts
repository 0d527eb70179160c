import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { StorageError, type ErrorCode } from '../../core/errors';
import type { ClaimResult, CodeClaim, NewCodeClaim } from '../../core/model';
import type { CodeClaimStore, RecordCodeOutcomeRequest } from '../../core/ports';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, type DynamoTable, type Item } from './table';

const { partitionKey: PK, timeToLiveAttribute: TTL } = TABLE_SCHEMA;

/** Code claims (`CODE#{hash}` items): the callback's record that a code is, or was, being exchanged. */
export class DynamoDbCodeClaimStore implements CodeClaimStore {
  constructor(private readonly table: DynamoTable) {}

  async claimCode(claim: NewCodeClaim): Promise<ClaimResult> {
    for (let attempt = 0; ; attempt += 1) {
      const claimed = await this.table.conditionally('PutItem', () =>
        this.table.documents.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: {
              [PK]: itemKeys.codeClaim(claim.codeHash),
              kind: 'code_claim',
              status: 'pending',
              attemptId: claim.attemptId,
              storeId: claim.storeId,
              claimedAtEpochSeconds: claim.claimedAtEpochSeconds,
              [TTL]: claim.expiresAtEpochSeconds,
            },
            // A claim blocks for as long as it exists, TTL or not: a code is never sent twice.
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PK },
          }),
        ),
      );
      if (claimed !== undefined) return { claimed: true };
      const existing = await this.getCodeClaim(claim.codeHash);
      // The SDK retries a put whose answer was lost: the claim it then finds is this attempt's own.
      if (existing?.status === 'pending' && existing.attemptId === claim.attemptId) return { claimed: true };
      if (existing !== undefined) return { claimed: false, existing };
      // Released between the two calls: try once more; only one request can win the new claim.
      if (attempt > 0) throw new StorageError('the code claim kept changing', { operation: 'PutItem' });
    }
  }

  async getCodeClaim(codeHash: string): Promise<CodeClaim | undefined> {
    const item = await this.table.getItem(itemKeys.codeClaim(codeHash));
    return item === undefined ? undefined : toCodeClaim(codeHash, item);
  }

  async recordCodeOutcome(request: RecordCodeOutcomeRequest): Promise<void> {
    const { outcome } = request;
    const values: Item = {
      ':status': outcome.status,
      ':pending': 'pending',
      ':attempt': request.attemptId,
      ':expires': request.expiresAtEpochSeconds,
    };
    let update = 'SET #status = :status, #ttl = :expires';
    if (outcome.status === 'installed') {
      update += ', storeId = :storeId';
      values[':storeId'] = outcome.storeId;
    } else {
      update += ', errorCode = :errorCode';
      values[':errorCode'] = outcome.errorCode;
    }
    await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.codeClaim(request.codeHash) },
          UpdateExpression: update,
          // An outcome is written once, by the attempt holding the claim; a claim that vanished is
          // not recreated by it.
          ConditionExpression: 'attribute_exists(#pk) AND #status = :pending AND attemptId = :attempt',
          ExpressionAttributeNames: { '#pk': PK, '#status': 'status', '#ttl': TTL },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async releaseCodeClaim(codeHash: string, attemptId: string): Promise<void> {
    await this.table.conditionally('DeleteItem', () =>
      this.table.documents.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.codeClaim(codeHash) },
          // Only the attempt's own pending claim: an SDK retry of this delete, after a lost answer,
          // must not remove a claim a reload has taken since.
          ConditionExpression: '#status = :pending AND attemptId = :attempt',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':attempt': attemptId },
        }),
      ),
    );
  }
}

function toCodeClaim(codeHash: string, item: Item): CodeClaim {
  const base = {
    codeHash,
    ...(typeof item.attemptId === 'string' ? { attemptId: item.attemptId } : {}),
    claimedAtEpochSeconds: item.claimedAtEpochSeconds as number,
    ...(typeof item.storeId === 'number' ? { storeId: item.storeId } : {}),
  };
  switch (item.status) {
    case 'installed':
      return { ...base, status: 'installed', storeId: item.storeId as number };
    case 'failed':
      return { ...base, status: 'failed', errorCode: item.errorCode as ErrorCode };
    default:
      return { ...base, status: 'pending' };
  }
}
