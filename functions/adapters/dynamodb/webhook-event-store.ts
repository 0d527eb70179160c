import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClaimWebhookRequest, WebhookClaim, WebhookEventStore } from '../../core/ports';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, type DynamoTable } from './table';

const { partitionKey: PK, timeToLiveAttribute: TTL } = TABLE_SCHEMA;

/**
 * Webhook events (`EVENT#{eventId}` items): the claim that makes each `eventId` acted on once. A
 * claim is `processing` under a lease while a delivery acts on it, `done` once it has.
 */
export class DynamoDbWebhookEventStore implements WebhookEventStore {
  constructor(private readonly table: DynamoTable) {}

  async claimWebhookEvent(request: ClaimWebhookRequest): Promise<WebhookClaim> {
    const key = itemKeys.webhookEvent(request.eventId);
    const claimed = await this.table.conditionally('PutItem', () =>
      this.table.documents.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            [PK]: key,
            kind: 'webhook_event',
            status: 'processing',
            owner: request.owner,
            eventType: request.eventType,
            storeId: request.storeId,
            claimedAtEpochMs: request.nowEpochMs,
            leaseUntilEpochMs: request.leaseUntilEpochMs,
            [TTL]: request.keepUntilEpochSeconds,
          },
          // New, or past its TTL (DynamoDB deletes lazily), or claimed by a delivery that died.
          ConditionExpression:
            'attribute_not_exists(#pk) OR #ttl <= :nowSeconds OR (#status = :processing AND leaseUntilEpochMs <= :nowMs)',
          ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL, '#status': 'status' },
          ExpressionAttributeValues: {
            ':nowSeconds': Math.floor(request.nowEpochMs / 1000),
            ':nowMs': request.nowEpochMs,
            ':processing': 'processing',
          },
        }),
      ),
    );
    if (claimed !== undefined) return { claimed: true };
    const existing = await this.table.getItem(key);
    // Gone between the two calls (released): the next delivery claims it.
    return { claimed: false, state: existing?.status === 'done' ? 'done' : 'in_progress' };
  }

  async completeWebhookEvent(eventId: string, owner: string, outcome: string): Promise<void> {
    await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.webhookEvent(eventId) },
          UpdateExpression: 'SET #status = :done, outcome = :outcome REMOVE leaseUntilEpochMs',
          // Only the delivery that holds the claim: one that took over after a lease ran out owns it now.
          ConditionExpression: '#owner = :owner AND #status = :processing',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: { ':done': 'done', ':outcome': outcome, ':owner': owner, ':processing': 'processing' },
        }),
      ),
    );
  }

  async releaseWebhookEvent(eventId: string, owner: string): Promise<void> {
    await this.table.conditionally('DeleteItem', () =>
      this.table.documents.send(
        new DeleteCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.webhookEvent(eventId) },
          ConditionExpression: '#owner = :owner AND #status = :processing',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':processing': 'processing' },
        }),
      ),
    );
  }
}
