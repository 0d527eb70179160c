import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { errorName, StorageError, type ErrorCode } from '../core/errors';
import type {
  CheckResult,
  ClaimResult,
  CodeClaim,
  CodeClaimOutcome,
  CodeClaimStore,
  ConsumeStateRequest,
  DueInstallationStore,
  DuePage,
  Installation,
  InstallationStatus,
  InstallationStore,
  NewCodeClaim,
  NewInstallation,
  SealedToken,
  StateConsumption,
  StateRecord,
  StateStore,
} from '../core/ports';
import { DEFAULT_DUE_SHARD_COUNT, TABLE_SCHEMA } from './dynamodb-schema';

type Item = Record<string, unknown>;

/**
 * A state is kept this long past its expiry (then DynamoDB TTL deletes it), so a late callback
 * hears "expired" rather than "unknown".
 */
const STATE_RETENTION_AFTER_EXPIRY_SECONDS = 24 * 60 * 60;

const { partitionKey: PK, timeToLiveAttribute: TTL, dueIndex } = TABLE_SCHEMA;

/** Attributes of the previous grant and its checks: a reinstall removes those the new grant does not set. */
const CLEARED_BY_REINSTALL = [
  'publicToken',
  'ownerEmail',
  'refreshToken',
  'expiresAtEpochSeconds',
  'statusReason',
  'lastRefreshedAtEpochSeconds',
  'lastVerifiedAtEpochSeconds',
  'failureCount',
  'firstFailureAtEpochSeconds',
  'leaseOwner',
  'leaseExpiresAtEpochSeconds',
] as const;

export interface DynamoDbStoreOptions {
  tableName: string;
  dueShardCount?: number;
}

/**
 * States, code claims and installations in one DynamoDB table.
 *
 * Every read that matters is strongly consistent; every write that can race is conditional.
 * SDK errors are translated here: callers see `StorageError` or a domain outcome, never an AWS type.
 */
export class DynamoDbStore implements StateStore, CodeClaimStore, InstallationStore, DueInstallationStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly dueShardCount: number;

  constructor(client: DynamoDBClient, options: DynamoDbStoreOptions) {
    this.documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.tableName = options.tableName;
    this.dueShardCount = options.dueShardCount ?? DEFAULT_DUE_SHARD_COUNT;
  }

  // -------------------------------------------------------------------------------------------
  // States
  // -------------------------------------------------------------------------------------------

  async saveState(record: StateRecord): Promise<void> {
    const saved = await this.conditionally('PutItem', () =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [PK]: stateKey(record.stateHash),
            kind: 'state',
            browserBindingHash: record.browserBindingHash,
            createdAtEpochSeconds: record.createdAtEpochSeconds,
            expiresAtEpochSeconds: record.expiresAtEpochSeconds,
            [TTL]: record.expiresAtEpochSeconds + STATE_RETENTION_AFTER_EXPIRY_SECONDS,
          },
          // 256-bit states do not collide; the condition makes sure a bug could never overwrite one.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        }),
      ),
    );
    if (saved === undefined) throw new StorageError('a state with this hash already exists', { detail: { operation: 'PutItem' } });
  }

  async consumeState(request: ConsumeStateRequest): Promise<StateConsumption> {
    const key = { [PK]: stateKey(request.stateHash) };
    const spent = await this.conditionally('UpdateItem', () =>
      this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET consumedAtEpochSeconds = :now, consumedByCodeHash = :codeHash',
          // All checks in one condition, so two concurrent callbacks cannot both spend the state.
          ConditionExpression:
            'attribute_exists(#pk) AND attribute_not_exists(consumedAtEpochSeconds) ' +
            'AND expiresAtEpochSeconds > :now AND browserBindingHash = :binding',
          ExpressionAttributeNames: { '#pk': PK },
          ExpressionAttributeValues: {
            ':now': request.nowEpochSeconds,
            ':codeHash': request.codeHash,
            // A value no binding hash can equal, when the browser sent no cookie.
            ':binding': request.browserBindingHash ?? '-',
          },
        }),
      ),
    );
    if (spent !== undefined) return 'consumed';

    // The condition failed: read the item once to say why (rare path, so no extra cost on success).
    const item = await this.getItem(key);
    // Past its TTL the item is as good as deleted, whether or not DynamoDB has got round to it.
    if (item === undefined || (item[TTL] as number) <= request.nowEpochSeconds) return 'unknown';
    const expired = (item.expiresAtEpochSeconds as number) <= request.nowEpochSeconds;
    const sameBrowser = item.browserBindingHash === request.browserBindingHash;
    // A reload of the very callback that spent the state, from the same browser, in time.
    if (item.consumedByCodeHash === request.codeHash && sameBrowser && !expired) return 'consumed';
    if (item.consumedAtEpochSeconds !== undefined) return 'used';
    if (expired) return 'expired';
    if (!sameBrowser) return 'browser_mismatch';
    return 'used';
  }

  // -------------------------------------------------------------------------------------------
  // Code claims
  // -------------------------------------------------------------------------------------------

  async claimCode(claim: NewCodeClaim): Promise<ClaimResult> {
    for (let attempt = 0; ; attempt += 1) {
      const claimed = await this.conditionally('PutItem', () =>
        this.documents.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              [PK]: codeKey(claim.codeHash),
              kind: 'code_claim',
              status: 'pending',
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
      if (existing !== undefined) return { claimed: false, existing };
      // Released between the two calls: try once more; only one request can win the new claim.
      if (attempt > 0) throw new StorageError('the code claim kept changing', { detail: { operation: 'PutItem' } });
    }
  }

  async getCodeClaim(codeHash: string): Promise<CodeClaim | undefined> {
    const item = await this.getItem({ [PK]: codeKey(codeHash) });
    return item === undefined ? undefined : toCodeClaim(codeHash, item);
  }

  async recordCodeOutcome(codeHash: string, outcome: CodeClaimOutcome): Promise<void> {
    const values: Item = { ':status': outcome.status, ':pending': 'pending' };
    let update = 'SET #status = :status';
    if (outcome.status === 'installed') {
      update += ', storeId = :storeId';
      values[':storeId'] = outcome.storeId;
    } else {
      update += ', errorCode = :errorCode';
      values[':errorCode'] = outcome.errorCode;
    }
    await this.conditionally('UpdateItem', () =>
      this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: codeKey(codeHash) },
          UpdateExpression: update,
          // An outcome is written once; a claim that vanished is not recreated by it.
          ConditionExpression: 'attribute_exists(#pk) AND #status = :pending',
          ExpressionAttributeNames: { '#pk': PK, '#status': 'status' },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async releaseCodeClaim(codeHash: string): Promise<void> {
    await this.conditionally('DeleteItem', () =>
      this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [PK]: codeKey(codeHash) },
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending' },
        }),
      ),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Installations
  // -------------------------------------------------------------------------------------------

  async saveInstallation(installation: NewInstallation): Promise<Installation | undefined> {
    const set: Record<string, unknown> = {
      kind: 'installation',
      storeId: installation.storeId,
      tokenKey: installation.tokenKey,
      accessToken: installation.accessToken,
      tokenType: 'Bearer',
      scope: installation.scope,
      publicToken: installation.publicToken,
      ownerEmail: installation.ownerEmail,
      refreshToken: installation.refreshToken,
      expiresAtEpochSeconds: installation.expiresAtEpochSeconds,
      installedAtEpochSeconds: installation.installedAtEpochSeconds,
      updatedAtEpochSeconds: installation.installedAtEpochSeconds,
      status: 'active' satisfies InstallationStatus,
      grantCodeHash: installation.grantCodeHash,
      grantObtainedAtEpochMs: installation.grantObtainedAtEpochMs,
      nextCheckAtEpochSeconds: installation.nextCheckAtEpochSeconds,
      [dueIndex.partitionKey]: this.dueShard(installation.storeId),
      [dueIndex.sortKey]: installation.nextCheckAtEpochSeconds,
    };
    const expression = updateExpression(set, CLEARED_BY_REINSTALL);

    const saved = await this.conditionally('UpdateItem', () =>
      this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: installationKey(installation.storeId) },
          // One atomic write: the new grant replaces the old one whole (and any lease), and the
          // version moves on so a refresh that read the old grant cannot overwrite this one.
          UpdateExpression: expression.update,
          // Two installs of one store crossing: the grant Ecwid issued last wins, whichever lands
          // last (on a tie, the later write).
          ConditionExpression: 'attribute_not_exists(#obtained) OR #obtained <= :obtained',
          ExpressionAttributeNames: { ...expression.names, '#obtained': 'grantObtainedAtEpochMs' },
          ExpressionAttributeValues: { ...expression.values, ':obtained': installation.grantObtainedAtEpochMs },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return saved === undefined ? undefined : toInstallation(saved.Attributes as Item);
  }

  async getInstallation(storeId: number): Promise<Installation | undefined> {
    const item = await this.getItem({ [PK]: installationKey(storeId) });
    return item === undefined ? undefined : toInstallation(item);
  }

  async listInstallations(): Promise<Installation[]> {
    const installations: Installation[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.call('Scan', () =>
        this.documents.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: 'kind = :installation',
            ExpressionAttributeValues: { ':installation': 'installation' },
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        ),
      );
      for (const item of page.Items ?? []) installations.push(toInstallation(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return installations.sort((a, b) => a.storeId - b.storeId);
  }

  // -------------------------------------------------------------------------------------------
  // The scheduled job: due index and leases
  // -------------------------------------------------------------------------------------------

  dueShards(): readonly string[] {
    return Array.from({ length: this.dueShardCount }, (_, index) => `shard-${index}`);
  }

  async findDue(request: { shard: string; nowEpochSeconds: number; limit: number; cursor?: string }): Promise<DuePage> {
    const page = await this.call('Query', () =>
      this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: dueIndex.name,
          // Only what is due is read: the key condition bounds the sort key, no filter throws items away.
          KeyConditionExpression: '#shard = :shard AND #due <= :now',
          ExpressionAttributeNames: { '#shard': dueIndex.partitionKey, '#due': dueIndex.sortKey },
          ExpressionAttributeValues: { ':shard': request.shard, ':now': request.nowEpochSeconds },
          Limit: request.limit,
          ...(request.cursor === undefined ? {} : { ExclusiveStartKey: decodeCursor(request.cursor) }),
        }),
      ),
    );
    return {
      due: (page.Items ?? []).map((item) => ({
        storeId: Number(String(item[PK]).slice(INSTALLATION_KEY_PREFIX.length)),
        dueAtEpochSeconds: item[dueIndex.sortKey] as number,
      })),
      ...(page.LastEvaluatedKey === undefined ? {} : { cursor: encodeCursor(page.LastEvaluatedKey) }),
    };
  }

  async acquireLease(request: {
    storeId: number;
    owner: string;
    nowEpochSeconds: number;
    leaseExpiresAtEpochSeconds: number;
  }): Promise<Installation | undefined> {
    const leased = await this.conditionally('UpdateItem', () =>
      this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: installationKey(request.storeId) },
          UpdateExpression: 'SET leaseOwner = :owner, leaseExpiresAtEpochSeconds = :until',
          // Still due (a reinstall reschedules it), and no live lease: one runner at a time.
          ConditionExpression:
            'attribute_exists(#pk) AND #due <= :now AND ' +
            '(attribute_not_exists(leaseExpiresAtEpochSeconds) OR leaseExpiresAtEpochSeconds <= :now)',
          ExpressionAttributeNames: { '#pk': PK, '#due': dueIndex.sortKey },
          ExpressionAttributeValues: {
            ':owner': request.owner,
            ':until': request.leaseExpiresAtEpochSeconds,
            ':now': request.nowEpochSeconds,
          },
          // The item as it is now: the job works on this copy, not on what the index showed.
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return leased === undefined ? undefined : toInstallation(leased.Attributes as Item);
  }

  async completeCheck(request: {
    storeId: number;
    owner: string;
    version: number;
    nowEpochSeconds: number;
    result: CheckResult;
  }): Promise<boolean> {
    const { result } = request;
    const set: Record<string, unknown> = {
      status: result.status,
      updatedAtEpochSeconds: request.nowEpochSeconds,
      statusReason: result.statusReason,
      nextCheckAtEpochSeconds: result.nextCheckAtEpochSeconds,
      [dueIndex.partitionKey]: result.nextCheckAtEpochSeconds === undefined ? undefined : this.dueShard(request.storeId),
      [dueIndex.sortKey]: result.nextCheckAtEpochSeconds,
      failureCount: result.failure?.count,
      firstFailureAtEpochSeconds: result.failure?.firstAtEpochSeconds,
      lastRefreshedAtEpochSeconds: result.lastRefreshedAtEpochSeconds,
      lastVerifiedAtEpochSeconds: result.lastVerifiedAtEpochSeconds,
      accessToken: result.refreshedGrant?.accessToken,
      refreshToken: result.refreshedGrant?.refreshToken,
      expiresAtEpochSeconds: result.refreshedGrant?.expiresAtEpochSeconds,
      scope: result.refreshedGrant?.scope,
      grantObtainedAtEpochMs: result.refreshedGrant?.obtainedAtEpochMs,
    };
    // Absent means "none" for these; for the others (timestamps, the grant) it means "unchanged".
    const clearedWhenAbsent = [
      'statusReason',
      'nextCheckAtEpochSeconds',
      dueIndex.partitionKey,
      dueIndex.sortKey,
      'failureCount',
      'firstFailureAtEpochSeconds',
      'leaseOwner',
      'leaseExpiresAtEpochSeconds',
    ];
    const expression = updateExpression(set, clearedWhenAbsent);
    const written = await this.conditionally('UpdateItem', () =>
      this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PK]: installationKey(request.storeId) },
          UpdateExpression: expression.update,
          // Only over the version this run leased, and only while it still holds the lease: a
          // reinstall in between keeps its newer token, and so does a run that took over an expired lease.
          ConditionExpression: '#version = :expectedVersion AND leaseOwner = :owner',
          ExpressionAttributeNames: expression.names,
          ExpressionAttributeValues: { ...expression.values, ':expectedVersion': request.version, ':owner': request.owner },
        }),
      ),
    );
    return written !== undefined;
  }

  // -------------------------------------------------------------------------------------------

  /** The due-index shard of a store: stable, and spread evenly over consecutive store ids. */
  private dueShard(storeId: number): string {
    return `shard-${storeId % this.dueShardCount}`;
  }

  /** A strongly consistent read. */
  private async getItem(key: Item): Promise<Item | undefined> {
    const result = await this.call('GetItem', () =>
      this.documents.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return result.Item;
  }

  /** Runs a conditional write: its answer when it was applied, undefined when its condition did not hold. */
  private async conditionally<T>(operation: string, send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(operation, send);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Sends one request; every failure but a failed condition becomes a `StorageError`. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      throw new StorageError(`DynamoDB ${operation} failed`, {
        cause: error,
        detail: { operation, awsError: errorName(error) },
      });
    }
  }
}

/**
 * `SET` of every defined value, `REMOVE` of the listed attributes that have none, and the version
 * moved on by one, with placeholder names for everything (attribute names may be reserved words).
 */
function updateExpression(set: Record<string, unknown>, removeWhenAbsent: readonly string[]) {
  const names: Record<string, string> = { '#version': 'version' };
  const values: Item = { ':zero': 0, ':one': 1 };
  const assignments: string[] = ['#version = if_not_exists(#version, :zero) + :one'];
  const removals: string[] = [];
  Object.entries(set).forEach(([attribute, value], index) => {
    if (value === undefined) return;
    names[`#s${index}`] = attribute;
    values[`:s${index}`] = value;
    assignments.push(`#s${index} = :s${index}`);
  });
  removeWhenAbsent.forEach((attribute, index) => {
    if (set[attribute] !== undefined) return;
    names[`#r${index}`] = attribute;
    removals.push(`#r${index}`);
  });
  return {
    update: `SET ${assignments.join(', ')}` + (removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''),
    names,
    values,
  };
}

function encodeCursor(key: Item): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Item {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Item;
}

function stateKey(stateHash: string): string {
  return `STATE#${stateHash}`;
}

function codeKey(codeHash: string): string {
  return `CODE#${codeHash}`;
}

const INSTALLATION_KEY_PREFIX = 'STORE#';

function installationKey(storeId: number): string {
  return `${INSTALLATION_KEY_PREFIX}${storeId}`;
}

function toCodeClaim(codeHash: string, item: Item): CodeClaim {
  const base = {
    codeHash,
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

const OPTIONAL_INSTALLATION_FIELDS = [
  'publicToken',
  'ownerEmail',
  'refreshToken',
  'expiresAtEpochSeconds',
  'statusReason',
  'grantCodeHash',
  'grantObtainedAtEpochMs',
  'nextCheckAtEpochSeconds',
  'lastRefreshedAtEpochSeconds',
  'lastVerifiedAtEpochSeconds',
  'failureCount',
  'firstFailureAtEpochSeconds',
] as const;

function toInstallation(item: Item): Installation {
  const installation: Installation = {
    storeId: item.storeId as number,
    tokenKey: item.tokenKey as string,
    accessToken: item.accessToken as SealedToken,
    tokenType: 'Bearer',
    scope: item.scope as string,
    installedAtEpochSeconds: item.installedAtEpochSeconds as number,
    updatedAtEpochSeconds: item.updatedAtEpochSeconds as number,
    status: item.status as InstallationStatus,
    version: item.version as number,
  };
  const optional = installation as unknown as Record<string, unknown>;
  for (const field of OPTIONAL_INSTALLATION_FIELDS) {
    if (item[field] !== undefined) optional[field] = item[field];
  }
  return installation;
}
