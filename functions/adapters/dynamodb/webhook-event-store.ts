import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClaimWebhookRequest, WebhookClaim, WebhookClaimKey, WebhookEventStore } from '../../core/ports';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, type DynamoTable, type Item } from './table';

const { partitionKey: PK, timeToLiveAttribute: TTL } = TABLE_SCHEMA;

/** The attribute holding the claim of one body (its digest, 64 hex characters) of the event. */
const claimAttribute = (digest: string) => `claim_${digest}`;

/**
 * Webhook events (`EVENT#{eventId}` items): the claims that make each webhook acted on once. One item
 * per `eventId`, kept past Ecwid's retries (its TTL), holding `digests` (the set of bodies seen under
 * the `eventId`) and one claim per body (`claim_{digest}`): `processing` under a lease while a delivery
 * acts on it, `done` once it has. A release removes only its body's claim, never the item: the bodies
 * seen keep counting against the cap.
 *
 * Items of the earlier format (one claim per `eventId`: `status`, `owner`, ... at the top) are read as
 * that claim, whatever the body, until their TTL ends them.
 */
export class DynamoDbWebhookEventStore implements WebhookEventStore {
  constructor(private readonly table: DynamoTable) {}

  async claimWebhookEvent(request: ClaimWebhookRequest): Promise<WebhookClaim> {
    const key = itemKeys.webhookEvent(request.eventId);
    const nowEpochSeconds = Math.floor(request.nowEpochMs / 1000);
    const claimed = await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: key },
          UpdateExpression: 'SET #claim = :claim, kind = :kind, #ttl = if_not_exists(#ttl, :keep) ADD digests :digests',
          // A live item of today's format; this body's claim new, or held by a delivery that died; and
          // the body one of those seen already, or room for one more.
          ConditionExpression:
            'attribute_not_exists(#status) AND (attribute_not_exists(#ttl) OR #ttl > :nowSeconds) AND ' +
            '(attribute_not_exists(#claim) OR (#claim.#status = :processing AND #claim.leaseUntilEpochMs <= :nowMs)) AND ' +
            '(attribute_not_exists(digests) OR contains(digests, :digest) OR size(digests) < :maxBodies)',
          ExpressionAttributeNames: { '#claim': claimAttribute(request.digest), '#ttl': TTL, '#status': 'status' },
          ExpressionAttributeValues: {
            ':claim': claimOf(request),
            ':kind': 'webhook_event',
            ':keep': request.keepUntilEpochSeconds,
            ':digests': new Set([request.digest]),
            ':digest': request.digest,
            ':maxBodies': request.maxBodies,
            ':nowSeconds': nowEpochSeconds,
            ':nowMs': request.nowEpochMs,
            ':processing': 'processing',
          },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (claimed !== undefined) return { claimed: true, variant: otherDigests(claimed.Attributes, request.digest) };

    const existing = await this.table.getItem(key);
    if (existing === undefined) return { claimed: false, state: 'in_progress' };
    const ttl = existing[TTL];
    // Past its TTL the item is gone, whether or not DynamoDB has deleted it yet: start it afresh.
    if (typeof ttl === 'number' && ttl <= nowEpochSeconds) return this.replaceExpired(request, key, nowEpochSeconds);
    // An item of the earlier format: its one claim stands for every body.
    if (typeof existing.status === 'string') return { claimed: false, state: existing.status === 'done' ? 'done' : 'in_progress' };
    const claim = existing[claimAttribute(request.digest)] as Item | undefined;
    if (claim !== undefined) return { claimed: false, state: claim.status === 'done' ? 'done' : 'in_progress' };
    const digests = existing.digests as Set<string> | undefined;
    if (digests !== undefined && digests.size >= request.maxBodies) return { claimed: false, state: 'too_many_variants' };
    // Changed between the two calls: the next delivery claims it.
    return { claimed: false, state: 'in_progress' };
  }

  async completeWebhookEvent(claim: WebhookClaimKey, owner: string, outcome: string): Promise<void> {
    await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.webhookEvent(claim.eventId) },
          UpdateExpression: 'SET #claim.#status = :done, #claim.outcome = :outcome REMOVE #claim.leaseUntilEpochMs',
          // Only the delivery that holds the claim: one that took over after a lease ran out owns it now.
          ConditionExpression: '#claim.#owner = :owner AND #claim.#status = :processing',
          ExpressionAttributeNames: { '#claim': claimAttribute(claim.digest), '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: { ':done': 'done', ':outcome': outcome, ':owner': owner, ':processing': 'processing' },
        }),
      ),
    );
  }

  async releaseWebhookEvent(claim: WebhookClaimKey, owner: string): Promise<void> {
    await this.table.conditionally('UpdateItem', () =>
      this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { [PK]: itemKeys.webhookEvent(claim.eventId) },
          // The body's claim goes, the item and the bodies seen stay.
          UpdateExpression: 'REMOVE #claim',
          ConditionExpression: '#claim.#owner = :owner AND #claim.#status = :processing',
          ExpressionAttributeNames: { '#claim': claimAttribute(claim.digest), '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':processing': 'processing' },
        }),
      ),
    );
  }

  /** A new item in place of one whose TTL has passed, unless another delivery replaced it first. */
  private async replaceExpired(request: ClaimWebhookRequest, key: string, nowEpochSeconds: number): Promise<WebhookClaim> {
    const replaced = await this.table.conditionally('PutItem', () =>
      this.table.documents.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            [PK]: key,
            kind: 'webhook_event',
            digests: new Set([request.digest]),
            [claimAttribute(request.digest)]: claimOf(request),
            [TTL]: request.keepUntilEpochSeconds,
          },
          ConditionExpression: '#ttl <= :nowSeconds',
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: { ':nowSeconds': nowEpochSeconds },
        }),
      ),
    );
    return replaced === undefined ? { claimed: false, state: 'in_progress' } : { claimed: true, variant: false };
  }
}

function claimOf(request: ClaimWebhookRequest): Item {
  return {
    status: 'processing',
    owner: request.owner,
    eventType: request.eventType,
    storeId: request.storeId,
    claimedAtEpochMs: request.nowEpochMs,
    leaseUntilEpochMs: request.leaseUntilEpochMs,
  };
}

/** Whether bodies other than `digest` were claimed under the eventId before. */
function otherDigests(old: Item | undefined, digest: string): boolean {
  const digests = old?.digests as Set<string> | undefined;
  return digests !== undefined && [...digests].some((seen) => seen !== digest);
}
