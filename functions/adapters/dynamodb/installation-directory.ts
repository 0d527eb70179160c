import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { InstallationView } from '../../core/model';
import type { Clock, InstallationDirectory, ListStoresRequest } from '../../core/ports';
import { toInstallationView } from './installation-item';
import { TABLE_SCHEMA } from './schema';
import { itemKeys, type DynamoTable, type Item } from './table';

const { partitionKey: PK, keyPrefixes, timeToLiveAttribute: TTL } = TABLE_SCHEMA;

/** Items one scan request reads. */
const SCAN_PAGE_ITEMS = 200;
/** Scan requests one listing makes at most; past them it answers what it found and where to go on. */
const MAX_SCAN_PAGES = 25;

/**
 * Installations for operators (the ops CLI, the local stack): a scan of installation items, bounded
 * and paginated. Never on a request path. An item whose TTL has passed is absent, whether or not
 * DynamoDB has deleted it yet (it does so lazily, up to days later).
 */
export class DynamoDbInstallationDirectory implements InstallationDirectory {
  constructor(
    private readonly table: DynamoTable,
    private readonly clock: Pick<Clock, 'nowEpochMs'>,
  ) {}

  async listStores(request: ListStoresRequest): Promise<{ stores: InstallationView[]; cursor?: string }> {
    const stores: InstallationView[] = [];
    let startKey: Item | undefined = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    for (let page = 0; page < MAX_SCAN_PAGES; page += 1) {
      const result = await this.table.call('Scan', () =>
        this.table.documents.send(
          new ScanCommand({
            TableName: this.table.tableName,
            Limit: SCAN_PAGE_ITEMS,
            FilterExpression:
              'begins_with(#pk, :prefix) AND (attribute_not_exists(#ttl) OR #ttl > :now)' + (request.status === undefined ? '' : ' AND #status = :status'),
            ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL, ...(request.status === undefined ? {} : { '#status': 'status' }) },
            ExpressionAttributeValues: {
              ':prefix': keyPrefixes.installation,
              ':now': this.nowEpochSeconds(),
              ...(request.status === undefined ? {} : { ':status': request.status }),
            },
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        ),
      );
      for (const item of result.Items ?? []) {
        stores.push(toInstallationView(item));
        // Full: the next listing starts after the last item shown, wherever it sat in its page.
        if (stores.length === request.limit) return { stores, cursor: encodeCursor({ [PK]: item[PK] }) };
      }
      startKey = result.LastEvaluatedKey;
      if (startKey === undefined) return { stores };
    }
    return { stores, cursor: encodeCursor(startKey!) };
  }

  async describeStore(storeId: number): Promise<InstallationView | undefined> {
    const item = await this.table.getItem(itemKeys.installation(storeId));
    const ttl = item?.[TTL];
    if (item === undefined || (typeof ttl === 'number' && ttl <= this.nowEpochSeconds())) return undefined;
    return toInstallationView(item);
  }

  private nowEpochSeconds(): number {
    return Math.floor(this.clock.nowEpochMs() / 1000);
  }
}

function encodeCursor(key: Item): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Item {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Item;
    if (typeof key[PK] === 'string') return { [PK]: key[PK] };
  } catch {
    // Falls through to the error below.
  }
  throw new Error('the cursor is not one this listing gave');
}
